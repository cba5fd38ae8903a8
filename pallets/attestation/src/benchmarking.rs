//! Benchmarks for `pallet_attestation` (FRAME v2), each over its worst case.
//!
//! Channel states are signed inside the benchmark with sr25519 keys from the keystore
//! extension (`benchmark pallet` provides one; the mock test suite registers one), over this
//! chain's genesis hash, exactly as the parties do off chain.

use super::*;
use crate::{
	pallet::{BalanceOf, Channels, ClaimableHtlcs, Pallet as Attestation, Verifiers},
	types::{ChannelStatus, ConsistencyPath},
};
use alloc::vec::Vec;
use attest_primitives::{
	merkle,
	signing::{signing_payload, Kind},
	BillKey, ChannelState, Hash, Htlc, ItemRange, LogHead,
};
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get};
use frame_system::RawOrigin;
use sp_core::{crypto::KeyTypeId, sr25519};
use sp_runtime::{AccountId32, MultiSignature, SaturatedConversion, Saturating};

const KEY: KeyTypeId = KeyTypeId(*b"attb");
/// Plenty for any benchmark: deposits, top-ups and fees.
const ENDOWMENT: u128 = 1_000_000_000_000_000_000;

struct Party {
	public: sr25519::Public,
	account: AccountId32,
}

fn party<T: Config>(uri: &str) -> Party {
	let public = sp_io::crypto::sr25519_generate(KEY, Some(uri.as_bytes().to_vec()));
	let account = AccountId32::from(public.0);
	T::Currency::set_balance(&account, ENDOWMENT);
	Party { public, account }
}

fn sign<T: Config>(p: &Party, state: &ChannelState) -> MultiSignature {
	let payload =
		signing_payload(Kind::State, &Attestation::<T>::genesis_hash(), &state.channel_id, state);
	MultiSignature::Sr25519(
		sp_io::crypto::sr25519_sign(KEY, &p.public, &payload).expect("the key was just generated"),
	)
}

fn endpoint(len: u32) -> Vec<u8> {
	let mut e = b"https://".to_vec();
	e.resize(len.max(9) as usize, b'a');
	e
}

fn digests(first: u64, n: u64) -> Vec<Hash> {
	(first..first + n)
		.map(|i| attest_primitives::sha256(&i.to_le_bytes()))
		.collect()
}

/// The worst case of the log checks: a consistency proof of `MAX_CONSISTENCY_PATH` hashes,
/// from a log of 3 items to one of `u64::MAX` items. No one can build those trees, but the
/// roots a proof leads to are computable from the proof alone, so the benchmark logs are
/// the ones these hashes imply.
fn worst_case_logs() -> (LogHead, LogHead, ConsistencyPath) {
	let proof = merkle::ConsistencyProof {
		first_size: ANCHORED,
		second_size: ITEMS,
		path: (0..merkle::MAX_CONSISTENCY_PATH)
			.map(|i| attest_primitives::sha256(&i.to_le_bytes()))
			.collect(),
	};
	let (first, second) = proof.implied_roots(&Hash::zero()).expect("65 hashes fit these sizes");
	(
		LogHead { size: ANCHORED, root: first },
		LogHead { size: ITEMS, root: second },
		proof.path.try_into().expect("MAX_CONSISTENCY_PATH hashes"),
	)
}

/// The log each benchmark channel anchors first, the log of the states it then submits, and
/// the consistency proof between them: sizes 3 and `u64::MAX` (the longest proof).
const ANCHORED: u64 = 3;
const ITEMS: u64 = u64::MAX;

fn min_deposit<T: Config>() -> u128 {
	T::MinChannelDeposit::get().max(1_000_000)
}

/// Register the verifier, open a channel with `fundings` fundings (the worst case for the
/// state checks walks all of them), return its id.
fn open<T: Config>(requester: &Party, verifier: &Party, fundings: u32) -> ChannelId {
	let _ = Attestation::<T>::register_verifier(
		RawOrigin::Signed(verifier.account.clone()).into(),
		endpoint(T::MaxEndpointLen::get()),
		1u32.into(),
		T::MinChallengePeriod::get(),
	);
	let count = crate::pallet::ChannelCount::<T>::get();
	let period = T::MinChallengePeriod::get();
	Attestation::<T>::open_channel(
		RawOrigin::Signed(requester.account.clone()).into(),
		verifier.account.clone(),
		min_deposit::<T>(),
		period,
	)
	.expect("channel opens");
	let id = attest_primitives::channel_id(
		&Attestation::<T>::genesis_hash(),
		&requester.account,
		&verifier.account,
		count,
	);
	let share = T::MaxFundings::get().saturating_sub(1) / 2;
	let top_up = T::MinTopUp::get().max(1_000);
	for i in 1..fundings.min(1 + 2 * share) {
		let by = if i % 2 == 0 { &requester.account } else { &verifier.account };
		Attestation::<T>::fund_channel(RawOrigin::Signed(by.clone()).into(), id, top_up)
			.expect("top-up");
	}
	id
}

/// Checkpoint a first state with a log of `ANCHORED` items, so later states need a
/// consistency proof.
fn anchor_first<T: Config>(r: &Party, v: &Party, id: ChannelId) {
	let mut s = next_state::<T>(id, 1, 0);
	s.log = worst_case_logs().0;
	let (sr, sv) = (sign::<T>(r, &s), sign::<T>(v, &s));
	Attestation::<T>::checkpoint(
		RawOrigin::Signed(r.account.clone()).into(),
		id,
		s,
		sr,
		sv,
		Default::default(),
	)
	.expect("first checkpoint");
}

/// A valid next state of `id` with `htlcs` HTLCs and a log of `ITEMS` items.
fn next_state<T: Config>(id: ChannelId, nonce: u64, htlcs: u32) -> ChannelState {
	let ch = Channels::<T>::get(id).expect("channel exists");
	let total = ch.total_held();
	let items = ItemRange::of_digests(ANCHORED, &digests(ANCHORED, 8));
	let pending: Vec<Htlc> = (0..htlcs)
		.map(|i| Htlc {
			payment_hash: attest_primitives::payment_hash(&BillKey([i as u8; 32])),
			amount: 1,
			expiry: u32::MAX,
			items,
		})
		.collect();
	let rest = total - htlcs as u128;
	ChannelState {
		channel_id: id,
		nonce,
		requester_balance: rest / 2,
		verifier_balance: rest - rest / 2,
		htlcs: pending.try_into().expect("htlcs <= MaxHtlcs <= MAX_PENDING_HTLCS"),
		log: worst_case_logs().1,
		finality: attest_primitives::Finality::Open,
	}
}

fn advance_past_deadline<T: Config>(id: ChannelId) {
	if let Some(ch) = Channels::<T>::get(id) {
		if let ChannelStatus::Closing { deadline, .. } = ch.status {
			frame_system::Pallet::<T>::set_block_number(deadline.saturating_add(1u32.into()));
		}
	}
}

/// A settled channel with one claimable HTLC (bill key `[0; 32]`) expiring at `expiry`.
fn settled_with_one_htlc<T: Config>(
	r: &Party,
	v: &Party,
	expiry: u32,
) -> Result<ChannelId, BenchmarkError> {
	let id = open::<T>(r, v, 1);
	let mut state = next_state::<T>(id, 1, 1);
	state.htlcs[0].expiry = expiry;
	let sv = sign::<T>(v, &state);
	Attestation::<T>::close_unilateral(
		RawOrigin::Signed(r.account.clone()).into(),
		id,
		Some((state, sv, Default::default())),
	)?;
	advance_past_deadline::<T>(id);
	Attestation::<T>::settle(RawOrigin::Signed(v.account.clone()).into(), id)
		.map_err(|e| e.error)?;
	Ok(id)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_verifier(n: Linear<9, { T::MaxEndpointLen::get() }>) {
		let v = party::<T>("//Verifier");
		let price: BalanceOf<T> = 1u32.into();
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), endpoint(n), price, T::MinChallengePeriod::get());
		assert!(Verifiers::<T>::contains_key(&v.account));
	}

	#[benchmark]
	fn update_verifier(n: Linear<9, { T::MaxEndpointLen::get() }>) -> Result<(), BenchmarkError> {
		let v = party::<T>("//Verifier");
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(v.account.clone()).into(),
			endpoint(9),
			1u32.into(),
			T::MinChallengePeriod::get(),
		)?;
		#[extrinsic_call]
		_(
			RawOrigin::Signed(v.account.clone()),
			Some(endpoint(n)),
			Some(2u32.into()),
			Some(T::MinChallengePeriod::get()),
		);
		assert_eq!(
			Verifiers::<T>::get(&v.account).map(|i| i.endpoint.len() as u32),
			Some(n.max(9))
		);
		Ok(())
	}

	#[benchmark]
	fn unregister_verifier() -> Result<(), BenchmarkError> {
		let v = party::<T>("//Verifier");
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(v.account.clone()).into(),
			endpoint(T::MaxEndpointLen::get()),
			1u32.into(),
			T::MinChallengePeriod::get(),
		)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()));
		assert!(!Verifiers::<T>::contains_key(&v.account));
		Ok(())
	}

	#[benchmark]
	fn open_channel() -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(v.account.clone()).into(),
			endpoint(9),
			1u32.into(),
			T::MinChallengePeriod::get(),
		)?;
		let period = T::MinChallengePeriod::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), v.account.clone(), min_deposit::<T>(), period);
		assert_eq!(crate::pallet::ChannelCount::<T>::get(), 1);
		Ok(())
	}

	#[benchmark]
	fn fund_channel() {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let share = T::MaxFundings::get().saturating_sub(1) / 2;
		// Every top-up but the requester's last (the verifier's come first).
		let id = open::<T>(&r, &v, 2 * share);
		let amount = T::MinTopUp::get().max(1_000);
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, amount);
		assert_eq!(Channels::<T>::get(id).map(|c| c.fundings.len() as u32), Some(1 + 2 * share));
	}

	#[benchmark]
	fn checkpoint(h: Linear<0, { T::MaxHtlcs::get() }>) {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		anchor_first::<T>(&r, &v, id);
		let state = next_state::<T>(id, 2, h);
		let (sr, sv) = (sign::<T>(&r, &state), sign::<T>(&v, &state));
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, state, sr, sv, worst_case_logs().2);
		assert_eq!(Channels::<T>::get(id).map(|c| c.anchor_count), Some(2));
	}

	#[benchmark]
	fn close_cooperative() {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		anchor_first::<T>(&r, &v, id);
		let state = ChannelState {
			finality: attest_primitives::Finality::Final,
			..next_state::<T>(id, 2, 0)
		};
		let (sr, sv) = (sign::<T>(&r, &state), sign::<T>(&v, &state));
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, state, sr, sv, worst_case_logs().2);
		assert!(!Channels::<T>::contains_key(id));
	}

	#[benchmark]
	fn close_unilateral(h: Linear<0, { T::MaxHtlcs::get() }>) {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		anchor_first::<T>(&r, &v, id);
		let state = next_state::<T>(id, 2, h);
		let sv = sign::<T>(&v, &state);
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, Some((state, sv, worst_case_logs().2)));
		assert!(matches!(
			Channels::<T>::get(id).map(|c| c.status),
			Some(ChannelStatus::Closing { .. })
		));
	}

	#[benchmark]
	fn challenge(h: Linear<0, { T::MaxHtlcs::get() }>) -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		anchor_first::<T>(&r, &v, id);
		Attestation::<T>::close_unilateral(RawOrigin::Signed(r.account.clone()).into(), id, None)?;
		let state = next_state::<T>(id, 3, h);
		let (sr, sv) = (sign::<T>(&r, &state), sign::<T>(&v, &state));
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id, state, sr, sv, worst_case_logs().2);
		assert_eq!(Channels::<T>::get(id).map(|c| c.state.nonce), Some(3));
		Ok(())
	}

	#[benchmark]
	fn settle(h: Linear<0, { T::MaxHtlcs::get() }>) -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		let state = next_state::<T>(id, 1, h);
		let sv = sign::<T>(&v, &state);
		Attestation::<T>::close_unilateral(
			RawOrigin::Signed(r.account.clone()).into(),
			id,
			Some((state.clone(), sv, Default::default())),
		)?;
		// A proven stale close adds the penalty computation.
		let newer = ChannelState { nonce: 3, ..state };
		let (sr, sv) = (sign::<T>(&r, &newer), sign::<T>(&v, &newer));
		Attestation::<T>::challenge(
			RawOrigin::Signed(v.account.clone()).into(),
			id,
			newer,
			sr,
			sv,
			Default::default(),
		)?;

		advance_past_deadline::<T>(id);
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id);
		assert!(!Channels::<T>::contains_key(id));
		assert_eq!(ClaimableHtlcs::<T>::iter_prefix(id).count() as u32, h);
		Ok(())
	}

	#[benchmark]
	fn reveal_bill_key() -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		// The search for an earlier reveal walks every earlier one.
		for i in 1..T::MaxHtlcs::get() {
			Attestation::<T>::reveal_bill_key(
				RawOrigin::Signed(v.account.clone()).into(),
				id,
				BillKey([i as u8; 32]),
			)?;
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id, BillKey([0; 32]));
		assert_eq!(
			Channels::<T>::get(id).map(|c| c.revealed.len() as u32),
			Some(T::MaxHtlcs::get())
		);
		Ok(())
	}

	#[benchmark]
	fn claim_htlc() -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = settled_with_one_htlc::<T>(&r, &v, u32::MAX)?;
		let key = BillKey([0; 32]);
		let hash = attest_primitives::payment_hash(&key);
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id, hash, key);
		assert!(!ClaimableHtlcs::<T>::contains_key(id, hash));
		Ok(())
	}

	#[benchmark]
	fn refund_htlc() -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let now: u32 = frame_system::Pallet::<T>::block_number().saturated_into();
		let id = settled_with_one_htlc::<T>(&r, &v, now)?;
		let hash = attest_primitives::payment_hash(&BillKey([0; 32]));
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, hash);
		assert!(!ClaimableHtlcs::<T>::contains_key(id, hash));
		Ok(())
	}

	impl_benchmark_test_suite!(Attestation, crate::mock::new_test_ext(), crate::mock::Test);
}
