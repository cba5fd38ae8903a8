//! Honest parties never pay the stale-close penalty, whatever the order of unilateral closes,
//! late countersignatures, final states agreed during a close, challenges, reveals and settle
//! (`docs/protocol.md`, "Closing, and what may be signed after a close"; DESIGN.md invariant
//! 8). Before `Finality::EndsClose`, a final state agreed after a close read as proof that the
//! closer held it before closing: the first three tests charged an honest closer.

use super::*;

/// The final state the agents agree during the close by `closer` with nonce `closed`: the
/// newest state both hold plus one, every HTLC resolved, naming the close.
fn ends_close(base: &ChannelState, closer: Party, closed: u64) -> ChannelState {
	let mut f = base.clone();
	f.nonce += 1;
	for h in core::mem::take(&mut f.htlcs) {
		f.verifier_balance += h.amount;
	}
	f.finality = Finality::EndsClose { closer, closed_nonce: closed };
	f
}

/// The verifier closes alone with its newest state (3); the requester then runs `attest
/// channel close`: both agree a final state, which closes the channel at once. Nobody
/// cheated, nobody pays. (Before: the final state, nonce 4 > 3, cost the verifier 10%.)
#[test]
fn verifier_closes_then_both_agree_a_final_state() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s3 = state(id, 3, DEPOSIT - 600, 300, vec![htlc(1, 300, 40, range(2, 1))], 3);
		assert_ok!(close_with(BOB, id, &s3));
		let f4 = ends_close(&s3, Party::Verifier, 3);
		assert_ok!(close_coop(id, &f4));
		assert_eq!(closed_event(), (DEPOSIT - 600, 600, 0, 0, 0));
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 600);
		try_state();
	});
}

/// The mirrored order: the requester closes with its newest state, then both agree.
#[test]
fn requester_closes_then_both_agree_a_final_state() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		assert_ok!(close_with(ALICE, id, &s3));
		// The requester's close is answered by the verifier's copy of the same state first
		// (nothing newer): StaleState, no change.
		assert_noop!(challenge(BOB, id, &s3), Error::<Test>::StaleState);
		// Nonce 5 (two above the close): under the plain rule this would prove the requester
		// stale; agreed after the close and naming it, it proves nothing.
		let s4 = state(id, 4, DEPOSIT - 400, 400, vec![], 4);
		let f5 = ends_close(&s4, Party::Requester, 3);
		// (The verifier's countersignature of 4 arrived late and was put on chain.)
		assert_ok!(challenge(BOB, id, &s4));
		assert_ok!(close_coop(id, &f5));
		assert_eq!(closed_event(), (DEPOSIT - 400, 400, 0, 0, 0));
		try_state();
	});
}

/// The requester closes with state 3 while its state 4 waits for the countersignature; the
/// verifier's countersignature arrives late (after the close), and then both agree a final
/// state (nonce 5). Nothing the requester signed before closing is newer than 4, so no
/// penalty. (Before: nonce 5 >= 3 + 2 charged the requester.)
#[test]
fn requester_closes_gets_a_late_countersignature_then_agrees_a_final_state() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		let s4 = state(id, 4, DEPOSIT - 700, 300, vec![htlc(1, 400, 40, range(3, 1))], 4);
		assert_ok!(close_with(ALICE, id, &s3));
		let f5 = ends_close(&s4, Party::Requester, 3);
		assert_ok!(close_coop(id, &f5));
		assert_eq!(closed_event(), (DEPOSIT - 700, 700, 0, 0, 0));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 700);
		try_state();
	});
}

/// The rule the agents keep: after its own close a party signs nothing but a final state
/// naming that close. Here the verifier breaks it and countersigns a non-final state sent
/// after its close: the chain cannot tell when a signature was made, so that state proves
/// the verifier's close stale, and it pays. This is the attack on an agent that would sign:
/// a requester collecting the penalty from the verifier it asked to countersign (the agents
/// refuse: `client/tests/closes.rs`).
#[test]
fn a_closer_that_countersigns_after_its_close_is_charged() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		assert_ok!(close_with(BOB, id, &s3));
		let s4 = state(id, 4, DEPOSIT - 400, 400, vec![], 3);
		assert_ok!(challenge(ALICE, id, &s4));
		System::assert_last_event(
			Event::Challenged { channel_id: id, by: account(ALICE), nonce: 4, stale: true }.into(),
		);
		// A plain final state (not naming the close) is the same: the agents never sign one
		// after their own close.
		let id = open(DEPOSIT);
		let s3 = ChannelState { channel_id: id, ..s3 };
		assert_ok!(close_with(BOB, id, &s3));
		let plain = final_state(id, 4, DEPOSIT - 300, 300, 3);
		assert_ok!(close_coop(id, &plain));
		assert_eq!(closed_event().4, 30);
		try_state();
	});
}

/// A final state names exactly the pending close: another closer, another nonce, or no close
/// pending at all is refused, with nothing changed.
#[test]
fn a_final_state_naming_another_close_is_refused() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		// No close pending.
		assert_noop!(
			close_coop(id, &ends_close(&s3, Party::Verifier, 3)),
			Error::<Test>::CloseMismatch
		);
		assert_ok!(close_with(BOB, id, &s3));
		for (closer, nonce) in [
			(Party::Requester, 3),
			(Party::Verifier, 2),
			(Party::Verifier, 4),
			(Party::Verifier, 0),
		] {
			assert_noop!(
				close_coop(id, &ends_close(&s3, closer, nonce)),
				Error::<Test>::CloseMismatch
			);
		}
		// Signed by only one party, or for another channel: refused like any state.
		let f = ends_close(&s3, Party::Verifier, 3);
		assert_noop!(
			Attestation::close_cooperative(
				origin(ALICE),
				id,
				f.clone(),
				sig(ALICE, &f),
				sig(ALICE, &f),
				proof_for(id, &f)
			),
			Error::<Test>::BadSignature
		);
		// Not final at all, or with an HTLC: NotFinal.
		let mut with_htlc = f.clone();
		with_htlc.htlcs = vec![htlc(1, 100, 50, range(1, 1))].try_into().unwrap();
		with_htlc.requester_balance -= 100;
		assert_noop!(close_coop(id, &with_htlc), Error::<Test>::NotFinal);
		// A final state naming the close is not a checkpoint, a close or a challenge either.
		assert_noop!(challenge(ALICE, id, &f), Error::<Test>::FinalState);
		assert_ok!(close_coop(id, &f));
		assert_eq!(closed_event().4, 0);
		let id = open(DEPOSIT);
		let f = ChannelState { channel_id: id, ..f };
		assert_noop!(checkpoint(id, &f), Error::<Test>::FinalState);
		assert_noop!(close_with(ALICE, id, &f), Error::<Test>::FinalState);
		try_state();
	});
}

/// A stale closer cannot shed a proven penalty by getting its victim to agree a final state
/// during the close: the challenge that proved it keeps proving it. (The victim's agent
/// challenges before it agrees anything.)
#[test]
fn a_proven_penalty_survives_a_final_state_agreed_during_the_close() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 100, 100, vec![], 1);
		let s3 = state(id, 3, DEPOSIT - 300, 300, vec![], 3);
		// The verifier closes with 1 while holding 3.
		assert_ok!(close_with(BOB, id, &s1));
		assert_ok!(challenge(ALICE, id, &s3));
		let f4 = ends_close(&s3, Party::Verifier, 1);
		assert_ok!(close_coop(id, &f4));
		assert_eq!(closed_event(), (DEPOSIT - 300 + 30, 300 - 30, 0, 0, 30));

		// A requester holding a final state signed by both closes with an old state instead:
		// the final state (signed before its close, naming none) proves it stale.
		let id = open(DEPOSIT);
		let s1 = ChannelState { channel_id: id, ..s1 };
		let f4 = final_state(id, 4, DEPOSIT - 400, 400, 3);
		assert_ok!(close_with(ALICE, id, &s1));
		assert_ok!(close_coop(id, &f4));
		let penalty = (DEPOSIT - 400) / 10;
		assert_eq!(closed_event(), (DEPOSIT - 400 - penalty, 400 + penalty, 0, 0, penalty));

		// After the deadline nothing agreed during the close changes the outcome.
		let id = open(DEPOSIT);
		let s1 = ChannelState { channel_id: id, ..s1 };
		let s3 = ChannelState { channel_id: id, ..s3 };
		let start = System::block_number();
		assert_ok!(close_with(BOB, id, &s1));
		assert_ok!(challenge(ALICE, id, &s3));
		run_to(start + PERIOD + 1);
		assert_noop!(
			close_coop(id, &ends_close(&s3, Party::Verifier, 1)),
			Error::<Test>::ChallengePeriodOver
		);
		assert_ok!(Attestation::settle(origin(ALICE), id));
		assert_eq!(closed_event().4, 30);
		try_state();
	});
}

/// A bill key put on chain after its HTLC (in the chain's state) expired pays nothing, so it
/// is refused instead of charged a fee for nothing; before the expiry it is recorded.
#[test]
fn a_bill_key_revealed_after_expiry_is_refused() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(
			id,
			1,
			DEPOSIT - 300,
			0,
			vec![htlc(1, 100, 5, range(0, 1)), htlc(2, 200, 9, range(1, 1))],
			2,
		);
		assert_ok!(close_with(ALICE, id, &s1));
		run_to(6);
		assert_noop!(
			Attestation::reveal_bill_key(origin(BOB), id, BillKey([1; 32])),
			Error::<Test>::HtlcExpired
		);
		assert_ok!(Attestation::reveal_bill_key(origin(BOB), id, BillKey([2; 32])));
		// A key of an HTLC the chain does not know (in a state it has not seen) is recorded.
		assert_ok!(Attestation::reveal_bill_key(origin(BOB), id, BillKey([7; 32])));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(ALICE), id));
		assert_eq!(closed_event(), (DEPOSIT - 300, 200, 200, 1, 0));
		try_state();
	});
}
