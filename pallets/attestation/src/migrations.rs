//! Storage migrations, one module per storage version.
//!
//! The pattern every layout change follows: a module `vN` with an inner step implementing
//! [`UncheckedOnRuntimeUpgrade`] (the change itself, with `try-runtime` checks before and
//! after), wrapped in [`VersionedMigration`] from `N - 1` to `N`, which runs the step only when
//! the pallet's on-chain storage version is `N - 1` and then writes `N`. The runtime lists it
//! in its `Migrations`; `STORAGE_VERSION` in the pallet becomes `N`; a test in
//! `tests/migrations.rs` runs it on storage of version `N - 1`, checks the result, and checks
//! that a second run does nothing. The runtime-upgrade test (`tests/js/upgrade.test.mjs`)
//! runs it on a live chain through `system.set_code`.

use crate::{Config, Pallet};
use frame_support::{
	migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade, weights::Weight,
};

/// Version 2: no layout change. Version 1 (logs instead of per-anchor ranges) was never
/// versioned through a migration; version 2 is the first one made through this pattern, so
/// that the mechanism (version check, version write, the runtime's `Migrations`, `try-runtime`
/// checks) is exercised before a layout change depends on it. Its checks: every channel,
/// anchor and claimable HTLC decodes before and after, with the same counts.
pub mod v2 {
	use super::*;
	#[cfg(feature = "try-runtime")]
	use alloc::vec::Vec;
	#[cfg(feature = "try-runtime")]
	use codec::{Decode, Encode};

	/// The step from 1 to 2 (without the version check: use [`MigrateV1ToV2`]).
	pub struct UncheckedMigrateV1ToV2<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateV1ToV2<T> {
		fn on_runtime_upgrade() -> Weight {
			// No stored value changes at version 2.
			Weight::zero()
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			Ok(counts::<T>().encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			let before = <(u32, u32, u32)>::decode(&mut &state[..])
				.map_err(|_| "pre_upgrade state does not decode")?;
			frame_support::ensure!(before == counts::<T>(), "storage counts changed");
			Ok(())
		}
	}

	/// Channels, anchors and claimable HTLCs that decode (iteration skips a value that does
	/// not decode, so a layout mismatch changes the counts).
	#[cfg(feature = "try-runtime")]
	fn counts<T: Config>() -> (u32, u32, u32) {
		(
			crate::Channels::<T>::iter_values().count() as u32,
			crate::Anchors::<T>::iter_values().count() as u32,
			crate::ClaimableHtlcs::<T>::iter_values().count() as u32,
		)
	}

	/// Storage version 1 to 2, run once.
	pub type MigrateV1ToV2<T> = VersionedMigration<
		1,
		2,
		UncheckedMigrateV1ToV2<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
