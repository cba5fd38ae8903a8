//! The proof bundle's check refuses every edit: each byte of the SCALE bundle flipped in turn
//! (as a fuzzer would), a record's signer scheme switched over the same key bytes, the
//! requester's data reference pointed elsewhere, bytes appended after the bundle. A check that
//! accepts what it should refuse is worse than one that refuses too much (issue 27).

use attest_primitives::{
	merkle::MerkleTree, payment_hash, signing::sign, Anchor, AttestationProof, BillKey, DataRef,
	Hash, ItemClaim, LogHead, ProofError, SigningError,
};
use codec::{DecodeAll, Encode};
use sp_core::{sr25519, Pair};
use sp_runtime::MultiSigner;

fn bundle() -> (Hash, Hash, AttestationProof) {
	let genesis = Hash([0x6e; 32]);
	let channel = Hash([0x11; 32]);
	let digests: Vec<Hash> =
		(0..5u64).map(|i| attest_primitives::sha256(&i.to_le_bytes())).collect();
	let tree = MerkleTree::from_digests(&digests);
	let anchor = Anchor {
		channel_id: channel,
		index: 0,
		first_seq: 0,
		log: LogHead { size: 5, root: tree.root() },
		block: 42,
	};
	let claim =
		ItemClaim { seq: 3, digest: digests[3], payment_hash: payment_hash(&BillKey([3; 32])) };
	let verifier = sr25519::Pair::from_string("//Bob", None).expect("dev key");
	let requester = sr25519::Pair::from_string("//Alice", None).expect("dev key");
	let proof = AttestationProof {
		anchor,
		proof: tree.inclusion_proof(3).expect("leaf 3 of 5"),
		verifier_record: Some(sign::first_record(&verifier, &genesis, channel, claim)),
		requester_record: Some(sign::second_record(
			&requester,
			&genesis,
			channel,
			claim,
			DataRef::Blob(claim.digest),
		)),
	};
	(genesis, digests[3], proof)
}

/// The whole check as `attest proof check` makes it: decode all the bytes, check the bundle,
/// compare its anchor with the chain's.
fn accepted(bytes: &[u8], genesis: &Hash, digest: &Hash, on_chain: &Anchor) -> bool {
	let Ok(p) = AttestationProof::decode_all(&mut &bytes[..]) else { return false };
	p.verify(genesis, digest).is_ok() && p.check_anchor(Some(on_chain)).is_ok()
}

#[test]
fn every_byte_of_the_bundle_flipped_is_refused() {
	let (genesis, digest, proof) = bundle();
	let bytes = proof.encode();
	assert!(accepted(&bytes, &genesis, &digest, &proof.anchor), "the bundle itself checks");
	let mut refused = 0;
	for i in 0..bytes.len() {
		for bit in [0x01u8, 0x80] {
			let mut edited = bytes.clone();
			edited[i] ^= bit;
			assert!(
				!accepted(&edited, &genesis, &digest, &proof.anchor),
				"byte {i} of {} xor {bit:#04x} was accepted",
				bytes.len()
			);
			refused += 1;
		}
	}
	// Bytes after the bundle, or a bundle cut short.
	for tail in [&[0u8][..], &[1, 2, 3]] {
		let mut longer = bytes.clone();
		longer.extend_from_slice(tail);
		assert!(!accepted(&longer, &genesis, &digest, &proof.anchor), "appended {tail:?}");
	}
	for cut in 1..bytes.len() {
		assert!(!accepted(&bytes[..cut], &genesis, &digest, &proof.anchor), "cut at {cut}");
	}
	assert!(refused >= 2 * 400, "{refused} edits");
}

#[test]
fn a_record_naming_another_scheme_over_the_same_key_bytes_is_refused() {
	let (genesis, digest, proof) = bundle();
	let mut switched = proof.clone();
	if let Some(r) = switched.verifier_record.as_mut() {
		let MultiSigner::Sr25519(k) = r.verifier.clone() else { panic!("sr25519 key") };
		r.verifier = MultiSigner::Ed25519(sp_core::ed25519::Public::from_raw(k.0));
	}
	assert_eq!(
		switched.verify(&genesis, &digest),
		Err(ProofError::BadRecordSignature(
			"verifier's",
			SigningError::SchemeMismatch { signature: "sr25519", signer: "ed25519" }
		))
	);
	let mut switched = proof.clone();
	if let Some(r) = switched.requester_record.as_mut() {
		let MultiSigner::Sr25519(k) = r.requester.clone() else { panic!("sr25519 key") };
		r.requester = MultiSigner::Ed25519(sp_core::ed25519::Public::from_raw(k.0));
	}
	assert!(matches!(
		switched.verify(&genesis, &digest),
		Err(ProofError::BadRecordSignature("requester's", SigningError::SchemeMismatch { .. }))
	));
}

#[test]
fn the_requesters_data_reference_must_be_the_item() {
	let (genesis, digest, proof) = bundle();
	let with = |data: DataRef| {
		let mut p = proof.clone();
		if let Some(r) = p.requester_record.as_mut() {
			r.data = data;
		}
		p.verify(&genesis, &digest)
	};
	assert_eq!(with(DataRef::Blob(Hash([7; 32]))), Err(ProofError::DataMismatch(digest)));
	assert_eq!(
		with(DataRef::Inline(b"other bytes".to_vec())),
		Err(ProofError::DataMismatch(digest))
	);
	// The item's own bytes inline are the item.
	assert!(with(DataRef::Inline(3u64.to_le_bytes().to_vec())).is_ok());
	assert!(proof.verify(&genesis, &digest).is_ok());
}
