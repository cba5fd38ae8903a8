//! Storage migrations.
//!
//! Not gated by this pallet's storage version, unlike `pallet_attestation::migrations`: a
//! pallet that a runtime upgrade adds has no storage yet, and FRAME then writes its in-code
//! storage version before any migration runs (`BeforeAllRuntimeMigrations`), so a
//! `VersionedMigration` from 0 would never run. The step below checks the state it migrates
//! from instead, and does nothing on any other.

#[cfg(feature = "try-runtime")]
use crate::Pallet;
use crate::{Changed, Config, Validators};
use alloc::vec::Vec;
use frame_support::{
	traits::{Get, OnRuntimeUpgrade},
	weights::Weight,
	BoundedVec,
};
use sp_runtime::traits::OpaqueKeys;

/// Version 1: from authorities fixed in the genesis to a validator set managed through
/// sessions, on a chain that is running.
///
/// A chain made before this pallet has Aura and GRANDPA authorities from its genesis and no
/// session state. This step makes each of those authorities a validator with the session keys
/// it already uses (so nothing changes at the first session boundary: same keys, no GRANDPA
/// set change), and writes what `pallet-session`'s genesis would have written: each
/// validator's keys and key owners, the current validators and the keys queued for the next
/// session. The runtime says who the authorities are (`Authorities`: each validator's account
/// and its session keys, in authority order).
///
/// Runs only on a chain whose session pallet and validator set are both empty (a chain with
/// fixed authorities); on any other (a chain made with sessions, or already migrated) it reads
/// two values and writes nothing, so it may stay in the runtime's migrations for an upgrade or
/// two. Refuses (writes nothing, logs an error) when `Authorities` is empty or longer than
/// `MaxValidators`.
pub mod v1 {
	use super::*;

	/// The migration; see the module docs.
	pub struct FromFixedAuthorities<T, A>(core::marker::PhantomData<(T, A)>);

	impl<T, A> OnRuntimeUpgrade for FromFixedAuthorities<T, A>
	where
		T: Config,
		A: Get<Vec<(T::AccountId, T::Keys)>>,
	{
		fn on_runtime_upgrade() -> Weight {
			let db = T::DbWeight::get();
			if !pallet_session::Validators::<T>::get().is_empty()
				|| !Validators::<T>::get().is_empty()
			{
				// A chain with sessions: nothing to do.
				return db.reads(2);
			}
			let authorities = A::get();
			let mut weight = db.reads(4);
			let accounts: Vec<T::AccountId> =
				authorities.iter().map(|(who, _)| who.clone()).collect();
			let Ok(bounded) = BoundedVec::<_, T::MaxValidators>::try_from(accounts.clone()) else {
				log::error!(
					target: "runtime::validator-set",
					"migration to sessions skipped: {} authorities, more than MaxValidators",
					authorities.len()
				);
				return weight;
			};
			if bounded.is_empty() {
				log::error!(
					target: "runtime::validator-set",
					"migration to sessions skipped: the chain has no authorities"
				);
				return weight;
			}
			for (who, keys) in &authorities {
				pallet_session::NextKeys::<T>::insert(who, keys);
				for id in T::Keys::key_ids() {
					pallet_session::KeyOwner::<T>::insert((*id, keys.get_raw(*id).to_vec()), who);
				}
				// As the session pallet's genesis does: the keys are a consumer of the account
				// (no key deposit is held for them; `purge_keys` releases none).
				if frame_system::Pallet::<T>::inc_consumers_without_limit(who).is_err() {
					frame_system::Pallet::<T>::inc_providers(who);
				}
				weight.saturating_accrue(db.reads_writes(1, 2 + T::Keys::key_ids().len() as u64));
			}
			pallet_session::Validators::<T>::put(accounts);
			pallet_session::QueuedKeys::<T>::put(authorities);
			Validators::<T>::put(bounded);
			Changed::<T>::kill();
			log::info!(
				target: "runtime::validator-set",
				"migrated {} fixed authorities to session-managed validators",
				Validators::<T>::decode_len().unwrap_or(0)
			);
			weight.saturating_add(db.writes(4))
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, sp_runtime::TryRuntimeError> {
			use codec::Encode;
			let fixed = pallet_session::Validators::<T>::get().is_empty()
				&& Validators::<T>::get().is_empty();
			// Nothing is expected of a chain that already has sessions.
			Ok(if fixed { A::get() } else { Vec::new() }.encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(before: Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
			use codec::Decode;
			let authorities = Vec::<(T::AccountId, T::Keys)>::decode(&mut &before[..])
				.map_err(|_| "cannot decode the authorities")?;
			if authorities.is_empty() {
				return Pallet::<T>::do_try_state();
			}
			let accounts: Vec<_> = authorities.iter().map(|(a, _)| a.clone()).collect();
			frame_support::ensure!(
				Pallet::<T>::validators() == accounts,
				"the validators are not the authorities"
			);
			frame_support::ensure!(
				pallet_session::QueuedKeys::<T>::get() == authorities,
				"the queued keys are not the authorities' keys"
			);
			Pallet::<T>::do_try_state()
		}
	}
}
