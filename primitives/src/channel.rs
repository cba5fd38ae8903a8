//! Channel state and protocol messages.
//!
//! All types encode with SCALE (what is signed and what the chain stores) and, with `std`,
//! with serde as JSON (byte strings as `0x`-prefixed hex). `docs/protocol.md` gives the exact
//! bytes of each.

use crate::{merkle::MerkleError, Hash};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::{BoundedVec, MultiSignature, MultiSigner};

/// Balance amounts in a channel (the chain's `Balance`, 12 decimals).
pub type Balance = u128;
/// Block number on chain; HTLC expiries are block numbers.
pub type BlockNumber = u32;
/// Sequence number of an attested item within its channel (0, 1, 2, ... in attestation order).
pub type Seq = u64;
/// Channel identifier, derived on chain when the channel opens (see [`channel_id`]).
pub type ChannelId = Hash;

/// Most HTLCs pending at once in one channel state. The runtime's `MaxHtlcs` must not exceed
/// this.
pub const MAX_PENDING_HTLCS: u32 = 32;

/// The pending HTLCs of a state.
pub type PendingHtlcs = BoundedVec<Htlc, ConstU32<MAX_PENDING_HTLCS>>;

/// The on-chain derivation of a channel id: `blake2_256` of the SCALE encoding of
/// `(b"attest/channel-id/v1", genesis_hash, requester, verifier, open_nonce)`, where
/// `open_nonce` is the pallet's running count of channels ever opened. Distinct inputs give
/// distinct ids; the counter makes a reopened pair get a fresh id.
pub fn channel_id<A: Encode>(
	genesis_hash: &Hash,
	requester: &A,
	verifier: &A,
	open_nonce: u64,
) -> ChannelId {
	let preimage =
		(b"attest/channel-id/v1".as_slice(), genesis_hash, requester, verifier, open_nonce)
			.encode();
	Hash(sp_crypto_hashing::blake2_256(&preimage))
}

/// A contiguous range of attested items of one channel and the Merkle root (RFC 6962, entries
/// are the items' SHA-256 digests in sequence order) over them.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct ItemRange {
	/// Sequence number of the first item.
	pub first_seq: Seq,
	/// Number of items.
	pub count: u64,
	/// `MTH` over the items' digests (`SHA-256("")` when `count == 0`).
	pub root: Hash,
}

impl ItemRange {
	/// Sequence number just past the range, or `None` on overflow.
	pub fn end(&self) -> Option<Seq> {
		self.first_seq.checked_add(self.count)
	}

	/// The range of `digests` starting at `first_seq`.
	pub fn of_digests(first_seq: Seq, digests: &[Hash]) -> Self {
		Self {
			first_seq,
			count: digests.len() as u64,
			root: crate::merkle::root_of_digests(digests),
		}
	}
}

/// A hash-time-locked payment from the requester to the verifier for a batch of items.
///
/// Claimable by the verifier with the preimage of `payment_hash` (the bill key) until block
/// `expiry` (inclusive); refunded to the requester after it.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct Htlc {
	/// `sha256(bill_key)`.
	pub payment_hash: Hash,
	/// Amount locked, moved from the requester's balance.
	#[cfg_attr(feature = "std", serde(with = "balance_string"))]
	pub amount: Balance,
	/// Last block at which the verifier can claim.
	pub expiry: BlockNumber,
	/// The items this HTLC pays for.
	pub items: ItemRange,
}

/// The head of a channel's append-only item log: how many items were attested in the channel
/// so far (sequence numbers `0 .. size`) and the RFC 6962 Merkle tree hash over their
/// digests, in sequence order.
///
/// A newer head extends an older one: the parties only ever append, and the chain checks a
/// consistency proof (RFC 9162 §2.1.4) from the last anchored head to every head it anchors.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct LogHead {
	/// Number of items in the log.
	pub size: u64,
	/// `MTH` over the items' digests (`SHA-256("")` when `size == 0`).
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::Hash))]
	pub root: Hash,
}

impl LogHead {
	/// The log of a channel that has attested nothing: size 0, root `SHA-256("")`.
	pub fn empty() -> Self {
		Self { size: 0, root: crate::merkle::empty_root() }
	}

	/// The head of the log holding `digests` (items `0 .. digests.len()`).
	pub fn of_digests(digests: &[Hash]) -> Self {
		Self { size: digests.len() as u64, root: crate::merkle::root_of_digests(digests) }
	}

	/// An empty log must carry the empty-tree root; every other root is possible.
	pub fn is_well_formed(&self) -> bool {
		self.size > 0 || self.root == crate::merkle::empty_root()
	}

	/// The consistency proof, in the form the chain takes, that the log of `digests` extends
	/// its prefix of `anchored` items: `PROOF(anchored, D[digests.len()])`, empty when
	/// `anchored` is 0 or the whole log. What a party sends with a state whose log is longer
	/// than the channel's anchored log.
	pub fn consistency_path(digests: &[Hash], anchored: u64) -> Result<Vec<Hash>, MerkleError> {
		if anchored == 0 {
			return Ok(Vec::new());
		}
		let leaves: Vec<Hash> = digests.iter().map(crate::merkle::digest_leaf_hash).collect();
		Ok(crate::merkle::consistency_proof(&leaves, anchored)?.path)
	}

	/// Check that this log extends `older` (holds its items, then possibly more), given the
	/// consistency proof `PROOF(older.size, D[self.size])` (RFC 9162 §2.1.4). Every log
	/// extends the empty one (the proof must then be empty); a log extends an equal one
	/// with an empty proof.
	pub fn check_extends(&self, older: &LogHead, proof: &[Hash]) -> Result<(), MerkleError> {
		if self.size < older.size {
			return Err(MerkleError::InvalidSizes { first: older.size, second: self.size });
		}
		if older.size == 0 {
			return if proof.is_empty() { Ok(()) } else { Err(MerkleError::WrongProofLength) };
		}
		crate::merkle::ConsistencyProof {
			first_size: older.size,
			second_size: self.size,
			path: proof.to_vec(),
		}
		.verify(&older.root, &self.root)
	}
}

/// A party of a channel.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Hash,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum Party {
	/// The account that opened the channel and pays for attestations (SCALE `0x00`).
	Requester,
	/// The account that attests and is paid (SCALE `0x01`).
	Verifier,
}

impl Party {
	/// The other party.
	pub fn other(self) -> Party {
		match self {
			Party::Requester => Party::Verifier,
			Party::Verifier => Party::Requester,
		}
	}

	/// `"requester"` or `"verifier"`.
	pub fn word(self) -> &'static str {
		match self {
			Party::Requester => "requester",
			Party::Verifier => "verifier",
		}
	}
}

/// Whether a state is the last one of its channel, and if so, whether it was agreed during a
/// unilateral close, which it then names.
///
/// SCALE: one byte `0x00` / `0x01` for the first two variants (the encoding of the `bool`
/// `is_final` of earlier `attest/state/v2` states, which stay valid byte for byte), `0x02`
/// followed by the closer (`0x00` requester, `0x01` verifier) and the closed nonce (`u64` LE)
/// for the third.
///
/// Why the third exists: the chain's stale-close penalty reads a state newer than a close as
/// proof that the closer held it before closing. A final state agreed *after* a close (the
/// parties settle their differences while the close is pending) proves no such thing, and says
/// so by naming the close it ends: it settles the channel at once with no penalty from itself
/// (`docs/protocol.md`, "Closing, and what may be signed after a close").
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum Finality {
	/// Not final: the channel goes on (`0x00`).
	#[default]
	Open,
	/// The last state, agreed with no close pending that it names (`0x01`).
	Final,
	/// The last state, agreed during the unilateral close by `closer` with the state of nonce
	/// `closed_nonce` (`0x02`). The chain takes it only during exactly that close.
	#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
	EndsClose {
		/// Who started the close.
		closer: Party,
		/// The nonce of the state it closed with (the chain's `closed_nonce`).
		closed_nonce: u64,
	},
}

/// The state both parties sign. A higher `nonce` supersedes every lower one.
///
/// Conservation: `requester_balance + verifier_balance + sum(htlcs.amount)` equals the channel's
/// total deposit at every nonce.
///
/// Message order: the requester signs every state first and the verifier countersigns it;
/// nonces are consecutive (each state is the previous one plus 1), and neither party signs
/// nonce `n + 1` before it holds state `n` signed by both. The chain's stale-close penalty
/// rests on this order (`docs/protocol.md`).
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct ChannelState {
	/// The channel this state belongs to.
	pub channel_id: ChannelId,
	/// Version of the state; strictly increasing.
	pub nonce: u64,
	/// What the requester gets at settlement.
	#[cfg_attr(feature = "std", serde(with = "balance_string"))]
	pub requester_balance: Balance,
	/// What the verifier gets at settlement.
	#[cfg_attr(feature = "std", serde(with = "balance_string"))]
	pub verifier_balance: Balance,
	/// Payments not yet resolved.
	pub htlcs: PendingHtlcs,
	/// Every item attested in the channel so far (not only since the last anchor).
	pub log: LogHead,
	/// Whether this is the parties' agreed last state ([`Finality`]): a final state closes
	/// the channel at once (`close_cooperative`), has no pending HTLCs, and neither party
	/// signs anything for the channel after it.
	pub finality: Finality,
}
impl ChannelState {
	/// Whether the state is final (either kind of [`Finality`] but `Open`).
	pub fn is_final(&self) -> bool {
		self.finality != Finality::Open
	}

	/// Total value the state distributes, or `None` on overflow.
	pub fn total(&self) -> Option<Balance> {
		self.htlcs
			.iter()
			.try_fold(self.requester_balance.checked_add(self.verifier_balance)?, |acc, h| {
				acc.checked_add(h.amount)
			})
	}
}

/// The secret whose SHA-256 is an HTLC's payment hash. Revealing it confirms the attestation.
#[derive(
	Clone, Copy, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct BillKey(#[cfg_attr(feature = "std", serde(with = "hex32"))] pub [u8; 32]);

impl core::fmt::Debug for BillKey {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		// A bill key is a payment secret until revealed: never print it.
		f.write_str("BillKey(..)")
	}
}

/// The verifier's bill for a batch of items it checked (signed by the verifier).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct Bill {
	/// The items billed: their sequence numbers and the root of their digests.
	pub items: ItemRange,
	/// Price of the batch.
	#[cfg_attr(feature = "std", serde(with = "balance_string"))]
	pub amount: Balance,
	/// `sha256(bill_key)`.
	pub payment_hash: Hash,
	/// Last block at which the bill can be claimed.
	pub expiry: BlockNumber,
}

/// The requester's attestation request: the new state, which adds the HTLC paying the bill and
/// appends the items to the channel's log. The request is the requester's signature on
/// `state` (kind [`crate::signing::kind::STATE`]); `digests` let the verifier re-derive the
/// range root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct AttestationRequest {
	/// Proposed state.
	pub state: ChannelState,
	/// Digests of the billed items, in sequence order.
	pub digests: Vec<Hash>,
	/// Requester's signature on `state`.
	pub requester_signature: MultiSignature,
}

/// The verifier's confirmation: its countersignature on the state and the bill key, which
/// lets the verifier be paid and proves to the requester the items were accepted.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct Confirmation {
	/// Nonce of the countersigned state.
	pub nonce: u64,
	/// The revealed preimage of the HTLC's payment hash.
	pub bill_key: BillKey,
	/// Verifier's signature on the state.
	pub verifier_signature: MultiSignature,
}

/// What each party signs about one attested item (kinds [`crate::signing::kind::FIRST_RECORD`]
/// and [`crate::signing::kind::SECOND_RECORD`]).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ItemClaim {
	/// Sequence number of the item in its channel.
	#[cfg_attr(feature = "schema", schema(value_type = u64))]
	pub seq: Seq,
	/// SHA-256 of the item's bytes.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::Hash))]
	pub digest: Hash,
	/// Payment hash of the HTLC that paid for the item.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::Hash))]
	pub payment_hash: Hash,
}

/// The verifier's record of an item, uploaded to the attestation server.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct FirstRecord {
	/// Channel of the item.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::Hash))]
	pub channel_id: ChannelId,
	/// What the verifier attests.
	pub claim: ItemClaim,
	/// Verifier's signature on `claim`.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::MultiSignature))]
	pub verifier_signature: MultiSignature,
	/// Verifier's public key (its account is derived from it).
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::MultiSigner))]
	pub verifier: MultiSigner,
}

/// Where the item's bytes are: inline or in the server's content-addressed blob store.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum DataRef {
	/// The bytes themselves (JSON: `0x`-hex; a JSON array of byte values is also read).
	Inline(#[cfg_attr(feature = "std", serde(with = "hex_bytes"))] Vec<u8>),
	/// A blob already uploaded, addressed by its SHA-256.
	Blob(Hash),
}

/// The requester's record of an item, uploaded with (or pointing at) the data.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SecondRecord {
	/// Channel of the item.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::Hash))]
	pub channel_id: ChannelId,
	/// What the requester attests.
	pub claim: ItemClaim,
	/// The data.
	pub data: DataRef,
	/// Requester's signature on `claim`.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::MultiSignature))]
	pub requester_signature: MultiSignature,
	/// Requester's public key.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::MultiSigner))]
	pub requester: MultiSigner,
}

/// A checkpoint of a channel's item log stored on chain: the `index`-th anchor of
/// `channel_id`, stored at block `block`.
///
/// Items `first_seq .. log.size` are new in this anchor (`first_seq` is the previous anchor's
/// `log.size`, 0 for the first); an inclusion proof of item `seq` is `PATH(seq, D[log.size])`
/// under `log.root`.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Anchor {
	/// Channel of the log.
	#[cfg_attr(feature = "schema", schema(value_type = crate::schema::Hash))]
	pub channel_id: ChannelId,
	/// Position among the channel's anchors (0, 1, ...).
	pub index: u32,
	/// First item new in this anchor: the previous anchor's log size.
	#[cfg_attr(feature = "schema", schema(value_type = u64))]
	pub first_seq: Seq,
	/// The log at this anchor: its size and root.
	pub log: LogHead,
	/// Block in which the anchor was stored.
	#[cfg_attr(feature = "schema", schema(value_type = u32))]
	pub block: BlockNumber,
}

impl Anchor {
	/// Number of items new in this anchor.
	pub fn new_items(&self) -> u64 {
		self.log.size.saturating_sub(self.first_seq)
	}
}

/// Balances as decimal strings in JSON: a `u128` does not fit a JavaScript number.
#[cfg(feature = "std")]
pub mod balance_string {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
		s.collect_str(v)
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
		let s = String::deserialize(d)?;
		s.parse()
			.map_err(|_| D::Error::custom(format!("`{s}` is not a decimal u128 balance")))
	}
}

/// Bytes as a `0x`-prefixed hex string in JSON. Reading also takes hex without the prefix
/// and a JSON array of byte values (serde's default form for bytes).
#[cfg(feature = "std")]
pub mod hex_bytes {
	use serde::{
		de::{Error, SeqAccess, Visitor},
		Deserializer, Serializer,
	};

	/// Into one buffer sized beforehand (`hex::encode` pushes char by char, then `format!`
	/// copied it again: a few % of the agents' CPU for 1 KiB items, measured end to end).
	pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
		let mut buf = vec![0u8; 2 + 2 * v.len()];
		buf[..2].copy_from_slice(b"0x");
		hex::encode_to_slice(v, &mut buf[2..]).map_err(serde::ser::Error::custom)?;
		s.serialize_str(core::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
	}

	struct Bytes;

	impl<'de> Visitor<'de> for Bytes {
		type Value = Vec<u8>;

		fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
			f.write_str("bytes as a 0x-hex string (or an array of byte values)")
		}

		/// Into one buffer sized beforehand (`hex::decode` collects a `Result` per byte: the
		/// attestation server's largest single cost for 1 KiB items end to end, measured).
		fn visit_str<E: Error>(self, v: &str) -> Result<Vec<u8>, E> {
			let hex = v.strip_prefix("0x").unwrap_or(v);
			// An odd number of digits leaves the sizes unequal: `decode_to_slice` refuses it.
			let mut out = vec![0u8; hex.len() / 2];
			hex::decode_to_slice(hex, &mut out)
				.map_err(|e| E::custom(format!("expected bytes as 0x-hex: {e}")))?;
			Ok(out)
		}

		fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
			let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
			while let Some(b) = seq.next_element::<u8>()? {
				out.push(b);
			}
			Ok(out)
		}
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
		d.deserialize_any(Bytes)
	}
}

/// A 32-byte hash (digest, root, channel id, payment hash) written as 64 hex digits, with or
/// without `0x`: the one parser the server, the agents and the CLI use. `None` for anything
/// else (wrong length, a non-hex digit).
#[cfg(feature = "std")]
pub fn parse_hash(s: &str) -> Option<Hash> {
	let mut out = [0u8; 32];
	hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out).ok()?;
	Some(Hash(out))
}

/// 32 bytes as a `0x`-prefixed hex string in JSON.
#[cfg(feature = "std")]
pub mod hex32 {
	use serde::{de::Error, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&format!("0x{}", hex::encode(v)))
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
		let s = String::deserialize(d)?;
		let digits = s.strip_prefix("0x").unwrap_or(&s);
		let mut out = [0u8; 32];
		hex::decode_to_slice(digits, &mut out)
			.map_err(|e| D::Error::custom(format!("expected 32 bytes as 0x-hex: {e}")))?;
		Ok(out)
	}
}
