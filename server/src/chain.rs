//! What the server asks the chain: the genesis hash, a channel's parties (best block), and
//! anchors in finalized storage. A thin view of `attest_chain::Chain` (subxt with the runtime's
//! generated types, reconnecting when the node restarts).

use crate::store::Parties;
use attest_primitives::{channel::ChannelId, Anchor, Hash};

pub use attest_chain::ChainError;

/// A connection to a node.
#[derive(Clone)]
pub struct Chain(attest_chain::Chain);

impl Chain {
	/// Connect to the node at `url` (`ws://` or `wss://`).
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		attest_chain::Chain::connect(url).await.map(Chain)
	}

	/// Genesis hash of the chain (part of every signing payload).
	pub fn genesis(&self) -> Hash {
		self.0.genesis()
	}

	/// The parties of an open or closing channel at the best block, `None` if the chain
	/// holds no such channel.
	pub async fn channel(&self, channel_id: &ChannelId) -> Result<Option<Parties>, ChainError> {
		Ok(self
			.0
			.channel(channel_id)
			.await?
			.map(|c| Parties { requester: c.requester.0, verifier: c.verifier.0 }))
	}

	/// Number of the latest finalized block (a liveness check of the node).
	pub async fn finalized_number(&self) -> Result<u64, ChainError> {
		Ok(self.0.finalized().await?.1 as u64)
	}

	/// The chain's evidence for `anchor` (proof format 2) between `parties`: its block's hash
	/// and time and the evidence, checked against the chain's trust root `trust` (genesis
	/// hash and genesis authorities) before it is returned.
	pub async fn anchor_evidence(
		&self,
		anchor: &Anchor,
		parties: &Parties,
		trust: &attest_finality::TrustRoot,
	) -> Result<(Hash, u64, attest_finality::ChainEvidence), attest_chain::EvidenceError> {
		let block_hash = self.0.block_hash(anchor.block).await?.ok_or_else(|| {
			attest_chain::EvidenceError::Decode(
				"block hash",
				format!("block {} is missing", anchor.block),
			)
		})?;
		let evidence = self
			.0
			.anchor_evidence(anchor, block_hash, parties.requester.into(), parties.verifier.into())
			.await?;
		let anchored = evidence.verify(trust, anchor).map_err(|e| {
			attest_chain::EvidenceError::Decode("evidence (it does not check)", e.to_string())
		})?;
		Ok((anchored.block_hash, anchored.block_time_ms, evidence))
	}

	/// The chain's trust root: genesis hash and genesis GRANDPA authorities.
	pub async fn trust_root(&self) -> Result<attest_finality::TrustRoot, ChainError> {
		self.0.trust_root().await
	}

	/// Anchor `index` of `channel_id` as stored at the latest finalized block.
	pub async fn finalized_anchor(
		&self,
		channel_id: &ChannelId,
		index: u32,
	) -> Result<Option<Anchor>, ChainError> {
		Ok(self.0.finalized_anchor(channel_id, index).await?.map(|(a, _)| a))
	}
}
