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
//! - **Verifier registry**: a verifier publishes the endpoint of its service and its price per
//!   item, and puts [`Config::VerifierDeposit`] on hold for the storage it occupies; the
//!   deposit is released when it unregisters.
//! - **Channels**: a requester opens a channel to a verifier with a deposit on hold
//!   ([`HoldReason::ChannelDeposit`]); either party may add funds. Off chain, both sign
//!   [`ChannelState`]s (balances, pending HTLCs, the range of items attested since the last
//!   anchor). On chain, a state signed by both is checkpointed (anchoring its range) or closes
//!   the channel cooperatively; a unilateral close opens a challenge period during which
//!   anyone holding a newer state signed by both replaces it; after the period `settle` pays
//!   out and moves pending HTLCs to [`ClaimableHtlcs`], claimable with the bill key before
//!   expiry and refundable after it.
//! - **Anchors**: each checkpoint or close stores the Merkle root of the items attested since
//!   the last anchor ([`Anchors`]), indexes it by root ([`AnchorsByRoot`]), and writes it to
//!   offchain storage with offchain indexing (see [`anchor_index_key`]).
//!
//! The byte formats are those of `attest-primitives` (`docs/protocol.md`); settlement weight
//! does not depend on the number of items in a range.
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
//! - *Stale close*: a unilateral close overruled by a newer state. The closer forfeits
//!   [`Config::StaleClosePenalty`] of its balance in the newer state to the counterparty
//!   (zero gives Perun's rule of only replacing the state; Lightning takes everything).
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
pub mod relay;
pub mod weights;

/// Prefix of the offchain-indexing keys of anchors; see [`anchor_index_key`].
pub const ANCHOR_INDEX_PREFIX: &[u8] = b"attest/anchor/v1/";
/// Prefix of the offchain-indexing key holding how many anchors a block stored.
pub const ANCHOR_COUNT_PREFIX: &[u8] = b"attest/anchor-count/v1/";

/// Offchain-indexing key of the `n`-th anchor (from 0) stored in block `block`:
/// `b"attest/anchor/v1/" ++ u32_le(block) ++ u32_le(n)`; the value is the SCALE-encoded
/// [`attest_primitives::Anchor`]. `b"attest/anchor-count/v1/" ++ u32_le(block)` holds the
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
	use alloc::vec::Vec;
	pub use attest_primitives::{
		Anchor, BillKey, ChannelId, ChannelState, Hash, Htlc, ItemRange, MAX_PENDING_HTLCS,
	};
	use attest_primitives::{merkle, signing};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
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

	/// What the registry stores about one verifier.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo,
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

	/// A party of a channel.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo,
		MaxEncodedLen,
	)]
	pub enum Party {
		/// The account that opened the channel and pays for attestations.
		Requester,
		/// The account that attests and is paid.
		Verifier,
	}

	/// Funds put into a channel: the opening deposit, then top-ups, in order.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo,
		MaxEncodedLen,
	)]
	pub struct Funding {
		/// Who put the funds on hold.
		pub by: Party,
		/// How much.
		pub amount: u128,
	}

	/// Lifecycle of a channel on chain.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo,
		MaxEncodedLen,
	)]
	pub enum ChannelStatus<BlockNumber> {
		/// Parties transact off chain; checkpoints anchor ranges.
		Open,
		/// A unilateral close is pending: newer states may replace `state` until `deadline`
		/// (inclusive); `settle` works after it.
		Closing {
			/// Last block of the challenge period.
			deadline: BlockNumber,
			/// The party that started the close.
			closer: Party,
			/// Whether a challenge proved the closer's state stale (the closer pays
			/// [`Config::StaleClosePenalty`] at settlement).
			stale: bool,
		},
	}

	/// A channel on chain.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo,
		MaxEncodedLen,
	)]
	#[scale_info(skip_type_params(T))]
	pub struct Channel<T: Config> {
		/// Who opened the channel (pays).
		pub requester: AccountId32,
		/// Who attests (is paid).
		pub verifier: AccountId32,
		/// Blocks a unilateral close stays open to challenges.
		pub challenge_period: BlockNumberFor<T>,
		/// Opening deposit and top-ups, in order.
		pub fundings: BoundedVec<Funding, T::MaxFundings>,
		/// The newest state the chain has accepted: the opening state (nonce 0), the last
		/// checkpoint, or the state of a pending close.
		pub state: ChannelState,
		/// Sequence number where the next anchor must start (end of the last one).
		pub next_seq: u64,
		/// Number of anchors stored so far.
		pub anchor_count: u32,
		/// Open or closing.
		pub status: ChannelStatus<BlockNumberFor<T>>,
	}

	impl<T: Config> Channel<T> {
		/// Account of a party.
		pub fn account(&self, party: Party) -> &AccountId32 {
			match party {
				Party::Requester => &self.requester,
				Party::Verifier => &self.verifier,
			}
		}

		/// Which party `who` is, if any.
		pub fn party_of(&self, who: &AccountId32) -> Option<Party> {
			if *who == self.requester {
				Some(Party::Requester)
			} else if *who == self.verifier {
				Some(Party::Verifier)
			} else {
				None
			}
		}

		/// Total a party has on hold for this channel.
		pub fn held_by(&self, party: Party) -> u128 {
			self.fundings
				.iter()
				.filter(|f| f.by == party)
				.fold(0u128, |acc, f| acc.saturating_add(f.amount))
		}

		/// Total on hold for this channel.
		pub fn total_held(&self) -> u128 {
			self.fundings.iter().fold(0u128, |acc, f| acc.saturating_add(f.amount))
		}
	}

	/// An HTLC left pending at settlement: claimable by the verifier with the bill key until
	/// `expiry`, refundable to the requester after it. Its amount stays on hold on the
	/// requester's account.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo,
		MaxEncodedLen,
	)]
	pub struct ClaimableHtlc {
		/// Pays (and gets a refund).
		pub requester: AccountId32,
		/// Is paid on a claim.
		pub verifier: AccountId32,
		/// Amount on hold.
		pub amount: u128,
		/// Last block at which a claim succeeds.
		pub expiry: u32,
		/// The items the HTLC paid for.
		pub items: ItemRange,
	}

	/// An anchored range as stored: the channel id and index are the storage key.
	#[derive(
		Encode, Decode, DecodeWithMemTracking, Clone, Copy, PartialEq, Eq, Debug, TypeInfo,
		MaxEncodedLen,
	)]
	pub struct AnchorInfo {
		/// Sequence number of the first item.
		pub first_seq: u64,
		/// Number of items.
		pub count: u64,
		/// Merkle root (RFC 6962) over the items' digests.
		pub root: Hash,
		/// Block that stored the anchor.
		pub block: u32,
	}

	#[pallet::pallet]
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

		/// Shortest challenge period a channel may choose.
		#[pallet::constant]
		type MinChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Longest challenge period a channel may choose.
		#[pallet::constant]
		type MaxChallengePeriod: Get<BlockNumberFor<Self>>;

		/// Most pending HTLCs in a state accepted on chain (at most
		/// [`MAX_PENDING_HTLCS`]).
		#[pallet::constant]
		type MaxHtlcs: Get<u32>;

		/// Most fundings (opening deposit plus top-ups) of one channel.
		#[pallet::constant]
		type MaxFundings: Get<u32>;

		/// Share of a stale closer's balance (in the newer state) paid to the counterparty.
		#[pallet::constant]
		type StaleClosePenalty: Get<Perbill>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Registered verifiers, by account.
	#[pallet::storage]
	pub type Verifiers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, VerifierInfo<T>, OptionQuery>;

	/// Number of channels ever opened (feeds channel id derivation).
	#[pallet::storage]
	pub type ChannelCount<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// Open and closing channels.
	#[pallet::storage]
	pub type Channels<T: Config> = StorageMap<_, Identity, ChannelId, Channel<T>, OptionQuery>;

	/// Anchors by channel and index (0, 1, ...). Kept after the channel is gone.
	#[pallet::storage]
	pub type Anchors<T: Config> =
		StorageDoubleMap<_, Identity, ChannelId, Twox64Concat, u32, AnchorInfo, OptionQuery>;

	/// Anchor index by root and channel: find where a root is anchored (the first anchor,
	/// if the same items were anchored twice).
	#[pallet::storage]
	pub type AnchorsByRoot<T: Config> =
		StorageDoubleMap<_, Identity, Hash, Identity, ChannelId, u32, OptionQuery>;

	/// HTLCs left pending at settlement, by channel and payment hash.
	#[pallet::storage]
	pub type ClaimableHtlcs<T: Config> =
		StorageDoubleMap<_, Identity, ChannelId, Identity, Hash, ClaimableHtlc, OptionQuery>;

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
			deposit: BalanceOf<T>,
		},
		/// A verifier changed its endpoint or price.
		VerifierUpdated { verifier: T::AccountId, endpoint: EndpointOf<T>, price: BalanceOf<T> },
		/// A verifier left the registry; its deposit was released.
		VerifierUnregistered { verifier: T::AccountId, deposit_released: BalanceOf<T> },
		/// A channel was opened with the requester's deposit on hold.
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
		/// A range of attested items was anchored.
		Anchored {
			channel_id: ChannelId,
			index: u32,
			first_seq: u64,
			count: u64,
			root: Hash,
		},
		/// A unilateral close started; the state can be challenged until `deadline`.
		CloseStarted {
			channel_id: ChannelId,
			by: T::AccountId,
			nonce: u64,
			deadline: BlockNumberFor<T>,
		},
		/// A pending close was replaced by a newer state signed by both: the close was stale.
		Challenged { channel_id: ChannelId, by: T::AccountId, nonce: u64 },
		/// A channel closed: balances paid (after moving `stale_close_penalty` from a proven
		/// stale closer to its counterparty), `pending_htlcs` became claimable.
		ChannelClosed {
			channel_id: ChannelId,
			requester_paid: BalanceOf<T>,
			verifier_paid: BalanceOf<T>,
			pending_htlcs: u32,
			stale_close_penalty: BalanceOf<T>,
		},
		/// An HTLC was claimed with its bill key (revealed here), paying the verifier.
		HtlcClaimed {
			channel_id: ChannelId,
			payment_hash: Hash,
			bill_key: BillKey,
			amount: BalanceOf<T>,
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
		/// `update_verifier` was called with neither a new endpoint nor a new price.
		NothingToUpdate,
		/// The requester cannot open a channel to itself.
		SelfChannel,
		/// The deposit is below `MinChannelDeposit`.
		DepositTooLow,
		/// The challenge period is outside `MinChallengePeriod..=MaxChallengePeriod`.
		InvalidChallengePeriod,
		/// No channel with this id is open or closing.
		UnknownChannel,
		/// Only the channel's requester or verifier can do this.
		NotAParty,
		/// The channel is closing: only `challenge`, `close_cooperative` and `settle` apply.
		ChannelClosing,
		/// The channel is not closing: start with `close_unilateral`.
		ChannelNotClosing,
		/// The channel has reached `MaxFundings` fundings.
		TooManyFundings,
		/// The amount must be above zero.
		ZeroAmount,
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
		/// The state's unanchored range does not start where the last anchor ended, or is
		/// malformed (empty with a non-empty root, overflowing).
		NonContiguousRange,
		/// The state holds more than `MaxHtlcs` HTLCs or two with one payment hash.
		InvalidHtlcs,
		/// A cooperative close must not leave HTLCs pending.
		PendingHtlcs,
		/// A checkpoint must anchor at least one item.
		NothingToAnchor,
		/// The challenge period is over; call `settle`.
		ChallengePeriodOver,
		/// The challenge period is still running.
		ChallengePeriodNotOver,
		/// No claimable HTLC with this payment hash in this channel.
		UnknownHtlc,
		/// The bill key does not hash to the payment hash.
		WrongBillKey,
		/// The HTLC expired: it can only be refunded.
		HtlcExpired,
		/// The HTLC has not expired yet: it can only be claimed with its bill key.
		HtlcNotExpired,
		/// An arithmetic overflow: the amounts are too large.
		Overflow,
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
		/// `deposit` from the caller. Closes wait `challenge_period` blocks for challenges.
		///
		/// The channel id is `attest_primitives::channel_id(genesis_hash, requester, verifier,
		/// ChannelCount)`. Emits `ChannelOpened`.
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
			ensure!(Verifiers::<T>::contains_key(&verifier), Error::<T>::NotRegistered);
			ensure!(deposit >= T::MinChannelDeposit::get(), Error::<T>::DepositTooLow);
			ensure!(
				challenge_period >= T::MinChallengePeriod::get() &&
					challenge_period <= T::MaxChallengePeriod::get(),
				Error::<T>::InvalidChallengePeriod
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
					unanchored: ItemRange::empty(0),
				},
				next_seq: 0,
				anchor_count: 0,
				status: ChannelStatus::Open,
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

		/// Add `amount` of the caller's funds to an open channel (either party). States signed
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
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let by = channel.party_of(&who).ok_or(Error::<T>::NotAParty)?;
			ensure!(channel.status == ChannelStatus::Open, Error::<T>::ChannelClosing);
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

		/// Anchor the unanchored range of `state`, signed by both parties, without closing.
		///
		/// The state's nonce must be above every nonce accepted so far and its range must
		/// start where the last anchor ended and hold at least one item. Emits `Anchored` and
		/// `Checkpointed`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::checkpoint(state.htlcs.len() as u32))]
		pub fn checkpoint(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			state: ChannelState,
			requester_signature: MultiSignature,
			verifier_signature: MultiSignature,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			ensure!(channel.status == ChannelStatus::Open, Error::<T>::ChannelClosing);
			Self::check_newer_state(&channel, channel_id, &state)?;
			ensure!(state.unanchored.count > 0, Error::<T>::NothingToAnchor);
			Self::check_both_signatures(&channel, &state, &requester_signature, &verifier_signature)?;

			let nonce = state.nonce;
			Self::anchor(channel_id, &mut channel, &state.unanchored)?;
			channel.state = state;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::Checkpointed { channel_id, nonce });
			Ok(())
		}

		/// Close the channel with a final state signed by both parties: pay both balances,
		/// anchor the final range, remove the channel. The state must have no pending HTLCs.
		/// Works while open or during a pending unilateral close. Emits `ChannelClosed`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::close_cooperative())]
		pub fn close_cooperative(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			state: ChannelState,
			requester_signature: MultiSignature,
			verifier_signature: MultiSignature,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			Self::check_newer_state(&channel, channel_id, &state)?;
			ensure!(state.htlcs.is_empty(), Error::<T>::PendingHtlcs);
			Self::check_both_signatures(&channel, &state, &requester_signature, &verifier_signature)?;

			channel.state = state;
			// Both parties agreed on the final state: no stale-close penalty applies.
			channel.status = ChannelStatus::Open;
			Self::finish(channel_id, channel)
		}

		/// Start closing a channel alone (either party). `state` is the newest state the
		/// caller holds with the counterparty's signature; `None` closes with the state the
		/// chain already has (the opening state or the last checkpoint). Starts a challenge
		/// period of the channel's `challenge_period` blocks. Emits `CloseStarted`.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::close_unilateral(
			state.as_ref().map_or(0, |(s, _)| s.htlcs.len() as u32)
		))]
		pub fn close_unilateral(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			state: Option<(ChannelState, MultiSignature)>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let closer = channel.party_of(&who).ok_or(Error::<T>::NotAParty)?;
			ensure!(channel.status == ChannelStatus::Open, Error::<T>::ChannelClosing);
			if let Some((state, counterparty_signature)) = state {
				Self::check_newer_state(&channel, channel_id, &state)?;
				let counterparty = match closer {
					Party::Requester => channel.verifier.clone(),
					Party::Verifier => channel.requester.clone(),
				};
				Self::check_signature(&state, &counterparty_signature, &counterparty)?;
				channel.state = state;
			}
			let deadline = frame_system::Pallet::<T>::block_number()
				.saturating_add(channel.challenge_period);
			channel.status = ChannelStatus::Closing { deadline, closer, stale: false };
			let nonce = channel.state.nonce;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::CloseStarted { channel_id, by: who, nonce, deadline });
			Ok(())
		}

		/// Replace a pending close's state with a newer one signed by both parties (anyone may
		/// call, e.g. a watchtower). This proves the close stale: at settlement the closer pays
		/// [`Config::StaleClosePenalty`] of its balance in the final state to the counterparty.
		/// Emits `Challenged`.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::challenge(newer_state.htlcs.len() as u32))]
		pub fn challenge(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			newer_state: ChannelState,
			requester_signature: MultiSignature,
			verifier_signature: MultiSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let ChannelStatus::Closing { deadline, closer, .. } = channel.status else {
				return Err(Error::<T>::ChannelNotClosing.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() <= deadline,
				Error::<T>::ChallengePeriodOver
			);
			Self::check_newer_state(&channel, channel_id, &newer_state)?;
			Self::check_both_signatures(&channel, &newer_state, &requester_signature, &verifier_signature)?;

			let nonce = newer_state.nonce;
			channel.state = newer_state;
			channel.status = ChannelStatus::Closing { deadline, closer, stale: true };
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::Challenged { channel_id, by: who, nonce });
			Ok(())
		}

		/// After the challenge period of a pending close (anyone may call): pay out the
		/// balances, anchor the range, make pending HTLCs claimable, remove the channel.
		/// Emits `ChannelClosed`.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::settle(T::MaxHtlcs::get()))]
		pub fn settle(origin: OriginFor<T>, channel_id: ChannelId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			let ChannelStatus::Closing { deadline, .. } = channel.status else {
				return Err(Error::<T>::ChannelNotClosing.into());
			};
			ensure!(
				frame_system::Pallet::<T>::block_number() > deadline,
				Error::<T>::ChallengePeriodNotOver
			);
			let htlcs = channel.state.htlcs.len() as u32;
			Self::finish(channel_id, channel)?;
			Ok(Some(T::WeightInfo::settle(htlcs)).into())
		}

		/// Claim a pending HTLC with its bill key before it expires (anyone may call): pays
		/// the verifier and reveals the key in `HtlcClaimed`.
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
				Hash(sp_io::hashing::sha2_256(&bill_key.0)) == payment_hash,
				Error::<T>::WrongBillKey
			);
			ensure!(Self::now() <= htlc.expiry, Error::<T>::HtlcExpired);
			T::Currency::transfer_on_hold(
				&HoldReason::ChannelDeposit.into(),
				&htlc.requester,
				&htlc.verifier,
				htlc.amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)?;
			ClaimableHtlcs::<T>::remove(channel_id, payment_hash);
			Self::deposit_event(Event::HtlcClaimed {
				channel_id,
				payment_hash,
				bill_key,
				amount: htlc.amount,
			});
			Ok(())
		}

		/// Refund an expired pending HTLC to the requester (anyone may call).
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
			Self::deposit_event(Event::HtlcRefunded { channel_id, payment_hash, amount: htlc.amount });
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

		/// The current block number as the protocol's `u32`.
		fn now() -> u32 {
			let n: u64 = frame_system::Pallet::<T>::block_number().saturated_into();
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

		/// Check both parties' signatures on a state.
		fn check_both_signatures(
			channel: &Channel<T>,
			state: &ChannelState,
			requester_signature: &MultiSignature,
			verifier_signature: &MultiSignature,
		) -> Result<(), Error<T>> {
			Self::check_signature(state, requester_signature, &channel.requester)?;
			Self::check_signature(state, verifier_signature, &channel.verifier)
		}

		/// Checks every state submitted on chain must pass: right channel, strictly newer
		/// nonce, totals matching a prefix of the fundings, bounded unique HTLCs, and an
		/// unanchored range that starts where the last anchor ended.
		pub(crate) fn check_newer_state(
			channel: &Channel<T>,
			channel_id: ChannelId,
			state: &ChannelState,
		) -> Result<(), Error<T>> {
			ensure!(state.channel_id == channel_id, Error::<T>::WrongChannel);
			ensure!(state.nonce > channel.state.nonce, Error::<T>::StaleState);
			Self::funding_prefix(channel, state)?;
			ensure!(state.htlcs.len() as u32 <= T::MaxHtlcs::get(), Error::<T>::InvalidHtlcs);
			for (i, h) in state.htlcs.iter().enumerate() {
				ensure!(
					state.htlcs.iter().skip(i + 1).all(|o| o.payment_hash != h.payment_hash),
					Error::<T>::InvalidHtlcs
				);
			}
			let range = &state.unanchored;
			ensure!(
				range.first_seq == channel.next_seq &&
					range.end().is_some() &&
					(range.count > 0 || range.root == merkle::empty_root()),
				Error::<T>::NonContiguousRange
			);
			Ok(())
		}

		/// How many leading fundings the state's total covers.
		fn funding_prefix(channel: &Channel<T>, state: &ChannelState) -> Result<usize, Error<T>> {
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

		/// Store an anchor for `range` (if it holds items) and index it off chain.
		fn anchor(
			channel_id: ChannelId,
			channel: &mut Channel<T>,
			range: &ItemRange,
		) -> Result<(), Error<T>> {
			// Nothing to anchor, or a range the last checkpoint already anchored (closing with
			// the on-chain state): every new state starts exactly at `next_seq`.
			if range.count == 0 || range.first_seq != channel.next_seq {
				return Ok(());
			}
			let end = range.end().ok_or(Error::<T>::Overflow)?;
			let index = channel.anchor_count;
			channel.anchor_count = index.checked_add(1).ok_or(Error::<T>::Overflow)?;
			channel.next_seq = end;
			let block = Self::now();
			let info =
				AnchorInfo { first_seq: range.first_seq, count: range.count, root: range.root, block };
			Anchors::<T>::insert(channel_id, index, info);
			// The same items attested again give the same root: keep the first anchor.
			if !AnchorsByRoot::<T>::contains_key(range.root, channel_id) {
				AnchorsByRoot::<T>::insert(range.root, channel_id, index);
			}

			let (counter_block, n) = AnchorCounter::<T>::get();
			let n = if counter_block == block { n } else { 0 };
			let anchor = Anchor { channel_id, index, range: *range, block };
			sp_io::offchain_index::set(&super::anchor_index_key(block, n), &anchor.encode());
			let next = n.saturating_add(1);
			sp_io::offchain_index::set(&super::anchor_count_key(block), &next.encode());
			AnchorCounter::<T>::put((block, next));

			Self::deposit_event(Event::Anchored {
				channel_id,
				index,
				first_seq: range.first_seq,
				count: range.count,
				root: range.root,
			});
			Ok(())
		}

		/// Settle `channel` with its current state: anchor, pay out, keep HTLCs claimable,
		/// remove the channel.
		///
		/// Holds are per account, so the channel's funds are moved between the parties' holds
		/// as needed: the requester ends with its balance (plus its unused top-ups) free and
		/// the HTLC amounts still on hold; the verifier with its balance (plus its unused
		/// top-ups) free.
		fn finish(channel_id: ChannelId, mut channel: Channel<T>) -> DispatchResult {
			let mut state = channel.state.clone();
			let mut penalty = 0u128;
			if let ChannelStatus::Closing { closer, stale: true, .. } = channel.status {
				let (from, to) = match closer {
					Party::Requester => (&mut state.requester_balance, &mut state.verifier_balance),
					Party::Verifier => (&mut state.verifier_balance, &mut state.requester_balance),
				};
				penalty = T::StaleClosePenalty::get().mul_floor(*from);
				*from = from.saturating_sub(penalty);
				*to = to.checked_add(penalty).ok_or(Error::<T>::Overflow)?;
			}
			let prefix = Self::funding_prefix(&channel, &state)?;
			let (mut unused_r, mut unused_v) = (0u128, 0u128);
			for f in channel.fundings.iter().skip(prefix) {
				match f.by {
					Party::Requester => unused_r = unused_r.saturating_add(f.amount),
					Party::Verifier => unused_v = unused_v.saturating_add(f.amount),
				}
			}
			let htlc_total = state
				.htlcs
				.iter()
				.try_fold(0u128, |acc, h| acc.checked_add(h.amount))
				.ok_or(Error::<T>::Overflow)?;
			let (held_r, held_v) =
				(channel.held_by(Party::Requester), channel.held_by(Party::Verifier));
			let pay_r = state.requester_balance.checked_add(unused_r).ok_or(Error::<T>::Overflow)?;
			let pay_v = state.verifier_balance.checked_add(unused_v).ok_or(Error::<T>::Overflow)?;
			let keep_r = pay_r.checked_add(htlc_total).ok_or(Error::<T>::Overflow)?;
			// Conservation: what is paid and kept equals what is held.
			ensure!(
				keep_r.checked_add(pay_v) == held_r.checked_add(held_v),
				Error::<T>::TotalMismatch
			);
			for h in state.htlcs.iter() {
				ensure!(
					!ClaimableHtlcs::<T>::contains_key(channel_id, h.payment_hash),
					Error::<T>::InvalidHtlcs
				);
			}

			Self::anchor(channel_id, &mut channel, &state.unanchored)?;

			let reason: T::RuntimeHoldReason = HoldReason::ChannelDeposit.into();
			let (requester, verifier) = (&channel.requester, &channel.verifier);
			if held_r >= keep_r {
				let surplus = held_r - keep_r;
				if surplus > 0 {
					T::Currency::transfer_on_hold(
						&reason,
						requester,
						verifier,
						surplus,
						Precision::Exact,
						Restriction::Free,
						Fortitude::Polite,
					)?;
				}
				if held_v > 0 {
					T::Currency::release(&reason, verifier, held_v, Precision::Exact)?;
				}
			} else {
				let deficit = keep_r - held_r;
				T::Currency::transfer_on_hold(
					&reason,
					verifier,
					requester,
					deficit,
					Precision::Exact,
					Restriction::OnHold,
					Fortitude::Polite,
				)?;
				let rest_v = held_v.saturating_sub(deficit);
				if rest_v > 0 {
					T::Currency::release(&reason, verifier, rest_v, Precision::Exact)?;
				}
			}
			if pay_r > 0 {
				T::Currency::release(&reason, requester, pay_r, Precision::Exact)?;
			}
			for h in state.htlcs.iter() {
				ClaimableHtlcs::<T>::insert(
					channel_id,
					h.payment_hash,
					ClaimableHtlc {
						requester: requester.clone(),
						verifier: verifier.clone(),
						amount: h.amount,
						expiry: h.expiry,
						items: h.items,
					},
				);
			}
			Channels::<T>::remove(channel_id);
			Self::deposit_event(Event::ChannelClosed {
				channel_id,
				requester_paid: pay_r,
				verifier_paid: pay_v,
				pending_htlcs: state.htlcs.len() as u32,
				stale_close_penalty: penalty,
			});
			Ok(())
		}

		/// Invariants: the channel-deposit holds of every account equal what its open
		/// channels and claimable HTLCs owe, and every channel's latest state conserves its
		/// fundings.
		#[cfg(any(feature = "try-runtime", feature = "std"))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			let mut owed: BTreeMap<AccountId32, u128> = BTreeMap::new();
			for (id, channel) in Channels::<T>::iter() {
				ensure!(id == channel.state.channel_id, "channel stored under another id");
				Self::funding_prefix(&channel, &channel.state)
					.map_err(|_| "channel state does not conserve its fundings")?;
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
