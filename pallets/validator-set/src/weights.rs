//! Weights for `pallet_validator_set`.
//!
//! NOT YET MEASURED: these are estimates, set above the measured cost of comparable calls of
//! `pallet_attestation` (a bounded-vector read and write, one map lookup: `unregister_verifier`
//! weighs about 40 µs with its storage), with the storage reads and writes each call makes
//! counted at the runtime's ParityDB weights. Both calls are governance-only (sudo), so an
//! underestimate cannot be exploited by a stranger. Replace with a measurement:
//! `PALLET=pallet_validator_set ./scripts/benchmark-pallet.sh` (it builds the node with
//! `runtime-benchmarks`, about 40 minutes on 2 cores, and overwrites this file).

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens, unused_imports, missing_docs, dead_code)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::ParityDbWeight, Weight}};

/// Weight functions of `pallet_validator_set`.
pub trait WeightInfo {
	fn add_validator(n: u32, ) -> Weight;
	fn remove_validator(n: u32, ) -> Weight;
}

/// Measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Session::NextKeys` (r:1 w:0), `ValidatorSet::Validators` (r:1 w:1),
	/// `ValidatorSet::Changed` (r:0 w:1). The range of component `n` is `[1, 31]`.
	fn add_validator(n: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 3_500)
			.saturating_add(Weight::from_parts(200_000, 32).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `ValidatorSet::Validators` (r:1 w:1), `ValidatorSet::Changed` (r:0 w:1).
	/// The range of component `n` is `[3, 32]`.
	fn remove_validator(n: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 1_500)
			.saturating_add(Weight::from_parts(200_000, 32).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
}

/// For tests.
impl WeightInfo for () {
	fn add_validator(n: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 3_500)
			.saturating_add(Weight::from_parts(200_000, 32).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(2_u64))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
	}
	fn remove_validator(n: u32, ) -> Weight {
		Weight::from_parts(60_000_000, 1_500)
			.saturating_add(Weight::from_parts(200_000, 32).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
	}
}
