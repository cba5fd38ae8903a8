//! Calls as the parties make them, on the mock runtime: the helpers of the pallet's unit tests,
//! and random call sequences (by Alice, Bob and Charlie, with states well formed or not) that
//! the property tests draw with proptest and the fuzz target `runtime` (fuzz/, libFuzzer) draws
//! from bytes, checking after every call that no unit is created or lost and that the pallet's
//! `try_state` holds.
//!
//! Test scaffolding, compiled for the unit tests and with the `fuzzing` feature (never into
//! the runtime).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::{mock::*, *};
use alloc::{vec, vec::Vec};
use attest_primitives::{signing::sign, BillKey, ChannelState, Hash, Htlc, ItemRange, LogHead};
use frame_support::{
	assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use sp_core::H256;
use sp_runtime::{DispatchResult, MultiSignature};

pub const DEPOSIT: Balance = 10_000;
pub const PERIOD: u64 = 10;

pub fn genesis() -> Hash {
	H256(GENESIS)
}

pub fn origin(k: Keyring) -> RuntimeOrigin {
	RuntimeOrigin::signed(account(k))
}

pub fn channel_held(k: Keyring) -> Balance {
	Balances::balance_on_hold(&HoldReason::ChannelDeposit.into(), &account(k))
}

pub fn free(k: Keyring) -> Balance {
	Balances::balance(&account(k))
}

/// Register Bob as verifier (minimum challenge period `MIN_CHALLENGE`) and open a channel
/// from Alice; returns its id.
pub fn open(deposit: Balance) -> ChannelId {
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
pub fn digests(first: u64, n: u64) -> Vec<Hash> {
	(first..first + n)
		.map(|i| attest_primitives::sha256(&i.to_le_bytes()))
		.collect()
}

/// The head of a log of `n` test items.
pub fn log(n: u64) -> LogHead {
	LogHead::of_digests(&digests(0, n))
}

/// `PROOF(from, D[to])` over the test items (empty from the empty log).
pub fn consistency(from: u64, to: u64) -> ConsistencyPath {
	if from > to {
		return Default::default();
	}
	LogHead::consistency_path(&digests(0, to), from)
		.expect("sizes are valid")
		.try_into()
		.expect("short")
}

/// The consistency proof of `s`'s log from what channel `id` anchored so far.
pub fn proof_for(id: ChannelId, s: &ChannelState) -> ConsistencyPath {
	let anchored = Channels::<Test>::get(id).map_or(0, |c| c.anchored.size);
	consistency(anchored, s.log.size)
}

pub fn range(first: u64, n: u64) -> ItemRange {
	ItemRange::of_digests(first, &digests(first, n))
}

pub fn htlc(key: u8, amount: Balance, expiry: u32, items: ItemRange) -> Htlc {
	Htlc { payment_hash: ph(key), amount, expiry, items }
}

pub fn ph(key: u8) -> Hash {
	attest_primitives::payment_hash(&BillKey([key; 32]))
}

/// A state with a log of `items` test items.
pub fn state(
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
pub fn final_state(id: ChannelId, nonce: u64, r: Balance, v: Balance, items: u64) -> ChannelState {
	ChannelState { finality: Finality::Final, ..state(id, nonce, r, v, vec![], items) }
}

pub fn sig(k: Keyring, s: &ChannelState) -> MultiSignature {
	sign::sign_state(&k.pair(), &genesis(), s)
}

pub fn checkpoint(id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::checkpoint(
		origin(CHARLIE),
		id,
		s.clone(),
		sig(ALICE, s),
		sig(BOB, s),
		proof_for(id, s),
	)
}

pub fn close_coop(id: ChannelId, s: &ChannelState) -> DispatchResult {
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
pub fn close_with(closer: Keyring, id: ChannelId, s: &ChannelState) -> DispatchResult {
	let other = if closer == ALICE { BOB } else { ALICE };
	Attestation::close_unilateral(
		origin(closer),
		id,
		Some((s.clone(), sig(other, s), proof_for(id, s))),
	)
}

pub fn challenge(by: Keyring, id: ChannelId, s: &ChannelState) -> DispatchResult {
	Attestation::challenge(origin(by), id, s.clone(), sig(ALICE, s), sig(BOB, s), proof_for(id, s))
}

pub fn run_to(n: u64) {
	System::set_block_number(n);
}

// --- random call sequences ---------------------------------------------------------------

/// One call of a random sequence; channels, states and keys are picked by index among those
/// the sequence made so far.
#[derive(Clone, Debug)]
pub enum Op {
	/// Alice opens a channel to Bob with this deposit (over the minimum).
	Open(u16),
	/// A top-up of a channel, by Bob (or Alice).
	Fund(u8, bool, u16),
	/// A checkpoint of a channel's next state: balance split, HTLCs.
	Checkpoint(u8, u16, u8),
	/// A cooperative close with a final state: balance split, new items.
	CloseCoop(u8, u16, u8),
	/// A close alone, by Bob (or Alice), with the on-chain state or a next one.
	CloseUnilateral(u8, bool, Option<(u16, u8)>),
	/// Charlie challenges a closing channel with a next state.
	Challenge(u8, u16, u8),
	/// Bob reveals a bill key.
	Reveal(u8, u8),
	/// Blocks pass.
	Advance(u8),
	/// Charlie settles a channel.
	Settle(u8),
	/// Charlie claims a settled channel's HTLC with its key.
	Claim(u8, u8),
	/// Charlie refunds a settled channel's HTLC.
	Refund(u8, u8),
}

impl Op {
	/// The next call drawn from `bytes` (at most 5 bytes a call), or `None` when they run out.
	pub fn take(bytes: &mut &[u8]) -> Option<Op> {
		let mut next = || -> Option<u8> {
			let (b, rest) = bytes.split_first()?;
			*bytes = rest;
			Some(*b)
		};
		let u16_of = |a: u8, b: u8| u16::from_le_bytes([a, b]);
		Some(match next()? % 11 {
			0 => Op::Open(100 + u16_of(next()?, next()?) % 4_900),
			1 => Op::Fund(next()?, next()? & 1 == 1, 1 + u16_of(next()?, next()?) % 1_999),
			2 => Op::Checkpoint(next()?, u16_of(next()?, next()?), next()? % 3),
			3 => Op::CloseCoop(next()?, u16_of(next()?, next()?), next()? % 3),
			4 => {
				let (c, by_bob, with) = (next()?, next()?, next()?);
				let state = (with & 1 == 1).then(|| (u16::from(with) * 257, with % 3));
				Op::CloseUnilateral(c, by_bob & 1 == 1, state)
			},
			5 => Op::Challenge(next()?, u16_of(next()?, next()?), next()? % 3),
			6 => Op::Reveal(next()?, next()? % 3),
			7 => Op::Advance(1 + next()? % 29),
			8 => Op::Settle(next()?),
			9 => Op::Claim(next()?, next()? % 3),
			_ => Op::Refund(next()?, next()? % 3),
		})
	}
}

/// Test-side model of a sequence: the channels, the latest nonce used, the HTLC keys handed
/// out, the block.
pub struct Model {
	ids: Vec<ChannelId>,
	nonce: u64,
	closed: Vec<ChannelId>,
	keys: u8,
	block: u64,
}

impl Default for Model {
	fn default() -> Self {
		Model { ids: vec![], nonce: 0, closed: vec![], keys: 0, block: 1 }
	}
}

impl Model {
	fn pick(&self, i: u8) -> Option<ChannelId> {
		(!self.ids.is_empty()).then(|| self.ids[i as usize % self.ids.len()])
	}
	fn pick_closed(&self, i: u8) -> Option<ChannelId> {
		(!self.closed.is_empty()).then(|| self.closed[i as usize % self.closed.len()])
	}
	/// A well-formed next state: `split` moves part of the balance, `htlcs` HTLCs paid from
	/// the requester's deposit, `items` more items in the log.
	fn next_state(
		&mut self,
		id: ChannelId,
		split: u16,
		htlcs: u8,
		items: u64,
	) -> Option<ChannelState> {
		let ch = Channels::<Test>::get(id)?;
		let total = ch.total_held();
		let mut hs = Vec::new();
		let mut rest = total;
		let size = ch.state.log.size.max(ch.anchored.size);
		for _ in 0..htlcs {
			self.keys = self.keys.wrapping_add(1);
			let amount = (ch.held_by(Party::Requester) / 10).max(1).min(rest);
			rest -= amount;
			hs.push(htlc(self.keys, amount, 20 + self.keys as u32 % 40, range(size, 1)));
		}
		let v = (rest * split as u128) / u16::MAX as u128;
		self.nonce += 1;
		Some(state(id, self.nonce, rest - v, v, hs, size + items))
	}

	/// Make the call `op`; its result (a refused call changes nothing, as FRAME rolls it back
	/// only in a block: here the pallet must leave no trace itself).
	pub fn apply(&mut self, op: Op) -> DispatchResult {
		let m = self;
		match op {
			Op::Open(d) => {
				let id = open(d as u128 + MIN_CHANNEL_DEPOSIT);
				m.ids.push(id);
				Ok(())
			},
			Op::Fund(c, by_bob, a) => match m.pick(c) {
				Some(id) => Attestation::fund_channel(
					origin(if by_bob { BOB } else { ALICE }),
					id,
					a as u128,
				),
				None => Ok(()),
			},
			Op::Checkpoint(c, split, h) => {
				match m.pick(c).and_then(|id| m.next_state(id, split, h, 2).map(|s| (id, s))) {
					Some((id, s)) => checkpoint(id, &s),
					None => Ok(()),
				}
			},
			Op::CloseCoop(c, split, n) => match m
				.pick(c)
				.and_then(|id| m.next_state(id, split, 0, n as u64).map(|s| (id, s)))
			{
				Some((id, s)) => close_coop(id, &ChannelState { finality: Finality::Final, ..s })
					.inspect(|_| m.closed.push(id)),
				None => Ok(()),
			},
			Op::CloseUnilateral(c, by_bob, st) => match m.pick(c) {
				Some(id) => match st.and_then(|(split, h)| m.next_state(id, split, h, 1)) {
					Some(s) => close_with(if by_bob { BOB } else { ALICE }, id, &s),
					None => Attestation::close_unilateral(
						origin(if by_bob { BOB } else { ALICE }),
						id,
						None,
					),
				},
				None => Ok(()),
			},
			Op::Challenge(c, split, h) => {
				match m.pick(c).and_then(|id| m.next_state(id, split, h, 1).map(|s| (id, s))) {
					Some((id, s)) => challenge(CHARLIE, id, &s),
					None => Ok(()),
				}
			},
			Op::Reveal(c, k) => match m.pick(c) {
				Some(id) => Attestation::reveal_bill_key(
					origin(BOB),
					id,
					BillKey([m.keys.saturating_sub(k); 32]),
				),
				None => Ok(()),
			},
			Op::Advance(n) => {
				m.block += n as u64;
				run_to(m.block);
				Ok(())
			},
			Op::Settle(c) => match m.pick(c) {
				Some(id) => Attestation::settle(origin(CHARLIE), id)
					.map(|_| m.closed.push(id))
					.map_err(|e| e.error),
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
				Some(id) => {
					Attestation::refund_htlc(origin(CHARLIE), id, ph(m.keys.saturating_sub(k)))
				},
				None => Ok(()),
			},
		}
	}

	/// After a sequence: close every channel with its on-chain state, settle, refund every
	/// HTLC; then every unit is back with its owner. `Err` names what does not add up.
	pub fn drain(&mut self) -> Result<(), &'static str> {
		for id in self.ids.clone() {
			let _ = Attestation::close_unilateral(origin(ALICE), id, None);
		}
		self.block += MAX_CHALLENGE + 1;
		run_to(self.block);
		for id in self.ids.clone() {
			let _ = Attestation::settle(origin(CHARLIE), id);
		}
		self.block += 1_000;
		run_to(self.block);
		for (id, hash, _) in ClaimableHtlcs::<Test>::iter().collect::<Vec<_>>() {
			Attestation::refund_htlc(origin(CHARLIE), id, hash)
				.map_err(|_| "an expired HTLC of a settled channel cannot be refunded")?;
		}
		if channel_held(ALICE) != 0 || channel_held(BOB) != 0 {
			return Err("channel deposits still held after every channel settled");
		}
		let bob_deposit =
			Balances::balance_on_hold(&HoldReason::VerifierDeposit.into(), &account(BOB));
		if free(ALICE) + free(BOB) + bob_deposit != 2 * INITIAL_BALANCE {
			return Err("Alice and Bob do not have every unit back");
		}
		Ok(())
	}
}

/// The fuzz target's run: the calls `bytes` draw, each followed by the checks (total issuance
/// unchanged, `try_state`), then the drain. Panics on the first broken invariant.
pub fn fuzz_calls(bytes: &[u8]) {
	new_test_ext().execute_with(|| {
		let issuance = Balances::total_issuance();
		let mut m = Model::default();
		let mut rest = bytes;
		let mut calls = 0;
		while let Some(op) = Op::take(&mut rest) {
			calls += 1;
			// Bounded: a longer input makes no new kind of history, only a slower run.
			if calls > 200 {
				break;
			}
			let shown = format!("{op:?}");
			let _ = m.apply(op);
			assert_eq!(Balances::total_issuance(), issuance, "issuance changed by {shown}");
			if let Err(e) = Attestation::do_try_state() {
				panic!("try_state fails after {shown}: {e:?}");
			}
		}
		if let Err(e) = m.drain() {
			panic!("after {calls} calls: {e}");
		}
		assert_eq!(Balances::total_issuance(), issuance, "issuance changed by the drain");
	})
}
