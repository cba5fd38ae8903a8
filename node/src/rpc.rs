//! JSON-RPC methods the node adds to the standard set: account nonces, fee queries, GRANDPA's
//! own methods (`grandpa_roundState`, `grandpa_subscribeJustifications`,
//! `grandpa_proveFinality`), `attest_proveFinality` (a block's GRANDPA finality from
//! genesis, for proofs that stand alone: `docs/proof-format.md`) and
//! `attest_genesisAuthorities` (the genesis GRANDPA authority list, SCALE, read from the
//! chain spec: the genesis state itself is pruned after 256 blocks).

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
	/// The genesis block's `Grandpa::Authorities` value (SCALE), from the chain spec.
	pub genesis_authorities: Option<Vec<u8>>,
}

/// Most headers `attest_proveFinality` puts between a block and the block its justification
/// is of: two GRANDPA justification periods.
const MAX_DESCENDANTS: BlockNumber = 2 * crate::service::GRANDPA_JUSTIFICATION_PERIOD;

/// What `attest_proveFinality` and the `grandpa_*` methods read.
#[derive(Clone)]
pub struct Finality {
	/// The node's database.
	pub backend: Arc<crate::service::FullBackend>,
	/// GRANDPA's authority sets and the blocks where they changed.
	pub authority_set: sc_consensus_grandpa::SharedAuthoritySet<Hash, BlockNumber>,
	/// The voter's rounds (`grandpa_roundState`).
	pub voter_state: sc_consensus_grandpa::SharedVoterState,
	/// Justifications as the node imports or makes them (`grandpa_subscribeJustifications`).
	pub justifications: sc_consensus_grandpa::GrandpaJustificationStream<Block>,
}

impl Finality {
	/// The finality of `block` from genesis (SCALE of `attest_finality::FinalityProof`), or
	/// `None` when no justification covers it yet (it is not final, or no justification was
	/// stored since it was finalized: asking again after the next round answers).
	fn prove(&self, block: Hash) -> Result<Option<Vec<u8>>, String> {
		use sc_client_api::Backend as _;
		use sp_blockchain::{Backend as _, HeaderBackend as _};

		let chain = self.backend.blockchain();
		let err = |e: sp_blockchain::Error| e.to_string();
		let number = chain
			.number(block)
			.map_err(err)?
			.ok_or_else(|| format!("block {block:?} is not known to this node"))?;
		if number == 0 || number > chain.info().finalized_number {
			return Ok(None);
		}
		if chain.hash(number).map_err(err)? != Some(block) {
			return Err(format!("block {block:?} is not in the finalized chain"));
		}
		// The blocks where an authority set ended (each stores its justification).
		let changes = self.authority_set.authority_set_changes();
		let ended: Vec<BlockNumber> = changes
			.iter_from(0)
			.ok_or("this node lacks GRANDPA's authority-set history (it warp-synced)")?
			.map(|(_, last)| *last)
			.collect();
		// The justification stored with block `n`, if any (GRANDPA stores one at each set
		// change and every GRANDPA_JUSTIFICATION_PERIOD blocks).
		let stored =
			|n: BlockNumber| -> Result<Option<attest_finality::grandpa::Justification>, String> {
				let Some(hash) = chain.hash(n).map_err(err)? else { return Ok(None) };
				let Some(bytes) = chain
					.justifications(hash)
					.map_err(err)?
					.and_then(|j| j.into_justification(sp_consensus_grandpa::GRANDPA_ENGINE_ID))
				else {
					return Ok(None);
				};
				attest_finality::grandpa::Justification::decode_all(&mut &bytes[..])
					.map(Some)
					.map_err(|e| format!("the justification of block {n} does not decode: {e}"))
			};
		let required = |n: BlockNumber| {
			stored(n)?.ok_or(format!("the justification of set-change block {n} is missing"))
		};
		// The first justification at or after the block, at most MAX_DESCENDANTS blocks on (so
		// that a proof of an old block is not a million headers): a stored one, else GRANDPA's
		// latest.
		let limit = number.saturating_add(MAX_DESCENDANTS).min(chain.info().finalized_number);
		let mut found = None;
		for n in number..=limit {
			if let Some(j) = stored(n)? {
				found = Some(j);
				break;
			}
		}
		let justification = match found {
			Some(j) => j,
			None => match sc_consensus_grandpa::best_justification::<_, Block>(&*self.backend)
				.map_err(err)?
			{
				Some(j) if (number..=limit).contains(&j.justification.commit.target_number) => {
					j.justification
				},
				Some(j) if j.justification.commit.target_number > limit => {
					return Err(format!(
						"no justification is stored within {MAX_DESCENDANTS} blocks after block \
						 {number} (GRANDPA stores one every {} blocks; this node may have synced \
						 without them)",
						crate::service::GRANDPA_JUSTIFICATION_PERIOD
					))
				},
				_ => return Ok(None),
			},
		};
		let justified = justification.commit.target_number;
		let header = |n: BlockNumber| -> Result<attest_runtime::Header, String> {
			let hash = chain.hash(n).map_err(err)?.ok_or(format!("block {n} is missing"))?;
			chain.header(hash).map_err(err)?.ok_or(format!("header {n} is missing"))
		};
		let descendants = (number + 1..=justified).map(header).collect::<Result<Vec<_>, _>>()?;
		let set_changes = ended
			.iter()
			.filter(|last| **last < justified)
			.map(|last| {
				Ok(attest_finality::SetChange {
					header: header(*last)?,
					justification: required(*last)?,
				})
			})
			.collect::<Result<Vec<_>, String>>()?;
		Ok(Some(
			attest_finality::FinalityProof { set_changes, descendants, justification }.encode(),
		))
	}
}

/// Build the node's RPC extensions.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
	subscriptions: sc_rpc::SubscriptionTaskExecutor,
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
	let FullDeps { client, pool, finality, genesis_authorities } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	if let Some(f) = &finality {
		use sc_consensus_grandpa_rpc::{Grandpa, GrandpaApiServer};
		let proofs = sc_consensus_grandpa::FinalityProofProvider::new_for_service(
			f.backend.clone(),
			Some(f.authority_set.clone()),
		);
		module.merge(
			Grandpa::new(
				subscriptions,
				f.authority_set.clone(),
				f.voter_state.clone(),
				f.justifications.clone(),
				proofs,
			)
			.into_rpc(),
		)?;
	}
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
	let mut genesis = RpcModule::new(genesis_authorities);
	genesis.register_method("attest_genesisAuthorities", |_, authorities, _| {
		authorities.clone().map(sp_core::Bytes).ok_or_else(|| {
			ErrorObject::owned(
				3,
				"this node's chain spec has no GRANDPA authorities in its genesis",
				None::<()>,
			)
		})
	})?;
	module.merge(genesis)?;
	Ok(module)
}
