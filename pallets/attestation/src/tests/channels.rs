//! Channel tests: open, fund, checkpoint, close (both ways), challenge, settle, HTLCs; the
//! attacks of issue 11 (old states, checkpoints of older states, penalties for the honest,
//! HTLCs run past expiry, dust); and property tests of conservation and of "the newest
//! state wins" over random histories.

use crate::{harness::*, mock::*, *};
use attest_primitives::{
	signing::{self, sign, Kind},
	BillKey, ChannelState, Hash, Htlc, LogHead,
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, Mutate},
		tokens::Preservation,
		Hooks,
	},
};
use sp_core::H256;
use sp_runtime::{DispatchError, MultiSignature, Perbill};

fn try_state() {
	Attestation::do_try_state().expect("holds equal what channels and HTLCs owe");
}

/// The last `ChannelClosed` event.
fn closed_event() -> (Balance, Balance, Balance, u32, Balance) {
	System::events()
		.into_iter()
		.rev()
		.find_map(|r| match r.event {
			RuntimeEvent::Attestation(Event::ChannelClosed {
				requester_paid,
				verifier_paid,
				revealed_htlcs_paid,
				pending_htlcs,
				stale_close_penalty,
				..
			}) => Some((
				requester_paid,
				verifier_paid,
				revealed_htlcs_paid,
				pending_htlcs,
				stale_close_penalty,
			)),
			_ => None,
		})
		.expect("a ChannelClosed event")
}

// --- open / fund ------------------------------------------------------------------------

#[test]
fn open_holds_deposit_and_derives_id() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		assert_eq!(channel_held(ALICE), DEPOSIT);
		assert_eq!(free(ALICE), INITIAL_BALANCE - DEPOSIT);
		let ch = Channels::<Test>::get(id).expect("stored under the derived id");
		assert_eq!((ch.requester.clone(), ch.verifier.clone()), (account(ALICE), account(BOB)));
		assert_eq!(ch.state.requester_balance, DEPOSIT);
		assert_eq!(
			(ch.state.nonce, ch.state.log, ch.state.is_final()),
			(0, LogHead::empty(), false)
		);
		assert_eq!(ch.anchored, LogHead::empty());
		System::assert_last_event(
			Event::ChannelOpened {
				channel_id: id,
				requester: account(ALICE),
				verifier: account(BOB),
				deposit: DEPOSIT,
				challenge_period: PERIOD,
			}
			.into(),
		);
		// The same pair again gets a fresh id: the counter is read before the increment.
		assert_eq!(ChannelCount::<Test>::get(), 1);
		let id2 = open(DEPOSIT);
		assert_eq!(
			id2,
			attest_primitives::channel_id(&genesis(), &account(ALICE), &account(BOB), 1)
		);
		assert_ne!(id, id2);
		assert_eq!(channel_held(ALICE), 2 * DEPOSIT);
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}

#[test]
fn open_rejects_bad_input() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Attestation::open_channel(origin(ALICE), account(BOB), DEPOSIT, PERIOD),
			Error::<Test>::NotRegistered
		);
		assert_ok!(Attestation::register_verifier(
			origin(BOB),
			b"https://bob.example".to_vec(),
			1,
			MIN_CHALLENGE
		));
		assert_noop!(
			Attestation::open_channel(origin(BOB), account(BOB), DEPOSIT, PERIOD),
			Error::<Test>::SelfChannel
		);
		assert_noop!(
			Attestation::open_channel(origin(ALICE), account(BOB), MIN_CHANNEL_DEPOSIT - 1, PERIOD),
			Error::<Test>::DepositTooLow
		);
		for period in [MIN_CHALLENGE - 1, MAX_CHALLENGE + 1] {
			assert_noop!(
				Attestation::open_channel(origin(ALICE), account(BOB), DEPOSIT, period),
				Error::<Test>::InvalidChallengePeriod
			);
		}
		assert_noop!(
			Attestation::open_channel(origin(POOR), account(BOB), 1_000, PERIOD),
			Error::<Test>::InsufficientDeposit
		);
		assert_noop!(
			Attestation::open_channel(RuntimeOrigin::none(), account(BOB), DEPOSIT, PERIOD),
			DispatchError::BadOrigin
		);
	});
}

/// Flaw 5 (short periods): the verifier requires a minimum challenge period; a requester
/// cannot open a channel to it with a shorter one.
#[test]
fn verifier_minimum_challenge_period_binds_new_channels() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Attestation::register_verifier(
				origin(BOB),
				b"https://bob.example".to_vec(),
				1,
				MAX_CHALLENGE + 1
			),
			Error::<Test>::InvalidChallengePeriod
		);
		assert_ok!(Attestation::register_verifier(
			origin(BOB),
			b"https://bob.example".to_vec(),
			1,
			50
		));
		assert_noop!(
			Attestation::open_channel(origin(ALICE), account(BOB), DEPOSIT, 49),
			Error::<Test>::ChallengePeriodTooShort
		);
		assert_ok!(Attestation::open_channel(origin(ALICE), account(BOB), DEPOSIT, 50));
		assert_ok!(Attestation::update_verifier(origin(BOB), None, None, Some(100)));
		System::assert_last_event(
			Event::VerifierUpdated {
				verifier: account(BOB),
				endpoint: b"https://bob.example".to_vec().try_into().unwrap(),
				price: 1,
				min_challenge_period: 100,
			}
			.into(),
		);
		assert_noop!(
			Attestation::open_channel(origin(ALICE), account(BOB), DEPOSIT, 99),
			Error::<Test>::ChallengePeriodTooShort
		);
		assert_noop!(
			Attestation::update_verifier(origin(BOB), None, None, Some(MIN_CHALLENGE - 1)),
			Error::<Test>::InvalidChallengePeriod
		);
	});
}

#[test]
fn fund_by_either_party_and_errors() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 500));
		assert_ok!(Attestation::fund_channel(origin(ALICE), id, 700));
		System::assert_last_event(
			Event::ChannelFunded { channel_id: id, by: account(ALICE), amount: 700 }.into(),
		);
		assert_eq!(channel_held(BOB), 500);
		assert_eq!(channel_held(ALICE), DEPOSIT + 700);
		assert_noop!(Attestation::fund_channel(origin(ALICE), id, 0), Error::<Test>::TopUpTooLow);
		assert_noop!(Attestation::fund_channel(origin(CHARLIE), id, 500), Error::<Test>::NotAParty);
		assert_noop!(
			Attestation::fund_channel(origin(ALICE), H256::zero(), 500),
			Error::<Test>::UnknownChannel
		);
		assert_noop!(
			Attestation::fund_channel(origin(BOB), id, 10 * INITIAL_BALANCE),
			Error::<Test>::InsufficientDeposit
		);
		try_state();
	});
}

/// Flaw 5 (dust top-ups): the requester cannot fill the channel's fundings with dust, nor
/// use up the verifier's share of top-ups.
#[test]
fn dust_top_ups_cannot_block_the_other_party() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		assert_noop!(Attestation::fund_channel(origin(ALICE), id, 1), Error::<Test>::TopUpTooLow);
		assert_noop!(
			Attestation::fund_channel(origin(ALICE), id, MIN_TOP_UP - 1),
			Error::<Test>::TopUpTooLow
		);
		// Each party has (MAX_FUNDINGS - 1) / 2 = 2 top-ups.
		for _ in 0..(MAX_FUNDINGS - 1) / 2 {
			assert_ok!(Attestation::fund_channel(origin(ALICE), id, MIN_TOP_UP));
		}
		assert_noop!(
			Attestation::fund_channel(origin(ALICE), id, MIN_TOP_UP),
			Error::<Test>::TooManyFundings
		);
		// The verifier still can.
		for _ in 0..(MAX_FUNDINGS - 1) / 2 {
			assert_ok!(Attestation::fund_channel(origin(BOB), id, 5_000));
		}
		assert_noop!(
			Attestation::fund_channel(origin(BOB), id, 5_000),
			Error::<Test>::TooManyFundings
		);
		try_state();
	});
}

// --- checkpoint and anchors -------------------------------------------------------------

#[test]
fn checkpoints_anchor_the_growing_log() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 30, 30, vec![], 3);
		assert_ok!(checkpoint(id, &s1));
		let a0 = Anchors::<Test>::get(id, 0).expect("anchored");
		assert_eq!(a0, AnchorInfo { first_seq: 0, log: log(3), block: 1 });
		assert_eq!(AnchorsByRoot::<Test>::get(log(3).root, id), Some(0));
		System::assert_has_event(
			Event::Anchored { channel_id: id, index: 0, first_seq: 0, size: 3, root: log(3).root }
				.into(),
		);
		System::assert_last_event(Event::Checkpointed { channel_id: id, nonce: 1 }.into());

		// Replaying the checkpoint: stale nonce.
		assert_noop!(checkpoint(id, &s1), Error::<Test>::StaleState);
		// The same log under a higher nonce: nothing new to anchor.
		let same = state(id, 2, DEPOSIT - 50, 50, vec![], 3);
		assert_noop!(checkpoint(id, &same), Error::<Test>::NothingToAnchor);
		// A shorter log, or a log that does not extend the anchored one (a fork).
		let shorter = state(id, 2, DEPOSIT - 50, 50, vec![], 2);
		assert_noop!(checkpoint(id, &shorter), Error::<Test>::InconsistentLog);
		let mut fork = state(id, 2, DEPOSIT - 50, 50, vec![], 5);
		let mut forked = digests(0, 5);
		forked[1] = H256::repeat_byte(7);
		fork.log = LogHead::of_digests(&forked);
		assert_noop!(checkpoint(id, &fork), Error::<Test>::InconsistentLog);
		// A wrong proof, or none.
		let s2 = state(id, 2, DEPOSIT - 50, 50, vec![], 5);
		assert_noop!(
			Attestation::checkpoint(
				origin(CHARLIE),
				id,
				s2.clone(),
				sig(ALICE, &s2),
				sig(BOB, &s2),
				Default::default()
			),
			Error::<Test>::InconsistentLog
		);
		assert_noop!(
			Attestation::checkpoint(
				origin(CHARLIE),
				id,
				s2.clone(),
				sig(ALICE, &s2),
				sig(BOB, &s2),
				consistency(2, 5)
			),
			Error::<Test>::InconsistentLog
		);
		// An empty log with a non-empty root is malformed.
		let id2 = open(DEPOSIT);
		let mut bogus = state(id2, 1, DEPOSIT, 0, vec![], 0);
		bogus.log.root = H256::repeat_byte(1);
		assert_noop!(close_with(ALICE, id2, &bogus), Error::<Test>::InconsistentLog);
		// A final state is for close_cooperative only.
		let fin = final_state(id, 2, DEPOSIT - 50, 50, 5);
		assert_noop!(checkpoint(id, &fin), Error::<Test>::FinalState);

		assert_ok!(checkpoint(id, &s2));
		assert_eq!(
			Anchors::<Test>::get(id, 1),
			Some(AnchorInfo { first_seq: 3, log: log(5), block: 1 })
		);
		assert_eq!(Channels::<Test>::get(id).unwrap().anchored, log(5));
		try_state();
	});
}

#[test]
fn anchors_are_indexed_off_chain() {
	let mut ext = new_test_ext();
	let id = ext.execute_with(|| {
		let id = open(DEPOSIT);
		assert_ok!(checkpoint(id, &state(id, 1, DEPOSIT, 0, vec![], 2)));
		assert_ok!(checkpoint(id, &state(id, 2, DEPOSIT, 0, vec![], 3)));
		id
	});
	ext.persist_offchain_overlay();
	let db = ext.offchain_db();
	let raw = db.get(&anchor_index_key(1, 0)).expect("first anchor of block 1 indexed");
	let anchor = <attest_primitives::Anchor as codec::Decode>::decode(&mut &raw[..]).unwrap();
	assert_eq!(
		anchor,
		attest_primitives::Anchor { channel_id: id, index: 0, first_seq: 0, log: log(2), block: 1 }
	);
	let second = db.get(&anchor_index_key(1, 1)).expect("second anchor of block 1 indexed");
	let second = <attest_primitives::Anchor as codec::Decode>::decode(&mut &second[..]).unwrap();
	assert_eq!((second.index, second.first_seq, second.log), (1, 2, log(3)));
	let count = db.get(&anchor_count_key(1)).expect("count indexed");
	assert_eq!(<u32 as codec::Decode>::decode(&mut &count[..]).unwrap(), 2);
}

#[test]
fn state_checks_reject_malformed_states() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let other = open(DEPOSIT);
		// Another channel's state.
		let s = state(other, 1, DEPOSIT, 0, vec![], 1);
		assert_noop!(checkpoint(id, &s), Error::<Test>::WrongChannel);
		// Totals that do not match the deposit.
		let s = state(id, 1, DEPOSIT, 1, vec![], 1);
		assert_noop!(checkpoint(id, &s), Error::<Test>::TotalMismatch);
		let s = state(id, 1, u128::MAX, 1, vec![], 1);
		assert_noop!(checkpoint(id, &s), Error::<Test>::Overflow);
		// Too many HTLCs, or two with one payment hash.
		let many: Vec<Htlc> = (0..=MAX_HTLCS as u8).map(|k| htlc(k, 1, 100, range(0, 1))).collect();
		let s = state(id, 1, DEPOSIT - many.len() as u128, 0, many, 1);
		assert_noop!(checkpoint(id, &s), Error::<Test>::InvalidHtlcs);
		let dup = vec![htlc(1, 1, 100, range(0, 1)), htlc(1, 2, 100, range(0, 1))];
		let s = state(id, 1, DEPOSIT - 3, 0, dup, 1);
		assert_noop!(checkpoint(id, &s), Error::<Test>::InvalidHtlcs);
		// HTLCs worth more than the requester funded (they would pay the verifier with its
		// own top-up).
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 5_000));
		let s = state(id, 1, 0, 3_000, vec![htlc(1, DEPOSIT + 2_000, 100, range(0, 1))], 1);
		assert_noop!(checkpoint(id, &s), Error::<Test>::InvalidHtlcs);
		assert_noop!(
			Attestation::checkpoint(
				origin(CHARLIE),
				H256::zero(),
				s.clone(),
				sig(ALICE, &s),
				sig(BOB, &s),
				Default::default()
			),
			Error::<Test>::UnknownChannel
		);
	});
}

#[test]
fn signatures_from_other_contexts_are_rejected() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 1, DEPOSIT - 10, 10, vec![], 1);
		let (a, b) = (sig(ALICE, &s), sig(BOB, &s));
		let cp = |s: &ChannelState, ra: &MultiSignature, vb: &MultiSignature| {
			Attestation::checkpoint(
				origin(ALICE),
				s.channel_id,
				s.clone(),
				ra.clone(),
				vb.clone(),
				Default::default(),
			)
		};
		// Swapped, or both by one party.
		assert_noop!(cp(&s, &b, &a), Error::<Test>::BadSignature);
		assert_noop!(cp(&s, &a, &a), Error::<Test>::BadSignature);
		// Signed for another chain.
		let other_chain = sign::sign_state(&BOB.pair(), &H256::repeat_byte(9), &s);
		assert_noop!(cp(&s, &a, &other_chain), Error::<Test>::BadSignature);
		// Signed as another message kind.
		let as_bill = sign::sign(&BOB.pair(), Kind::Bill, &genesis(), &id, &s);
		assert_noop!(cp(&s, &a, &as_bill), Error::<Test>::BadSignature);
		// Signed for another nonce, or as not final while submitted as final.
		let mut s2 = s.clone();
		s2.nonce = 2;
		assert_noop!(cp(&s2, &a, &b), Error::<Test>::BadSignature);
		let mut as_final = s.clone();
		as_final.finality = Finality::Final;
		assert_noop!(
			Attestation::close_cooperative(
				origin(ALICE),
				id,
				as_final,
				a.clone(),
				b.clone(),
				Default::default()
			),
			Error::<Test>::BadSignature
		);
		// Signed for another channel (same content, other id).
		let other = open(DEPOSIT);
		let mut s3 = s.clone();
		s3.channel_id = other;
		assert_noop!(cp(&s3, &a, &b), Error::<Test>::BadSignature);
		// ed25519 keys of the same names are other accounts.
		let ed = sign::sign_state(&sp_keyring::Ed25519Keyring::Bob.pair(), &genesis(), &s);
		assert_noop!(cp(&s, &a, &ed), Error::<Test>::BadSignature);
		assert_ok!(cp(&s, &a, &b));
		let onchain = Channels::<Test>::get(id).unwrap().state;
		assert!(signing::verify_state(
			&genesis(),
			&onchain,
			&sig(ALICE, &onchain),
			&account(ALICE)
		)
		.is_ok());
	});
}

mod cooperative;
mod honest_closes;
mod properties;
mod unilateral;
