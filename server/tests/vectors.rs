//! Test vector of the proof bundle (`AttestationProof`, docs/server.md): SCALE bytes and
//! JSON of a fixed proof, signed with ed25519 (deterministic signatures) so the bytes are
//! stable. `ATTEST_WRITE_VECTORS=1 cargo test -p attest-server --test vectors` rewrites
//! `docs/test-vectors/proof.json`; otherwise the test checks the file still matches.

use attest_primitives::{
	merkle::MerkleTree, payment_hash, signing::sign, Anchor, BillKey, DataRef, Hash, ItemClaim,
	LogHead,
};
use attest_server::api::AttestationProof;
use codec::{Decode, Encode};
use sp_core::{ed25519, Pair};

fn vector() -> (Hash, AttestationProof) {
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
	let bob = ed25519::Pair::from_string("//Bob", None).expect("dev key");
	let alice = ed25519::Pair::from_string("//Alice", None).expect("dev key");
	let proof = AttestationProof {
		anchor,
		proof: tree.inclusion_proof(3).expect("leaf 3 of 5"),
		verifier_record: Some(sign::first_record(&bob, &genesis, channel, claim)),
		requester_record: Some(sign::second_record(
			&alice,
			&genesis,
			channel,
			claim,
			DataRef::Blob(claim.digest),
		)),
	};
	(genesis, proof)
}

#[test]
fn attestation_proof_vector() {
	let (genesis, proof) = vector();
	// The vector is a valid proof.
	let first = proof.verifier_record.as_ref().expect("first record");
	proof
		.proof
		.verify_digest(&first.claim.digest, &proof.anchor.log.root)
		.expect("inclusion");
	first.verify(&genesis).expect("verifier's signature");
	proof
		.requester_record
		.as_ref()
		.expect("second record")
		.verify(&genesis)
		.expect("requester's signature");
	let scale = proof.encode();
	assert_eq!(AttestationProof::decode(&mut &scale[..]).expect("decodes"), proof);
	// The same bundle when the server holds only the verifier's record (the requester never
	// uploaded its own): the missing record is JSON `null`, SCALE `0x00` (Option::None).
	let missing = AttestationProof { requester_record: None, ..proof.clone() };
	let missing_scale = missing.encode();
	assert_eq!(AttestationProof::decode(&mut &missing_scale[..]).expect("decodes"), missing);
	let doc = serde_json::json!({
		"description": "AttestationProof (docs/server.md): item 3 of 5 (digest = SHA-256(u64_le(i))), \
			anchor 0 of channel 0x11..11 at block 42, records signed with ed25519 //Bob (verifier) \
			and //Alice (requester) for genesis 0x6e..6e; payment hash = SHA-256 of the bill key 0x03..03. \
			oneRecordMissing: the same proof without the requester's record (JSON null, SCALE 0x00).",
		"genesis": genesis,
		"json": proof,
		"scale": format!("0x{}", hex::encode(&scale)),
		"oneRecordMissing": {
			"json": missing,
			"scale": format!("0x{}", hex::encode(&missing_scale)),
		},
	});
	let path =
		std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/test-vectors/proof.json");
	let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
	if std::env::var_os("ATTEST_WRITE_VECTORS").is_some() {
		std::fs::write(&path, &text).expect("write vector");
	}
	let stored = std::fs::read_to_string(&path).expect("docs/test-vectors/proof.json exists");
	assert_eq!(
		stored, text,
		"the proof vector changed; regenerate with ATTEST_WRITE_VECTORS=1 if intended"
	);
}
