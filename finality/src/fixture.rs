//! A made-up chain with a format-2 proof of one item, for the tests and the bench: GRANDPA
//! sets of `n` keys (`//Set{s}Validator{i}`), `changes` set changes (at blocks 10, 20, ...),
//! the anchor stored in block `42 + 10 * changes`, finalized by a justification of the block
//! two after it. Included by `src/tests.rs` and `benches/proof.rs` (`#[path]`), not built into
//! the library.

use attest_finality::{
	grandpa::Justification, storage, ChainEvidence, ChannelBinding, FinalityProof, Header, ProofV2,
	SetChange, StoredAnchor, TrustRoot,
};
use attest_primitives::{
	channel_id, merkle::MerkleTree, payment_hash, signing::sign, Anchor, AttestationProof, BillKey,
	DataRef, Hash, ItemClaim, LogHead,
};
use codec::Encode;
use finality_grandpa::{Precommit, SignedPrecommit};
use sp_consensus_grandpa::{AuthorityList, ConsensusLog, ScheduledChange, GRANDPA_ENGINE_ID};
use sp_core::{ed25519, sr25519, Pair, H256};
use sp_runtime::{generic::Digest, traits::Header as _, DigestItem, StateVersion};
use std::collections::BTreeMap;

/// ed25519 keys from dev seeds `//NAME`.
pub fn keys(names: &[&str]) -> Vec<ed25519::Pair> {
	names
		.iter()
		.map(|n| ed25519::Pair::from_string(&format!("//{n}"), None).unwrap())
		.collect()
}

/// The authority list of `pairs`, weight 1 each.
pub fn list(pairs: &[ed25519::Pair]) -> AuthorityList {
	pairs.iter().map(|p| (p.public().into(), 1)).collect()
}

/// A justification of `target` by `signers` for `round` of set `set_id`.
pub fn justify(
	target: &Header,
	set_id: u64,
	round: u64,
	signers: &[ed25519::Pair],
) -> Justification {
	let precommit = Precommit { target_hash: target.hash(), target_number: target.number };
	let message = finality_grandpa::Message::Precommit(precommit.clone());
	let payload = sp_consensus_grandpa::localized_payload(round, set_id, &message);
	let precommits = signers
		.iter()
		.map(|p| SignedPrecommit {
			precommit: precommit.clone(),
			signature: p.sign(&payload).into(),
			id: p.public().into(),
		})
		.collect();
	Justification {
		round,
		commit: finality_grandpa::Commit {
			target_hash: target.hash(),
			target_number: target.number,
			precommits,
		},
		votes_ancestries: vec![],
	}
}

/// A header with a fixed extrinsics root.
pub fn header(number: u32, parent: H256, state_root: H256, logs: Vec<DigestItem>) -> Header {
	Header::new(number, H256::repeat_byte(0xee), state_root, parent, Digest { logs })
}

/// The digest item that hands over to `next` with no delay.
pub fn change_to(next: &[ed25519::Pair]) -> DigestItem {
	let log = ConsensusLog::<u32>::ScheduledChange(ScheduledChange {
		next_authorities: list(next),
		delay: 0,
	});
	DigestItem::Consensus(GRANDPA_ENGINE_ID, log.encode())
}

/// The chain and the proof.
pub struct Fixture {
	/// Genesis hash and first set.
	pub trust: TrustRoot,
	/// The proven item's digest.
	pub digest: Hash,
	/// Its proof.
	pub proof: ProofV2,
	/// The authority sets, genesis first.
	pub sets: Vec<Vec<ed25519::Pair>>,
	/// Signers of the anchor's justification (the last set).
	pub signers: Vec<ed25519::Pair>,
	/// The last set's id.
	pub set_id: u64,
}

/// The chain of `n` authorities and `changes` set changes.
pub fn fixture_of(n: usize, changes: usize) -> Fixture {
	let sets: Vec<Vec<ed25519::Pair>> = (0..=changes)
		.map(|s| {
			let names: Vec<String> = (0..n)
				.map(|i| match (s, i) {
					(0, 0) => "Alice".into(),
					(0, 1) => "Bob".into(),
					(0, 2) => "Charlie".into(),
					_ => format!("Set{s}Validator{i}"),
				})
				.collect();
			keys(&names.iter().map(String::as_str).collect::<Vec<_>>())
		})
		.collect();
	let trust = TrustRoot { genesis: Hash::repeat_byte(0x6e), authorities: list(&sets[0]) };
	let genesis = trust.genesis;

	let requester = sr25519::Pair::from_string("//Alice", None).unwrap();
	let verifier = sr25519::Pair::from_string("//Bob", None).unwrap();
	let binding = ChannelBinding {
		requester: requester.public().into(),
		verifier: verifier.public().into(),
		open_nonce: 5,
	};
	let channel = channel_id(&genesis, &binding.requester, &binding.verifier, 5);
	let digests: Vec<Hash> =
		(0..5u64).map(|i| attest_primitives::sha256(&i.to_le_bytes())).collect();
	let tree = MerkleTree::from_digests(&digests);
	assert!(changes <= 20, "set changes are at blocks 2, 4, ... before block 42");
	let block = 42;
	let anchor = Anchor {
		channel_id: channel,
		index: 1,
		first_seq: 2,
		log: LogHead { size: 5, root: tree.root() },
		block,
	};
	let claim =
		ItemClaim { seq: 3, digest: digests[3], payment_hash: payment_hash(&BillKey([3; 32])) };
	let item = AttestationProof {
		anchor,
		proof: tree.inclusion_proof(3).unwrap(),
		verifier_record: Some(sign::first_record(&verifier, &genesis, channel, claim)),
		requester_record: Some(sign::second_record(
			&requester,
			&genesis,
			channel,
			claim,
			DataRef::Blob(claim.digest),
		)),
	};

	// The anchor block's state: the anchor, the time, and other entries around them.
	let mut state = BTreeMap::new();
	let stored = StoredAnchor { first_seq: 2, log: anchor.log, block };
	state.insert(storage::anchor_key(&channel, 1), stored.encode());
	let earlier = StoredAnchor {
		first_seq: 0,
		log: LogHead { size: 2, root: H256::repeat_byte(1) },
		block: 30,
	};
	state.insert(storage::anchor_key(&channel, 0), earlier.encode());
	state.insert(storage::timestamp_key(), 1_790_000_000_000u64.encode());
	for i in 0..64u32 {
		state.insert(sp_crypto_hashing::blake2_256(&i.encode()).to_vec(), vec![i as u8; 40]);
	}
	let backend = sp_state_machine::TrieBackend::<_, sp_runtime::traits::BlakeTwo256>::from((
		state,
		StateVersion::V1,
	));
	let state_root = *backend.root();
	let storage_proof = sp_state_machine::prove_read(
		backend,
		[storage::anchor_key(&channel, 1), storage::timestamp_key()],
	)
	.unwrap()
	.into_iter_nodes()
	.collect();

	let mut set_changes = vec![];
	let mut parent = H256::repeat_byte(0x01);
	for s in 0..changes {
		let change =
			header(2 * (s as u32 + 1), parent, H256::repeat_byte(2), vec![change_to(&sets[s + 1])]);
		set_changes.push(SetChange {
			justification: justify(&change, s as u64, 7, &sets[s]),
			header: change.clone(),
		});
		parent = H256::repeat_byte(0x03 + s as u8);
	}
	let signers = sets[changes].clone();
	let set_id = changes as u64;
	let b = header(block, parent, state_root, vec![]);
	let d1 = header(block + 1, b.hash(), H256::repeat_byte(4), vec![]);
	let d2 = header(block + 2, d1.hash(), H256::repeat_byte(5), vec![]);
	let justification = justify(&d2, set_id, 21, &signers);
	let proof = ProofV2 {
		item,
		chain: ChainEvidence {
			channel: binding,
			header: b,
			storage_proof,
			finality: Some(FinalityProof { set_changes, descendants: vec![d1, d2], justification }),
		},
	};
	Fixture { trust, digest: digests[3], proof, sets, signers, set_id }
}
