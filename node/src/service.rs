//! Node service: Aura + GRANDPA for real networks, manual seal for fast single-node tests.

use crate::cli::Sealing;
use attest_runtime::{apis::RuntimeApi, opaque::Block};
use futures::{FutureExt, StreamExt};
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_consensus_manual_seal::consensus::aura::AuraConsensusDataProvider;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_consensus_aura::sr25519::{AuthorityId as AuraId, AuthorityPair as AuraPair};
use sp_runtime::traits::Block as BlockT;
use std::{sync::Arc, time::Duration};

pub(crate) type FullClient = sc_service::TFullClient<
	Block,
	RuntimeApi,
	sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
/// The node's database.
pub type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
type GrandpaLink = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// Blocks between two GRANDPA justifications that are stored and served.
pub(crate) const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// What block production needs besides the common components. Built once per node start, so
/// the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Consensus {
	/// Aura authoring through the GRANDPA block import.
	Aura { block_import: GrandpaBlockImport, link: GrandpaLink },
	/// Manual seal imports straight into the client; a block every `interval_ms`, or one per
	/// transaction when `None`.
	ManualSeal { interval_ms: Option<u64> },
}

pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(Consensus, Option<Telemetry>),
>;

/// Inherent data of a manually sealed block: a timestamp that lands in a fresh Aura slot.
///
/// Manual seal may produce several blocks per 6 s slot, but the runtime's Aura pallet requires
/// every block to be in a later slot than its parent. So the timestamp is the wall clock or,
/// when that is not later, the start of the slot after the parent's: chain time then runs
/// ahead of the wall clock on fast dev chains, which is harmless there (deadlines on chain are
/// in blocks).
fn manual_seal_timestamp(
	client: &FullClient,
	parent: <Block as BlockT>::Hash,
	slot_duration: sp_consensus_aura::SlotDuration,
) -> sp_timestamp::InherentDataProvider {
	let parent_slot = client
		.header(parent)
		.ok()
		.flatten()
		.and_then(|h| {
			sc_consensus_aura::find_pre_digest::<
				Block,
				sp_consensus_aura::sr25519::AuthoritySignature,
			>(&h)
			.ok()
		})
		.map(u64::from)
		.unwrap_or(0);
	let next_slot_start = parent_slot.saturating_add(1).saturating_mul(slot_duration.as_millis());
	let now = sp_timestamp::Timestamp::current().as_millis();
	sp_timestamp::InherentDataProvider::new(now.max(next_slot_start).into())
}

pub fn new_partial(config: &Configuration, sealing: Sealing) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (import_queue, consensus) = match sealing {
		Sealing::Aura => {
			let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
				client.clone(),
				GRANDPA_JUSTIFICATION_PERIOD,
				&client,
				select_chain.clone(),
				telemetry.as_ref().map(|x| x.handle()),
			)?;
			let cidp_client = client.clone();
			let import_queue = sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(
				ImportQueueParams {
					block_import: grandpa_block_import.clone(),
					justification_import: Some(Box::new(grandpa_block_import.clone())),
					client: client.clone(),
					create_inherent_data_providers: move |parent_hash, _| {
						let cidp_client = cidp_client.clone();
						async move {
							let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
								&*cidp_client,
								parent_hash,
							)?;
							let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
							let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
								*timestamp,
								slot_duration,
							);
							Ok((slot, timestamp))
						}
					},
					spawner: &task_manager.spawn_essential_handle(),
					registry: config.prometheus_registry(),
					check_for_equivocation: Default::default(),
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					compatibility_mode: Default::default(),
				},
			)?;
			(
				import_queue,
				Consensus::Aura { block_import: grandpa_block_import, link: grandpa_link },
			)
		},
		Sealing::Instant | Sealing::Interval(_) => (
			sc_consensus_manual_seal::import_queue(
				Box::new(client.clone()),
				&task_manager.spawn_essential_handle(),
				config.prometheus_registry(),
			),
			Consensus::ManualSeal {
				interval_ms: if let Sealing::Interval(ms) = sealing { Some(ms) } else { None },
			},
		),
	};

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (consensus, telemetry),
	})
}

/// Build and start a full node.
pub fn new_full<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	sealing: Sealing,
	attestation_server: Option<String>,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (consensus, mut telemetry),
	} = new_partial(&config, sealing)?;

	// Where the off-chain worker relays anchors (read by pallet_attestation::relay).
	if let Some(mut storage) = backend.offchain_storage() {
		use sp_core::offchain::{OffchainStorage, STORAGE_PREFIX};
		let key = pallet_attestation::relay::SERVER_URL_KEY;
		match &attestation_server {
			Some(url) => {
				storage.set(STORAGE_PREFIX, key, url.as_bytes());
				log::info!("Relaying anchors to the attestation server at {url}");
			},
			None => storage.remove(STORAGE_PREFIX, key),
		}
	}

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());
	let peer_store_handle = net_config.peer_store_handle();

	let genesis_hash = client
		.block_hash(0)
		.ok()
		.flatten()
		.ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
	let grandpa_protocol_name =
		sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);

	let (grandpa_notification_service, warp_sync_config) = match &consensus {
		Consensus::Aura { link, .. } => {
			let (grandpa_protocol_config, grandpa_notification_service) =
				sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
					grandpa_protocol_name.clone(),
					metrics.clone(),
					peer_store_handle,
				);
			net_config.add_notification_protocol(grandpa_protocol_config);
			let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
				backend.clone(),
				link.shared_authority_set().clone(),
				Vec::default(),
			));
			(Some(grandpa_notification_service), Some(WarpSyncConfig::WithProvider(warp_sync)))
		},
		Consensus::ManualSeal { .. } => (None, None),
	};

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	// Shared by the GRANDPA voter and the `grandpa_roundState` RPC.
	let voter_state = SharedVoterState::empty();
	// The genesis GRANDPA authorities, from the chain spec: a pruning node discards the
	// genesis block's state after 256 blocks, and clients need them to check proofs.
	let genesis_authorities = {
		let key = attest_finality::storage::grandpa_authorities_key();
		match config.chain_spec.as_storage_builder().build_storage() {
			Ok(storage) => storage.top.get(&key).cloned(),
			Err(e) => {
				log::warn!("genesis GRANDPA authorities not read from the chain spec: {e}");
				None
			},
		}
	};
	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		let finality = match &consensus {
			Consensus::Aura { link, .. } => Some(crate::rpc::Finality {
				backend: backend.clone(),
				authority_set: link.shared_authority_set().clone(),
				voter_state: voter_state.clone(),
				justifications: link.justification_stream(),
			}),
			Consensus::ManualSeal { .. } => None,
		};
		Box::new(move |subscriptions| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				finality: finality.clone(),
				genesis_authorities: genesis_authorities.clone(),
			};
			crate::rpc::create_full(deps, subscriptions).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	let proposer_factory = sc_basic_authorship::ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		telemetry.as_ref().map(|x| x.handle()),
	);
	let slot_duration = sc_consensus_aura::slot_duration::<AuraId, _, _>(&*client)?;

	match consensus {
		Consensus::ManualSeal { interval_ms } => {
			let cidp_client = client.clone();
			let create_inherent_data_providers = move |parent: <Block as BlockT>::Hash, ()| {
				let timestamp = manual_seal_timestamp(&cidp_client, parent, slot_duration);
				async move { Ok(timestamp) }
			};
			let consensus_data_provider: Option<
				Box<dyn sc_consensus_manual_seal::ConsensusDataProvider<Block>>,
			> = Some(Box::new(AuraConsensusDataProvider::new_with_slot_duration(slot_duration)));
			match interval_ms {
				None => {
					let params = sc_consensus_manual_seal::InstantSealParams {
						block_import: client.clone(),
						env: proposer_factory,
						client,
						pool: transaction_pool,
						select_chain,
						consensus_data_provider,
						create_inherent_data_providers,
					};
					task_manager.spawn_essential_handle().spawn_blocking(
						"instant-seal",
						None,
						sc_consensus_manual_seal::run_instant_seal_and_finalize(params),
					);
				},
				Some(ms) => {
					let mut ticks = tokio::time::interval(Duration::from_millis(ms));
					ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
					let commands_stream = futures::stream::unfold(ticks, |mut ticks| async move {
						ticks.tick().await;
						Some((
							sc_consensus_manual_seal::EngineCommand::SealNewBlock {
								create_empty: true,
								finalize: true,
								parent_hash: None,
								sender: None,
							},
							ticks,
						))
					})
					.boxed();
					let params = sc_consensus_manual_seal::ManualSealParams {
						block_import: client.clone(),
						env: proposer_factory,
						client,
						pool: transaction_pool,
						commands_stream,
						select_chain,
						consensus_data_provider,
						create_inherent_data_providers,
					};
					task_manager.spawn_essential_handle().spawn_blocking(
						"manual-seal",
						None,
						sc_consensus_manual_seal::run_manual_seal(params),
					);
				},
			}
		},
		Consensus::Aura { block_import, link } => {
			if role.is_authority() {
				let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
					StartAuraParams {
						slot_duration,
						client,
						select_chain,
						block_import,
						proposer_factory,
						create_inherent_data_providers: move |_, ()| async move {
							let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
							let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
								*timestamp,
								slot_duration,
							);
							Ok((slot, timestamp))
						},
						force_authoring,
						backoff_authoring_blocks: Option::<()>::None,
						keystore: keystore_container.keystore(),
						sync_oracle: sync_service.clone(),
						justification_sync_link: sync_service.clone(),
						block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
						max_block_proposal_slot_portion: None,
						telemetry: telemetry.as_ref().map(|x| x.handle()),
						compatibility_mode: Default::default(),
					},
				)?;
				// Authoring is essential: if it fails, the node stops.
				task_manager.spawn_essential_handle().spawn_blocking(
					"aura",
					Some("block-authoring"),
					aura,
				);
			}

			if enable_grandpa {
				let keystore =
					if role.is_authority() { Some(keystore_container.keystore()) } else { None };
				let grandpa_config = sc_consensus_grandpa::Config {
					gossip_duration: Duration::from_millis(333),
					justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
					name: Some(name),
					observer_enabled: false,
					keystore,
					local_role: role,
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					protocol_name: grandpa_protocol_name,
				};
				let notification_service = grandpa_notification_service.ok_or_else(|| {
					ServiceError::Other("GRANDPA notification protocol was not registered".into())
				})?;
				let grandpa_params = sc_consensus_grandpa::GrandpaParams {
					config: grandpa_config,
					link,
					network,
					sync: sync_service,
					notification_service,
					voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
					prometheus_registry,
					shared_voter_state: voter_state,
					telemetry: telemetry.as_ref().map(|x| x.handle()),
					offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
				};
				// The voter is essential: if it fails, the node stops.
				task_manager.spawn_essential_handle().spawn_blocking(
					"grandpa-voter",
					None,
					sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
				);
			}
		},
	}

	Ok(task_manager)
}
