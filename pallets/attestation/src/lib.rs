//! # Attestation pallet
//!
//! The on-chain part of Attest chain.
//!
//! ## Overview
//!
//! Requesters and verifiers attest large numbers of data items off chain and touch the chain
//! only to register, to open and close payment channels, and to anchor the Merkle root
//! ("summary digest") of everything attested since the last anchor.
//!
//! This version holds the **verifier registry**: a verifier publishes the endpoint of its
//! service and its price per item, and puts [`Config::VerifierDeposit`] on hold for the
//! storage it occupies. The deposit is released when it unregisters.
//!
//! ## Terminology
//!
//! - *Verifier*: an account that checks data and confirms a requester's ownership claim.
//! - *Endpoint*: the URL of the verifier's off-chain service (at most
//!   [`Config::MaxEndpointLen`] bytes, `http://` or `https://`).
//! - *Price*: what the verifier bills per attested item, in the chain's currency.
//!
//! ## Assumptions
//!
//! - The currency implements `fungible::MutateHold`; the pallet's own [`HoldReason`] keeps
//!   its holds apart from every other pallet's.
//! - Dispatchables check everything before the first storage write, so a failed call has no
//!   side effects.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
	use super::WeightInfo;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, MutateHold},
			tokens::Precision,
		},
	};
	use frame_system::pallet_prelude::*;

	/// Balance type of the configured currency.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

	/// A verifier's endpoint URL, bounded by [`Config::MaxEndpointLen`].
	pub type EndpointOf<T> = BoundedVec<u8, <T as Config>::MaxEndpointLen>;

	/// What the registry stores about one verifier.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, RuntimeDebug, TypeInfo,
		MaxEncodedLen,
	)]
	#[scale_info(skip_type_params(T))]
	pub struct VerifierInfo<T: Config> {
		/// URL of the verifier's off-chain service.
		pub endpoint: EndpointOf<T>,
		/// Price the verifier bills per attested item.
		pub price: BalanceOf<T>,
		/// Deposit held for this entry; released on unregister.
		pub deposit: BalanceOf<T>,
	}

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Storage deposit of a verifier registry entry.
		#[codec(index = 0)]
		VerifierDeposit,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency whose funds are held for deposits and channels.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Deposit held from a verifier for its registry entry.
		#[pallet::constant]
		type VerifierDeposit: Get<BalanceOf<Self>>;

		/// Maximum length of a verifier endpoint URL, in bytes.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Registered verifiers, by account.
	#[pallet::storage]
	pub type Verifiers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, VerifierInfo<T>, OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A verifier registered its service.
		VerifierRegistered {
			verifier: T::AccountId,
			endpoint: EndpointOf<T>,
			price: BalanceOf<T>,
			deposit: BalanceOf<T>,
		},
		/// A verifier changed its endpoint or price.
		VerifierUpdated { verifier: T::AccountId, endpoint: EndpointOf<T>, price: BalanceOf<T> },
		/// A verifier left the registry; its deposit was released.
		VerifierUnregistered { verifier: T::AccountId, deposit_released: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a registered verifier; use `update_verifier` instead.
		AlreadyRegistered,
		/// The account is not a registered verifier; call `register_verifier` first.
		NotRegistered,
		/// The endpoint is longer than `MaxEndpointLen` bytes.
		EndpointTooLong,
		/// The endpoint must be a non-empty `http://` or `https://` URL without spaces or
		/// control characters.
		InvalidEndpoint,
		/// The account cannot cover the verifier deposit (free balance above the existential
		/// deposit).
		InsufficientDeposit,
		/// `update_verifier` was called with neither a new endpoint nor a new price.
		NothingToUpdate,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxEndpointLen::get() >= 16, "MaxEndpointLen must fit a short URL");
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the caller as a verifier serving at `endpoint` for `price` per item.
		///
		/// Holds [`Config::VerifierDeposit`] from the caller. Emits `VerifierRegistered`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_verifier(endpoint.len() as u32))]
		pub fn register_verifier(
			origin: OriginFor<T>,
			endpoint: Vec<u8>,
			price: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Verifiers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			let endpoint = Self::checked_endpoint(endpoint)?;
			let deposit = T::VerifierDeposit::get();
			T::Currency::hold(&HoldReason::VerifierDeposit.into(), &who, deposit)
				.map_err(|_| Error::<T>::InsufficientDeposit)?;
			Verifiers::<T>::insert(
				&who,
				VerifierInfo { endpoint: endpoint.clone(), price, deposit },
			);
			Self::deposit_event(Event::VerifierRegistered { verifier: who, endpoint, price, deposit });
			Ok(())
		}

		/// Change the caller's endpoint and/or price. Emits `VerifierUpdated`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update_verifier(
			endpoint.as_ref().map_or(0, |e| e.len() as u32)
		))]
		pub fn update_verifier(
			origin: OriginFor<T>,
			endpoint: Option<Vec<u8>>,
			price: Option<BalanceOf<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(endpoint.is_some() || price.is_some(), Error::<T>::NothingToUpdate);
			let mut info = Verifiers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			if let Some(endpoint) = endpoint {
				info.endpoint = Self::checked_endpoint(endpoint)?;
			}
			if let Some(price) = price {
				info.price = price;
			}
			Self::deposit_event(Event::VerifierUpdated {
				verifier: who.clone(),
				endpoint: info.endpoint.clone(),
				price: info.price,
			});
			Verifiers::<T>::insert(&who, info);
			Ok(())
		}

		/// Remove the caller from the registry and release its deposit.
		/// Emits `VerifierUnregistered`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unregister_verifier())]
		pub fn unregister_verifier(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Verifiers::<T>::take(&who).ok_or(Error::<T>::NotRegistered)?;
			// Release what is actually held (best effort): a slash elsewhere may have reduced it.
			let released = T::Currency::release(
				&HoldReason::VerifierDeposit.into(),
				&who,
				info.deposit,
				Precision::BestEffort,
			)?;
			Self::deposit_event(Event::VerifierUnregistered {
				verifier: who,
				deposit_released: released,
			});
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Bound and sanity-check an endpoint URL.
		pub(crate) fn checked_endpoint(endpoint: Vec<u8>) -> Result<EndpointOf<T>, Error<T>> {
			let endpoint: EndpointOf<T> =
				endpoint.try_into().map_err(|_| Error::<T>::EndpointTooLong)?;
			let host = endpoint
				.strip_prefix(b"https://")
				.or_else(|| endpoint.strip_prefix(b"http://"));
			let well_formed = matches!(host, Some(h) if !h.is_empty()) &&
				endpoint.iter().all(u8::is_ascii_graphic);
			ensure!(well_formed, Error::<T>::InvalidEndpoint);
			Ok(endpoint)
		}
	}
}
