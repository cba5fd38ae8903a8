//! # Attestation pallet
//!
//! The on-chain part of Attest chain.
//!
//! ## Overview
//!
//! Requesters and verifiers attest large numbers of data items off chain and touch the chain
//! only to register, to open and close payment channels, and to anchor the Merkle root
//! ("summary digest") of the items they attested.
//!
//! - **Verifier registry**: a verifier publishes the endpoint of its service, its price per
//!   item and the shortest challenge period it accepts, and puts [`Config::VerifierDeposit`]
//!   on hold for the storage it occupies; the deposit is released when it unregisters.
//! - **Channels**: a requester opens a channel to a verifier with a deposit on hold
//!   ([`HoldReason::ChannelDeposit`]); either party may add funds. Off chain, both sign
//!   [`ChannelState`]s (balances, pending HTLCs, the head of the channel's append-only item
//!   log). On chain, a state signed by both is checkpointed (anchoring its log); a *final*
//!   state signed by both closes the channel at once; a unilateral close opens a challenge
//!   period during which anyone holding a newer state signed by both replaces it; after the
//!   period `settle` pays out. HTLCs whose bill key the verifier revealed on chain in time
//!   pay the verifier at settlement; the others move to [`ClaimableHtlcs`], claimable with
//!   the bill key until expiry and refundable after it.
//! - **Anchors**: each checkpoint or close whose log is longer than the last anchored one
//!   stores the log's size and root ([`Anchors`]) after checking an RFC 9162 consistency proof
//!   from the last anchored log, indexes it by root ([`AnchorsByRoot`]), and writes it to
//!   offchain storage with offchain indexing (see [`anchor_index_key`]).
//!
//! The byte formats are those of `attest-primitives` (`docs/protocol.md`); the rules and every
//! call, event, error and stored type are in `docs/pallet.md`. Settlement weight does not
//! depend on the number of items in a log.
//!
//! ## Terminology
//!
//! - *Verifier*: an account that checks data and confirms a requester's ownership claim.
//! - *Endpoint*: the URL of the verifier's off-chain service (at most
//!   [`Config::MaxEndpointLen`] bytes, `http://` or `https://`).
//! - *Price*: what the verifier bills per attested item, in the chain's currency.
//! - *Funding*: the initial deposit or a later top-up. A state's total must equal the sum of a
//!   prefix of the channel's fundings; fundings after that prefix go back to their funders at
//!   settlement, so a top-up never invalidates states signed before it.
//! - *Log*: every item attested in a channel, in sequence order; a state carries its head
//!   ([`LogHead`]: size and RFC 6962 root). Logs only grow.
//! - *Final state*: a state both parties signed with a [`attest_primitives::Finality`] other
//!   than `Open`, as the last one of the channel; only [`Pallet::close_cooperative`] takes it.
//!   One agreed during a unilateral close names that close (`EndsClose`).
//! - *Stale close*: a unilateral close overruled by a newer state that proves the closer held
//!   something newer ([`types::proves_stale`]): a state that carries the closer's signature
//!   and does not name the close, so the closer signed it before closing. The closer forfeits
//!   [`Config::StaleClosePenalty`] of its balance in the settling state to the counterparty.
//!
//! ## Assumptions
//!
//! - The currency implements `fungible::MutateHold`; the pallet's own [`HoldReason`] keeps
//!   its holds apart from every other pallet's.
//! - Dispatchables check everything before the first storage write, so a failed call has no
//!   side effects; settlement and claims never fail because of an account's state.
//!
//! ## Layout
//!
//! This file is over 800 lines on purpose: FRAME wants the config, storage, events, errors,
//! calls and hooks in the one `#[frame_support::pallet]` module below. What the calls do is
//! kept out of it: `anchoring` (consistency proofs and anchors), `settlement` (payouts,
//! penalties, HTLCs), [`relay`] (the off-chain worker), [`types`], [`migrations`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

mod anchoring;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
// The mock runtime and the call harness: the unit tests', and the fuzz target's (`fuzzing`).
// Test scaffolding kept with the tests (it panics on a broken invariant: that is how the fuzz
// target reports one); never compiled into the runtime.
#[cfg(any(test, feature = "fuzzing"))]
#[path = "tests/harness.rs"]
pub mod harness;
#[cfg(any(test, feature = "fuzzing"))]
pub mod mock;
// With `fuzzing` (not a test build, which has them as dev-dependencies) the mock's crates come
// from renamed optional dependencies.
#[cfg(all(feature = "fuzzing", not(test)))]
extern crate fuzz_pallet_balances as pallet_balances;
#[cfg(all(feature = "fuzzing", not(test)))]
extern crate fuzz_sp_keyring as sp_keyring;
#[cfg(all(feature = "fuzzing", not(test)))]
extern crate fuzz_sp_keystore as sp_keystore;
pub mod relay;
mod settlement;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

/// Prefix of the offchain-indexing keys of anchors; see [`anchor_index_key`].
pub const ANCHOR_INDEX_PREFIX: &[u8] = b"attest/anchor/v2/";
/// Prefix of the offchain-indexing key holding how many anchors a block stored.
pub const ANCHOR_COUNT_PREFIX: &[u8] = b"attest/anchor-count/v2/";

/// Offchain-indexing key of the `n`-th anchor (from 0) stored in block `block`:
/// `b"attest/anchor/v2/" ++ u32_le(block) ++ u32_le(n)`; the value is the SCALE-encoded
/// [`attest_primitives::Anchor`]. `b"attest/anchor-count/v2/" ++ u32_le(block)` holds the
/// number of anchors of the block as a `u32`.
pub fn anchor_index_key(block: u32, n: u32) -> alloc::vec::Vec<u8> {
	let mut key = ANCHOR_INDEX_PREFIX.to_vec();
	key.extend_from_slice(&block.to_le_bytes());
	key.extend_from_slice(&n.to_le_bytes());
	key
}

/// Offchain-indexing key of the anchor count of `block`.
pub fn anchor_count_key(block: u32) -> alloc::vec::Vec<u8> {
	let mut key = ANCHOR_COUNT_PREFIX.to_vec();
	key.extend_from_slice(&block.to_le_bytes());
	key
}

#[frame_support::pallet]
pub mod pallet {
	use super::WeightInfo;
	use crate::types::*;
	use alloc::vec::Vec;
	use attest_primitives::signing;
	pub use attest_primitives::{
		Anchor, BillKey, ChannelId, ChannelState, Finality, Hash, Htlc, ItemRange, LogHead,
		MAX_PENDING_HTLCS,
	};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::Precision,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{Saturating, Zero},
		AccountId32, MultiSignature, Perbill, SaturatedConversion,
	};

	/// Balance type of the configured currency (the protocol's `u128`).
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

	/// A verifier's endpoint URL, bounded by [`Config::MaxEndpointLen`].
	pub type EndpointOf<T> = BoundedVec<u8, <T as Config>::MaxEndpointLen>;

	/// The storage layout version: 1 since logs replaced per-anchor ranges; 2 since
	/// [`crate::migrations::v2`] (no layout change; the first versioned migration).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Storage deposit of a verifier registry entry.
		#[codec(index = 0)]
		VerifierDeposit,
		/// Funds locked in a payment channel (and in HTLCs left pending at settlement).
		#[codec(index = 1)]
		ChannelDeposit,
	}

	#[pallet::config]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>, AccountId = AccountId32>
	{
		/// The currency whose funds are held for deposits and channels.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason, Balance = u128>
			+ Mutate<Self::AccountId>;

		/// The runtime's hold reason, which includes this pallet's [`HoldReason`].
		type RuntimeHoldReason: From<HoldReason>;

		/// Deposit held from a verifier for its registry entry.
		#[pallet::constant]
		type VerifierDeposit: Get<BalanceOf<Self>>;

		/// Maximum length of a verifier endpoint URL, in bytes.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;

		/// Smallest opening deposit of a channel.
		#[pallet::constant]
		type MinChannelDeposit: Get<BalanceOf<Self>>;

		/// Smallest top-up of a channel: top-ups are few ([`Config::MaxFundings`]), so dust
		/// must not use them up.
		#[pallet::constant]
		type MinTopUp: Get<BalanceOf<Self>>;

		/// Shortest challenge period a channel may choose (a verifier may require more).
		#[pallet::constant]
		type MinChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Longest challenge period a channel may choose.
		#[pallet::constant]
		type MaxChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Most pending HTLCs in a state accepted on chain (at most
		/// [`MAX_PENDING_HTLCS`]); also the most bill keys a verifier reveals in one channel
		/// while it is open or closing.
		#[pallet::constant]
		type MaxHtlcs: Get<u32>;

		/// Most fundings (opening deposit plus top-ups) of one channel. Each party may make at
		/// most `(MaxFundings - 1) / 2` top-ups, so neither can use up the other's.
		#[pallet::constant]
		type MaxFundings: Get<u32>;

		/// Share of a stale closer's balance (in the newer state) paid to the counterparty,
		/// rounded down.
		#[pallet::constant]
		type StaleClosePenalty: Get<Perbill>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Registered verifiers, by account.
	#[pallet::storage]
	pub type Verifiers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, VerifierInfo<T>, OptionQuery>;

	/// Number of channels ever opened: the `open_nonce` of the next channel id (read before
	/// the increment).
	#[pallet::storage]
	pub type ChannelCount<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// Open and closing channels (their ids are derived by the chain, never chosen by callers).
	#[pallet::storage]
	pub type Channels<T: Config> = StorageMap<_, Identity, ChannelId, Channel<T>, OptionQuery>;

	/// Anchors by channel and index (0, 1, ...). Kept after the channel is gone.
	#[pallet::storage]
	pub type Anchors<T: Config> =
		StorageDoubleMap<_, Identity, ChannelId, Twox64Concat, u32, AnchorInfo, OptionQuery>;

	/// Anchor index by log root and channel: where a root is anchored.
	#[pallet::storage]
	pub type AnchorsByRoot<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, Hash, Identity, ChannelId, u32, OptionQuery>;

	/// HTLCs left pending at settlement, by channel and payment hash.
	#[pallet::storage]
	pub type ClaimableHtlcs<T: Config> = StorageDoubleMap<
		_,
		Identity,
		ChannelId,
		Blake2_128Concat,
		Hash,
		ClaimableHtlc,
		OptionQuery,
	>;

	/// Block number and number of anchors stored in it so far (for offchain indexing keys).
	#[pallet::storage]
	pub type AnchorCounter<T: Config> = StorageValue<_, (u32, u32), ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A verifier registered its service.
		VerifierRegistered {
			verifier: T::AccountId,
			endpoint: EndpointOf<T>,
			price: BalanceOf<T>,
			min_challenge_period: BlockNumberFor<T>,
			deposit: BalanceOf<T>,
		},
		/// A verifier changed its endpoint, price or minimum challenge period.
		VerifierUpdated {
			verifier: T::AccountId,
			endpoint: EndpointOf<T>,
			price: BalanceOf<T>,
			min_challenge_period: BlockNumberFor<T>,
		},
		/// A verifier left the registry; its deposit was released.
		VerifierUnregistered { verifier: T::AccountId, deposit_released: BalanceOf<T> },
		/// A channel was opened with the requester's deposit on hold. The only place the
		/// channel id is published.
		ChannelOpened {
			channel_id: ChannelId,
			requester: T::AccountId,
			verifier: T::AccountId,
			deposit: BalanceOf<T>,
			challenge_period: BlockNumberFor<T>,
		},
		/// A party added funds to a channel.
		ChannelFunded { channel_id: ChannelId, by: T::AccountId, amount: BalanceOf<T> },
		/// A state signed by both was accepted without closing.
		Checkpointed { channel_id: ChannelId, nonce: u64 },
		/// The channel's log was anchored: items `first_seq .. size` are new in it.
		Anchored { channel_id: ChannelId, index: u32, first_seq: u64, size: u64, root: Hash },
		/// A unilateral close started; the state can be challenged until `deadline`.
		CloseStarted {
			channel_id: ChannelId,
			by: T::AccountId,
			nonce: u64,
			deadline: BlockNumberFor<T>,
		},
		/// A pending close was replaced by a newer state signed by both; `stale` tells whether
		/// this state proves the close stale (the closer pays the penalty at settlement).
		Challenged { channel_id: ChannelId, by: T::AccountId, nonce: u64, stale: bool },
		/// The verifier put a bill key on chain while the channel was open or closing; an HTLC
		/// of the final state with this payment hash pays the verifier at settlement if
		/// `block` is not after its expiry.
		BillKeyRevealed { channel_id: ChannelId, payment_hash: Hash, bill_key: BillKey, block: u32 },
		/// A channel closed: balances paid (after moving `stale_close_penalty` from a proven
		/// stale closer to its counterparty; `verifier_paid` includes `revealed_htlcs_paid`),
		/// `pending_htlcs` became claimable.
		ChannelClosed {
			channel_id: ChannelId,
			requester_paid: BalanceOf<T>,
			verifier_paid: BalanceOf<T>,
			revealed_htlcs_paid: BalanceOf<T>,
			pending_htlcs: u32,
			stale_close_penalty: BalanceOf<T>,
		},
		/// An HTLC was claimed with its bill key (revealed here). `paid` is what the verifier
		/// received: the amount, or 0 if its account could not take it (below the existential
		/// deposit), in which case it stayed with the requester.
		HtlcClaimed {
			channel_id: ChannelId,
			payment_hash: Hash,
			bill_key: BillKey,
			amount: BalanceOf<T>,
			paid: BalanceOf<T>,
		},
		/// An expired HTLC was refunded to the requester.
		HtlcRefunded { channel_id: ChannelId, payment_hash: Hash, amount: BalanceOf<T> },
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
		/// The account cannot cover the deposit: free balance (above the existential deposit)
		/// is too low.
		InsufficientDeposit,
		/// `update_verifier` was called with nothing to change.
		NothingToUpdate,
		/// The requester cannot open a channel to itself.
		SelfChannel,
		/// The deposit is below `MinChannelDeposit`.
		DepositTooLow,
		/// The challenge period is outside `MinChallengePeriod..=MaxChallengePeriod`.
		InvalidChallengePeriod,
		/// The challenge period is shorter than the verifier's `min_challenge_period`.
		ChallengePeriodTooShort,
		/// No channel with this id is open or closing.
		UnknownChannel,
		/// Only the channel's requester or verifier can do this.
		NotAParty,
		/// Only the channel's verifier can do this.
		NotVerifier,
		/// The channel is closing: only `challenge`, `close_cooperative`, `reveal_bill_key`
		/// and `settle` apply.
		ChannelClosing,
		/// The channel is not closing: start with `close_unilateral`.
		ChannelNotClosing,
		/// The channel has reached `MaxFundings` fundings, or the caller its share of them.
		TooManyFundings,
		/// A top-up must be at least `MinTopUp`.
		TopUpTooLow,
		/// The state belongs to another channel.
		WrongChannel,
		/// The state's nonce is not above the newest nonce the chain accepted: it is stale
		/// or replayed.
		StaleState,
		/// A signature does not match the state, this chain's genesis hash and the signer.
		BadSignature,
		/// The state's balances and HTLCs do not add up to the channel's deposit (or to the
		/// deposit before some of its top-ups).
		TotalMismatch,
		/// The state's log does not extend the last anchored log: it is shorter, an empty log
		/// with a non-empty root, or the consistency proof does not check.
		InconsistentLog,
		/// The state holds more than `MaxHtlcs` HTLCs, two with one payment hash, or HTLCs
		/// worth more than the requester funded.
		InvalidHtlcs,
		/// `close_cooperative` needs a final state (`Final` or `EndsClose`) without pending
		/// HTLCs.
		NotFinal,
		/// A final state is only accepted by `close_cooperative`.
		FinalState,
		/// A checkpoint must anchor at least one new item.
		NothingToAnchor,
		/// The challenge period is over; call `settle`.
		ChallengePeriodOver,
		/// The challenge period is still running.
		ChallengePeriodNotOver,
		/// No claimable HTLC with this payment hash in this channel.
		UnknownHtlc,
		/// The bill key does not hash to the payment hash.
		WrongBillKey,
		/// This bill key was already revealed in this channel.
		AlreadyRevealed,
		/// The verifier revealed `MaxHtlcs` bill keys in this channel already: close it.
		TooManyRevealedKeys,
		/// The HTLC expired: it can only be refunded.
		HtlcExpired,
		/// The HTLC has not expired yet: it can only be claimed with its bill key.
		HtlcNotExpired,
		/// An arithmetic overflow: the amounts are too large.
		Overflow,
		/// The final state names a unilateral close (`Finality::EndsClose`) that is not the
		/// channel's pending one: another closer or closed nonce, or no close is pending.
		CloseMismatch,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxEndpointLen::get() >= 16, "MaxEndpointLen must fit a short URL");
			assert!(
				T::MaxHtlcs::get() <= MAX_PENDING_HTLCS,
				"MaxHtlcs must not exceed the protocol's MAX_PENDING_HTLCS"
			);
			assert!(T::MaxFundings::get() >= 1, "MaxFundings must allow the opening deposit");
			assert!(
				T::MinChallengePeriod::get() <= T::MaxChallengePeriod::get(),
				"MinChallengePeriod must not exceed MaxChallengePeriod"
			);
			assert!(!T::MinTopUp::get().is_zero(), "MinTopUp must be above zero");
		}

		/// Relay new anchors to the attestation server (see [`crate::relay`]).
		fn offchain_worker(now: BlockNumberFor<T>) {
			crate::relay::run(now.saturated_into::<u32>());
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register the caller as a verifier serving at `endpoint` for `price` per item, for
		/// channels whose challenge period is at least `min_challenge_period` blocks.
		///
		/// Holds [`Config::VerifierDeposit`] from the caller. Emits `VerifierRegistered`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_verifier(endpoint.len() as u32))]
		pub fn register_verifier(
			origin: OriginFor<T>,
			endpoint: Vec<u8>,
			price: BalanceOf<T>,
			min_challenge_period: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Verifiers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			let endpoint = Self::checked_endpoint(endpoint)?;
			Self::check_challenge_period(min_challenge_period)?;
			let deposit = T::VerifierDeposit::get();
			T::Currency::hold(&HoldReason::VerifierDeposit.into(), &who, deposit)
				.map_err(|_| Error::<T>::InsufficientDeposit)?;
			Verifiers::<T>::insert(
				&who,
				VerifierInfo { endpoint: endpoint.clone(), price, deposit, min_challenge_period },
			);
			Self::deposit_event(Event::VerifierRegistered {
				verifier: who,
				endpoint,
				price,
				min_challenge_period,
				deposit,
			});
			Ok(())
		}

		/// Change the caller's endpoint, price and/or minimum challenge period (channels
		/// already open keep theirs). Emits `VerifierUpdated`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::update_verifier(
			endpoint.as_ref().map_or(0, |e| e.len() as u32)
		))]
		pub fn update_verifier(
			origin: OriginFor<T>,
			endpoint: Option<Vec<u8>>,
			price: Option<BalanceOf<T>>,
			min_challenge_period: Option<BlockNumberFor<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(
				endpoint.is_some() || price.is_some() || min_challenge_period.is_some(),
				Error::<T>::NothingToUpdate
			);
			let mut info = Verifiers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			if let Some(endpoint) = endpoint {
				info.endpoint = Self::checked_endpoint(endpoint)?;
			}
			if let Some(price) = price {
				info.price = price;
			}
			if let Some(period) = min_challenge_period {
				Self::check_challenge_period(period)?;
				info.min_challenge_period = period;
			}
			Self::deposit_event(Event::VerifierUpdated {
				verifier: who.clone(),
				endpoint: info.endpoint.clone(),
				price: info.price,
				min_challenge_period: info.min_challenge_period,
			});
			Verifiers::<T>::insert(&who, info);
			Ok(())
		}

		/// Remove the caller from the registry and release its deposit. Open channels are not
		/// affected. Emits `VerifierUnregistered`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unregister_verifier())]
		pub fn unregister_verifier(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let info = Verifiers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let released = T::Currency::release(
				&HoldReason::VerifierDeposit.into(),
				&who,
				info.deposit,
				Precision::BestEffort,
			)?;
			Verifiers::<T>::remove(&who);
			Self::deposit_event(Event::VerifierUnregistered {
				verifier: who,
				deposit_released: released,
			});
			Ok(())
		}

		/// Open a channel from the caller (requester) to a registered `verifier`, holding
		/// `deposit` from the caller. Closes wait `challenge_period` blocks for challenges; it
		/// must lie within the chain's bounds and be at least the verifier's
		/// `min_challenge_period`.
		///
		/// The channel id is `attest_primitives::channel_id(genesis_hash, requester, verifier,
		/// ChannelCount)` with `ChannelCount` read before it is incremented. The opening state
		/// has nonce 0, the deposit as the requester's balance and the empty log; off-chain
		/// states start at nonce 1. Emits `ChannelOpened`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::open_channel())]
		pub fn open_channel(
			origin: OriginFor<T>,
			verifier: T::AccountId,
			deposit: BalanceOf<T>,
			challenge_period: BlockNumberFor<T>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			ensure!(requester != verifier, Error::<T>::SelfChannel);
			let info = Verifiers::<T>::get(&verifier).ok_or(Error::<T>::NotRegistered)?;
			ensure!(deposit >= T::MinChannelDeposit::get(), Error::<T>::DepositTooLow);
			Self::check_challenge_period(challenge_period)?;
			ensure!(
				challenge_period >= info.min_challenge_period,
				Error::<T>::ChallengePeriodTooShort
			);
			let count = ChannelCount::<T>::get();
			let next_count = count.checked_add(1).ok_or(Error::<T>::Overflow)?;
			let channel_id =
				attest_primitives::channel_id(&Self::genesis_hash(), &requester, &verifier, count);
			let fundings = BoundedVec::try_from(alloc::vec![Funding {
				by: Party::Requester,
				amount: deposit
			}])
			.map_err(|_| Error::<T>::TooManyFundings)?;
			T::Currency::hold(&HoldReason::ChannelDeposit.into(), &requester, deposit)
				.map_err(|_| Error::<T>::InsufficientDeposit)?;

			let channel = Channel::<T> {
				requester: requester.clone(),
				verifier: verifier.clone(),
				challenge_period,
				fundings,
				state: ChannelState {
					channel_id,
					nonce: 0,
					requester_balance: deposit,
					verifier_balance: 0,
					htlcs: Default::default(),
					log: LogHead::empty(),
					finality: attest_primitives::Finality::Open,
				},
				anchored: LogHead::empty(),
				anchor_count: 0,
				status: ChannelStatus::Open,
				revealed: Default::default(),
			};
			ChannelCount::<T>::put(next_count);
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::ChannelOpened {
				channel_id,
				requester,
				verifier,
				deposit,
				challenge_period,
			});
			Ok(())
		}

		/// Add `amount` (at least [`Config::MinTopUp`]) of the caller's funds to an open
		/// channel (either party, each at most `(MaxFundings - 1) / 2` times). States signed
		/// before the top-up stay valid: the top-up is returned to the caller if the channel
		/// settles with such a state. Emits `ChannelFunded`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::fund_channel())]
		pub fn fund_channel(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let by = channel.party_of(&who).ok_or(Error::<T>::NotAParty)?;
			ensure!(channel.status == ChannelStatus::Open, Error::<T>::ChannelClosing);
			ensure!(amount >= T::MinTopUp::get(), Error::<T>::TopUpTooLow);
			let share = T::MaxFundings::get().saturating_sub(1) / 2;
			ensure!(channel.top_ups_by(by) < share, Error::<T>::TooManyFundings);
			channel.total_held().checked_add(amount).ok_or(Error::<T>::Overflow)?;
			channel
				.fundings
				.try_push(Funding { by, amount })
				.map_err(|_| Error::<T>::TooManyFundings)?;
			T::Currency::hold(&HoldReason::ChannelDeposit.into(), &who, amount)
				.map_err(|_| Error::<T>::InsufficientDeposit)?;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::ChannelFunded { channel_id, by: who, amount });
			Ok(())
		}

		/// Anchor the log of `state`, signed by both parties, without closing (anyone may
		/// call).
		///
		/// The state's nonce must be above every nonce accepted so far, it must not be final,
		/// and its log must be longer than the last anchored one; `consistency` proves it
		/// extends it. Emits `Anchored` and `Checkpointed`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::checkpoint(state.htlcs.len() as u32))]
		pub fn checkpoint(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			state: ChannelState,
			requester_signature: MultiSignature,
			verifier_signature: MultiSignature,
			consistency: ConsistencyPath,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			ensure!(channel.status == ChannelStatus::Open, Error::<T>::ChannelClosing);
			ensure!(!state.is_final(), Error::<T>::FinalState);
			Self::check_signed_state(
				&channel,
				channel_id,
				&state,
				[&requester_signature, &verifier_signature],
				&consistency,
			)?;
			ensure!(state.log.size > channel.anchored.size, Error::<T>::NothingToAnchor);

			let nonce = state.nonce;
			Self::anchor(channel_id, &mut channel, &state.log)?;
			channel.state = state;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::Checkpointed { channel_id, nonce });
			Ok(())
		}

		/// Close the channel with the final state signed by both parties (anyone may call):
		/// pay both balances, anchor the log, remove the channel. The state must be final
		/// (`Finality::Final`, or `EndsClose` naming the pending close) without pending HTLCs.
		///
		/// Works while the channel is open (`Final` only), and during a pending unilateral close
		/// up to its deadline. There a `Final` state counts as a challenge: if it proves the
		/// close stale ([`proves_stale`]) the closer pays the penalty. An `EndsClose` state
		/// must name exactly the pending close (`CloseMismatch` otherwise); it was agreed after
		/// the close, so it proves nothing against the closer, and the penalty is what the
		/// states accepted during the close (the closing one and challenges) prove. Emits
		/// `ChannelClosed`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::close_cooperative())]
		pub fn close_cooperative(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			state: ChannelState,
			requester_signature: MultiSignature,
			verifier_signature: MultiSignature,
			consistency: ConsistencyPath,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			ensure!(state.is_final() && state.htlcs.is_empty(), Error::<T>::NotFinal);
			let stale_closer = match channel.status {
				ChannelStatus::Open => {
					ensure!(state.finality == Finality::Final, Error::<T>::CloseMismatch);
					None
				},
				ChannelStatus::Closing { deadline, closer, closed_nonce } => {
					ensure!(Self::block() <= deadline, Error::<T>::ChallengePeriodOver);
					// Evidence against the closer: the newest state it signed before closing.
					// A final state that names this close was agreed after it and is no
					// evidence; a penalty already proven by a challenge stays.
					let evidence = match state.finality {
						Finality::EndsClose { closer: c, closed_nonce: n } => {
							ensure!(c == closer && n == closed_nonce, Error::<T>::CloseMismatch);
							channel.state.nonce
						},
						_ => state.nonce,
					};
					proves_stale(closer, closed_nonce, evidence).then_some(closer)
				},
			};
			Self::check_signed_state(
				&channel,
				channel_id,
				&state,
				[&requester_signature, &verifier_signature],
				&consistency,
			)?;

			channel.state = state;
			Self::finish(channel_id, channel, stale_closer)
		}

		/// Start closing a channel alone (either party). `state` is the newest state the
		/// caller holds, with the counterparty's signature and the consistency proof of its
		/// log from the last anchored one; `None` closes with the state the chain already has
		/// (the opening state or the last checkpoint). A final state goes to
		/// `close_cooperative` instead. Starts a challenge period of the channel's
		/// `challenge_period` blocks. Emits `CloseStarted`.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::close_unilateral(
			state.as_ref().map_or(0, |(s, _, _)| s.htlcs.len() as u32)
		))]
		pub fn close_unilateral(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			state: Option<(ChannelState, MultiSignature, ConsistencyPath)>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let closer = channel.party_of(&who).ok_or(Error::<T>::NotAParty)?;
			ensure!(channel.status == ChannelStatus::Open, Error::<T>::ChannelClosing);
			if let Some((state, counterparty_signature, consistency)) = state {
				ensure!(!state.is_final(), Error::<T>::FinalState);
				Self::check_newer_state(&channel, channel_id, &state, &consistency)?;
				let counterparty = channel.account(closer.other()).clone();
				Self::check_signature(&state, &counterparty_signature, &counterparty)?;
				channel.state = state;
			}
			let deadline = Self::block().saturating_add(channel.challenge_period);
			let nonce = channel.state.nonce;
			channel.status = ChannelStatus::Closing { deadline, closer, closed_nonce: nonce };
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::CloseStarted { channel_id, by: who, nonce, deadline });
			Ok(())
		}

		/// Replace a pending close's state with a newer one signed by both parties (anyone may
		/// call, e.g. a watchtower), with the consistency proof of its log from the last
		/// anchored one. If the state proves the close stale ([`proves_stale`]), the closer
		/// pays [`Config::StaleClosePenalty`] of its balance in the final state to the
		/// counterparty at settlement. Emits `Challenged`.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::challenge(newer_state.htlcs.len() as u32))]
		pub fn challenge(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			newer_state: ChannelState,
			requester_signature: MultiSignature,
			verifier_signature: MultiSignature,
			consistency: ConsistencyPath,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let ChannelStatus::Closing { deadline, closer, closed_nonce } = channel.status else {
				return Err(Error::<T>::ChannelNotClosing.into());
			};
			ensure!(Self::block() <= deadline, Error::<T>::ChallengePeriodOver);
			ensure!(!newer_state.is_final(), Error::<T>::FinalState);
			Self::check_signed_state(
				&channel,
				channel_id,
				&newer_state,
				[&requester_signature, &verifier_signature],
				&consistency,
			)?;

			let nonce = newer_state.nonce;
			channel.state = newer_state;
			Channels::<T>::insert(channel_id, channel);
			let stale = proves_stale(closer, closed_nonce, nonce);
			Self::deposit_event(Event::Challenged { channel_id, by: who, nonce, stale });
			Ok(())
		}

		/// After the challenge period of a pending close (anyone may call): apply the
		/// stale-close penalty if the newest state proves it, pay out the balances and the
		/// HTLCs whose bill key was revealed in time, anchor the log, make the other HTLCs
		/// claimable, remove the channel. Emits `ChannelClosed`.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::settle(T::MaxHtlcs::get()))]
		pub fn settle(origin: OriginFor<T>, channel_id: ChannelId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let ChannelStatus::Closing { deadline, closer, closed_nonce } = channel.status else {
				return Err(Error::<T>::ChannelNotClosing.into());
			};
			ensure!(Self::block() > deadline, Error::<T>::ChallengePeriodNotOver);
			let stale_closer =
				proves_stale(closer, closed_nonce, channel.state.nonce).then_some(closer);
			let htlcs = channel.state.htlcs.len() as u32;
			Self::finish(channel_id, channel, stale_closer)?;
			Ok(Some(T::WeightInfo::settle(htlcs)).into())
		}

		/// Claim an HTLC left pending at settlement with its bill key, until its expiry
		/// (anyone may call): pays the verifier and reveals the key in `HtlcClaimed`.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::claim_htlc())]
		pub fn claim_htlc(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			payment_hash: Hash,
			bill_key: BillKey,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let htlc = ClaimableHtlcs::<T>::get(channel_id, payment_hash)
				.ok_or(Error::<T>::UnknownHtlc)?;
			ensure!(
				attest_primitives::payment_hash(&bill_key) == payment_hash,
				Error::<T>::WrongBillKey
			);
			ensure!(Self::now() <= htlc.expiry, Error::<T>::HtlcExpired);
			let paid = Self::pay_from_hold(&htlc.requester, &htlc.verifier, htlc.amount)?;
			ClaimableHtlcs::<T>::remove(channel_id, payment_hash);
			Self::deposit_event(Event::HtlcClaimed {
				channel_id,
				payment_hash,
				bill_key,
				amount: htlc.amount,
				paid,
			});
			Ok(())
		}

		/// Refund an expired HTLC left pending at settlement to the requester (anyone may
		/// call).
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::refund_htlc())]
		pub fn refund_htlc(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			payment_hash: Hash,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let htlc = ClaimableHtlcs::<T>::get(channel_id, payment_hash)
				.ok_or(Error::<T>::UnknownHtlc)?;
			ensure!(Self::now() > htlc.expiry, Error::<T>::HtlcNotExpired);
			T::Currency::release(
				&HoldReason::ChannelDeposit.into(),
				&htlc.requester,
				htlc.amount,
				Precision::Exact,
			)?;
			ClaimableHtlcs::<T>::remove(channel_id, payment_hash);
			Self::deposit_event(Event::HtlcRefunded {
				channel_id,
				payment_hash,
				amount: htlc.amount,
			});
			Ok(())
		}

		/// Put a bill key on chain while the channel is open or closing (the verifier only):
		/// an HTLC with its payment hash in the state the channel settles with pays the
		/// verifier if the key was revealed at or before the HTLC's expiry, however late the
		/// settlement. After settlement, use `claim_htlc`. A key of an HTLC of the chain's
		/// state whose expiry has passed is refused (`HtlcExpired`). Emits `BillKeyRevealed`.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::reveal_bill_key())]
		pub fn reveal_bill_key(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			bill_key: BillKey,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			ensure!(channel.party_of(&who) == Some(Party::Verifier), Error::<T>::NotVerifier);
			let payment_hash = attest_primitives::payment_hash(&bill_key);
			ensure!(channel.revealed_at(&payment_hash).is_none(), Error::<T>::AlreadyRevealed);
			let block = Self::now();
			// A key of an HTLC the chain knows to have expired pays nothing: refuse it rather
			// than charge a fee for nothing. (An HTLC only in a newer state the chain has not
			// seen yet cannot be checked here; settlement compares the block with its expiry.)
			ensure!(
				!channel
					.state
					.htlcs
					.iter()
					.any(|h| h.payment_hash == payment_hash && block > h.expiry),
				Error::<T>::HtlcExpired
			);
			channel
				.revealed
				.try_push(RevealedKey { payment_hash, block })
				.map_err(|_| Error::<T>::TooManyRevealedKeys)?;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::BillKeyRevealed {
				channel_id,
				payment_hash,
				bill_key,
				block,
			});
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Bound and sanity-check an endpoint URL.
		pub(crate) fn checked_endpoint(endpoint: Vec<u8>) -> Result<EndpointOf<T>, Error<T>> {
			let endpoint: EndpointOf<T> =
				endpoint.try_into().map_err(|_| Error::<T>::EndpointTooLong)?;
			let host =
				endpoint.strip_prefix(b"https://").or_else(|| endpoint.strip_prefix(b"http://"));
			let well_formed = matches!(host, Some(h) if !h.is_empty())
				&& endpoint.iter().all(u8::is_ascii_graphic);
			ensure!(well_formed, Error::<T>::InvalidEndpoint);
			Ok(endpoint)
		}

		/// A challenge period within the chain's bounds.
		fn check_challenge_period(period: BlockNumberFor<T>) -> Result<(), Error<T>> {
			ensure!(
				period >= T::MinChallengePeriod::get() && period <= T::MaxChallengePeriod::get(),
				Error::<T>::InvalidChallengePeriod
			);
			Ok(())
		}

		/// Hash of this chain's genesis block: part of every signing payload.
		pub fn genesis_hash() -> Hash {
			let hash = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			let mut out = Hash::zero();
			let bytes = hash.as_ref();
			if bytes.len() == 32 {
				out.0.copy_from_slice(bytes);
			}
			out
		}

		/// The current block number.
		fn block() -> BlockNumberFor<T> {
			frame_system::Pallet::<T>::block_number()
		}

		/// The current block number as the protocol's `u32`.
		pub(crate) fn now() -> u32 {
			let n: u64 = Self::block().saturated_into();
			n.try_into().unwrap_or(u32::MAX)
		}

		/// Check a party's signature on a state.
		fn check_signature(
			state: &ChannelState,
			signature: &MultiSignature,
			signer: &AccountId32,
		) -> Result<(), Error<T>> {
			signing::verify_state(&Self::genesis_hash(), state, signature, signer)
				.map_err(|_| Error::<T>::BadSignature)
		}

		/// A state signed by both parties that is to replace the channel's (checkpoint,
		/// cooperative close, challenge): [`Self::check_newer_state`], then the requester's and
		/// the verifier's signatures, in that order.
		fn check_signed_state(
			channel: &Channel<T>,
			channel_id: ChannelId,
			state: &ChannelState,
			[requester_signature, verifier_signature]: [&MultiSignature; 2],
			consistency: &[Hash],
		) -> Result<(), Error<T>> {
			Self::check_newer_state(channel, channel_id, state, consistency)?;
			Self::check_signature(state, requester_signature, &channel.requester)?;
			Self::check_signature(state, verifier_signature, &channel.verifier)
		}

		/// Checks every state submitted on chain must pass: right channel, strictly newer
		/// nonce, totals matching a prefix of the fundings, bounded unique HTLCs the
		/// requester's funds cover, and a log that extends the last anchored one.
		pub(crate) fn check_newer_state(
			channel: &Channel<T>,
			channel_id: ChannelId,
			state: &ChannelState,
			consistency: &[Hash],
		) -> Result<(), Error<T>> {
			ensure!(state.channel_id == channel_id, Error::<T>::WrongChannel);
			ensure!(state.nonce > channel.state.nonce, Error::<T>::StaleState);
			let prefix = Self::funding_prefix(channel, state)?;
			ensure!(state.htlcs.len() as u32 <= T::MaxHtlcs::get(), Error::<T>::InvalidHtlcs);
			let mut htlc_total = 0u128;
			for (i, h) in state.htlcs.iter().enumerate() {
				ensure!(
					state.htlcs.iter().skip(i + 1).all(|o| o.payment_hash != h.payment_hash),
					Error::<T>::InvalidHtlcs
				);
				htlc_total = htlc_total.checked_add(h.amount).ok_or(Error::<T>::Overflow)?;
			}
			// HTLCs pay the verifier from the requester's funds: what they lock must stay on
			// the requester's hold until they resolve.
			let requester_funded = channel
				.fundings
				.iter()
				.take(prefix)
				.filter(|f| f.by == Party::Requester)
				.fold(0u128, |acc, f| acc.saturating_add(f.amount));
			ensure!(htlc_total <= requester_funded, Error::<T>::InvalidHtlcs);
			Self::check_log(channel, &state.log, consistency)
		}

		/// How many leading fundings the state's total covers.
		pub(crate) fn funding_prefix(
			channel: &Channel<T>,
			state: &ChannelState,
		) -> Result<usize, Error<T>> {
			let total = state.total().ok_or(Error::<T>::Overflow)?;
			let mut sum = 0u128;
			for (i, f) in channel.fundings.iter().enumerate() {
				sum = sum.saturating_add(f.amount);
				if sum == total {
					return Ok(i + 1);
				}
			}
			Err(Error::<T>::TotalMismatch)
		}

		/// Invariants: the channel-deposit holds of every account equal what its open
		/// channels and claimable HTLCs owe, every channel's latest state conserves its
		/// fundings, and every channel's state extends its anchored log.
		#[cfg(any(feature = "try-runtime", feature = "std"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut owed: BTreeMap<AccountId32, u128> = BTreeMap::new();
			for (id, channel) in Channels::<T>::iter() {
				ensure!(id == channel.state.channel_id, "channel stored under another id");
				Self::funding_prefix(&channel, &channel.state)
					.map_err(|_| "channel state does not conserve its fundings")?;
				ensure!(
					channel.state.log.size >= channel.anchored.size,
					"channel state's log is shorter than its anchored log"
				);
				for party in [Party::Requester, Party::Verifier] {
					let e = owed.entry(channel.account(party).clone()).or_default();
					*e = e.saturating_add(channel.held_by(party));
				}
			}
			for (_, _, htlc) in ClaimableHtlcs::<T>::iter() {
				let e = owed.entry(htlc.requester.clone()).or_default();
				*e = e.saturating_add(htlc.amount);
			}
			let reason: T::RuntimeHoldReason = HoldReason::ChannelDeposit.into();
			for (who, amount) in owed {
				ensure!(
					T::Currency::balance_on_hold(&reason, &who) == amount,
					"channel holds differ from what channels and HTLCs owe"
				);
			}
			Ok(())
		}
	}
}
