//! `attest`: attest files on an Attest chain, run a verifier, manage channels, verify files.

use anyhow::{anyhow, bail, Context};
use attest_client::{
	chain::{parse_account, runtime, Chain, Key, UNIT},
	evidence, ops,
	requester::{ItemOutcome, ItemReport, Requester, Settings},
	server_api::Server,
	store::Store,
	verifier,
};
use attest_primitives::{channel::Balance, Hash};
use attest_wire::ProofFile;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

mod demo;

/// Attest ownership of files on an Attest chain: a requester pays a verifier through a
/// payment channel, both sign a record of every item, and the chain anchors a Merkle root.
#[derive(Parser)]
#[command(
	name = "attest",
	version,
	propagate_version = true,
	after_help = "Exit status: 0 done (verify: attested; proof check: valid), 1 not attested, \
	              not the owner (--owner) or an invalid proof, 2 could not do or check it (a \
	              node or server not reachable within --timeout, bad input, a refused call); \
	              the error is one line on stderr naming what failed."
)]
struct Cli {
	#[command(flatten)]
	common: Common,
	#[command(subcommand)]
	command: Command,
}

#[derive(Args, Clone)]
struct Common {
	/// Node JSON-RPC URL.
	#[arg(long, global = true, env = "ATTEST_NODE", default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// Attestation server URL.
	#[arg(long, global = true, env = "ATTEST_SERVER", default_value = "http://127.0.0.1:8080")]
	server: String,
	/// Secret URI of this party's key: a dev name (//Alice), a mnemonic, a 0x seed, or
	/// file:PATH. Read from ATTEST_SURI when not given; never printed.
	#[arg(long, global = true)]
	suri: Option<String>,
	/// This agent's state database (SQLite).
	#[arg(long, global = true, env = "ATTEST_DB", default_value = "attest.db")]
	db: PathBuf,
	/// Print JSON instead of text.
	#[arg(long, global = true)]
	json: bool,
	/// Seconds to wait for the node to answer when connecting, and for the attestation
	/// server to accept a connection, before giving up (exit status 2).
	#[arg(long, global = true, env = "ATTEST_TIMEOUT", default_value_t = 10)]
	timeout: u64,
}

#[derive(Subcommand)]
enum Command {
	/// Attest files and directories (re-running resumes and skips what is attested).
	Submit(SubmitArgs),
	/// Verifier commands.
	#[command(subcommand)]
	Verifier(VerifierCmd),
	/// Payment channel commands.
	#[command(subcommand)]
	Channel(ChannelCmd),
	/// Watchtower: follow the chain for this agent's channels (challenge stale closes,
	/// settle, claim and refund HTLCs).
	Watch {
		/// Seconds between rounds.
		#[arg(long, default_value_t = ops::WATCH_EVERY_SECS)]
		every: u64,
		/// One round, then exit.
		#[arg(long)]
		once: bool,
	},
	/// Check that a file is attested: digest, records, inclusion proof, anchor in finalized
	/// chain storage. Exit status 1 when it is not.
	Verify {
		/// The files.
		#[arg(required = true)]
		files: Vec<PathBuf>,
		/// Exit 1 unless this account (SS58 or 0x hex) is each file's first attester (the
		/// requester of its earliest anchored claim).
		#[arg(long)]
		owner: Option<String>,
		/// Check the server's proofs with the chain's raw chain spec alone (format 2: GRANDPA
		/// finality and the block's state in the proof) instead of a node's storage; no node
		/// is asked.
		#[arg(long, value_name = "SPEC")]
		chain_spec: Option<PathBuf>,
		/// The genesis hash the chain spec must have (with `--chain-spec dev` or `local`, the
		/// built-in chains, it is required: their genesis depends on the runtime build).
		#[arg(long, value_name = "HASH", requires = "chain_spec")]
		genesis: Option<String>,
		/// Seconds to wait for a file that is claimed but not anchored yet (right after
		/// `channel checkpoint`: its anchor is not final); then exit status 2, "could not
		/// check yet", never 1.
		#[arg(long, value_name = "SECS", default_value_t = 60)]
		wait: u64,
	},
	/// Proof bundles.
	#[command(subcommand)]
	Proof(ProofCmd),
	/// The whole system on this machine (what `./x run` starts): a dev node, the attestation
	/// server, a verifier and a requester attesting the sample files; then files dropped into
	/// the inbox folder are attested. Ctrl-C stops everything.
	Demo(demo::DemoArgs),
}

#[derive(Args)]
struct SubmitArgs {
	/// Files and directories.
	#[arg(required = true)]
	paths: Vec<PathBuf>,
	/// Channel (default: the only open channel in the database).
	#[arg(long)]
	channel: Option<String>,
	/// Most items per batch (one bill and one state each).
	#[arg(long, default_value_t = 1000)]
	batch: usize,
	/// Most MiB per batch.
	#[arg(long, default_value_t = 64)]
	batch_mib: u64,
	/// Checkpoint on chain after every N items (0: never).
	#[arg(long, default_value_t = 0)]
	checkpoint_every: u64,
	/// Checkpoint on chain every this many seconds while items are added (0: never).
	#[arg(long, default_value_t = 0)]
	checkpoint_secs: u64,
	/// Seconds between watchtower rounds while submitting (0: none): challenge a close on a
	/// state older than the newest one held, claim or refund HTLCs, settle, as `attest watch`.
	#[arg(long, default_value_t = ops::SUBMIT_WATCH_EVERY_SECS)]
	watch_every: u64,
}

#[derive(Subcommand)]
enum VerifierCmd {
	/// Register this key as a verifier on chain.
	Register {
		/// Public URL of the verifier service.
		#[arg(long)]
		endpoint: String,
		/// Price per item, in plancks (10^-12 ATT).
		#[arg(long)]
		price: Balance,
		/// Shortest challenge period accepted for channels, blocks.
		#[arg(long, default_value_t = 10)]
		min_challenge_period: u32,
	},
	/// Change the registered endpoint, price or minimum challenge period.
	Update {
		/// New endpoint.
		#[arg(long)]
		endpoint: Option<String>,
		/// New price.
		#[arg(long)]
		price: Option<Balance>,
		/// New minimum challenge period.
		#[arg(long)]
		min_challenge_period: Option<u32>,
	},
	/// Run the verifier service (and its watchtower).
	Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
	/// Address to listen on.
	#[arg(long, default_value = "127.0.0.1:8090")]
	listen: String,
	/// Largest item accepted, bytes.
	#[arg(long, default_value_t = 1 << 30)]
	max_item_bytes: u64,
	/// Most items per batch.
	#[arg(long, default_value_t = 10_000)]
	max_batch: u32,
	/// Accepted content types by magic bytes (png, jpeg, gif, pdf, mp4, webm, zip, text,
	/// binary), comma separated; default: any.
	#[arg(long, value_delimiter = ',')]
	types: Vec<String>,
	/// Accept digests the attestation server shows under another requester.
	#[arg(long)]
	allow_claimed: bool,
	/// Policy command: digests on stdin, ATTEST_REQUESTER set; exit 0 accepts.
	#[arg(long)]
	policy_command: Option<String>,
	/// Blocks from a bill to its expiry.
	#[arg(long, default_value_t = 600)]
	bill_expiry: u32,
	/// Seconds between watchtower rounds (0: no watchtower).
	#[arg(long, default_value_t = ops::WATCH_EVERY_SECS)]
	watch_every: u64,
	/// Serve HTTPS with this certificate chain (PEM, leaf first); with --tls-key. Register
	/// the endpoint as https://... Without it the service speaks plain HTTP (for loopback,
	/// or behind a reverse proxy that does TLS).
	#[arg(long, requires = "tls_key", value_name = "PEM")]
	tls_cert: Option<PathBuf>,
	/// The private key of --tls-cert (PEM).
	#[arg(long, requires = "tls_cert", value_name = "PEM")]
	tls_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ChannelCmd {
	/// Open a channel to a verifier.
	Open {
		/// Verifier account (SS58 or 0x hex).
		#[arg(long)]
		verifier: String,
		/// Deposit, in ATT (decimals allowed) or plancks with a `p` suffix.
		#[arg(long)]
		deposit: String,
		/// Challenge period, blocks.
		#[arg(long, default_value_t = 20)]
		challenge_period: u32,
	},
	/// Add funds to a channel.
	Fund {
		/// Channel id.
		channel: String,
		/// Amount, ATT or plancks with `p`.
		amount: String,
	},
	/// Show a channel: newest state both signed, and what the chain holds.
	Status {
		/// Channel id (default: all in the database).
		channel: Option<String>,
	},
	/// Anchor the newest state both signed on chain.
	Checkpoint {
		/// Channel id.
		channel: Option<String>,
	},
	/// Close: agree the final state with the verifier and close cooperatively (also while a
	/// close alone by either party is pending: the final state names it, nobody pays a
	/// penalty), or alone.
	Close {
		/// Channel id.
		channel: Option<String>,
		/// Close alone with the newest state both signed (starts the challenge period). From
		/// then on this agent signs nothing for the channel but the final state naming this
		/// close.
		#[arg(long)]
		unilateral: bool,
	},
	/// Settle after the challenge period.
	Settle {
		/// Channel id.
		channel: Option<String>,
	},
	/// Claim a settled channel's HTLC with its bill key (verifier).
	Claim {
		/// Channel id.
		channel: Option<String>,
	},
	/// Refund a settled channel's expired HTLCs (requester).
	Refund {
		/// Channel id.
		channel: Option<String>,
	},
}

#[derive(Subcommand)]
enum ProofCmd {
	/// Write files' self-contained proofs.
	Export {
		/// The files.
		#[arg(required = true)]
		files: Vec<PathBuf>,
		/// Output file (one file to export).
		#[arg(short, long, conflicts_with = "out_dir", required_unless_present = "out_dir")]
		output: Option<PathBuf>,
		/// Output directory (any number of files): one `<digest>.json` per file.
		#[arg(long)]
		out_dir: Option<PathBuf>,
	},
	/// Check proofs: offline with the chain spec alone (--chain-spec, format-2 proofs), against
	/// a node (--node), or offline against the anchors given here (--block-hash and --root, or
	/// --anchor for several; format-1 proofs). Exit status 1 if any is invalid.
	Check {
		/// The proof files.
		#[arg(required = true)]
		proofs: Vec<PathBuf>,
		/// The attested file (one proof; else the digest in the proof's records is checked).
		#[arg(long)]
		file: Option<PathBuf>,
		/// Offline: the anchor's block hash you trust.
		#[arg(long, requires = "root")]
		block_hash: Option<String>,
		/// Offline: the anchored log root you trust.
		#[arg(long, requires = "block_hash")]
		root: Option<String>,
		/// Offline: an anchor you trust, `BLOCK_HASH:ROOT` (repeat for several anchors).
		#[arg(long = "anchor", value_name = "BLOCK_HASH:ROOT", conflicts_with = "block_hash")]
		anchors: Vec<String>,
		/// Offline, no node: the chain's raw chain spec (`attest-node export-chain-spec --chain NAME
		/// --raw`); the proof's finality, storage and records are checked from its genesis.
		#[arg(long, value_name = "SPEC", conflicts_with_all = ["block_hash", "anchors"])]
		chain_spec: Option<PathBuf>,
		/// The genesis hash the chain spec must have; with `--chain-spec dev` or `local` (the
		/// built-in chains' genesis authorities) it is required: a dev chain's genesis depends
		/// on the runtime build.
		#[arg(long, value_name = "HASH", requires = "chain_spec")]
		genesis: Option<String>,
	},
}

/// The trust root of `--chain-spec SPEC` (a raw chain spec file, or `dev` or `local`: the
/// built-in chains' genesis GRANDPA authorities, with the genesis hash given by `--genesis`,
/// since a dev chain's genesis depends on the runtime build), pinned to `--genesis` if given.
fn read_spec(
	p: &std::path::Path,
	genesis: Option<&str>,
) -> anyhow::Result<attest_finality::TrustRoot> {
	let genesis = genesis.map(parse_hash).transpose().context("--genesis")?;
	let builtin = match p.to_str() {
		Some("dev") => Some(&["//Alice"][..]),
		Some("local") => Some(&["//Alice", "//Bob"][..]),
		_ => None,
	};
	if let (Some(names), false) = (builtin, p.exists()) {
		let genesis = genesis.ok_or_else(|| {
			anyhow!(
				"--chain-spec {}: a built-in chain's genesis hash depends on the runtime it was \
				 built with: give the hash of its block 0 that you trust with --genesis 0x... (as \
				 a node of the chain answers chain_getBlockHash(0)), or a raw chain spec file \
				 (attest-node export-chain-spec --chain {} --raw)",
				p.display(),
				p.display()
			)
		})?;
		let authorities = names
			.iter()
			.map(|n| {
				let key = <sp_core::ed25519::Pair as sp_core::Pair>::from_string(n, None)
					.map_err(|e| anyhow!("{n}: {e:?}"))?;
				Ok((sp_core::Pair::public(&key).into(), 1))
			})
			.collect::<anyhow::Result<Vec<_>>>()?;
		return Ok(attest_finality::TrustRoot { genesis, authorities });
	}
	let bytes = std::fs::read(p).with_context(|| p.display().to_string())?;
	let root = attest_finality::TrustRoot::from_raw_spec(&bytes)
		.with_context(|| p.display().to_string())?;
	if let Some(g) = genesis.filter(|g| *g != root.genesis) {
		bail!(
			"{}: its genesis is {:?}, not the --genesis {g:?} given: it is another chain's spec",
			p.display(),
			root.genesis
		);
	}
	Ok(root)
}

fn parse_hash(s: &str) -> anyhow::Result<Hash> {
	attest_primitives::parse_hash(s)
		.ok_or_else(|| anyhow!("{s:?} is not a 32-byte hash (64 hex digits, 0x optional)"))
}

fn parse_amount(s: &str) -> anyhow::Result<Balance> {
	if let Some(p) = s.strip_suffix('p') {
		return p.parse().with_context(|| format!("{s}: not a number of plancks"));
	}
	let (int, frac) = s.split_once('.').unwrap_or((s, ""));
	if frac.len() > 12 {
		bail!("{s}: at most 12 decimals");
	}
	let int: Balance = int.parse().with_context(|| format!("{s}: not an amount"))?;
	let frac: Balance = if frac.is_empty() { 0 } else { format!("{frac:0<12}").parse()? };
	Ok(int * UNIT + frac)
}

fn fmt_att(b: Balance) -> String {
	format!("{}.{:012} ATT", b / UNIT, b % UNIT)
}

struct Ctx {
	common: Common,
}

impl Ctx {
	fn key(&self) -> anyhow::Result<Key> {
		Ok(Key::from_arg_or_env(self.common.suri.as_deref(), "ATTEST_SURI")?)
	}
	async fn chain(&self) -> anyhow::Result<Chain> {
		let timeout = std::time::Duration::from_secs(self.common.timeout.max(1));
		Ok(Chain::connect_within(&self.common.node, timeout).await?)
	}
	fn server(&self) -> Server {
		let timeout = std::time::Duration::from_secs(self.common.timeout.max(1));
		Server::with_connect_timeout(&self.common.server, timeout)
	}
	async fn store(&self) -> anyhow::Result<Store> {
		Store::open(&self.common.db)
			.await
			.with_context(|| format!("opening {}", self.common.db.display()))
	}
	async fn channel_id(&self, store: &Store, given: Option<&str>) -> anyhow::Result<Hash> {
		if let Some(c) = given {
			return parse_hash(c);
		}
		let open: Vec<_> = store.channels().await?.into_iter().filter(|c| !c.closed).collect();
		match open.as_slice() {
			[one] => Ok(one.id),
			[] => bail!(
				"no open channel in {}: open one with `attest channel open`",
				self.common.db.display()
			),
			_ => bail!("{} open channels in {}: name one", open.len(), self.common.db.display()),
		}
	}
}

/// The global options each command has no use for: hidden from its help (still accepted, so
/// a shell that exports them all works), as `attest verify --help` listed `--suri` and `--db`.
const UNUSED_OPTIONS: &[(&[&str], &[&str])] = &[
	(&["verify"], &["suri", "db"]),
	(&["proof", "export"], &["suri", "db", "json"]),
	(&["proof", "check"], &["server", "suri", "db"]),
	(&["verifier", "register"], &["server", "db", "json"]),
	(&["verifier", "update"], &["server", "db", "json"]),
	(&["verifier", "serve"], &["json"]),
	(&["watch"], &["server"]),
	(&["demo"], &["node", "server", "suri", "db", "json", "timeout"]),
];

/// The command line, with each command's help listing only the global options it uses.
fn command() -> clap::Command {
	fn hide(cmd: clap::Command, path: &[&str], args: &[&str]) -> clap::Command {
		match path {
			[] => args.iter().fold(cmd, |c, a| c.mut_arg(*a, |arg| arg.hide(true))),
			[first, rest @ ..] => cmd.mut_subcommand(*first, |s| hide(s, rest, args)),
		}
	}
	let mut cmd = Cli::command();
	// Propagates the global options into every subcommand, where they can then be hidden.
	cmd.build();
	UNUSED_OPTIONS.iter().fold(cmd, |c, (path, args)| hide(c, path, args))
}

#[tokio::main]
async fn main() {
	let cli = match Cli::from_arg_matches(&command().get_matches()) {
		Ok(cli) => cli,
		Err(e) => e.exit(),
	};
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_env("ATTEST_LOG")
				.unwrap_or_else(|_| "warn".into()),
		)
		.with_writer(std::io::stderr)
		.init();
	let code = match run(cli).await {
		Ok(code) => code,
		Err(e) => {
			eprintln!("error: {}", one_line(&e));
			2
		},
	};
	std::process::exit(code);
}

/// An error and its causes on one line, each cause once: an error whose message already
/// quotes its cause (`"{path}: {source}"`, `"database: {0}"`) is not followed by it again.
fn one_line(e: &anyhow::Error) -> String {
	let mut out = String::new();
	for cause in e.chain() {
		let s = cause.to_string();
		if out.contains(&s) {
			continue;
		}
		if !out.is_empty() {
			out.push_str(": ");
		}
		out.push_str(&s);
	}
	out
}

async fn run(cli: Cli) -> anyhow::Result<i32> {
	let ctx = Ctx { common: cli.common };
	let json = ctx.common.json;
	match cli.command {
		Command::Submit(a) => submit(&ctx, a).await,
		Command::Demo(a) => demo::run(a).await,
		Command::Verifier(VerifierCmd::Register { endpoint, price, min_challenge_period }) => {
			let (key, chain) = (ctx.key()?, ctx.chain().await?);
			let call = runtime::transactions().attestation().register_verifier(
				endpoint.into_bytes(),
				price,
				min_challenge_period,
			);
			let inc = chain.submit(&key, &call).await?;
			println!("registered verifier {} in block {}", key.address(), inc.block);
			Ok(0)
		},
		Command::Verifier(VerifierCmd::Update { endpoint, price, min_challenge_period }) => {
			let (key, chain) = (ctx.key()?, ctx.chain().await?);
			let call = runtime::transactions().attestation().update_verifier(
				endpoint.map(String::into_bytes),
				price,
				min_challenge_period,
			);
			let inc = chain.submit(&key, &call).await?;
			println!("updated verifier {} in block {}", key.address(), inc.block);
			Ok(0)
		},
		Command::Verifier(VerifierCmd::Serve(a)) => serve(&ctx, a).await,
		Command::Channel(c) => channel(&ctx, c, json).await,
		Command::Watch { every, once } => {
			let (key, chain, store) = (ctx.key()?, ctx.chain().await?, ctx.store().await?);
			let tower = ops::Watchtower { key, chain, store };
			loop {
				let r = tower.round().await?;
				if json {
					println!("{}", serde_json::to_string(&r)?);
				} else if !(r.challenged.is_empty()
					&& r.settled.is_empty()
					&& r.claimed.is_empty()
					&& r.refunded.is_empty()
					&& r.revealed.is_empty())
				{
					println!("{r:?}");
				}
				if once {
					return Ok(0);
				}
				tokio::time::sleep(std::time::Duration::from_secs(every)).await;
			}
		},
		Command::Verify { files, owner, chain_spec, genesis, wait } => {
			let owner = owner
				.map(|o| {
					parse_account(&o)
						.ok_or_else(|| anyhow!("--owner {o}: not an SS58 address or 0x public key"))
				})
				.transpose()?;
			let server = ctx.server();
			let files = evidence::files_under(&files)?;
			let (chain, spec) = match &chain_spec {
				Some(p) => (None, Some(read_spec(p, genesis.as_deref())?)),
				None => (Some(ctx.chain().await?), None),
			};
			let anchoring = match (&chain, &spec) {
				(_, Some(root)) => evidence::Anchoring::Spec(root),
				(Some(chain), None) => evidence::Anchoring::Node(chain),
				(None, None) => bail!("no node and no chain spec"),
			};
			let mut failed = 0;
			let mut checker = evidence::FileChecker::with(anchoring, &server)
				.wait_anchored(std::time::Duration::from_secs(wait));
			for file in &files {
				let verdict = checker.verify(file, owner).await?;
				if json {
					println!("{}", verdict.to_json());
				} else {
					println!("{verdict}");
				}
				if !verdict.passed() {
					failed += 1;
				}
			}
			if failed > 0 && files.len() > 1 && !json {
				println!("{failed} of {} files are not attested", files.len());
			}
			Ok(i32::from(failed > 0))
		},
		Command::Proof(ProofCmd::Export { files, output, out_dir }) => {
			let files = evidence::files_under(&files)?;
			let (chain, server) = (ctx.chain().await?, ctx.server());
			if files.len() > 1 && out_dir.is_none() {
				bail!("several files: write their proofs with --out-dir DIR");
			}
			if let Some(dir) = &out_dir {
				std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
			}
			// The chain's evidence for each anchor, asked once per anchor.
			let mut blocks = evidence::ExportCache::default();
			for file in files {
				let (digest, _) = attest_primitives::digest::sha256_file(&file)
					.with_context(|| file.display().to_string())?;
				let f = evidence::export_proof(&chain, &server, &digest, &mut blocks)
					.await
					.with_context(|| format!("proof of {}", file.display()))?;
				let out = match (&output, &out_dir) {
					(Some(o), _) => o.clone(),
					(None, Some(dir)) => dir.join(format!("{}.json", hex::encode(digest.0))),
					(None, None) => bail!("give -o FILE or --out-dir DIR"),
				};
				std::fs::write(&out, serde_json::to_vec_pretty(&f)?)
					.with_context(|| out.display().to_string())?;
				println!("wrote {}", out.display());
			}
			Ok(0)
		},
		Command::Proof(ProofCmd::Check {
			proofs,
			file,
			block_hash,
			root,
			anchors,
			chain_spec,
			genesis,
		}) => {
			if file.is_some() && proofs.len() > 1 {
				bail!("--file checks one proof; give one proof file with it");
			}
			let mut trusted = Vec::new();
			if let (Some(b), Some(r)) = (block_hash, root) {
				trusted.push((parse_hash(&b)?, parse_hash(&r)?));
			}
			for a in &anchors {
				let (b, r) = a
					.split_once(':')
					.ok_or_else(|| anyhow!("--anchor {a}: expected BLOCK_HASH:ROOT"))?;
				trusted.push((parse_hash(b)?, parse_hash(r)?));
			}
			let digest = file
				.as_deref()
				.map(|p| {
					attest_primitives::digest::sha256_file(p)
						.with_context(|| p.display().to_string())
				})
				.transpose()?
				.map(|(d, _)| d);
			let spec =
				chain_spec.as_deref().map(|p| read_spec(p, genesis.as_deref())).transpose()?;
			let chain =
				if trusted.is_empty() && spec.is_none() { Some(ctx.chain().await?) } else { None };
			let mut invalid = 0;
			for path in &proofs {
				let f: ProofFile = serde_json::from_slice(
					&std::fs::read(path).with_context(|| path.display().to_string())?,
				)
				.with_context(|| format!("{} is not a proof file", path.display()))?;
				let trust = match (&spec, &chain) {
					(Some(root), _) => evidence::Trust::Spec(root),
					(None, Some(c)) => evidence::Trust::Node(c),
					(None, None) => evidence::Trust::Anchors(&trusted),
				};
				let file = path.display().to_string();
				match evidence::check_proof_file(&f, digest, trust).await? {
					Ok(v) if json => println!("{}", v.to_json(&file)),
					Ok(v) => println!("VALID {file}: {v}"),
					Err(why) => {
						if json {
							println!(
								"{}",
								serde_json::json!({ "proof": file, "valid": false, "error": why })
							);
						} else {
							println!("INVALID {file}: {why}");
						}
						invalid += 1;
					},
				}
			}
			Ok(i32::from(invalid > 0))
		},
	}
}

async fn submit(ctx: &Ctx, a: SubmitArgs) -> anyhow::Result<i32> {
	let (key, chain, store) = (ctx.key()?, ctx.chain().await?, ctx.store().await?);
	let id = ctx.channel_id(&store, a.channel.as_deref()).await?;
	let settings = Settings {
		batch_items: a.batch,
		batch_bytes: a.batch_mib << 20,
		checkpoint_every: a.checkpoint_every,
		checkpoint_interval: (a.checkpoint_secs > 0)
			.then(|| std::time::Duration::from_secs(a.checkpoint_secs)),
		..Default::default()
	};
	// A long run keeps watching the chain: a counterparty's stale close during it is
	// challenged in time; and a run that fails (the channel closing under it) watches once
	// more before it exits.
	let tower = (a.watch_every > 0).then(|| ops::Watchtower {
		key: key.clone(),
		chain: chain.clone(),
		store: store.clone(),
	});
	let watchtower = tower.clone().map(|t| t.spawn(std::time::Duration::from_secs(a.watch_every)));
	let json = ctx.common.json;
	let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
		indicatif::ProgressBar::hidden()
	} else {
		let b = indicatif::ProgressBar::new_spinner();
		b.set_style(
			indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
				.unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
		);
		b.enable_steady_tick(std::time::Duration::from_millis(200));
		b
	};
	let progress = std::sync::Mutex::new(Progress::default());
	let started = std::time::Instant::now();
	let report = |r: ItemReport| {
		let line = progress.lock().map(|mut p| {
			p.add(&r);
			p.line(started.elapsed())
		});
		if json {
			println!("{}", serde_json::to_string(&r).unwrap_or_default());
		}
		if let Ok(line) = line {
			bar.set_message(line);
		}
	};
	let result = async {
		let server = ctx.server();
		let req = Requester::new(key, chain, store, server, id, settings).await?;
		req.submit(&a.paths, &report).await
	}
	.await;
	if let Some(w) = watchtower {
		w.abort();
	}
	bar.finish_and_clear();
	if let (Err(_), Some(tower)) = (&result, tower) {
		match tower.round().await {
			Ok(r) if !r.challenged.is_empty() => eprintln!(
				"watchtower: challenged the close of {} channel(s) on an older state",
				r.challenged.len()
			),
			Ok(_) => {},
			Err(e) => eprintln!("watchtower: {e:#}"),
		}
	}
	result?;
	if !json {
		let line = progress.lock().map(|p| p.line(started.elapsed())).unwrap_or_default();
		println!("{line}, in channel {id:?}");
	}
	Ok(0)
}

/// What `attest submit` did so far: items attested in this run, items skipped (attested
/// before), and the bytes attested.
#[derive(Default)]
struct Progress {
	attested: u64,
	skipped: u64,
	bytes: u64,
}

impl Progress {
	fn add(&mut self, r: &ItemReport) {
		if r.state == ItemOutcome::Skipped {
			self.skipped += 1;
		} else {
			self.attested += 1;
			self.bytes += r.size;
		}
	}

	/// `2000 items attested, 0 already attested (0.8 s, 2500 items/s, 1.2 MB/s)`: rates of
	/// what this run attested over the time it ran.
	fn line(&self, elapsed: std::time::Duration) -> String {
		let secs = elapsed.as_secs_f64();
		let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
		let noun = if self.attested == 1 { "item" } else { "items" };
		format!(
			"{} {noun} attested, {} already attested ({secs:.1} s, {:.0} items/s, {})",
			self.attested,
			self.skipped,
			per_sec(self.attested as f64),
			bytes_per_sec(per_sec(self.bytes as f64)),
		)
	}
}

/// A rate of bytes in B/s, kB/s, MB/s or GB/s (SI).
fn bytes_per_sec(b: f64) -> String {
	match b {
		b if b >= 1e9 => format!("{:.2} GB/s", b / 1e9),
		b if b >= 1e6 => format!("{:.1} MB/s", b / 1e6),
		b if b >= 1e3 => format!("{:.1} kB/s", b / 1e3),
		b => format!("{b:.0} B/s"),
	}
}

async fn serve(ctx: &Ctx, a: ServeArgs) -> anyhow::Result<i32> {
	let (key, chain, store) = (ctx.key()?, ctx.chain().await?, ctx.store().await?);
	let cfg = verifier::Config {
		key: key.clone(),
		chain: chain.clone(),
		store: store.clone(),
		server: ctx.server(),
		policy: verifier::Policy {
			max_item_bytes: a.max_item_bytes,
			max_batch_items: a.max_batch,
			types: a.types,
			refuse_claimed: !a.allow_claimed,
			command: a.policy_command,
		},
		bill_expiry_blocks: a.bill_expiry,
	};
	let tls = match (&a.tls_cert, &a.tls_key) {
		(Some(cert), Some(key)) => Some(attest_tls::server_config(cert, key)?),
		_ => None,
	};
	let service = verifier::Service::new(cfg).await?;
	let listener = tokio::net::TcpListener::bind(&a.listen)
		.await
		.with_context(|| format!("listening on {}", a.listen))?;
	let scheme = if tls.is_some() { "https" } else { "http" };
	eprintln!("verifier {} serving on {scheme}://{}", key.address(), listener.local_addr()?);
	if a.watch_every > 0 {
		ops::Watchtower { key: key.clone(), chain, store }
			.spawn(std::time::Duration::from_secs(a.watch_every));
	}
	let shutdown = async {
		let _ = tokio::signal::ctrl_c().await;
	};
	verifier::serve(service, listener, tls, shutdown).await?;
	Ok(0)
}

async fn channel(ctx: &Ctx, c: ChannelCmd, json: bool) -> anyhow::Result<i32> {
	let (key, chain, store) = (ctx.key()?, ctx.chain().await?, ctx.store().await?);
	match c {
		ChannelCmd::Open { verifier, deposit, challenge_period } => {
			let v = parse_account(&verifier)
				.ok_or_else(|| anyhow!("{verifier} is not an SS58 address or 0x public key"))?;
			let id = ops::open(&chain, &key, &store, v, parse_amount(&deposit)?, challenge_period)
				.await?;
			if json {
				println!("{}", serde_json::json!({ "channel": id }));
			} else {
				println!("opened channel {id:?}");
			}
		},
		ChannelCmd::Fund { channel, amount } => {
			let id = parse_hash(&channel)?;
			let inc = chain
				.submit(
					&key,
					&runtime::transactions().attestation().fund_channel(id, parse_amount(&amount)?),
				)
				.await?;
			println!("funded channel {id:?} in block {}", inc.block);
		},
		ChannelCmd::Status { channel } => {
			let rows = match channel {
				Some(c) => vec![store.channel(&parse_hash(&c)?).await?],
				None => store.channels().await?,
			};
			for row in rows {
				let on_chain = chain.channel(&row.id).await?;
				let chain_state = on_chain.as_ref().map(|c| match c.status {
					attest_client::chain::ChannelStatus::Open => {
						format!("open, anchored {} items", c.anchored.0.size)
					},
					attest_client::chain::ChannelStatus::Closing {
						deadline, closed_nonce, ..
					} => format!("closing with state {closed_nonce} until block {deadline}"),
				});
				let s = &row.state;
				if json {
					println!(
						"{}",
						serde_json::json!({
							"channel": row.id, "role": format!("{:?}", row.role).to_lowercase(), "nonce": s.nonce,
							"requesterBalance": s.requester_balance.to_string(), "verifierBalance": s.verifier_balance.to_string(),
							"pendingHtlcs": s.htlcs.len(), "items": s.log.size, "final": s.is_final(),
							"chain": chain_state.clone().unwrap_or_else(|| "settled or unknown".into()),
						})
					);
				} else {
					println!(
						"channel {:?} ({:?})\n  state {}{}: requester {}, verifier {}, {} HTLCs pending, {} items (root {:?})\n  chain: {}",
						row.id, row.role, s.nonce, if s.is_final() { " (final)" } else { "" },
						fmt_att(s.requester_balance), fmt_att(s.verifier_balance), s.htlcs.len(), s.log.size, s.log.root,
						chain_state.unwrap_or_else(|| "settled or unknown".into())
					);
				}
			}
		},
		ChannelCmd::Checkpoint { channel } => {
			let id = ctx.channel_id(&store, channel.as_deref()).await?;
			match ops::checkpoint(&chain, &key, &store, &id).await? {
				Some(b) => println!("checkpointed channel {id:?} in block {b}"),
				None => println!("nothing new to anchor in channel {id:?}"),
			}
		},
		ChannelCmd::Close { channel, unilateral } => {
			let id = ctx.channel_id(&store, channel.as_deref()).await?;
			if unilateral {
				let b = ops::close_unilateral(&chain, &key, &store, &id).await?;
				println!("started closing channel {id:?} in block {b}; settle after the challenge period (attest channel settle)");
			} else {
				let req = Requester::new(
					key.clone(),
					chain.clone(),
					store.clone(),
					ctx.server(),
					id,
					Settings::default(),
				)
				.await?;
				req.finalize().await?;
				let c = ops::close_cooperative(&chain, &key, &store, &id).await?;
				if json {
					println!("{}", serde_json::to_string(&c)?);
				} else {
					println!(
						"closed channel {id:?} in block {}: paid the requester {}, the verifier {}",
						c.block,
						fmt_att(c.requester_paid),
						fmt_att(c.verifier_paid)
					);
				}
			}
		},
		ChannelCmd::Settle { channel } => {
			let id = ctx.channel_id(&store, channel.as_deref()).await?;
			let c = ops::settle(&chain, &key, &store, &id).await?;
			println!(
				"settled channel {id:?} in block {}: paid the requester {}, the verifier {}, stale-close penalty {}",
				c.block,
				fmt_att(c.requester_paid),
				fmt_att(c.verifier_paid),
				fmt_att(c.stale_close_penalty)
			);
		},
		ChannelCmd::Claim { channel } | ChannelCmd::Refund { channel } => {
			let id = ctx.channel_id(&store, channel.as_deref()).await?;
			let r = ops::watch_round(&chain, &key, &store, 0, Some(&id)).await?;
			println!("claimed {} HTLCs, refunded {}", r.claimed.len(), r.refunded.len());
		},
	}
	Ok(0)
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	fn item(state: ItemOutcome, size: u64) -> ItemReport {
		ItemReport {
			path: "f".into(),
			digest: Hash([0; 32]),
			channel: None,
			seq: None,
			state,
			size,
		}
	}

	/// `attest COMMAND --help`.
	fn help(path: &[&str]) -> String {
		let mut cmd = command();
		let mut sub = &mut cmd;
		for p in path {
			sub = sub.find_subcommand_mut(p).expect("subcommand");
		}
		sub.render_long_help().to_string()
	}

	#[test]
	fn each_command_lists_the_global_options_it_uses() {
		let verify = help(&["verify"]);
		assert!(verify.contains("--node") && verify.contains("--server"), "{verify}");
		assert!(!verify.contains("--suri") && !verify.contains("--db "), "{verify}");
		let check = help(&["proof", "check"]);
		assert!(check.contains("--node") && check.contains("--json"), "{check}");
		assert!(!check.contains("--server") && !check.contains("--suri"), "{check}");
		let register = help(&["verifier", "register"]);
		assert!(register.contains("--suri") && !register.contains("--db "), "{register}");
		let submit = help(&["submit"]);
		for o in ["--node", "--server", "--suri", "--db", "--json", "--timeout"] {
			assert!(submit.contains(o), "{o}: {submit}");
		}
		// Hidden, still accepted: a shell exporting every option keeps working.
		let cli = Cli::from_arg_matches(
			&command().get_matches_from(["attest", "--suri", "//Alice", "verify", "f"]),
		)
		.expect("parses");
		assert!(matches!(cli.command, Command::Verify { .. }));
		// Every path named exists (a typo would hide nothing).
		for (path, _) in UNUSED_OPTIONS {
			help(path);
		}
	}

	#[test]
	fn progress_is_what_this_run_attested_over_its_time() {
		// 2,000 small files in 0.8 s (the terminal said "11 items attested ... 1.32/s").
		let mut p = Progress::default();
		for _ in 0..2_000 {
			p.add(&item(ItemOutcome::Attested, 500));
		}
		assert_eq!(
			p.line(Duration::from_millis(800)),
			"2000 items attested, 0 already attested (0.8 s, 2500 items/s, 1.2 MB/s)"
		);
		// One 200 MB file in 0.7 s (it said "1 items attested, 204.3 MB/s ... 1.0214/s").
		let mut p = Progress::default();
		p.add(&item(ItemOutcome::Attested, 200_000_000));
		assert_eq!(
			p.line(Duration::from_millis(700)),
			"1 item attested, 0 already attested (0.7 s, 1 items/s, 285.7 MB/s)"
		);
		// Skipped files count apart and add no bytes to the rate; no time yet is no rate.
		let mut p = Progress::default();
		p.add(&item(ItemOutcome::Skipped, 1 << 30));
		assert_eq!(
			p.line(Duration::ZERO),
			"0 items attested, 1 already attested (0.0 s, 0 items/s, 0 B/s)"
		);
		assert_eq!(bytes_per_sec(2.5e9), "2.50 GB/s");
		assert_eq!(bytes_per_sec(1_500.0), "1.5 kB/s");
	}
}
