//! Benchmarks for `pallet_attestation` (FRAME v2), each over its worst case.
//!
//! Channel states are signed inside the benchmark with sr25519 keys from the keystore
//! extension (`benchmark pallet` provides one; the mock test suite registers one), over this
//! chain's genesis hash, exactly as the parties do off chain.

use super::*;
use crate::pallet::{
	BalanceOf, ChannelStatus, Channels, ClaimableHtlcs, Pallet as Attestation, Verifiers,
};
use alloc::vec::Vec;
use attest_primitives::{
	signing::{signing_payload, Kind},
	BillKey, ChannelState, Hash, Htlc, ItemRange,
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
	(first..first + n).map(|i| attest_primitives::sha256(&i.to_le_bytes())).collect()
}

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
	for i in 1..fundings {
		let by = if i % 2 == 0 { &requester.account } else { &verifier.account };
		Attestation::<T>::fund_channel(RawOrigin::Signed(by.clone()).into(), id, 1_000)
			.expect("top-up");
	}
	id
}

/// A valid next state of `id` with `htlcs` HTLCs and a range of 1000 items (the weight does
/// not depend on the item count: the range is a root).
fn next_state<T: Config>(id: ChannelId, nonce: u64, htlcs: u32) -> ChannelState {
	let ch = Channels::<T>::get(id).expect("channel exists");
	let total = ch.total_held();
	let items = ItemRange::of_digests(ch.next_seq, &digests(ch.next_seq, 8));
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
		unanchored: ItemRange { first_seq: ch.next_seq, count: 1000, root: items.root },
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
	Attestation::<T>::close_unilateral(RawOrigin::Signed(r.account.clone()).into(), id, Some((state, sv)))?;
	advance_past_deadline::<T>(id);
	Attestation::<T>::settle(RawOrigin::Signed(v.account.clone()).into(), id).map_err(|e| e.error)?;
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
		_(RawOrigin::Signed(v.account.clone()), endpoint(n), price);
		assert!(Verifiers::<T>::contains_key(&v.account));
	}

	#[benchmark]
	fn update_verifier(n: Linear<9, { T::MaxEndpointLen::get() }>) -> Result<(), BenchmarkError> {
		let v = party::<T>("//Verifier");
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(v.account.clone()).into(),
			endpoint(9),
			1u32.into(),
		)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), Some(endpoint(n)), Some(2u32.into()));
		assert_eq!(Verifiers::<T>::get(&v.account).map(|i| i.endpoint.len() as u32), Some(n.max(9)));
		Ok(())
	}

	#[benchmark]
	fn unregister_verifier() -> Result<(), BenchmarkError> {
		let v = party::<T>("//Verifier");
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(v.account.clone()).into(),
			endpoint(T::MaxEndpointLen::get()),
			1u32.into(),
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
		let id = open::<T>(&r, &v, T::MaxFundings::get() - 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id, 1_000u128);
		assert_eq!(Channels::<T>::get(id).map(|c| c.fundings.len() as u32), Some(T::MaxFundings::get()));
	}

	#[benchmark]
	fn checkpoint(h: Linear<0, { T::MaxHtlcs::get() }>) {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		let state = next_state::<T>(id, 1, h);
		let (sr, sv) = (sign::<T>(&r, &state), sign::<T>(&v, &state));
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, state, sr, sv);
		assert_eq!(Channels::<T>::get(id).map(|c| c.anchor_count), Some(1));
	}

	#[benchmark]
	fn close_cooperative() {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		let state = next_state::<T>(id, 1, 0);
		let (sr, sv) = (sign::<T>(&r, &state), sign::<T>(&v, &state));
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, state, sr, sv);
		assert!(!Channels::<T>::contains_key(id));
	}

	#[benchmark]
	fn close_unilateral(h: Linear<0, { T::MaxHtlcs::get() }>) {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		let state = next_state::<T>(id, 1, h);
		let sv = sign::<T>(&v, &state);
		#[extrinsic_call]
		_(RawOrigin::Signed(r.account.clone()), id, Some((state, sv)));
		assert!(matches!(
			Channels::<T>::get(id).map(|c| c.status),
			Some(ChannelStatus::Closing { .. })
		));
	}

	#[benchmark]
	fn challenge(h: Linear<0, { T::MaxHtlcs::get() }>) -> Result<(), BenchmarkError> {
		let (r, v) = (party::<T>("//Requester"), party::<T>("//Verifier"));
		let id = open::<T>(&r, &v, T::MaxFundings::get());
		Attestation::<T>::close_unilateral(RawOrigin::Signed(r.account.clone()).into(), id, None)?;
		let state = next_state::<T>(id, 1, h);
		let (sr, sv) = (sign::<T>(&r, &state), sign::<T>(&v, &state));
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id, state, sr, sv);
		assert_eq!(Channels::<T>::get(id).map(|c| c.state.nonce), Some(1));
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
			Some((state.clone(), sv)),
		)?;
		// A proven stale close adds the penalty computation.
		let newer = ChannelState { nonce: 2, ..state };
		let (sr, sv) = (sign::<T>(&r, &newer), sign::<T>(&v, &newer));
		Attestation::<T>::challenge(RawOrigin::Signed(v.account.clone()).into(), id, newer, sr, sv)?;
		advance_past_deadline::<T>(id);
		#[extrinsic_call]
		_(RawOrigin::Signed(v.account.clone()), id);
		assert!(!Channels::<T>::contains_key(id));
		assert_eq!(ClaimableHtlcs::<T>::iter_prefix(id).count() as u32, h);
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
