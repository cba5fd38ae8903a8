//! Benchmarks for `pallet_validator_set`, each over the size of the set (its worst case is a
//! full set: `contains` and `position` scan it).

use super::*;
use codec::Decode;
use frame_benchmarking::v2::*;
use frame_support::{traits::EnsureOrigin, BoundedVec};
use sp_runtime::traits::{Get, TrailingZeroInput};

/// `n` validators, each with (made-up) session keys.
fn fill<T: Config>(n: u32) -> Vec<T::AccountId> {
	let set: Vec<T::AccountId> = (0..n).map(|i| account("validator", i, 0)).collect();
	for v in &set {
		give_keys::<T>(v);
	}
	let bounded: BoundedVec<_, T::MaxValidators> =
		set.clone().try_into().expect("n is at most MaxValidators");
	Validators::<T>::put(bounded);
	set
}

fn give_keys<T: Config>(who: &T::AccountId) {
	let keys = <T as pallet_session::Config>::Keys::decode(&mut TrailingZeroInput::zeroes())
		.expect("keys decode from zeroes");
	pallet_session::NextKeys::<T>::insert(who, keys);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn add_validator(n: Linear<1, { T::MaxValidators::get() - 1 }>) -> Result<(), BenchmarkError> {
		fill::<T>(n);
		let who: T::AccountId = account("joining", 0, 0);
		give_keys::<T>(&who);
		let origin =
			T::AddRemoveOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, who.clone());

		assert!(Validators::<T>::get().contains(&who));
		Ok(())
	}

	#[benchmark]
	fn remove_validator(
		n: Linear<{ T::MinValidators::get() + 1 }, { T::MaxValidators::get() }>,
	) -> Result<(), BenchmarkError> {
		let set = fill::<T>(n);
		// The last one: `position` scans the whole set.
		let who = set.last().cloned().ok_or(BenchmarkError::Weightless)?;
		let origin =
			T::AddRemoveOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, who.clone());

		assert!(!Validators::<T>::get().contains(&who));
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
