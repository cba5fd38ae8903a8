//! # attest-finality
//!
//! Proofs that stand alone (format v2, `docs/proof-format.md`): an item's proof bundle
//! ([`AttestationProof`]) with the chain's own evidence for its anchor, checked with the
//! chain spec and nothing else: no node, no server.
//!
//! - [`genesis`]: the [`TrustRoot`] (genesis hash and first GRANDPA authority set) computed
//!   from a raw chain spec.
//! - [`grandpa`]: justifications and the chain of authority-set changes since genesis.
//! - [`storage`]: read proofs of the anchor entry (and the block time) under a header's state
//!   root.
//! - [`ProofV2`]: all of it, and [`ProofV2::verify`], which binds the records' signers to the
//!   channel (its id is derived from them), the anchor to the block's state, and the block to
//!   GRANDPA finality.

pub mod genesis;
pub mod grandpa;
pub mod storage;

#[cfg(test)]
extern crate self as attest_finality;
#[cfg(test)]
#[path = "fixture.rs"]
mod fixture;
#[cfg(test)]
mod tests;

use attest_primitives::{
	channel_id, signing::account_of, Anchor, AttestationProof, Hash, ProofError, ProvenItem,
};
use codec::{Decode, Encode};
use sp_runtime::AccountId32;

pub use genesis::{SpecError, TrustRoot};
pub use grandpa::{AuthoritySet, FinalityError, FinalityProof, JustificationError, SetChange};
pub use storage::{StorageError, StoredAnchor};

/// This chain's block header (u32 numbers, BLAKE2-256).
pub type Header = sp_runtime::generic::Header<u32, sp_runtime::traits::BlakeTwo256>;

/// Who the channel's parties are and which channel of theirs it is: with the genesis hash
/// these give the channel id (`channel_id(genesis, requester, verifier, open_nonce)`), so a
/// proof whose records are signed by anyone else does not check.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChannelBinding {
	/// The requester's account.
	pub requester: AccountId32,
	/// The verifier's account.
	pub verifier: AccountId32,
	/// The pallet's count of channels opened before this one.
	pub open_nonce: u64,
}

/// The chain's evidence for one anchor.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChainEvidence {
	/// The channel's parties.
	pub channel: ChannelBinding,
	/// The header of the anchor's block.
	pub header: Header,
	/// Trie nodes proving `Attestation::Anchors(channel, index)` and `Timestamp::Now` under
	/// `header.state_root`.
	pub storage_proof: Vec<Vec<u8>>,
	/// GRANDPA finality of `header` from genesis; `None` on a chain that seals blocks by
	/// hand (it has no finality to prove).
	pub finality: Option<FinalityProof>,
}

/// A proof in format v2: the item's bundle, then the chain's evidence for its anchor. Its
/// SCALE bytes are the bundle's followed by the evidence's.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ProofV2 {
	/// Records, inclusion path and anchor (format v1).
	pub item: AttestationProof,
	/// Header, storage proof, finality.
	pub chain: ChainEvidence,
}

/// How final the proven block is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finalized {
	/// GRANDPA: a justification by set `set_id` of block `justified` (the anchor block or a
	/// descendant), that set reached from genesis through proven set changes.
	Grandpa {
		/// The set that signed.
		set_id: u64,
		/// The block it finalized.
		justified: u32,
	},
	/// Nothing proves it (a chain sealed by hand): the header, its state and the records
	/// check, but anyone can write such a header; only a node of the chain can confirm it.
	NotProven,
}

/// What a v2 proof proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven {
	/// The item: digest, seq, anchor.
	pub item: ProvenItem,
	/// The channel's requester.
	pub requester: AccountId32,
	/// The channel's verifier.
	pub verifier: AccountId32,
	/// The anchor block's hash.
	pub block_hash: Hash,
	/// The anchor block's time (unix ms), from its state.
	pub block_time_ms: u64,
	/// Its finality.
	pub finalized: Finalized,
}

/// Why a v2 proof does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
	/// The bundle's own checks (records, inclusion path).
	#[error("{0}")]
	Item(#[from] ProofError),
	/// The channel id is not the one the parties and open nonce give.
	#[error("the anchor's channel {anchor:?} is not the channel of the proof's parties and open nonce ({derived:?})")]
	Channel {
		/// The anchor's channel id.
		anchor: Hash,
		/// The id derived from the binding.
		derived: Hash,
	},
	/// A record is signed by another account than the channel's party.
	#[error("the {0} record is signed by another account than the channel's {0}")]
	Signer(&'static str),
	/// The header is of another block than the anchor's.
	#[error("the header is of block {header}, the anchor says block {anchor}")]
	HeaderNumber {
		/// The header's number.
		header: u32,
		/// `anchor.block`.
		anchor: u32,
	},
	/// A storage entry is not proven.
	#[error("{0}")]
	Storage(#[from] StorageError),
	/// The anchor stored on chain differs from the proof's.
	#[error(
		"the chain stored anchor {index} of the channel with first_seq {}, size {}, root {:?}, \
		 block {}; the proof says otherwise",
		stored.first_seq, stored.log.size, stored.log.root, stored.block
	)]
	AnchorDiffers {
		/// `anchor.index`.
		index: u32,
		/// What the chain stored.
		stored: StoredAnchor,
	},
	/// The block is not proven final.
	#[error("{0}")]
	Finality(#[from] FinalityError),
}

impl ProofV2 {
	/// The anchor block's hash.
	pub fn block_hash(&self) -> Hash {
		self.chain.header.hash()
	}

	/// Check the proof for `digest` against the chain `trust` names: the bundle (records signed
	/// for its genesis, inclusion under the anchored root); the chain's evidence for the anchor
	/// ([`ChainEvidence::verify`]); the records signed by the channel's parties.
	pub fn verify(&self, trust: &TrustRoot, digest: &Hash) -> Result<Proven, CheckError> {
		let item = self.item.verify(&trust.genesis, digest)?;
		let anchored = self.chain.verify(trust, &self.item.anchor)?;
		let binding = &self.chain.channel;
		if let Some(r) = &self.item.verifier_record {
			if account_of(&r.verifier) != binding.verifier {
				return Err(CheckError::Signer("verifier"));
			}
		}
		if let Some(r) = &self.item.requester_record {
			if account_of(&r.requester) != binding.requester {
				return Err(CheckError::Signer("requester"));
			}
		}
		Ok(Proven {
			item,
			requester: binding.requester.clone(),
			verifier: binding.verifier.clone(),
			block_hash: anchored.block_hash,
			block_time_ms: anchored.block_time_ms,
			finalized: anchored.finalized,
		})
	}
}

/// What a [`ChainEvidence`] proves of its anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchored {
	/// The anchor block's hash.
	pub block_hash: Hash,
	/// Its time (unix ms), from its state.
	pub block_time_ms: u64,
	/// Its finality.
	pub finalized: Finalized,
}

impl ChainEvidence {
	/// Check that the chain `trust` names stored `anchor` in a final block: the channel id
	/// derived from the parties and open nonce; the header of the anchor's block; the anchor
	/// and block time read from its state; the header final by GRANDPA from the genesis set.
	pub fn verify(&self, trust: &TrustRoot, anchor: &Anchor) -> Result<Anchored, CheckError> {
		let binding = &self.channel;
		let derived =
			channel_id(&trust.genesis, &binding.requester, &binding.verifier, binding.open_nonce);
		if derived != anchor.channel_id {
			return Err(CheckError::Channel { anchor: anchor.channel_id, derived });
		}
		let header = &self.header;
		if header.number != anchor.block {
			return Err(CheckError::HeaderNumber { header: header.number, anchor: anchor.block });
		}
		let root = header.state_root;
		let proof = &self.storage_proof;
		let stored: StoredAnchor = storage::read(
			&root,
			proof,
			&storage::anchor_key(&anchor.channel_id, anchor.index),
			"anchor",
		)?;
		let claimed =
			StoredAnchor { first_seq: anchor.first_seq, log: anchor.log, block: anchor.block };
		if stored != claimed {
			return Err(CheckError::AnchorDiffers { index: anchor.index, stored });
		}
		let block_time_ms: u64 =
			storage::read(&root, proof, &storage::timestamp_key(), "block time")?;
		let finalized = match &self.finality {
			Some(f) => {
				let set = f.verify(&trust.genesis_set(), header)?;
				Finalized::Grandpa {
					set_id: set.set_id,
					justified: f.justification.commit.target_number,
				}
			},
			None => Finalized::NotProven,
		};
		Ok(Anchored { block_hash: header.hash(), block_time_ms, finalized })
	}
}
