//! Command-line interface of attest-node.

use sc_cli::RunCmd;

/// Block production for single-node development and test chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
	/// Aura slots (6 s) and GRANDPA finality: what a real network runs. The default.
	Aura,
	/// Manual seal: one block every this many milliseconds, each finalized at once.
	Interval(u64),
	/// Manual seal: one block as soon as a transaction arrives, finalized at once.
	Instant,
}

impl std::str::FromStr for Sealing {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"aura" => Ok(Sealing::Aura),
			"instant" => Ok(Sealing::Instant),
			ms => match ms.parse::<u64>() {
				Ok(ms) if ms >= 50 => Ok(Sealing::Interval(ms)),
				Ok(_) => Err("a sealing interval must be at least 50 ms".into()),
				Err(_) => Err(format!(
					"invalid sealing mode `{s}`: expected `aura`, `instant` or an interval in \
					 milliseconds such as `500`"
				)),
			},
		}
	}
}

#[derive(Debug, clap::Parser)]
#[command(
	propagate_version = true,
	args_conflicts_with_subcommands = true,
	subcommand_negates_reqs = true
)]
pub struct Cli {
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	#[clap(flatten)]
	pub run: RunCmd,

	/// How blocks are produced: `aura` (default; 6 s slots, GRANDPA finality), `instant`
	/// (a block per transaction) or an interval in milliseconds such as `500` (a block every
	/// interval). `instant` and intervals use manual seal, finalize each block at once and are
	/// meant for a single-node `--dev` chain in tests; they cannot form a network.
	#[arg(long, value_name = "MODE", default_value = "aura")]
	pub sealing: Sealing,

	/// Base URL of an attestation server (`http://host:port`) to which this node's off-chain
	/// worker relays every new anchor. Without it the relay is off (the server then finds
	/// anchors by polling chain storage). Off-chain workers run when the node authors
	/// blocks, or always with `--offchain-worker always`.
	#[arg(long, value_name = "URL", env = "ATTEST_SERVER_URL", value_parser = parse_server_url)]
	pub attestation_server: Option<String>,
}

fn parse_server_url(s: &str) -> Result<String, String> {
	let rest = s
		.strip_prefix("http://")
		.or_else(|| s.strip_prefix("https://"))
		.ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
	if rest.is_empty() || rest.starts_with('/') {
		return Err(format!("{s:?} has no host"));
	}
	Ok(s.trim_end_matches('/').to_string())
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect, insert keys.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Export the chain specification of `--chain` as JSON.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Runtime benchmarks (build with `--features runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
