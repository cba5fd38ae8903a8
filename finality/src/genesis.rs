//! What a reader trusts: the chain's genesis, read from its raw chain spec (`attest-node
//! export-chain-spec --chain local --raw`). The genesis block's hash is computed from the spec's
//! storage (as the node does when it starts), and the first GRANDPA authority set is read from
//! that storage; nothing else is taken on trust.

use attest_primitives::Hash;
use codec::Decode;
use sp_consensus_grandpa::AuthorityList;
use sp_runtime::{
	traits::{BlakeTwo256, Hash as _, Header as _},
	StateVersion,
};

use crate::{grandpa::AuthoritySet, storage::grandpa_authorities_key, Header};

/// The chain a proof must be of: its genesis hash and first authority set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
	/// Hash of block 0.
	pub genesis: Hash,
	/// The GRANDPA authorities at genesis (set 0).
	pub authorities: AuthorityList,
}

/// Why a chain spec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
	/// Not JSON.
	#[error("the chain spec is not JSON: {0}")]
	Json(#[from] serde_json::Error),
	/// A spec with a genesis preset or runtime config instead of raw storage.
	#[error("the chain spec has no raw genesis storage: export it with `attest-node export-chain-spec --chain NAME --raw`")]
	NotRaw,
	/// A key or value that is not 0x-hex.
	#[error("the chain spec's raw storage has an entry that is not 0x-hex: {0}")]
	Hex(String),
	/// Child tries in genesis (this chain's runtime makes none).
	#[error("the chain spec's genesis has child tries, which this checker does not compute")]
	ChildTries,
	/// No `Grandpa::Authorities` in genesis.
	#[error("the chain spec's genesis has no GRANDPA authorities")]
	NoAuthorities,
}

fn unhex(s: &str) -> Result<Vec<u8>, SpecError> {
	s.strip_prefix("0x")
		.and_then(|h| hex::decode(h).ok())
		.ok_or_else(|| SpecError::Hex(s.chars().take(20).collect()))
}

impl TrustRoot {
	/// The trust root of a raw chain spec (JSON). The state root uses state version 1, the
	/// version of this chain's runtime (`system_version: 1`).
	pub fn from_raw_spec(json: &[u8]) -> Result<Self, SpecError> {
		let spec: serde_json::Value = serde_json::from_slice(json)?;
		let raw = spec.pointer("/genesis/raw").ok_or(SpecError::NotRaw)?;
		let top = raw.get("top").and_then(|t| t.as_object()).ok_or(SpecError::NotRaw)?;
		if raw
			.get("childrenDefault")
			.and_then(|c| c.as_object())
			.is_some_and(|c| !c.is_empty())
		{
			return Err(SpecError::ChildTries);
		}
		let mut storage = Vec::with_capacity(top.len());
		for (k, v) in top {
			let v = v.as_str().ok_or_else(|| SpecError::Hex(k.clone()))?;
			storage.push((unhex(k)?, unhex(v)?));
		}
		let authorities_key = grandpa_authorities_key();
		let authorities = storage
			.iter()
			.find(|(k, _)| *k == authorities_key)
			.and_then(|(_, v)| AuthorityList::decode(&mut &v[..]).ok())
			.filter(|a| !a.is_empty())
			.ok_or(SpecError::NoAuthorities)?;
		let state_root = BlakeTwo256::trie_root(storage, StateVersion::V1);
		let extrinsics_root = BlakeTwo256::trie_root(Vec::new(), StateVersion::V1);
		let header =
			Header::new(0, extrinsics_root, state_root, Default::default(), Default::default());
		Ok(TrustRoot { genesis: header.hash(), authorities })
	}

	/// The genesis authority set (set id 0).
	pub fn genesis_set(&self) -> AuthoritySet {
		AuthoritySet { set_id: 0, authorities: self.authorities.clone() }
	}
}
