//! JSON-RPC methods the node adds to the standard set: account nonces, fee queries and
//! `attest_proveFinality` (a block's GRANDPA finality from genesis, for proofs that stand
//! alone: `docs/proof-format.md`).

use std::sync::Arc;

use attest_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Hash, Nonce};
use codec::{DecodeAll as _, Encode as _};
use jsonrpsee::{types::ErrorObject, RpcModule};
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};

/// What the RPC extensions need.
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// The database and GRANDPA's authority sets, on a chain that finalizes with GRANDPA.
	pub finality: Option<Finality>,
}

/// What `attest_proveFinality` reads.
#[derive(Clone)]
pub struct Finality {
	/// The node's database.
	pub backend: Arc<crate::service::FullBackend>,
	/// GRANDPA's authority sets and the blocks where they changed.
	pub authority_set: sc_consensus_grandpa::SharedAuthoritySet<Hash, BlockNumber>,
}

impl Finality {
	/// The finality of `block` from genesis (SCALE of `attest_finality::FinalityProof`), or
	/// `None` when no justification covers it yet (it is not final, or no justification was
	/// stored since it was finalized: asking again after the next round answers).
	fn prove(&self, block: Hash) -> Result<Option<Vec<u8>>, String> {
		use sc_client_api::Backend as _;
		use sc_network_sync::strategy::warp::WarpSyncProvider as _;
		use sp_blockchain::HeaderBackend as _;
		use sp_runtime::traits::Header as _;

		let chain = self.backend.blockchain();
		let info = chain.info();
		let number = chain
			.number(block)
			.map_err(|e| e.to_string())?
			.ok_or_else(|| format!("block {block:?} is not known to this node"))?;
		if number > info.finalized_number {
			return Ok(None);
		}
		if chain.hash(number).map_err(|e| e.to_string())? != Some(block) {
			return Err(format!("block {block:?} is not in the finalized chain"));
		}
		let provider = sc_consensus_grandpa::FinalityProofProvider::new(
			self.backend.clone(),
			Some(self.authority_set.clone()),
		);
		let Some(proof) = provider.prove_finality_proof(number, true).map_err(|e| e.to_string())?
		else {
			return Ok(None);
		};
		let justification =
			attest_finality::grandpa::Justification::decode_all(&mut &proof.justification[..])
				.map_err(|e| format!("a stored justification does not decode: {e}"))?;
		let justified = justification.commit.target_number;
		// The set changes since genesis that come before the justified block: what warp sync
		// serves, with its closing "latest justification" left out.
		let warp = sc_consensus_grandpa::warp_proof::NetworkProvider::new(
			self.backend.clone(),
			self.authority_set.clone(),
			Vec::new(),
		)
		.generate(info.genesis_hash)
		.map_err(|e| e.to_string())?;
		let (fragments, _finished) =
			<(Vec<attest_finality::SetChange>, bool)>::decode_all(&mut &warp.0[..])
				.map_err(|e| format!("the warp proof does not decode: {e}"))?;
		let mut set_changes = Vec::new();
		for f in fragments {
			if *f.header.number() >= justified {
				break;
			}
			if attest_finality::grandpa::scheduled_change(&f.header).ok().flatten().is_some() {
				set_changes.push(f);
			}
		}
		Ok(Some(
			attest_finality::FinalityProof {
				set_changes,
				descendants: proof.unknown_headers,
				justification,
			}
			.encode(),
		))
	}
}

/// Build the node's RPC extensions.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>,
	C: HeaderBackend<Block> + HeaderMetadata<Block, Error = BlockChainError> + 'static,
	C: Send + Sync + 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, finality } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	let mut attest = RpcModule::new(finality);
	attest.register_blocking_method("attest_proveFinality", |params, finality, _| {
		let block: Hash = params.one()?;
		let Some(finality) = finality.as_ref() else {
			return Err(ErrorObject::owned(
				1,
				"this chain has no GRANDPA finality (its blocks are sealed by hand)",
				None::<()>,
			));
		};
		finality
			.prove(block)
			.map(|p| p.map(sp_core::Bytes))
			.map_err(|e| ErrorObject::owned(2, e, None::<()>))
	})?;
	module.merge(attest)?;
	Ok(module)
}
