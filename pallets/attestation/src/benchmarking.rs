//! Benchmarks for `pallet_attestation` (FRAME v2), each over its worst case.

use super::*;
use crate::pallet::{BalanceOf, Pallet as Attestation, Verifiers};
use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{
	fungible::{Inspect, Mutate},
	Get,
};
use frame_system::RawOrigin;

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	let amount = T::VerifierDeposit::get()
		.saturating_mul(10u32.into())
		.saturating_add(T::Currency::minimum_balance());
	let _ = T::Currency::set_balance(&who, amount);
	who
}

fn endpoint(len: u32) -> vec::Vec<u8> {
	let mut e = b"https://".to_vec();
	e.resize(len.max(9) as usize, b'a');
	e
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_verifier(n: Linear<9, { T::MaxEndpointLen::get() }>) {
		let who = funded::<T>("verifier");
		let price: BalanceOf<T> = 1u32.into();
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), endpoint(n), price);
		assert!(Verifiers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn update_verifier(n: Linear<9, { T::MaxEndpointLen::get() }>) -> Result<(), BenchmarkError> {
		let who = funded::<T>("verifier");
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(who.clone()).into(),
			endpoint(9),
			1u32.into(),
		)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), Some(endpoint(n)), Some(2u32.into()));
		assert_eq!(Verifiers::<T>::get(&who).map(|i| i.endpoint.len() as u32), Some(n.max(9)));
		Ok(())
	}

	#[benchmark]
	fn unregister_verifier() -> Result<(), BenchmarkError> {
		let who = funded::<T>("verifier");
		Attestation::<T>::register_verifier(
			RawOrigin::Signed(who.clone()).into(),
			endpoint(T::MaxEndpointLen::get()),
			1u32.into(),
		)?;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Verifiers::<T>::contains_key(&who));
		Ok(())
	}

	impl_benchmark_test_suite!(Attestation, crate::mock::new_test_ext(), crate::mock::Test);
}
