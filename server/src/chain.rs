//! What the server asks the chain, over JSON-RPC (`subxt`'s RPC client): the genesis hash,
//! a channel's parties, and anchors in finalized storage. Storage keys are built from the
//! pallet's storage layout (documented in `docs/pallet.md`); values are SCALE-decoded.

use crate::store::Parties;
use attest_primitives::{channel::ChannelId, Anchor, Hash, LogHead};
use codec::Decode;
use subxt::{
	config::{PolkadotConfig, RpcConfigFor},
	rpcs::{LegacyRpcMethods, RpcClient},
};

type Methods = LegacyRpcMethods<RpcConfigFor<PolkadotConfig>>;

/// A chain query failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// The node could not be reached or answered with an error.
	#[error("chain RPC at {url}: {source}")]
	Rpc {
		/// Node URL.
		url: String,
		/// What failed.
		source: subxt::rpcs::Error,
	},
	/// The node answered with bytes that do not decode as expected.
	#[error("chain RPC at {url}: unexpected {what}")]
	Decode {
		/// Node URL.
		url: String,
		/// What did not decode.
		what: &'static str,
	},
}

/// The pallet's storage prefix `twox128(pallet) ++ twox128(item)`.
fn prefix(item: &str) -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_128(b"Attestation").to_vec();
	key.extend_from_slice(&sp_crypto_hashing::twox_128(item.as_bytes()));
	key
}

/// Key of `Attestation::Channels(channel_id)` (hasher `Identity`).
pub fn channel_key(channel_id: &ChannelId) -> Vec<u8> {
	let mut key = prefix("Channels");
	key.extend_from_slice(&channel_id.0);
	key
}

/// Key of `Attestation::Anchors(channel_id, index)` (hashers `Identity`, `Twox64Concat`).
pub fn anchor_key(channel_id: &ChannelId, index: u32) -> Vec<u8> {
	let mut key = prefix("Anchors");
	key.extend_from_slice(&channel_id.0);
	let index = index.to_le_bytes();
	key.extend_from_slice(&sp_crypto_hashing::twox_64(&index));
	key.extend_from_slice(&index);
	key
}

/// The pallet's `AnchorInfo`.
#[derive(Decode)]
struct AnchorInfo {
	first_seq: u64,
	log: LogHead,
	block: u32,
}

/// A connection to a node.
#[derive(Clone)]
pub struct Chain {
	url: String,
	rpc: Methods,
	genesis: Hash,
}

impl Chain {
	/// Connect to the node at `url` (`ws://` or `wss://`) and read the genesis hash.
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		let err = |source| ChainError::Rpc { url: url.to_string(), source };
		let client = RpcClient::from_insecure_url(url).await.map_err(err)?;
		let rpc = Methods::new(client);
		let genesis =
			rpc.chain_get_block_hash(Some(0u32.into())).await.map_err(err)?.ok_or(
				ChainError::Decode { url: url.to_string(), what: "missing genesis block" },
			)?;
		Ok(Chain { url: url.to_string(), rpc, genesis: Hash(genesis.0) })
	}

	/// Genesis hash of the chain (part of every signing payload).
	pub fn genesis(&self) -> Hash {
		self.genesis
	}

	fn rpc_err(&self, source: subxt::rpcs::Error) -> ChainError {
		ChainError::Rpc { url: self.url.clone(), source }
	}

	/// The parties of an open or closing channel at the best block, `None` if the chain
	/// holds no such channel.
	pub async fn channel(&self, channel_id: &ChannelId) -> Result<Option<Parties>, ChainError> {
		let data = self
			.rpc
			.state_get_storage(&channel_key(channel_id), None)
			.await
			.map_err(|e| self.rpc_err(e))?;
		let Some(data) = data else { return Ok(None) };
		// `Channel` starts with `requester: AccountId32, verifier: AccountId32`.
		let (requester, verifier) = <([u8; 32], [u8; 32])>::decode(&mut &data[..])
			.map_err(|_| ChainError::Decode { url: self.url.clone(), what: "Channels value" })?;
		Ok(Some(Parties { requester, verifier }))
	}

	/// Number of the latest finalized block (a liveness check of the node).
	pub async fn finalized_number(&self) -> Result<u64, ChainError> {
		let head = self.rpc.chain_get_finalized_head().await.map_err(|e| self.rpc_err(e))?;
		let header = self
			.rpc
			.chain_get_header(Some(head))
			.await
			.map_err(|e| self.rpc_err(e))?
			.ok_or(ChainError::Decode {
				url: self.url.clone(),
				what: "missing finalized header",
			})?;
		Ok(header.number)
	}

	/// Anchor `index` of `channel_id` as stored at the latest finalized block.
	pub async fn finalized_anchor(
		&self,
		channel_id: &ChannelId,
		index: u32,
	) -> Result<Option<Anchor>, ChainError> {
		let head = self.rpc.chain_get_finalized_head().await.map_err(|e| self.rpc_err(e))?;
		let data = self
			.rpc
			.state_get_storage(&anchor_key(channel_id, index), Some(head))
			.await
			.map_err(|e| self.rpc_err(e))?;
		let Some(data) = data else { return Ok(None) };
		let info = AnchorInfo::decode(&mut &data[..])
			.map_err(|_| ChainError::Decode { url: self.url.clone(), what: "Anchors value" })?;
		Ok(Some(Anchor {
			channel_id: *channel_id,
			index,
			first_seq: info.first_seq,
			log: info.log,
			block: info.block,
		}))
	}
}
