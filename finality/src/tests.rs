//! A v2 proof over a chain made here (GRANDPA keys, headers, state, justifications), checked
//! whole and then tampered with: every byte flipped in turn, and each attack of issue 27 by
//! name. Every check must refuse what it should; a check that accepts an edit is the worst
//! bug a proof can have.

use super::*;
use crate::{fixture::*, grandpa::Justification};
use attest_primitives::{signing::sign, DataRef, LogHead};
use codec::DecodeAll;
use sp_core::{sr25519, Pair, H256};

/// Three authorities; with `changes`, one set change (block 2) to three others.
fn fixture(changes: bool) -> Fixture {
	fixture_of(3, changes as usize)
}

fn check(f: &Fixture, p: &ProofV2) -> Result<Proven, CheckError> {
	p.verify(&f.trust, &f.digest)
}

/// The whole check of a proof's bytes, finality required.
fn accepted(f: &Fixture, bytes: &[u8]) -> bool {
	let Ok(p) = ProofV2::decode_all(&mut &bytes[..]) else { return false };
	matches!(check(f, &p), Ok(Proven { finalized: Finalized::Grandpa { .. }, .. }))
}

#[test]
fn a_proof_checks_with_and_without_set_changes() {
	for changes in [false, true] {
		let f = fixture(changes);
		let proven = check(&f, &f.proof).expect("the proof checks");
		assert_eq!(proven.item.seq, 3);
		assert_eq!(proven.block_time_ms, 1_790_000_000_000);
		assert_eq!(proven.block_hash, f.proof.chain.header.hash());
		assert_eq!(proven.finalized, Finalized::Grandpa { set_id: f.set_id, justified: 44 });
		assert_eq!(proven.requester, f.proof.chain.channel.requester);
	}
}

#[test]
fn every_byte_flipped_is_refused() {
	for changes in [false, true] {
		let f = fixture(changes);
		let bytes = f.proof.encode();
		assert!(accepted(&f, &bytes));
		for i in 0..bytes.len() {
			for bit in [0x01u8, 0x80] {
				let mut edited = bytes.clone();
				edited[i] ^= bit;
				assert!(
					!accepted(&f, &edited),
					"byte {i} of {} xor {bit:#04x} accepted",
					bytes.len()
				);
			}
		}
		let mut longer = bytes.clone();
		longer.push(0);
		assert!(!accepted(&f, &longer), "a byte appended was accepted");
		for cut in [1, bytes.len() / 2, bytes.len() - 1] {
			assert!(!accepted(&f, &bytes[..cut]), "cut at {cut} accepted");
		}
	}
}

fn finality(p: &mut ProofV2) -> &mut FinalityProof {
	p.chain.finality.as_mut().unwrap()
}

#[test]
fn records_re_signed_under_a_channel_of_their_own_are_refused() {
	let f = fixture(false);
	let mut p = f.proof.clone();
	let (a, b) = (
		sr25519::Pair::from_string("//Mallory", None).unwrap(),
		sr25519::Pair::from_string("//Trent", None).unwrap(),
	);
	let genesis = f.trust.genesis;
	let channel =
		channel_id(&genesis, &AccountId32::from(a.public()), &AccountId32::from(b.public()), 5);
	let claim = p.item.verifier_record.as_ref().unwrap().claim;
	p.item.anchor.channel_id = channel;
	p.item.verifier_record = Some(sign::first_record(&b, &genesis, channel, claim));
	p.item.requester_record =
		Some(sign::second_record(&a, &genesis, channel, claim, DataRef::Blob(claim.digest)));
	p.chain.channel.requester = a.public().into();
	p.chain.channel.verifier = b.public().into();
	// The records and the binding agree; the chain stored no anchor for that channel.
	assert_eq!(check(&f, &p), Err(CheckError::Storage(StorageError::Absent("anchor"))));

	// Keeping the real channel and binding but re-signing one record: not the party.
	let mut p = f.proof.clone();
	p.item.verifier_record =
		Some(sign::first_record(&b, &genesis, p.item.anchor.channel_id, claim));
	assert_eq!(check(&f, &p), Err(CheckError::Signer("verifier")));
	// Claiming other parties for the real channel: the id does not derive.
	let mut p = f.proof.clone();
	p.chain.channel.verifier = b.public().into();
	assert!(matches!(check(&f, &p), Err(CheckError::Channel { .. })));
}

#[test]
fn the_anchor_must_be_the_one_stored() {
	let f = fixture(false);
	let mut p = f.proof.clone();
	p.item.anchor.block = 43;
	assert_eq!(check(&f, &p), Err(CheckError::HeaderNumber { header: 42, anchor: 43 }));
	let mut p = f.proof.clone();
	p.item.anchor.index = 0;
	// Another index: the records and inclusion still check; the storage proof is not of it.
	assert!(matches!(check(&f, &p), Err(CheckError::Storage(_))));
	let mut p = f.proof.clone();
	p.item.anchor.first_seq = 1;
	assert!(matches!(check(&f, &p), Err(CheckError::AnchorDiffers { .. })));
	// A storage proof of another key only.
	let mut p = f.proof.clone();
	p.chain.storage_proof.truncate(1);
	assert!(matches!(check(&f, &p), Err(CheckError::Storage(_))));
	// The header of another state.
	let mut p = f.proof.clone();
	p.chain.header.state_root = H256::repeat_byte(9);
	assert!(matches!(check(&f, &p), Err(CheckError::Storage(StorageError::Incomplete("anchor")))));
}

#[test]
fn justifications_that_do_not_finalize_are_refused() {
	use JustificationError as J;
	let f = fixture(false);
	let target = f.proof.chain.finality.as_ref().unwrap().descendants[1].clone();
	let refused = |j: Justification| {
		let mut p = f.proof.clone();
		finality(&mut p).justification = j;
		match check(&f, &p) {
			Err(CheckError::Finality(FinalityError::Justification { why, .. })) => why,
			other => panic!("accepted or refused for another reason: {other:?}"),
		}
	};
	// Two of three: not more than two thirds.
	assert_eq!(refused(justify(&target, 0, 21, &f.signers[..2])), J::NotSupermajority);
	// A key outside the set.
	let mut outsiders = f.signers.clone();
	outsiders[2] = keys(&["Mallory"]).remove(0);
	assert!(matches!(refused(justify(&target, 0, 21, &outsiders)), J::Outsider(2, _)));
	// Signed for another set id.
	assert!(matches!(refused(justify(&target, 1, 21, &f.signers)), J::BadSignature { .. }));
	// One voter twice.
	let mut twice = justify(&target, 0, 21, &f.signers);
	let first = twice.commit.precommits[0].clone();
	twice.commit.precommits.push(first);
	assert!(matches!(refused(twice), J::Duplicate(_)));
	// No precommits.
	let mut none = justify(&target, 0, 21, &f.signers);
	none.commit.precommits.clear();
	assert_eq!(refused(none), J::NoPrecommits);
	// A header carried that no vote needs.
	let mut extra = justify(&target, 0, 21, &f.signers);
	extra.votes_ancestries.push(target.clone());
	assert_eq!(refused(extra), J::UnusedHeaders);

	// A justification of another block.
	let mut p = f.proof.clone();
	let other = header(44, H256::repeat_byte(8), H256::zero(), vec![]);
	finality(&mut p).justification = justify(&other, 0, 21, &f.signers);
	assert_eq!(
		check(&f, &p),
		Err(CheckError::Finality(FinalityError::Target { expected: 44, got: 44 }))
	);
}

#[test]
fn header_links_and_set_changes_are_checked() {
	let f = fixture(true);
	// A broken link between the anchor block and the justified one.
	let mut p = f.proof.clone();
	finality(&mut p).descendants[0].parent_hash = H256::repeat_byte(0x42);
	assert_eq!(check(&f, &p), Err(CheckError::Finality(FinalityError::BrokenLink { number: 43 })));
	// Dropping the set change: the genesis set did not sign the justification.
	let mut p = f.proof.clone();
	finality(&mut p).set_changes.clear();
	assert!(matches!(
		check(&f, &p),
		Err(CheckError::Finality(FinalityError::Justification {
			set_id: 0,
			why: JustificationError::Outsider(..)
		}))
	));
	// A set change signed by the wrong set (the new set signing its own hand-over).
	let mut p = f.proof.clone();
	let change = finality(&mut p).set_changes[0].header.clone();
	finality(&mut p).set_changes[0].justification = justify(&change, 0, 7, &f.sets[1]);
	assert!(matches!(
		check(&f, &p),
		Err(CheckError::Finality(FinalityError::SetChange { index: 0, .. }))
	));
	// A "change" that schedules nothing.
	let mut p = f.proof.clone();
	let plain = header(10, H256::repeat_byte(1), H256::repeat_byte(2), vec![]);
	finality(&mut p).set_changes[0] =
		SetChange { justification: justify(&plain, 0, 7, &f.sets[0]), header: plain };
	assert_eq!(check(&f, &p), Err(CheckError::Finality(FinalityError::NoChange(0))));
	// A change between the anchor block and the justified one: the old set's justification of
	// a block after its end.
	let f = fixture(false);
	let mut p = f.proof.clone();
	let d1 =
		header(43, p.chain.header.hash(), H256::repeat_byte(4), vec![change_to(&keys(&["Dave"]))]);
	let d2 = header(44, d1.hash(), H256::repeat_byte(5), vec![]);
	let j = justify(&d2, 0, 21, &f.signers);
	*finality(&mut p) =
		FinalityProof { set_changes: vec![], descendants: vec![d1, d2], justification: j };
	assert_eq!(check(&f, &p), Err(CheckError::Finality(FinalityError::ChangeBetween(43))));
	// The proven block before the last change.
	let f = fixture(true);
	let mut p = f.proof.clone();
	finality(&mut p).set_changes[0].header.number = 50;
	assert!(check(&f, &p).is_err());
}

#[test]
fn a_proof_without_finality_says_so() {
	let f = fixture(false);
	let mut p = f.proof.clone();
	p.chain.finality = None;
	assert_eq!(check(&f, &p).unwrap().finalized, Finalized::NotProven);
}

#[test]
fn the_stored_anchor_is_the_pallet_s() {
	let info = pallet_attestation::AnchorInfo {
		first_seq: 7,
		log: LogHead { size: 9, root: H256::repeat_byte(3) },
		block: 11,
	};
	let ours = StoredAnchor {
		first_seq: 7,
		log: LogHead { size: 9, root: H256::repeat_byte(3) },
		block: 11,
	};
	assert_eq!(info.encode(), ours.encode());
}
