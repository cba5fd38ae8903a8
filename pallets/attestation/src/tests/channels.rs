//! Channel tests: open, fund, checkpoint, close (both ways), challenge, settle, HTLCs; the
//! attacks of issue 11 (old states, checkpoints of older states, penalties for the honest,
//! HTLCs run past expiry, dust); and property tests of conservation and of "the newest
//! state wins" over random histories.

use crate::{mock::*, *};
use attest_primitives::{
	signing::{self, sign, Kind},
	BillKey, ChannelState, Hash, Htlc, ItemRange, LogHead,
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold, Mutate},
		tokens::Preservation,
		Hooks,
	},
};
use sp_core::H256;
use sp_runtime::{DispatchError, DispatchResult, MultiSignature, Perbill};

const DEPOSIT: Balance = 10_000;
const PERIOD: u64 = 10;

fn genesis() -> Hash {
	H256(GENESIS)
}

fn origin(k: Keyring) -> RuntimeOrigin {
	RuntimeOrigin::signed(account(k))
}

fn channel_held(k: Keyring) -> Balance {
	Balances::balance_on_hold(&HoldReason::ChannelDeposit.into(), &account(k))
}

fn free(k: Keyring) -> Balance {
	Balances::balance(&account(k))
}

/// Register Bob as verifier (minimum challenge period `MIN_CHALLENGE`) and open a channel
/// from Alice; returns its id.
fn open(deposit: Balance) -> ChannelId {
	if Verifiers::<Test>::get(account(BOB)).is_none() {
		assert_ok!(Attestation::register_verifier(
			origin(BOB),
			b"https://bob.example".to_vec(),
			1,
			MIN_CHALLENGE
		));
	}
	let count = ChannelCount::<Test>::get();
	assert_ok!(Attestation::open_channel(origin(ALICE), account(BOB), deposit, PERIOD));
	attest_primitives::channel_id(&genesis(), &account(ALICE), &account(BOB), count)
}

/// Digest of item `i` of every test channel.
fn digests(first: u64, n: u64) -> Vec<Hash> {
	(first..first + n)
		.map(|i| attest_primitives::sha256(&i.to_le_bytes()))
		.collect()
}

/// The head of a log of `n` test items.
fn log(n: u64) -> LogHead {
	LogHead::of_digests(&digests(0, n))
}

/// `PROOF(from, D[to])` over the test items (empty from the empty log).
fn consistency(from: u64, to: u64) -> ConsistencyPath {
	if from > to {
		return Default::default();
	}
	LogHead::consistency_path(&digests(0, to), from)
		.expect("sizes are valid")
		.try_into()
		.expect("short")
}

/// The consistency proof of `s`'s log from what channel `id` anchored so far.
fn proof_for(id: ChannelId, s: &ChannelState) -> ConsistencyPath {
	let anchored = Channels::<Test>::get(id).map_or(0, |c| c.anchored.size);
	consistency(anchored, s.log.size)
}

fn range(first: u64, n: u64) -> ItemRange {
	ItemRange::of_digests(first, &digests(first, n))
}

fn htlc(key: u8, amount: Balance, expiry: u32, items: ItemRange) -> Htlc {
	Htlc { payment_hash: ph(key), amount, expiry, items }
}

fn ph(key: u8) -> Hash {
	attest_primitives::payment_hash(&BillKey([key; 32]))
}

/// A state with a log of `items` test items.
fn state(
	id: ChannelId,
	nonce: u64,
	r: Balance,
	v: Balance,
	htlcs: Vec<Htlc>,
	items: u64,
) -> ChannelState {
	ChannelState {
		channel_id: id,
		nonce,
		requester_balance: r,
		verifier_balance: v,
		htlcs: htlcs.try_into().expect("few HTLCs"),
		log: log(items),
		finality: Finality::Open,
	}
}

/// A final state (no HTLCs).
fn final_state(id: ChannelId, nonce: u64, r: Balance, v: Balance, items: u64) -> ChannelState {
	ChannelState { finality: Finality::Final, ..state(id, nonce, r, v, vec![], items) }
}

fn sig(k: Keyring, s: &ChannelState) -> MultiSignature {
	sign::sign_state(&k.pair(), &genesis(), s)
}

fn checkpoint(id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::checkpoint(
		origin(CHARLIE),
		id,
		s.clone(),
		sig(ALICE, s),
		sig(BOB, s),
		proof_for(id, s),
	)
}

fn close_coop(id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::close_cooperative(
		origin(ALICE),
		id,
		s.clone(),
		sig(ALICE, s),
		sig(BOB, s),
		proof_for(id, s),
	)
}

/// `closer` closes alone with `s`, signed by the counterparty.
fn close_with(closer: Keyring, id: ChannelId, s: &ChannelState) -> DispatchResult {
	let other = if closer == ALICE { BOB } else { ALICE };
	Attestation::close_unilateral(
		origin(closer),
		id,
		Some((s.clone(), sig(other, s), proof_for(id, s))),
	)
}

fn challenge(by: Keyring, id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::challenge(origin(by), id, s.clone(), sig(ALICE, s), sig(BOB, s), proof_for(id, s))
}

fn run_to(n: u64) {
	System::set_block_number(n);
}

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

mod honest_closes;
mod properties;
