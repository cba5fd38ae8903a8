//! Channel tests: open, fund, checkpoint, close (both ways), challenge, settle, HTLCs, and a
//! property test of conservation over random call sequences.

use crate::{mock::*, *};
use attest_primitives::{
	signing::{self, sign, Kind},
	BillKey, ChannelState, Hash, Htlc, ItemRange,
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold},
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

/// Register Bob as verifier and open a channel from Alice; returns its id.
fn open(deposit: Balance) -> ChannelId {
	if Verifiers::<Test>::get(account(BOB)).is_none() {
		assert_ok!(Attestation::register_verifier(origin(BOB), b"https://bob.example".to_vec(), 1));
	}
	let count = ChannelCount::<Test>::get();
	assert_ok!(Attestation::open_channel(origin(ALICE), account(BOB), deposit, PERIOD));
	attest_primitives::channel_id(&genesis(), &account(ALICE), &account(BOB), count)
}

fn digests(first: u64, n: u64) -> Vec<Hash> {
	(first..first + n).map(|i| attest_primitives::sha256(&i.to_le_bytes())).collect()
}

fn range(first: u64, n: u64) -> ItemRange {
	ItemRange::of_digests(first, &digests(first, n))
}

fn htlc(key: u8, amount: Balance, expiry: u32, items: ItemRange) -> Htlc {
	Htlc { payment_hash: attest_primitives::payment_hash(&BillKey([key; 32])), amount, expiry, items }
}

fn state(id: ChannelId, nonce: u64, r: Balance, v: Balance, htlcs: Vec<Htlc>, unanchored: ItemRange) -> ChannelState {
	ChannelState {
		channel_id: id,
		nonce,
		requester_balance: r,
		verifier_balance: v,
		htlcs: htlcs.try_into().expect("few HTLCs"),
		unanchored,
	}
}

fn sig(k: Keyring, s: &ChannelState) -> MultiSignature {
	sign::sign_state(&k.pair(), &genesis(), s)
}

fn checkpoint(id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::checkpoint(origin(CHARLIE), id, s.clone(), sig(ALICE, s), sig(BOB, s))
}

fn close_coop(id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::close_cooperative(origin(ALICE), id, s.clone(), sig(ALICE, s), sig(BOB, s))
}

fn run_to(n: u64) {
	System::set_block_number(n);
}

fn try_state() {
	Attestation::do_try_state().expect("holds equal what channels and HTLCs owe");
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
		assert_eq!(ch.state.nonce, 0);
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
		// The same pair again gets a fresh id.
		let id2 = open(DEPOSIT);
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
		assert_ok!(Attestation::register_verifier(origin(BOB), b"https://bob.example".to_vec(), 1));
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

#[test]
fn fund_by_either_party_and_errors() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 500));
		assert_ok!(Attestation::fund_channel(origin(ALICE), id, 700));
		System::assert_last_event(Event::ChannelFunded { channel_id: id, by: account(ALICE), amount: 700 }.into());
		assert_eq!(channel_held(BOB), 500);
		assert_eq!(channel_held(ALICE), DEPOSIT + 700);
		assert_noop!(Attestation::fund_channel(origin(ALICE), id, 0), Error::<Test>::ZeroAmount);
		assert_noop!(Attestation::fund_channel(origin(CHARLIE), id, 5), Error::<Test>::NotAParty);
		assert_noop!(Attestation::fund_channel(origin(ALICE), H256::zero(), 5), Error::<Test>::UnknownChannel);
		assert_noop!(Attestation::fund_channel(origin(BOB), id, 10 * INITIAL_BALANCE), Error::<Test>::InsufficientDeposit);
		assert_ok!(Attestation::fund_channel(origin(ALICE), id, 1));
		// Opening deposit + 3 top-ups = MAX_FUNDINGS.
		assert_noop!(Attestation::fund_channel(origin(ALICE), id, 1), Error::<Test>::TooManyFundings);
		try_state();
	});
}

// --- checkpoint and anchors -------------------------------------------------------------

#[test]
fn checkpoint_anchors_contiguous_ranges() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT - 30, 30, vec![], range(0, 3));
		assert_ok!(checkpoint(id, &s1));
		let a0 = Anchors::<Test>::get(id, 0).expect("anchored");
		assert_eq!((a0.first_seq, a0.count, a0.root, a0.block), (0, 3, s1.unanchored.root, 1));
		assert_eq!(AnchorsByRoot::<Test>::get(s1.unanchored.root, id), Some(0));
		System::assert_has_event(
			Event::Anchored { channel_id: id, index: 0, first_seq: 0, count: 3, root: s1.unanchored.root }.into(),
		);
		System::assert_last_event(Event::Checkpointed { channel_id: id, nonce: 1 }.into());

		// The next range must start at 3.
		let gap = state(id, 2, DEPOSIT - 50, 50, vec![], range(4, 2));
		assert_noop!(checkpoint(id, &gap), Error::<Test>::NonContiguousRange);
		let overlap = state(id, 2, DEPOSIT - 50, 50, vec![], range(2, 2));
		assert_noop!(checkpoint(id, &overlap), Error::<Test>::NonContiguousRange);
		// Replaying the first checkpoint: stale nonce.
		assert_noop!(checkpoint(id, &s1), Error::<Test>::StaleState);
		// Same range again under a higher nonce: not contiguous (already anchored).
		let replayed_range = state(id, 5, DEPOSIT - 30, 30, vec![], range(0, 3));
		assert_noop!(checkpoint(id, &replayed_range), Error::<Test>::NonContiguousRange);
		// Nothing to anchor.
		let empty = state(id, 2, DEPOSIT - 50, 50, vec![], ItemRange::empty(3));
		assert_noop!(checkpoint(id, &empty), Error::<Test>::NothingToAnchor);
		// An empty range with a non-empty root is malformed.
		let mut bogus = ItemRange::empty(3);
		bogus.root = H256::repeat_byte(1);
		let s = state(id, 2, DEPOSIT - 50, 50, vec![], bogus);
		assert_noop!(close_coop(id, &s), Error::<Test>::NonContiguousRange);

		let s2 = state(id, 2, DEPOSIT - 50, 50, vec![], range(3, 2));
		assert_ok!(checkpoint(id, &s2));
		assert_eq!(Anchors::<Test>::get(id, 1).unwrap().first_seq, 3);
		assert_eq!(Channels::<Test>::get(id).unwrap().next_seq, 5);
		try_state();
	});
}

#[test]
fn anchors_are_indexed_off_chain() {
	let mut ext = new_test_ext();
	let (id, root) = ext.execute_with(|| {
		let id = open(DEPOSIT);
		let s1 = state(id, 1, DEPOSIT, 0, vec![], range(0, 2));
		assert_ok!(checkpoint(id, &s1));
		let s2 = state(id, 2, DEPOSIT, 0, vec![], range(2, 1));
		assert_ok!(checkpoint(id, &s2));
		(id, s1.unanchored.root)
	});
	ext.persist_offchain_overlay();
	let db = ext.offchain_db();
	let raw = db.get(&anchor_index_key(1, 0)).expect("first anchor of block 1 indexed");
	let anchor = <attest_primitives::Anchor as codec::Decode>::decode(&mut &raw[..]).unwrap();
	assert_eq!((anchor.channel_id, anchor.index, anchor.range.root, anchor.block), (id, 0, root, 1));
	let second = db.get(&anchor_index_key(1, 1)).expect("second anchor of block 1 indexed");
	assert_eq!(<attest_primitives::Anchor as codec::Decode>::decode(&mut &second[..]).unwrap().index, 1);
	let count = db.get(&anchor_count_key(1)).expect("count indexed");
	assert_eq!(<u32 as codec::Decode>::decode(&mut &count[..]).unwrap(), 2);
}

#[test]
fn state_checks_reject_malformed_states() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let other = open(DEPOSIT);
		// Another channel's state.
		let s = state(other, 1, DEPOSIT, 0, vec![], range(0, 1));
		assert_noop!(checkpoint(id, &s), Error::<Test>::WrongChannel);
		// Totals that do not match the deposit.
		let s = state(id, 1, DEPOSIT, 1, vec![], range(0, 1));
		assert_noop!(checkpoint(id, &s), Error::<Test>::TotalMismatch);
		let s = state(id, 1, u128::MAX, 1, vec![], range(0, 1));
		assert_noop!(checkpoint(id, &s), Error::<Test>::Overflow);
		// Too many HTLCs, or two with one payment hash.
		let many: Vec<Htlc> = (0..=MAX_HTLCS as u8).map(|k| htlc(k, 1, 100, range(0, 1))).collect();
		let s = state(id, 1, DEPOSIT - many.len() as u128, 0, many, range(0, 1));
		assert_noop!(checkpoint(id, &s), Error::<Test>::InvalidHtlcs);
		let dup = vec![htlc(1, 1, 100, range(0, 1)), htlc(1, 2, 100, range(0, 1))];
		let s = state(id, 1, DEPOSIT - 3, 0, dup, range(0, 1));
		assert_noop!(checkpoint(id, &s), Error::<Test>::InvalidHtlcs);
		assert_noop!(
			Attestation::checkpoint(origin(CHARLIE), H256::zero(), s.clone(), sig(ALICE, &s), sig(BOB, &s)),
			Error::<Test>::UnknownChannel
		);
	});
}

#[test]
fn signatures_from_other_contexts_are_rejected() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 1, DEPOSIT - 10, 10, vec![], range(0, 1));
		let (a, b) = (sig(ALICE, &s), sig(BOB, &s));
		// Swapped, or both by one party.
		assert_noop!(Attestation::checkpoint(origin(ALICE), id, s.clone(), b.clone(), a.clone()), Error::<Test>::BadSignature);
		assert_noop!(Attestation::checkpoint(origin(ALICE), id, s.clone(), a.clone(), a.clone()), Error::<Test>::BadSignature);
		// Signed for another chain.
		let other_chain = sign::sign_state(&BOB.pair(), &H256::repeat_byte(9), &s);
		assert_noop!(Attestation::checkpoint(origin(ALICE), id, s.clone(), a.clone(), other_chain), Error::<Test>::BadSignature);
		// Signed as another message kind.
		let as_bill = sign::sign(&BOB.pair(), Kind::Bill, &genesis(), &id, &s);
		assert_noop!(Attestation::checkpoint(origin(ALICE), id, s.clone(), a.clone(), as_bill), Error::<Test>::BadSignature);
		// Signed for another nonce.
		let mut s2 = s.clone();
		s2.nonce = 2;
		assert_noop!(Attestation::checkpoint(origin(ALICE), id, s2, a.clone(), b.clone()), Error::<Test>::BadSignature);
		// Signed for another channel (same content, other id).
		let other = open(DEPOSIT);
		let mut s3 = s.clone();
		s3.channel_id = other;
		assert_noop!(Attestation::checkpoint(origin(ALICE), other, s3, a.clone(), b.clone()), Error::<Test>::BadSignature);
		// ed25519 keys of the same names are other accounts.
		let ed = sign::sign_state(&sp_keyring::Ed25519Keyring::Bob.pair(), &genesis(), &s);
		assert_noop!(Attestation::checkpoint(origin(ALICE), id, s.clone(), a.clone(), ed), Error::<Test>::BadSignature);
		assert_ok!(Attestation::checkpoint(origin(ALICE), id, s, a, b));
		assert!(signing::verify_state(&genesis(), &Channels::<Test>::get(id).unwrap().state, &sig(ALICE, &Channels::<Test>::get(id).unwrap().state), &account(ALICE)).is_ok());
	});
}

// --- cooperative close ------------------------------------------------------------------

#[test]
fn cooperative_close_pays_both_and_anchors() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 1_000));
		let s = state(id, 9, DEPOSIT - 2_500, 3_500, vec![], range(0, 7));
		assert_ok!(close_coop(id, &s));
		assert!(Channels::<Test>::get(id).is_none());
		assert_eq!(channel_held(ALICE), 0);
		assert_eq!(channel_held(BOB), 0);
		assert_eq!(free(ALICE), INITIAL_BALANCE - 2_500);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 2_500);
		assert_eq!(Anchors::<Test>::get(id, 0).unwrap().count, 7);
		System::assert_last_event(
			Event::ChannelClosed {
				channel_id: id,
				requester_paid: DEPOSIT - 2_500,
				verifier_paid: 3_500,
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
		let before = state(id, 3, DEPOSIT - 100, 100, vec![], range(0, 2));
		assert_ok!(Attestation::fund_channel(origin(ALICE), id, 400));
		assert_ok!(Attestation::fund_channel(origin(BOB), id, 50));
		assert_ok!(close_coop(id, &before));
		// Alice keeps her top-up, Bob his, on top of the state's split.
		assert_eq!(free(ALICE), INITIAL_BALANCE - 100);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 100);
		try_state();
	});
}

#[test]
fn cooperative_close_rejects_pending_htlcs_and_stale_states() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 2, DEPOSIT - 10, 0, vec![htlc(1, 10, 50, range(0, 1))], range(0, 1));
		assert_noop!(close_coop(id, &s), Error::<Test>::PendingHtlcs);
		let s1 = state(id, 2, DEPOSIT, 0, vec![], range(0, 1));
		assert_ok!(checkpoint(id, &s1));
		let stale = state(id, 2, DEPOSIT - 5, 5, vec![], range(1, 0));
		assert_noop!(close_coop(id, &stale), Error::<Test>::StaleState);
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
			Event::CloseStarted { channel_id: id, by: account(ALICE), nonce: 0, deadline: 1 + PERIOD }.into(),
		);
		assert_noop!(Attestation::close_unilateral(origin(BOB), id, None), Error::<Test>::ChannelClosing);
		assert_noop!(Attestation::fund_channel(origin(BOB), id, 1), Error::<Test>::ChannelClosing);
		assert_noop!(Attestation::settle(origin(CHARLIE), id), Error::<Test>::ChallengePeriodNotOver);
		run_to(1 + PERIOD);
		assert_noop!(Attestation::settle(origin(CHARLIE), id), Error::<Test>::ChallengePeriodNotOver);
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
		let s = state(id, 4, DEPOSIT - 100, 100, vec![], range(0, 1));
		// Bob closes with a state only he signed: rejected.
		assert_noop!(
			Attestation::close_unilateral(origin(BOB), id, Some((s.clone(), sig(BOB, &s)))),
			Error::<Test>::BadSignature
		);
		assert_noop!(
			Attestation::close_unilateral(origin(CHARLIE), id, Some((s.clone(), sig(ALICE, &s)))),
			Error::<Test>::NotAParty
		);
		assert_ok!(Attestation::close_unilateral(origin(BOB), id, Some((s.clone(), sig(ALICE, &s)))));
		assert_noop!(Attestation::settle(origin(BOB), H256::zero()), Error::<Test>::UnknownChannel);
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 100);
		assert_eq!(Anchors::<Test>::get(id, 0).unwrap().count, 1);
		try_state();
	});
}

#[test]
fn stale_close_is_overruled_by_challenge_and_penalized() {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let id = open(DEPOSIT);
		let old = state(id, 1, DEPOSIT - 100, 100, vec![], range(0, 1));
		let newer = state(id, 5, DEPOSIT - 3_000, 3_000, vec![], range(0, 4));
		let newest = state(id, 6, DEPOSIT - 3_100, 3_100, vec![], range(0, 5));
		// Alice closes with the old state (Bob's signature on it).
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, Some((old.clone(), sig(BOB, &old)))));
		assert_noop!(
			Attestation::challenge(origin(CHARLIE), id, old.clone(), sig(ALICE, &old), sig(BOB, &old)),
			Error::<Test>::StaleState
		);
		// A watchtower (Charlie) proves a newer state on the last block of the period.
		run_to(1 + PERIOD);
		assert_ok!(Attestation::challenge(origin(CHARLIE), id, newer.clone(), sig(ALICE, &newer), sig(BOB, &newer)));
		System::assert_last_event(Event::Challenged { channel_id: id, by: account(CHARLIE), nonce: 5 }.into());
		// An even newer state replaces it again; replaying the older one does not.
		assert_ok!(Attestation::challenge(origin(BOB), id, newest.clone(), sig(ALICE, &newest), sig(BOB, &newest)));
		assert_noop!(
			Attestation::challenge(origin(ALICE), id, newer.clone(), sig(ALICE, &newer), sig(BOB, &newer)),
			Error::<Test>::StaleState
		);
		run_to(2 + PERIOD);
		assert_noop!(
			Attestation::challenge(origin(BOB), id, newest.clone(), sig(ALICE, &newest), sig(BOB, &newest)),
			Error::<Test>::ChallengePeriodOver
		);
		assert_ok!(Attestation::settle(origin(CHARLIE), id));
		// The newest state wins, and Alice pays 10% of her balance in it for the stale close.
		let penalty = (DEPOSIT - 3_100) / 10;
		System::assert_last_event(
			Event::ChannelClosed {
				channel_id: id,
				requester_paid: DEPOSIT - 3_100 - penalty,
				verifier_paid: 3_100 + penalty,
				pending_htlcs: 0,
				stale_close_penalty: penalty,
			}
			.into(),
		);
		assert_eq!(free(ALICE), INITIAL_BALANCE - 3_100 - penalty);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 3_100 + penalty);
		assert_eq!(Anchors::<Test>::get(id, 0).unwrap().count, 5);
		assert_eq!(Balances::total_issuance(), issuance);
		try_state();
	});
}

#[test]
fn a_zero_penalty_only_replaces_the_state() {
	new_test_ext().execute_with(|| {
		StaleClosePenalty::set(Perbill::zero());
		let id = open(DEPOSIT);
		let old = state(id, 1, DEPOSIT - 100, 100, vec![], range(0, 1));
		let newer = state(id, 2, DEPOSIT - 1_000, 1_000, vec![], range(0, 2));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, Some((old.clone(), sig(BOB, &old)))));
		assert_ok!(Attestation::challenge(origin(BOB), id, newer.clone(), sig(ALICE, &newer), sig(BOB, &newer)));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 1_000);
		StaleClosePenalty::set(Perbill::from_percent(10));
	});
}

#[test]
fn penalty_moves_the_closers_share_to_the_counterparty() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let old = state(id, 1, DEPOSIT - 100, 100, vec![], range(0, 1));
		let newer = state(id, 2, DEPOSIT - 1_000, 1_000, vec![], range(0, 2));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, Some((old.clone(), sig(BOB, &old)))));
		assert_ok!(Attestation::challenge(origin(BOB), id, newer.clone(), sig(ALICE, &newer), sig(BOB, &newer)));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		let penalty = (DEPOSIT - 1_000) / 10;
		assert_eq!(free(ALICE), INITIAL_BALANCE - 1_000 - penalty);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 1_000 + penalty);
		try_state();
	});
}

#[test]
fn challenge_and_settle_need_a_pending_close() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 1, DEPOSIT, 0, vec![], range(0, 1));
		assert_noop!(
			Attestation::challenge(origin(BOB), id, s.clone(), sig(ALICE, &s), sig(BOB, &s)),
			Error::<Test>::ChannelNotClosing
		);
		assert_noop!(Attestation::settle(origin(BOB), id), Error::<Test>::ChannelNotClosing);
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, None));
		assert_noop!(checkpoint(id, &s), Error::<Test>::ChannelClosing);
		// A challenge needs both signatures.
		assert_noop!(
			Attestation::challenge(origin(BOB), id, s.clone(), sig(BOB, &s), sig(BOB, &s)),
			Error::<Test>::BadSignature
		);
		// A cooperative close still works during the period.
		assert_ok!(close_coop(id, &s));
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
		range(0, 3),
	);
	assert_ok!(Attestation::close_unilateral(origin(BOB), id, Some((s.clone(), sig(ALICE, &s)))));
	run_to(2 + PERIOD);
	assert_ok!(Attestation::settle(origin(BOB), id));
	id
}

fn ph(key: u8) -> Hash {
	attest_primitives::payment_hash(&BillKey([key; 32]))
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
		assert_noop!(Attestation::refund_htlc(origin(ALICE), id, ph(1)), Error::<Test>::HtlcNotExpired);
		run_to(30);
		assert_ok!(Attestation::claim_htlc(origin(CHARLIE), id, ph(1), BillKey([1; 32])));
		System::assert_last_event(
			Event::HtlcClaimed { channel_id: id, payment_hash: ph(1), bill_key: BillKey([1; 32]), amount: 300 }.into(),
		);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 300);
		// Never twice, never refunded after a claim.
		assert_noop!(Attestation::claim_htlc(origin(BOB), id, ph(1), BillKey([1; 32])), Error::<Test>::UnknownHtlc);
		run_to(31);
		assert_noop!(Attestation::refund_htlc(origin(ALICE), id, ph(1)), Error::<Test>::UnknownHtlc);
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
		System::assert_last_event(Event::HtlcRefunded { channel_id: id, payment_hash: ph(2), amount: 400 }.into());
		assert_noop!(Attestation::refund_htlc(origin(CHARLIE), id, ph(2)), Error::<Test>::UnknownHtlc);
		assert_noop!(Attestation::claim_htlc(origin(BOB), id, ph(2), BillKey([2; 32])), Error::<Test>::UnknownHtlc);
		assert_ok!(Attestation::refund_htlc(origin(CHARLIE), id, ph(1)));
		// Everything back with Alice: deposit minus nothing.
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
		let s = state(id, 1, 2_000, total - 2_500, vec![htlc(7, 500, 40, range(0, 1))], range(0, 1));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, Some((s.clone(), sig(BOB, &s)))));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(ALICE), id));
		assert_eq!(free(ALICE), INITIAL_BALANCE - MIN_CHANNEL_DEPOSIT + 2_000);
		assert_eq!(channel_held(ALICE), 500);
		assert_eq!(channel_held(BOB), 0);
		try_state();
		assert_ok!(Attestation::claim_htlc(origin(BOB), id, ph(7), BillKey([7; 32])));
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT - 5_000 + (total - 2_500) + 500);
		try_state();
	});
}

// --- property test: conservation ---------------------------------------------------------

mod conservation {
	use super::*;
	use proptest::prelude::*;

	#[derive(Clone, Debug)]
	enum Op {
		Open(u16),
		Fund(u8, bool, u16),
		Checkpoint(u8, u16, u8),
		CloseCoop(u8, u16, u8),
		CloseUnilateral(u8, bool, Option<(u16, u8)>),
		Challenge(u8, u16, u8),
		Advance(u8),
		Settle(u8),
		Claim(u8, u8),
		Refund(u8, u8),
	}

	fn op() -> impl Strategy<Value = Op> {
		prop_oneof![
			(100u16..5_000).prop_map(Op::Open),
			(any::<u8>(), any::<bool>(), 1u16..2_000).prop_map(|(c, b, a)| Op::Fund(c, b, a)),
			(any::<u8>(), any::<u16>(), 0u8..3).prop_map(|(c, s, h)| Op::Checkpoint(c, s, h)),
			(any::<u8>(), any::<u16>(), 0u8..3).prop_map(|(c, s, n)| Op::CloseCoop(c, s, n)),
			(any::<u8>(), any::<bool>(), proptest::option::of((any::<u16>(), 0u8..3)))
				.prop_map(|(c, b, s)| Op::CloseUnilateral(c, b, s)),
			(any::<u8>(), any::<u16>(), 0u8..3).prop_map(|(c, s, h)| Op::Challenge(c, s, h)),
			(1u8..30).prop_map(Op::Advance),
			any::<u8>().prop_map(Op::Settle),
			(any::<u8>(), 0u8..3).prop_map(|(c, k)| Op::Claim(c, k)),
			(any::<u8>(), 0u8..3).prop_map(|(c, k)| Op::Refund(c, k)),
		]
	}

	/// Test-side model of each channel: the latest nonce used and the item count.
	struct Model {
		ids: Vec<ChannelId>,
		nonce: u64,
		closed: Vec<ChannelId>,
		keys: u8,
	}

	impl Model {
		fn pick(&self, i: u8) -> Option<ChannelId> {
			(!self.ids.is_empty()).then(|| self.ids[i as usize % self.ids.len()])
		}
		fn pick_closed(&self, i: u8) -> Option<ChannelId> {
			(!self.closed.is_empty()).then(|| self.closed[i as usize % self.closed.len()])
		}
		/// A well-formed next state: `split` moves part of the balance, `htlcs` HTLCs.
		fn next_state(&mut self, id: ChannelId, split: u16, htlcs: u8, items: u64) -> Option<ChannelState> {
			let ch = Channels::<Test>::get(id)?;
			let total = ch.total_held();
			let mut hs = Vec::new();
			let mut rest = total;
			for _ in 0..htlcs {
				self.keys = self.keys.wrapping_add(1);
				let amount = (total / 10).max(1).min(rest);
				rest -= amount;
				hs.push(htlc(self.keys, amount, 20 + self.keys as u32 % 40, range(ch.next_seq, 1)));
			}
			let v = (rest * split as u128) / u16::MAX as u128;
			self.nonce += 1;
			Some(state(id, self.nonce, rest - v, v, hs, range(ch.next_seq, items)))
		}
	}

	proptest! {
		#![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

		/// Whatever happens, total issuance never changes and the channel holds always equal
		/// what open channels and claimable HTLCs owe.
		#[test]
		fn calls_conserve_funds(ops in proptest::collection::vec(op(), 1..40)) {
			new_test_ext().execute_with(|| {
				let issuance = Balances::total_issuance();
				let mut m = Model { ids: vec![], nonce: 0, closed: vec![], keys: 0 };
				let mut block = 1u64;
				for op in ops {
					let _ = match op {
						Op::Open(d) => {
							let id = open(d as u128 + MIN_CHANNEL_DEPOSIT);
							m.ids.push(id);
							Ok(())
						},
						Op::Fund(c, by_bob, a) => match m.pick(c) {
							Some(id) => Attestation::fund_channel(origin(if by_bob { BOB } else { ALICE }), id, a as u128),
							None => Ok(()),
						},
						Op::Checkpoint(c, split, h) => match m.pick(c).and_then(|id| m.next_state(id, split, h, 2).map(|s| (id, s))) {
							Some((id, s)) => checkpoint(id, &s),
							None => Ok(()),
						},
						Op::CloseCoop(c, split, n) => match m.pick(c).and_then(|id| m.next_state(id, split, 0, n as u64).map(|s| (id, s))) {
							Some((id, s)) => close_coop(id, &s).inspect(|_| m.closed.push(id)),
							None => Ok(()),
						},
						Op::CloseUnilateral(c, by_bob, st) => match m.pick(c) {
							Some(id) => {
								let closer = if by_bob { BOB } else { ALICE };
								let other = if by_bob { ALICE } else { BOB };
								let signed = st.and_then(|(split, h)| m.next_state(id, split, h, 1)).map(|s| {
									let sg = sig(other, &s);
									(s, sg)
								});
								Attestation::close_unilateral(origin(closer), id, signed)
							},
							None => Ok(()),
						},
						Op::Challenge(c, split, h) => match m.pick(c).and_then(|id| m.next_state(id, split, h, 1).map(|s| (id, s))) {
							Some((id, s)) => Attestation::challenge(origin(CHARLIE), id, s.clone(), sig(ALICE, &s), sig(BOB, &s)),
							None => Ok(()),
						},
						Op::Advance(n) => {
							block += n as u64;
							run_to(block);
							Ok(())
						},
						Op::Settle(c) => match m.pick(c) {
							Some(id) => Attestation::settle(origin(CHARLIE), id).map(|_| m.closed.push(id)).map_err(|e| e.error),
							None => Ok(()),
						},
						Op::Claim(c, k) => match m.pick_closed(c) {
							Some(id) => {
								let key = m.keys.saturating_sub(k);
								Attestation::claim_htlc(origin(CHARLIE), id, ph(key), BillKey([key; 32]))
							},
							None => Ok(()),
						},
						Op::Refund(c, k) => match m.pick_closed(c) {
							Some(id) => Attestation::refund_htlc(origin(CHARLIE), id, ph(m.keys.saturating_sub(k))),
							None => Ok(()),
						},
					};
					prop_assert_eq!(Balances::total_issuance(), issuance);
					prop_assert!(Attestation::do_try_state().is_ok());
				}
				// Drain: close everything with the on-chain state, settle, refund all HTLCs;
				// then every account is back to where it started minus nothing but holds
				// released: no funds minted or lost.
				for id in m.ids.clone() {
					let _ = Attestation::close_unilateral(origin(ALICE), id, None);
				}
				block += MAX_CHALLENGE + 1;
				run_to(block);
				for id in m.ids.clone() {
					let _ = Attestation::settle(origin(CHARLIE), id);
				}
				block += 1_000;
				run_to(block);
				for (id, hash, _) in ClaimableHtlcs::<Test>::iter().collect::<Vec<_>>() {
					prop_assert!(Attestation::refund_htlc(origin(CHARLIE), id, hash).is_ok());
				}
				prop_assert_eq!(channel_held(ALICE), 0);
				prop_assert_eq!(channel_held(BOB), 0);
				prop_assert_eq!(
					free(ALICE) + free(BOB) + Balances::balance_on_hold(&HoldReason::VerifierDeposit.into(), &account(BOB)),
					2 * INITIAL_BALANCE
				);
				prop_assert_eq!(Balances::total_issuance(), issuance);
				Ok(())
			})?;
		}
	}
}

#[test]
fn integrity_test_passes_for_the_mock() {
	<Attestation as Hooks<u64>>::integrity_test();
}

#[test]
fn closing_with_the_checkpointed_state_does_not_anchor_twice() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let s = state(id, 1, DEPOSIT - 10, 10, vec![], range(0, 2));
		assert_ok!(checkpoint(id, &s));
		assert_ok!(Attestation::close_unilateral(origin(BOB), id, None));
		run_to(2 + PERIOD);
		assert_ok!(Attestation::settle(origin(BOB), id));
		assert!(Anchors::<Test>::get(id, 1).is_none());
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 10);
		try_state();
	});
}

#[test]
fn the_same_items_attested_twice_anchor_twice() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let ds = digests(0, 2);
		let s1 = state(id, 1, DEPOSIT, 0, vec![], ItemRange::of_digests(0, &ds));
		assert_ok!(checkpoint(id, &s1));
		let s2 = state(id, 2, DEPOSIT, 0, vec![], ItemRange::of_digests(2, &ds));
		assert_eq!(s1.unanchored.root, s2.unanchored.root);
		assert_ok!(checkpoint(id, &s2));
		assert_eq!(Anchors::<Test>::get(id, 1).unwrap().first_seq, 2);
		assert_eq!(AnchorsByRoot::<Test>::get(s1.unanchored.root, id), Some(0));
	});
}

#[test]
fn cooperative_close_during_a_stale_close_carries_no_penalty() {
	new_test_ext().execute_with(|| {
		let id = open(DEPOSIT);
		let old = state(id, 1, DEPOSIT - 100, 100, vec![], range(0, 1));
		let newer = state(id, 2, DEPOSIT - 1_000, 1_000, vec![], range(0, 2));
		let agreed = state(id, 3, DEPOSIT - 1_200, 1_200, vec![], range(0, 3));
		assert_ok!(Attestation::close_unilateral(origin(ALICE), id, Some((old.clone(), sig(BOB, &old)))));
		assert_ok!(Attestation::challenge(origin(BOB), id, newer.clone(), sig(ALICE, &newer), sig(BOB, &newer)));
		assert_ok!(close_coop(id, &agreed));
		assert_eq!(free(ALICE), INITIAL_BALANCE - 1_200);
		assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + 1_200);
		try_state();
	});
}
