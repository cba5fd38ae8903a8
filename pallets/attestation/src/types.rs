//! The types the pallet stores and the rules that need nothing but them.

// Runtime code never panics on input (FRAME's macro expansions in lib.rs are outside this
// check; the calls there use `?` and checked arithmetic throughout).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::pallet::{BalanceOf, Config, EndpointOf};
use attest_primitives::{ChannelState, Hash, ItemRange, LogHead};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{pallet_prelude::ConstU32, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use scale_info::TypeInfo;
use sp_runtime::AccountId32;

/// A consistency proof as a call argument: `PROOF(m, D[n])` of RFC 9162 §2.1.4 from the
/// channel's last anchored log (size `m`) to the submitted state's log (size `n`), the hashes
/// in the order of `attest_primitives::merkle::consistency_proof`. Empty when `m == 0` or
/// `m == n`.
pub type ConsistencyPath =
	BoundedVec<Hash, ConstU32<{ attest_primitives::merkle::MAX_CONSISTENCY_PATH }>>;

/// What the registry stores about one verifier.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(T))]
pub struct VerifierInfo<T: Config> {
	/// URL of the verifier's off-chain service.
	pub endpoint: EndpointOf<T>,
	/// Price the verifier bills per attested item.
	pub price: BalanceOf<T>,
	/// Deposit held for this entry; released on unregister.
	pub deposit: BalanceOf<T>,
	/// Shortest challenge period the verifier accepts for channels opened to it: the time it
	/// needs to answer a stale close, whatever the chain's own minimum.
	pub min_challenge_period: BlockNumberFor<T>,
}

/// A party of a channel (the primitives' type: a final state agreed during a close names
/// its closer with it).
pub use attest_primitives::Party;

/// Whether a unilateral close by `closer` with the state of nonce `closed_nonce` is proven
/// stale by a state of nonce `newest` signed by both parties.
///
/// The rule follows the message order of the protocol: the requester signs every state first
/// and the verifier countersigns it, nonces are consecutive, and nobody signs nonce `k + 1`
/// before holding state `k` signed by both.
///
/// * The verifier holds a state signed by both as soon as it countersigns it, so any newer
///   state signed by both proves it held something newer than what it closed with.
/// * The requester may have signed `closed_nonce + 1` and still wait for the countersignature
///   (the verifier went silent): that state proves nothing against it. A state of nonce
///   `closed_nonce + 2` or higher carries the requester's signature, which it only gives
///   after holding `closed_nonce + 1` signed by both.
pub fn proves_stale(closer: Party, closed_nonce: u64, newest: u64) -> bool {
	match closer {
		Party::Verifier => newest > closed_nonce,
		Party::Requester => closed_nonce.checked_add(2).is_some_and(|n| newest >= n),
	}
}

/// Funds put into a channel: the opening deposit, then top-ups, in order.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
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
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum ChannelStatus<BlockNumber> {
	/// Parties transact off chain; checkpoints anchor the log.
	Open,
	/// A unilateral close is pending: newer states may replace the channel's state until
	/// `deadline` (inclusive); `settle` works after it.
	Closing {
		/// Last block of the challenge period.
		deadline: BlockNumber,
		/// The party that started the close.
		closer: Party,
		/// Nonce of the state the closer closed with: a newer state proves the close stale as
		/// [`proves_stale`] says.
		closed_nonce: u64,
	},
}

/// A bill key the verifier put on chain while the channel was open or closing.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct RevealedKey {
	/// `sha256(bill_key)`.
	pub payment_hash: Hash,
	/// Block in which it was revealed: an HTLC pays the verifier at settlement if this is at
	/// or before its expiry.
	pub block: u32,
}

/// A channel on chain.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
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
	/// The newest state the chain has accepted: the opening state (nonce 0, empty log), the
	/// last checkpoint, or the state of a pending close.
	pub state: ChannelState,
	/// The channel's log as last anchored (empty before the first anchor). Every state the
	/// chain accepts must extend it.
	pub anchored: LogHead,
	/// Number of anchors stored so far.
	pub anchor_count: u32,
	/// Open or closing.
	pub status: ChannelStatus<BlockNumberFor<T>>,
	/// Bill keys the verifier revealed on chain, in order.
	pub revealed: BoundedVec<RevealedKey, T::MaxHtlcs>,
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

	/// Number of top-ups (fundings after the opening deposit) made by `party`.
	pub fn top_ups_by(&self, party: Party) -> u32 {
		self.fundings.iter().skip(1).filter(|f| f.by == party).count() as u32
	}

	/// Block at which the verifier revealed the key of `payment_hash`, if it did.
	pub fn revealed_at(&self, payment_hash: &Hash) -> Option<u32> {
		self.revealed.iter().find(|r| r.payment_hash == *payment_hash).map(|r| r.block)
	}
}

/// An HTLC left pending at settlement: claimable by the verifier with the bill key until
/// `expiry`, refundable to the requester after it. Its amount stays on hold on the
/// requester's account.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
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

/// An anchor as stored: the channel id and index are the storage key.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct AnchorInfo {
	/// First item new in this anchor (the previous anchor's log size; 0 for the first).
	pub first_seq: u64,
	/// The channel's log at this anchor: items `0 .. log.size` and their RFC 6962 root.
	pub log: LogHead,
	/// Block that stored the anchor.
	pub block: u32,
}
