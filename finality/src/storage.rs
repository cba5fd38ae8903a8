//! Storage read proofs: the chain's state entries a proof relies on, checked under a block
//! header's state root (what `state_getReadProof` returns: the trie nodes on the paths to
//! the keys).

use attest_primitives::{ChannelId, Hash, LogHead};
use codec::{Decode, DecodeAll, Encode};
use sp_crypto_hashing::{twox_128, twox_64};
use sp_runtime::traits::BlakeTwo256;
use sp_trie::{LayoutV1, StorageProof};

/// `Attestation::Anchors(channel_id, index)` as the pallet stores it (its `AnchorInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StoredAnchor {
	/// First item new in this anchor.
	pub first_seq: u64,
	/// The channel's log at this anchor.
	pub log: LogHead,
	/// Block that stored it.
	pub block: u32,
}

/// The storage key of a plain value, `pallet::item`: `twox128(pallet) ++ twox128(item)` (also
/// the prefix of a map's keys).
pub fn value_key(pallet: &str, item: &str) -> Vec<u8> {
	let mut key = twox_128(pallet.as_bytes()).to_vec();
	key.extend_from_slice(&twox_128(item.as_bytes()));
	key
}

/// The storage key of `Attestation::Anchors(channel_id, index)`: `twox128("Attestation") ++
/// twox128("Anchors") ++ channel_id ++ twox64(index) ++ index` (the index little-endian u32).
pub fn anchor_key(channel_id: &ChannelId, index: u32) -> Vec<u8> {
	let mut key = value_key("Attestation", "Anchors");
	key.extend_from_slice(channel_id.as_bytes());
	let index = index.encode();
	key.extend_from_slice(&twox_64(&index));
	key.extend_from_slice(&index);
	key
}

/// The storage key of `Timestamp::Now` (the block's time, unix ms, u64).
pub fn timestamp_key() -> Vec<u8> {
	value_key("Timestamp", "Now")
}

/// The storage key of `Grandpa::Authorities` (the genesis set, in a chain spec).
pub fn grandpa_authorities_key() -> Vec<u8> {
	value_key("Grandpa", "Authorities")
}

/// Why a storage entry is not proven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
	/// The proof's nodes do not reach the key from the state root (another key's proof, or
	/// nodes for another state).
	#[error("the storage proof does not reach {0} under the block's state root")]
	Incomplete(&'static str),
	/// The proof shows the key absent.
	#[error("the storage proof shows no {0} in the block's state")]
	Absent(&'static str),
	/// The value does not decode as the entry's type.
	#[error("the proven {0} does not decode")]
	Decode(&'static str),
}

/// Read `key` (named `what` in errors) from `proof` under `state_root`, decoded as `T`.
pub fn read<T: Decode>(
	state_root: &Hash,
	proof: &[Vec<u8>],
	key: &[u8],
	what: &'static str,
) -> Result<T, StorageError> {
	let db = StorageProof::new(proof.iter().cloned()).into_memory_db::<BlakeTwo256>();
	let value =
		sp_trie::read_trie_value::<LayoutV1<BlakeTwo256>, _>(&db, state_root, key, None, None)
			.map_err(|_| StorageError::Incomplete(what))?
			.ok_or(StorageError::Absent(what))?;
	T::decode_all(&mut &value[..]).map_err(|_| StorageError::Decode(what))
}
