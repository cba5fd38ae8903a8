//! The proof bundle of one attested item (`AttestationProof`, `docs/server.md` and
//! `docs/proof-format.md`) and its check.

use crate::{
	channel::{FirstRecord, SecondRecord, Seq},
	merkle::InclusionProof,
	signing::SigningError,
	Anchor, Hash, MerkleError,
};
use codec::{Decode, Encode};
use sp_runtime::AccountId32;

/// A complete proof of one item (SCALE: the fields in this order).
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct AttestationProof {
	/// The anchor on chain (to be compared with finalized storage: [`AttestationProof::check_anchor`]).
	pub anchor: Anchor,
	/// Inclusion of the item's digest under `anchor.log.root`: `PATH(seq, D[anchor.log.size])`,
	/// the leaf index is the item's `seq`.
	pub proof: InclusionProof,
	/// The verifier's signed record of the item, if the server has one claiming this digest
	/// (both parties signed the anchored log; the records add who and when).
	#[cfg_attr(feature = "std", serde(rename = "firstRecord"))]
	pub verifier_record: Option<FirstRecord>,
	/// The requester's signed record, data as a blob reference, if the server has one
	/// claiming this digest.
	#[cfg_attr(feature = "std", serde(rename = "secondRecord"))]
	pub requester_record: Option<SecondRecord>,
}

/// What a checked proof establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenItem {
	/// SHA-256 of the item's bytes.
	pub digest: Hash,
	/// The item's position in its channel.
	pub seq: Seq,
	/// The anchor whose log holds it.
	pub anchor: Anchor,
	/// The requester, when the proof carries its record.
	pub requester: Option<AccountId32>,
	/// The verifier, when the proof carries its record.
	pub verifier: Option<AccountId32>,
}

/// Why a proof does not prove its item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
	/// A record is for another channel, item or digest than the proof.
	#[error("the {0} record does not claim this item (channel, seq or digest differ)")]
	RecordMismatch(&'static str),
	/// A record's signature does not verify for the chain's genesis hash.
	#[error("the {0} record's signature does not verify: {1}")]
	BadRecordSignature(&'static str, SigningError),
	/// The inclusion proof's position or size is not the item's seq and the anchor's log size.
	#[error("the inclusion proof is for leaf {leaf} of {size}, the item is {seq} of an anchor of {anchored}")]
	WrongPosition {
		/// `proof.leaf_index`.
		leaf: u64,
		/// `proof.tree_size`.
		size: u64,
		/// The item's seq.
		seq: Seq,
		/// `anchor.log.size`.
		anchored: u64,
	},
	/// The item is not new in this anchor (`first_seq <= seq < log.size` fails).
	#[error("item {seq} is not among the items {first}..{end} new in anchor {index}")]
	NotInAnchor {
		/// The item's seq.
		seq: Seq,
		/// `anchor.first_seq`.
		first: Seq,
		/// `anchor.log.size`.
		end: Seq,
		/// `anchor.index`.
		index: u32,
	},
	/// The inclusion proof does not lead to the anchored root.
	#[error("the inclusion proof does not give the anchored root: {0}")]
	Inclusion(MerkleError),
	/// The requester's record points at other data than the item (its data reference is not
	/// signed, so it must be the item's own digest, or bytes that hash to it).
	#[error("the requester's record refers to other data than the item {0:?}")]
	DataMismatch(Hash),
	/// The chain holds no anchor with the proof's index for its channel (in the state asked).
	#[error("the chain holds no anchor {index} of this channel (in its finalized state)")]
	AnchorNotOnChain {
		/// `anchor.index`.
		index: u32,
	},
	/// The chain's anchor with the proof's index differs from the proof's anchor.
	#[error(
		"the chain's anchor {index} of this channel has another {field} than the proof's: the \
		 proof (or the node asked) is not the chain's"
	)]
	AnchorDiffers {
		/// `anchor.index`.
		index: u32,
		/// The first field that differs: `root`, `size`, `first_seq`, `block` or `channel`.
		field: &'static str,
	},
}

impl AttestationProof {
	/// The item's seq: the inclusion proof's leaf index.
	pub fn seq(&self) -> Seq {
		self.proof.leaf_index
	}

	/// Check everything but the chain: the records claim `digest` at the proof's position in
	/// the anchor's channel and their signatures verify for `genesis`; the leaf index is the
	/// item's seq, the tree size the anchor's log size, and the item new in the anchor; the
	/// inclusion proof gives `anchor.log.root`. Then compare the anchor with the chain's
	/// ([`AttestationProof::check_anchor`]).
	pub fn verify(&self, genesis: &Hash, digest: &Hash) -> Result<ProvenItem, ProofError> {
		let seq = self.seq();
		let anchor = &self.anchor;
		let claims = |channel: &Hash, c: &crate::ItemClaim| {
			*channel == anchor.channel_id && c.seq == seq && c.digest == *digest
		};
		if let Some(r) = &self.verifier_record {
			if !claims(&r.channel_id, &r.claim) {
				return Err(ProofError::RecordMismatch("verifier's"));
			}
			r.verify(genesis).map_err(|e| ProofError::BadRecordSignature("verifier's", e))?;
		}
		if let Some(r) = &self.requester_record {
			if !claims(&r.channel_id, &r.claim) {
				return Err(ProofError::RecordMismatch("requester's"));
			}
			r.verify(genesis)
				.map_err(|e| ProofError::BadRecordSignature("requester's", e))?;
			let data_ok = match &r.data {
				crate::DataRef::Blob(d) => d == digest,
				crate::DataRef::Inline(bytes) => crate::sha256(bytes) == *digest,
			};
			if !data_ok {
				return Err(ProofError::DataMismatch(*digest));
			}
		}
		if self.proof.tree_size != anchor.log.size {
			return Err(ProofError::WrongPosition {
				leaf: self.proof.leaf_index,
				size: self.proof.tree_size,
				seq,
				anchored: anchor.log.size,
			});
		}
		if seq < anchor.first_seq || seq >= anchor.log.size {
			return Err(ProofError::NotInAnchor {
				seq,
				first: anchor.first_seq,
				end: anchor.log.size,
				index: anchor.index,
			});
		}
		self.proof
			.verify_digest(digest, &anchor.log.root)
			.map_err(ProofError::Inclusion)?;
		Ok(ProvenItem {
			digest: *digest,
			seq,
			anchor: *anchor,
			requester: self
				.requester_record
				.as_ref()
				.map(|r| crate::signing::account_of(&r.requester)),
			verifier: self
				.verifier_record
				.as_ref()
				.map(|r| crate::signing::account_of(&r.verifier)),
		})
	}

	/// The proof's anchor equals `on_chain`, read from the chain's finalized storage
	/// (`Attestation::Anchors(channel_id, index)`); `None` when the chain has none.
	pub fn check_anchor(&self, on_chain: Option<&Anchor>) -> Result<(), ProofError> {
		let index = self.anchor.index;
		let a = on_chain.ok_or(ProofError::AnchorNotOnChain { index })?;
		let p = &self.anchor;
		let field = if a.log.root != p.log.root {
			"root"
		} else if a.log.size != p.log.size {
			"size"
		} else if a.first_seq != p.first_seq {
			"first_seq"
		} else if a.block != p.block {
			"block"
		} else if a.channel_id != p.channel_id || a.index != p.index {
			"channel"
		} else {
			return Ok(());
		};
		Err(ProofError::AnchorDiffers { index, field })
	}

	/// The digest the proof's records claim (the verifier's record's, else the
	/// requester's), if it has a record: what to check when no file is given.
	pub fn claimed_digest(&self) -> Option<Hash> {
		self.verifier_record
			.as_ref()
			.map(|r| r.claim.digest)
			.or(self.requester_record.as_ref().map(|r| r.claim.digest))
	}
}
