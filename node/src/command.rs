//! Subcommands and the `run` entry point.

use crate::{
	chain_spec,
	cli::{Cli, Sealing, Subcommand},
	service,
};
use attest_runtime::opaque::Block;
use sc_cli::SubstrateCli;
use sc_service::{ChainType, PartialComponents};

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Attest Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		// `--help` shows this above the options (sc-cli replaces clap's `after_help`).
		format!(
			"{}\n\nOffchain indexing is always on: the attestation pallet indexes every anchor it \
			 stores so that the off-chain worker relays anchors without scanning blocks \
			 (`--enable-offchain-indexing` is accepted and has no effect). The database is \
			 ParityDB; RocksDB is not compiled in.",
			env!("CARGO_PKG_DESCRIPTION")
		)
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://github.com/attest-chain/attest/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			path => {
				Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
			},
		})
	}
}

/// Parse the command line and run the node or a subcommand.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		},
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config, Sealing::Aura)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } =
					service::new_partial(&config, Sealing::Aura)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		},
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } =
					service::new_partial(&config, Sealing::Aura)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		},
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config, Sealing::Aura)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		},
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config, Sealing::Aura)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		},
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(frame_benchmarking_cli::BenchmarkCmd::Pallet(cmd)))
			if cmd.runtime.is_some() =>
		{
			// `--runtime <wasm>`: the runtime and its genesis presets are all that is needed.
			cmd.run_with_spec::<sp_runtime::traits::HashingFor<Block>, ()>(None)
		},
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use frame_benchmarking_cli::BenchmarkCmd;
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => cmd
					.run_with_spec::<sp_runtime::traits::HashingFor<Block>, ()>(Some(
						config.chain_spec,
					)),
				_ => Err("attest-node supports `benchmark pallet` only; use frame-omni-bencher \
				          for the others"
					.into()),
			})
		},
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let sealing = cli.sealing;
			let server = cli.attestation_server.clone();
			runner.run_node_until_exit(|mut config| async move {
				if sealing != Sealing::Aura
					&& config.chain_spec.chain_type() != ChainType::Development
				{
					return Err(sc_cli::Error::Input(
						"--sealing instant|<ms> only works on a single-node development chain: \
						 add --dev (or use a Development chain spec), or drop --sealing"
							.into(),
					));
				}
				// The attestation pallet writes every anchor with offchain indexing so the
				// off-chain worker can relay it without scanning blocks: always on.
				config.offchain_worker.indexing_enabled = true;
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<
							sc_network::NetworkWorker<
								Block,
								<Block as sp_runtime::traits::Block>::Hash,
							>,
						>(config, sealing, server)
						.map_err(sc_cli::Error::Service)
					},
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(
							config, sealing, server,
						)
						.map_err(sc_cli::Error::Service)
					},
				}
			})
		},
	}
}
