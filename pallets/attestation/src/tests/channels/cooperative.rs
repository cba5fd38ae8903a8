//! Channel tests: cooperative closes, and the attacks on them (issue 11): a final state
//! needed, top-ups, the message order behind the penalty, bill keys revealed in time, dust.

use super::*;

// --- cooperative close ------------------------------------------------------------------

#[test]
fn cooperative_close_pays_both_and_anchors() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 1_000));
		let s = final_state(id, 9, DEPOSIT - 2_500, 3_500, 7);
		assert_ok!(close_coop(id, &s));
		assert!(Channels::<Test>::get(id).is_none());
		assert_eq!(channel_held(ALICE), 0);
		assert_eq!(channel_held(BOB), 0);
		assert_eq!(free(ALICE), INITIAL_BALANCE - 2_500);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 2_500);
		assert_eq!(Anchors::<Test>::get(id, 0).unwrap().log, log(7));
		System::assert_last_event(
			Event::ChannelClosed {
				channel_id: id,
				requester_paid: DEPOSIT - 2_500,
				verifier_paid: 3_500,
				revealed_htlcs_paid: 0,
				pending_htlcs: 0,
				stale_close_penalty: 0,
			}
			.into(),
		);
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}

#[test]
fn state_signed_before_a_top_up_returns_the_top_up() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let before = final_state(id, 3, DEPOSIT - 100, 100, 2);
		assert_ok!(Attestation::fund_channel(origin(ALICE), id, 400));
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 50));
		assert_ok!(close_coop(id, &before));
		// Alice keeps her top-up, Bob his, on top of the state's split.
		assert_eq!(free(ALICE), INITIAL_BALANCE - 100);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 100);
		try_state();
	});
}

/// Flaw 1: the normal protocol produces a state without HTLCs after every batch (state 2, 4,
/// ...). A requester holding states 2 and 4 must not close at once with 2: only a final
/// state, which both sign as the last one, closes cooperatively.
#[test]
fn cooperative_close_needs_a_final_state() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s2 = state(id, 2, DEPOSIT - 100, 100, vec![], 1);
		let s4 = state(id, 4, DEPOSIT - 200, 200, vec![], 2);
		assert_noop!(close_coop(id, &s2), Error::<Test>::NotFinal);
		assert_noop!(close_coop(id, &s4), Error::<Test>::NotFinal);
		// A final state with HTLCs does not exist.
		let mut with_htlc = final_state(id, 5, DEPOSIT - 300, 200, 2);
		with_htlc.htlcs = vec![htlc(1, 100, 50, range(1, 1))].try_into().unwrap();
		assert_noop!(close_coop(id, &with_htlc), Error::<Test>::NotFinal);
		// A final state is not a unilateral close nor a challenge.
		let fin = final_state(id, 5, DEPOSIT - 200, 200, 2);
		assert_noop!(close_with(ALICE, id, &fin), Error::<Test>::FinalState);
		// The verifier (holding state 4) can still overrule an old unilateral close.
		assert_ok!(close_with(ALICE, id, &s2));
		assert_noop!(challenge(BOB, id, &fin), Error::<Test>::FinalState);
		assert_ok!(challenge(BOB, id, &s4));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(closed_event().1, 200 + (DEPOSIT - 200) / 10);
		// Stale final states are refused like any stale state.
		let id = open(DEPOSIT);
		assert_ok!(checkpoint(id, &state(id, 3, DEPOSIT, 0, vec![], 1)));
		assert_noop!(close_coop(id, &final_state(id, 3, DEPOSIT, 0, 1)), Error::<Test>::StaleState);
		try_state();
	});
}

/// Flaw 2: a checkpoint of an older state (state 1) must not disable state 3, which both
/// signed before it: the requester checkpoints 1, closes with it, and the verifier
/// challenges with 3, whose log holds the checkpointed items and more.
#[test]
fn a_checkpoint_of_an_older_state_leaves_newer_states_usable() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 100, 100, vec![], 1);
		let s2 = state(id, 2, DEPOSIT - 200, 200, vec![], 2);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		assert_ok!(checkpoint(id, &s1));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, None));
		assert_ok!(challenge(BOB, id, &s3));
		System::assert_last_event(
			Event::Challenged { channel_id: id, by: account(BOB), nonce: 3, stale: true }.into(),
		);
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		// Items 1 and 2 are anchored once, after item 0.
		assert_eq!(
			Anchors::<Test>::get(id, 1),
			Some(AnchorInfo { first_seq: 1, log: log(3), block: 2 + PERIOD as u32 })
		);
		assert!(Anchors::<Test>::get(id, 2).is_none());
		let penalty = (DEPOSIT - 300) / 10;
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 300 + penalty);
		// Also for checkpoint: a newer state checkpoints over an older checkpoint.
		let id = open(DEPOSIT);
		assert_ok!(checkpoint(id, &state(id, 1, DEPOSIT, 0, vec![], 1)));
		assert_ok!(checkpoint(id, &state(id, 2, DEPOSIT, 0, vec![], 4)));
		// And a cooperative close after it.
		let _ = s2;
		assert_ok!(close_coop(id, &final_state(id, 3, DEPOSIT - 10, 10, 6)));
		assert_eq!(Anchors::<Test>::get(id, 2).map(|a| (a.first_seq, a.log.size)), Some((4, 6)));
		try_state();
	});
}

/// Flaw 3: the requester signs every state first. Waiting for the countersignature on state
/// 2, it holds only 1; when the verifier goes silent and the requester closes with 1, the
/// challenge with 2 replaces the state but costs the requester nothing. State 3 (which the
/// requester signs only after holding 2) does prove its close stale.
#[test]
fn the_penalty_follows_the_message_order() {
	new_test_ext().execute_with(|| {
		// Requester closes with n; challenge with n + 1: no penalty.
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 100, 100, vec![], 1);
		let s2 = state(id, 2, DEPOSIT - 200, 200, vec![], 2);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		assert_ok!(close_with(ALICE, id, &s1));
		assert_ok!(challenge(BOB, id, &s2));
		System::assert_last_event(
			Event::Challenged { channel_id: id, by: account(BOB), nonce: 2, stale: false }.into(),
		);
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(closed_event(), (DEPOSIT - 200, 200, 0, 0, 0));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 200);

		// Requester closes with n; challenge with n + 2: 10% of its balance in n + 2.
		let id = open(DEPOSIT);
		let (s1, s3) = (
			ChannelState { channel_id: id, ..s1.clone() },
			ChannelState { channel_id: id, ..s3.clone() },
		);
		assert_ok!(close_with(ALICE, id, &s1));
		assert_ok!(challenge(BOB, id, &s3));
		run_to(3 + 2 * PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		let penalty = (DEPOSIT - 300) / 10;
		assert_eq!(closed_event(), (DEPOSIT - 300 - penalty, 300 + penalty, 0, 0, penalty));

		// Verifier closes with n; challenge with n + 1: the verifier held it (it countersigns
		// last), so 10% of its balance.
		let id = open(DEPOSIT);
		let (v1, v2) = (
			state(id, 1, DEPOSIT - 100, 100, vec![], 1),
			state(id, 2, DEPOSIT - 2_000, 2_000, vec![], 2),
		);
		assert_ok!(close_with(BOB, id, &v1));
		assert_ok!(challenge(ALICE, id, &v2));
		run_to(4 + 3 * PERIOD);
		assert_ok!(Attestation::settle(origin(ALICE), id));
		assert_eq!(closed_event(), (DEPOSIT - 2_000 + 200, 2_000 - 200, 0, 0, 200));

		// Closing with `None` counts the chain's nonce.
		let id = open(DEPOSIT);
		assert_ok!(checkpoint(id, &state(id, 1, DEPOSIT - 100, 100, vec![], 1)));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, None));
		assert_ok!(challenge(BOB, id, &state(id, 2, DEPOSIT - 200, 200, vec![], 2)));
		run_to(5 + 4 * PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(closed_event().4, 0);
		try_state();
	});
}

#[test]
fn the_penalty_rule_in_full() {
	use crate::types::{proves_stale, Party::*};
	for closed in [0u64, 1, 7, u64::MAX - 2] {
		assert!(!proves_stale(Requester, closed, closed + 1));
		assert!(proves_stale(Requester, closed, closed + 2));
		assert!(proves_stale(Verifier, closed, closed + 1));
		assert!(!proves_stale(Verifier, closed, closed));
	}
	assert!(!proves_stale(Requester, u64::MAX, u64::MAX));
}

/// Flaw 4: the requester closes with its newest state less than a challenge period before
/// an HTLC's expiry. The verifier puts the bill key on chain before the expiry and is paid
/// at settlement, after the expiry.
#[test]
fn a_bill_key_revealed_in_time_pays_the_verifier_at_settlement() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		let expiry = 5u32;
		let s = state(
			id,
			1,
			DEPOSIT - 700,
			0,
			vec![htlc(1, 300, expiry, range(0, 1)), htlc(2, 400, expiry, range(1, 1))],
			2,
		);
		assert_ok!(close_with(ALICE, id, &s));
		// Only the verifier reveals, each key once.
		assert_noop!(
			Attestation::reveal_bill_key(origin(ALICE), id, BillKey([1; 32])),
			Error::<Test>::NotVerifier
		);
		assert_noop!(
			Attestation::reveal_bill_key(origin(CHARLIE), id, BillKey([1; 32])),
			Error::<Test>::NotVerifier
		);
		run_to(expiry as u64);
		assert_ok!(Attestation::reveal_bill_key(origin(BOB), id, BillKey([1; 32])));
		System::assert_last_event(
			Event::BillKeyRevealed {
				channel_id: id,
				payment_hash: ph(1),
				bill_key: BillKey([1; 32]),
				block: expiry,
			}
			.into(),
		);
		assert_noop!(
			Attestation::reveal_bill_key(origin(BOB), id, BillKey([1; 32])),
			Error::<Test>::AlreadyRevealed
		);
		// Key 2 comes one block late: it would pay nothing, and is refused.
		run_to(expiry as u64 + 1);
		assert_noop!(
			Attestation::reveal_bill_key(origin(BOB), id, BillKey([2; 32])),
			Error::<Test>::HtlcExpired
		);
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(CHARLIE), id));
		assert_eq!(closed_event(), (DEPOSIT - 700, 300, 300, 1, 0));
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 300);
		// The late one is refundable, not claimable.
		assert_noop!(
			Attestation::claim_htlc(origin(BOB), id, ph(2), BillKey([2; 32])),
			Error::<Test>::HtlcExpired
		);
		assert_noop!(
			Attestation::claim_htlc(origin(BOB), id, ph(1), BillKey([1; 32])),
			Error::<Test>::UnknownHtlc
		);
		assert_ok!(Attestation::refund_htlc(origin(ALICE), id, ph(2)));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 300);
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}

#[test]
fn reveals_are_bounded_and_ignored_for_resolved_htlcs() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		// While open: keys of HTLCs that the final state no longer holds change nothing.
		assert_ok!(Attestation::reveal_bill_key(origin(BOB), id, BillKey([1; 32])));
		for k in 2..=MAX_HTLCS as u8 {
			assert_ok!(Attestation::reveal_bill_key(origin(BOB), id, BillKey([k; 32])));
		}
		assert_noop!(
			Attestation::reveal_bill_key(origin(BOB), id, BillKey([99; 32])),
			Error::<Test>::TooManyRevealedKeys
		);
		assert_ok!(close_coop(id, &final_state(id, 2, DEPOSIT - 300, 300, 1)));
		assert_eq!(closed_event(), (DEPOSIT - 300, 300, 0, 0, 0));
		assert_noop!(
			Attestation::reveal_bill_key(origin(BOB), id, BillKey([1; 32])),
			Error::<Test>::UnknownChannel
		);
		try_state();
	});
}

/// Flaw 5: a cooperative close after the deadline cannot cancel a proven penalty; during the
/// period it counts as a challenge, with the same penalty rule.
#[test]
fn cooperative_close_during_a_close_keeps_the_penalty_rule() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 100, 100, vec![], 1);
		let s5 = state(id, 5, DEPOSIT - 500, 500, vec![], 2);
		let f6 = final_state(id, 6, DEPOSIT - 500, 500, 2);
		assert_ok!(close_with(ALICE, id, &s1));
		assert_ok!(challenge(BOB, id, &s5));
		run_to(2 + PERIOD);
		assert_noop!(close_coop(id, &f6), Error::<Test>::ChallengePeriodOver);
		assert_ok!(Attestation::settle(origin(BOB), id));
		let penalty = (DEPOSIT - 500) / 10;
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 500 + penalty);

		// Within the period: the final state proves the requester's close stale.
		let id = open(DEPOSIT);
		let (s1, f6) =
			(ChannelState { channel_id: id, ..s1 }, ChannelState { channel_id: id, ..f6 });
		assert_ok!(close_with(ALICE, id, &s1));
		assert_ok!(close_coop(id, &f6));
		assert_eq!(closed_event(), (DEPOSIT - 500 - penalty, 500 + penalty, 0, 0, penalty));
		// ...and one nonce above the close does not.
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 100, 100, vec![], 1);
		assert_ok!(close_with(ALICE, id, &s1));
		assert_ok!(close_coop(id, &final_state(id, 2, DEPOSIT - 100, 100, 1)));
		assert_eq!(closed_event().4, 0);
		try_state();
	});
}

/// Flaw 5: settlement and claims must not fail because the verifier's account is empty (a
/// payout below the existential deposit cannot be deposited): such dust stays with the payer.
#[test]
fn payouts_to_an_account_below_the_existential_deposit_never_fail() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		let s = state(id, 1, DEPOSIT - 5 - 4, 5, vec![htlc(1, 4, 100, range(0, 1))], 1);
		// The verifier leaves the registry and empties its account.
		assert_ok!(Attestation::unregister_verifier(origin(BOB)));
		assert_ok!(<Balances as Mutate<_>>::transfer(
			&account(BOB),
			&account(CHARLIE),
			free(BOB),
			Preservation::Expendable
		));
		assert_eq!(Balances::total_balance(&account(BOB)), 0);
		assert_ok!(close_with(ALICE, id, &s));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(CHARLIE), id));
		assert_eq!(closed_event(), (DEPOSIT - 4, 0, 0, 1, 0));
		assert_ok!(Attestation::claim_htlc(origin(CHARLIE), id, ph(1), BillKey([1; 32])));
		System::assert_last_event(
			Event::HtlcClaimed {
				channel_id: id,
				payment_hash: ph(1),
				bill_key: BillKey([1; 32]),
				amount: 4,
				paid: 0,
			}
			.into(),
		);
		assert_eq!(free(ALICE), INITIAL_BALANCE);
		// A payout of at least the existential deposit goes through to the empty account.
		let id2 = {
			assert_ok!(Attestation::register_verifier(
				origin(CHARLIE),
				b"https://c.example".to_vec(),
				1,
				MIN_CHALLENGE
			));
			let count = ChannelCount::<Test>::get();
			assert_ok!(Attestation::open_channel(origin(ALICE), account(CHARLIE), DEPOSIT, PERIOD));
			attest_primitives::channel_id(&genesis(), &account(ALICE), &account(CHARLIE), count)
		};
		let _ = id2;
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}
