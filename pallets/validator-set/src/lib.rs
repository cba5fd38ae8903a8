//! # Validator set
//!
//! Who authors blocks (Aura) and votes on finality (GRANDPA) on Attest chain, and how that
//! changes while the chain runs: the governance origin (`AddRemoveOrigin`; sudo on the `dev` and
//! `local` chains) adds or removes a validator, and `pallet-session` applies the change at a
//! session boundary. This pallet is the session's [`pallet_session::SessionManager`]; the
//! session pallet hands the new set to Aura and GRANDPA (GRANDPA schedules an authority-set
//! change with no delay, enacted when the block that schedules it is finalized).
//!
//! ## How an operator joins
//! 1. Generates session keys in its node (`author_rotateKeys`, or `author_rotateKeysWithOwner`
//!    for the ownership proof) and registers them from its account with `session.set_keys`
//!    (which holds the session pallet's key deposit). Keys alone make no one a validator.
//! 2. Governance calls [`Pallet::add_validator`] with that account. The account must have
//!    session keys ([`Error::NoSessionKeys`] otherwise), so that the set never names a
//!    validator that cannot author or vote.
//! 3. At the end of the current session the account is queued; from the start of the next one
//!    it authors and votes. A change therefore takes effect within two sessions.
//!
//! Removal ([`Pallet::remove_validator`]) goes the same way, and is refused if it would leave
//! fewer than `MinValidators`. Removing a validator that is offline does not stop finality as
//! long as more than two thirds of the current set still vote (GRANDPA's threshold): with
//! equal weights, one offline validator in four is fine, one in three is not.
//!
//! ## Why the set is only handed over when it changed
//! [`pallet_session::SessionManager::new_session`] returns `None` unless a call changed the set
//! since the last session. Returning the same set again would make the session pallet report
//! a change, and GRANDPA would then start a new authority set every session: every proof that
//! carries its finality from genesis (docs/proof-format.md, format 2) would grow by one
//! justification per session instead of one per real change.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// Version 1: the validator set lives here (a chain made before it had fixed authorities;
	/// [`migrations::v1`] brings it over).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ pallet_session::Config<ValidatorId = <Self as frame_system::Config>::AccountId>
	{
		/// Who may add and remove validators (sudo on the dev and local chains).
		type AddRemoveOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Most validators at once (no more than Aura's and GRANDPA's `MaxAuthorities`).
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Fewest validators: a removal that would leave fewer is refused.
		#[pallet::constant]
		type MinValidators: Get<u32>;

		/// Blocks per session unless the genesis sets [`SessionPeriod`].
		#[pallet::constant]
		type DefaultSessionPeriod: Get<BlockNumberFor<Self>>;

		/// Weights of the calls.
		type WeightInfo: WeightInfo;
	}

	#[pallet::type_value]
	pub fn DefaultPeriod<T: Config>() -> BlockNumberFor<T> {
		T::DefaultSessionPeriod::get()
	}

	/// Blocks per session, fixed by the genesis (`validatorSet.sessionPeriod`; the runtime's
	/// default otherwise): a change is in force within two sessions. Read by the session
	/// pallet's `ShouldEndSession` through [`SessionPeriodOf`].
	#[pallet::storage]
	pub type SessionPeriod<T: Config> =
		StorageValue<_, BlockNumberFor<T>, ValueQuery, DefaultPeriod<T>>;

	/// The validators, in the order they were added: the set the session pallet is handed at
	/// the next session boundary if [`Changed`] is set, else the set in force.
	#[pallet::storage]
	pub type Validators<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

	/// Set by a change of [`Validators`]; taken at the next session boundary.
	#[pallet::storage]
	pub type Changed<T: Config> = StorageValue<_, bool, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The first validators. Each needs session keys in `session.keys` of the same genesis.
		pub initial_validators: Vec<T::AccountId>,
		/// Blocks per session (none: the runtime's `DefaultSessionPeriod`). Cannot change
		/// once the chain runs.
		pub session_period: Option<BlockNumberFor<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let mut seen = Vec::with_capacity(self.initial_validators.len());
			for v in &self.initial_validators {
				assert!(!seen.contains(v), "genesis: validator {v:?} is listed twice");
				seen.push(v.clone());
			}
			// None at all leaves the first set to the session pallet's `keys` (this pallet then
			// starts from the session's validators at the first change); some, but too few, is
			// a mistake.
			assert!(
				seen.is_empty() || seen.len() as u32 >= T::MinValidators::get(),
				"genesis: fewer validators than MinValidators"
			);
			assert!(
				seen.len() as u32 <= T::MaxValidators::get(),
				"genesis: more validators than MaxValidators"
			);
			Validators::<T>::put(BoundedVec::<_, T::MaxValidators>::truncate_from(seen));
			if let Some(period) = self.session_period {
				assert!(!period.is_zero(), "genesis: a session period of 0 blocks");
				SessionPeriod::<T>::put(period);
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// `who` joins the validators at the next session boundary (authoring and voting from
		/// the session after it).
		ValidatorAdded { who: T::AccountId },
		/// `who` leaves the validators at the next session boundary.
		ValidatorRemoved { who: T::AccountId },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a validator.
		AlreadyValidator,
		/// The account is not a validator.
		NotValidator,
		/// The set is full (`MaxValidators`): remove one first.
		TooManyValidators,
		/// Removing it would leave fewer than `MinValidators`.
		TooFewValidators,
		/// The account has no session keys: its operator must call `session.set_keys` with the
		/// keys its node generated (`author_rotateKeys`) before it can be added.
		NoSessionKeys,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Add `who` to the validators from the next session boundary on. Origin:
		/// `AddRemoveOrigin`. `who` must have session keys.
		#[pallet::call_index(0)]
		// One read more than measured: the session's validators, read when the set is empty
		// (`adopt_session_set`).
		#[pallet::weight(<T as Config>::WeightInfo::add_validator(T::MaxValidators::get())
			.saturating_add(T::DbWeight::get().reads(1)))]
		pub fn add_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AddRemoveOrigin::ensure_origin(origin)?;
			ensure!(pallet_session::NextKeys::<T>::contains_key(&who), Error::<T>::NoSessionKeys);
			Validators::<T>::try_mutate(|set| {
				Self::adopt_session_set(set);
				ensure!(!set.contains(&who), Error::<T>::AlreadyValidator);
				set.try_push(who.clone()).map_err(|_| Error::<T>::TooManyValidators)
			})?;
			Changed::<T>::put(true);
			Self::deposit_event(Event::ValidatorAdded { who });
			Ok(())
		}

		/// Remove `who` from the validators from the next session boundary on. Origin:
		/// `AddRemoveOrigin`. Refused if fewer than `MinValidators` would remain.
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::remove_validator(T::MaxValidators::get())
			.saturating_add(T::DbWeight::get().reads(1)))]
		pub fn remove_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AddRemoveOrigin::ensure_origin(origin)?;
			Validators::<T>::try_mutate(|set| {
				Self::adopt_session_set(set);
				let at = set.iter().position(|v| v == &who).ok_or(Error::<T>::NotValidator)?;
				ensure!(set.len() as u32 > T::MinValidators::get(), Error::<T>::TooFewValidators);
				set.remove(at);
				Ok::<_, Error<T>>(())
			})?;
			Changed::<T>::put(true);
			Self::deposit_event(Event::ValidatorRemoved { who });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// An empty set (a genesis that named its validators only in `session.keys`) starts
		/// from the session's validators, so that a change never drops them unasked.
		fn adopt_session_set(set: &mut BoundedVec<T::AccountId, T::MaxValidators>) {
			if set.is_empty() {
				*set = BoundedVec::truncate_from(pallet_session::Validators::<T>::get());
			}
		}

		/// The validators (those queued for the next session if a change is pending).
		pub fn validators() -> Vec<T::AccountId> {
			Validators::<T>::get().into_inner()
		}

		/// Invariants: no account twice, at least `MinValidators` (the bound on the most is
		/// the type's).
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let set = Validators::<T>::get();
			for (i, v) in set.iter().enumerate() {
				ensure!(!set[..i].contains(v), "a validator is listed twice");
			}
			ensure!(set.len() as u32 >= T::MinValidators::get(), "fewer than MinValidators");
			Ok(())
		}
	}
}

/// The session period as a `Get` for `pallet_session::PeriodicSessions` (never 0).
pub struct SessionPeriodOf<T>(core::marker::PhantomData<T>);
impl<T: Config> frame_support::traits::Get<frame_system::pallet_prelude::BlockNumberFor<T>>
	for SessionPeriodOf<T>
{
	fn get() -> frame_system::pallet_prelude::BlockNumberFor<T> {
		use sp_runtime::traits::One;
		SessionPeriod::<T>::get().max(One::one())
	}
}

/// The session pallet asks for the next set at each session boundary: it gets one only when a
/// call changed it (see the crate docs for why).
impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(_index: u32) -> Option<Vec<T::AccountId>> {
		Changed::<T>::take().then(Self::validators)
	}

	fn new_session_genesis(_index: u32) -> Option<Vec<T::AccountId>> {
		let set = Self::validators();
		(!set.is_empty()).then_some(set)
	}

	fn end_session(_index: u32) {}

	fn start_session(_index: u32) {}
}
