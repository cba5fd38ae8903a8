//! Channel tests: unilateral closes, challenges, settlement and HTLCs after it.

use super::*;

// --- unilateral close, challenge, settle -----------------------------------------------

#[test]
fn unilateral_close_with_onchain_state_returns_deposits() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 300));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, None));
		System::assert_last_event(
			Event::CloseStarted {
				channel_id: id,
				by: account(ALICE),
				nonce: 0,
				deadline: 1 + PERIOD,
			}
			.into(),
		);
		assert_noop!(
			Attestation::close_unilateral(origin(BOB), id, None),
			Error::<Test>::ChannelClosing
		);
		assert_noop!(
			Attestation::fund_channel(origin(BOB), id, 100),
			Error::<Test>::ChannelClosing
		);
		assert_noop!(
			Attestation::settle(origin(CHARLIE), id),
			Error::<Test>::ChallengePeriodNotOver
		);
		run_to(1 + PERIOD);
		assert_noop!(
			Attestation::settle(origin(CHARLIE), id),
			Error::<Test>::ChallengePeriodNotOver
		);
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(CHARLIE), id));
		assert_eq!(free(ALICE), INITIAL_BALANCE);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_noop!(Attestation::settle(origin(CHARLIE), id), Error::<Test>::UnknownChannel);
		try_state();
	});
}

#[test]
fn unilateral_close_needs_the_counterpartys_signature() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 4, DEPOSIT - 100, 100, vec![], 1);
		// Bob closes with a state only he signed: rejected.
		assert_noop!(
			Attestation::close_unilateral(
				origin(BOB),
				id,
				Some((s.clone(), sig(BOB, &s), Default::default()))
			),
			Error::<Test>::BadSignature
		);
		assert_noop!(
			Attestation::close_unilateral(
				origin(CHARLIE),
				id,
				Some((s.clone(), sig(ALICE, &s), Default::default()))
			),
			Error::<Test>::NotAParty
		);
		assert_ok!(close_with(BOB, id, &s));
		assert_noop!(Attestation::settle(origin(BOB), H256::zero()), Error::<Test>::UnknownChannel);
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 100);
		assert_eq!(Anchors::<Test>::get(id, 0).unwrap().log, log(1));
		try_state();
	});
}

#[test]
fn a_stale_close_is_overruled_until_the_deadline() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		let old = state(id, 1, DEPOSIT - 100, 100, vec![], 1);
		let newer = state(id, 5, DEPOSIT - 3_000, 3_000, vec![], 4);
		let newest = state(id, 6, DEPOSIT - 3_100, 3_100, vec![], 5);
		assert_ok!(close_with(ALICE, id, &old));
		assert_noop!(challenge(CHARLIE, id, &old), Error::<Test>::StaleState);
		// A watchtower (Charlie) proves a newer state on the last block of the period.
		run_to(1 + PERIOD);
		assert_ok!(challenge(CHARLIE, id, &newer));
		System::assert_last_event(
			Event::Challenged { channel_id: id, by: account(CHARLIE), nonce: 5, stale: true }
				.into(),
		);
		// An even newer state replaces it again; replaying the older one does not.
		assert_ok!(challenge(BOB, id, &newest));
		assert_noop!(challenge(ALICE, id, &newer), Error::<Test>::StaleState);
		run_to(2 + PERIOD);
		assert_noop!(challenge(BOB, id, &newest), Error::<Test>::ChallengePeriodOver);
		assert_ok!(Attestation::settle(origin(CHARLIE), id));
		let penalty = (DEPOSIT - 3_100) / 10;
		assert_eq!(closed_event(), (DEPOSIT - 3_100 - penalty, 3_100 + penalty, 0, 0, penalty));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 3_100 - penalty);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 3_100 + penalty);
		assert_eq!(Anchors::<Test>::get(id, 0).unwrap().log, log(5));
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}

#[test]
fn a_zero_penalty_only_replaces_the_state() {
	new_test_ext().execute_with(|| {
		StaleClosePenalty::set(Perbill::zero());
		let id = open(DEPOSIT);
		assert_ok!(close_with(ALICE, id, &state(id, 1, DEPOSIT - 100, 100, vec![], 1)));
		assert_ok!(challenge(BOB, id, &state(id, 3, DEPOSIT - 1_000, 1_000, vec![], 2)));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 1_000);
		StaleClosePenalty::set(Perbill::from_percent(10));
	});
}

#[test]
fn the_penalty_rounds_down() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		// Alice's balance in the newer state is 9_999: 10% is 999.9, rounded down to 999.
		assert_ok!(close_with(ALICE, id, &state(id, 1, DEPOSIT - 1, 1, vec![], 1)));
		assert_ok!(challenge(BOB, id, &state(id, 3, 9_999, 1, vec![], 2)));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(closed_event().4, 999);
	});
}

#[test]
fn challenge_and_settle_need_a_pending_close() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 1, DEPOSIT, 0, vec![], 1);
		assert_noop!(challenge(BOB, id, &s), Error::<Test>::ChannelNotClosing);
		assert_noop!(Attestation::settle(origin(BOB), id), Error::<Test>::ChannelNotClosing);
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, None));
		assert_noop!(checkpoint(id, &s), Error::<Test>::ChannelClosing);
		// A challenge needs both signatures.
		assert_noop!(
			Attestation::challenge(
				origin(BOB),
				id,
				s.clone(),
				sig(BOB, &s),
				sig(BOB, &s),
				Default::default()
			),
			Error::<Test>::BadSignature
		);
		try_state();
	});
}

// --- HTLCs ------------------------------------------------------------------------------

/// Close with two pending HTLCs (keys 1 and 2, expiring at block 30) and settle.
fn settled_with_htlcs() -> ChannelId {
	let id = open(DEPOSIT);
	let s = state(
		id,
		3,
		DEPOSIT - 700,
		0,
		vec![htlc(1, 300, 30, range(0, 2)), htlc(2, 400, 30, range(2, 1))],
		3,
	);
	assert_ok!(close_with(BOB, id, &s));
	run_to(2 + PERIOD);
	assert_ok!(Attestation::settle(origin(BOB), id));
	id
}

#[test]
fn htlc_claim_before_expiry_pays_verifier_once() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = settled_with_htlcs();
		assert_eq!(channel_held(ALICE), 700);
		assert_eq!(free(ALICE), INITIAL_BALANCE - DEPOSIT + (DEPOSIT - 700));
		try_state();
		assert_noop!(
			Attestation::claim_htlc(origin(CHARLIE), id, ph(1), BillKey([9; 32])),
			Error::<Test>::WrongBillKey
		);
		assert_noop!(
			Attestation::refund_htlc(origin(ALICE), id, ph(1)),
			Error::<Test>::HtlcNotExpired
		);
		run_to(30);
		assert_ok!(Attestation::claim_htlc(origin(CHARLIE), id, ph(1), BillKey([1; 32])));
		System::assert_last_event(
			Event::HtlcClaimed {
				channel_id: id,
				payment_hash: ph(1),
				bill_key: BillKey([1; 32]),
				amount: 300,
				paid: 300,
			}
			.into(),
		);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 300);
		// Never twice, never refunded after a claim.
		assert_noop!(
			Attestation::claim_htlc(origin(BOB), id, ph(1), BillKey([1; 32])),
			Error::<Test>::UnknownHtlc
		);
		run_to(31);
		assert_noop!(
			Attestation::refund_htlc(origin(ALICE), id, ph(1)),
			Error::<Test>::UnknownHtlc
		);
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}

#[test]
fn htlc_refund_after_expiry_and_never_claimed_then() {
	new_test_ext().execute_with(|| {
		let id = settled_with_htlcs();
		run_to(31);
		assert_noop!(
			Attestation::claim_htlc(origin(BOB), id, ph(2), BillKey([2; 32])),
			Error::<Test>::HtlcExpired
		);
		assert_ok!(Attestation::refund_htlc(origin(CHARLIE), id, ph(2)));
		System::assert_last_event(
			Event::HtlcRefunded { channel_id: id, payment_hash: ph(2), amount: 400 }.into(),
		);
		assert_noop!(
			Attestation::refund_htlc(origin(CHARLIE), id, ph(2)),
			Error::<Test>::UnknownHtlc
		);
		assert_noop!(
			Attestation::claim_htlc(origin(BOB), id, ph(2), BillKey([2; 32])),
			Error::<Test>::UnknownHtlc
		);
		assert_ok!(Attestation::refund_htlc(origin(CHARLIE), id, ph(1)));
		assert_eq!(free(ALICE), INITIAL_BALANCE);
		assert_eq!(channel_held(ALICE), 0);
		try_state();
	});
}

#[test]
fn settle_moves_funds_from_the_verifiers_hold_when_needed() {
	new_test_ext().execute_with(|| {
		// Bob funded most of the channel; the state gives Alice more than she put in.
		let id = open(MIN_CHANNEL_DEPOSIT);
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 5_000));
		let total = MIN_CHANNEL_DEPOSIT + 5_000;
		let s = state(id, 1, 2_000, total - 2_050, vec![htlc(7, 50, 40, range(0, 1))], 1);
		assert_ok!(close_with(ALICE, id, &s));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(ALICE), id));
		assert_eq!(free(ALICE), INITIAL_BALANCE - MIN_CHANNEL_DEPOSIT + 2_000);
		assert_eq!(channel_held(ALICE), 50);
		assert_eq!(channel_held(BOB), 0);
		try_state();
		assert_ok!(Attestation::claim_htlc(origin(BOB), id, ph(7), BillKey([7; 32])));
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT - 5_000 + (total - 2_050) + 50);
		try_state();
	});
}

#[test]
fn integrity_test_passes_for_the_mock() {
	<Attestation as Hooks<u64>>::integrity_test();
}

#[test]
fn closing_with_the_checkpointed_state_does_not_anchor_twice() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		assert_ok!(checkpoint(id, &state(id, 1, DEPOSIT - 10, 10, vec![], 2)));
		assert_ok!(Attestation::close_unilateral(origin(BOB), id, None));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert!(Anchors::<Test>::get(id, 1).is_none());
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 10);
		try_state();
	});
}
