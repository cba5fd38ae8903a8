//! `attest demo`: the whole system on one machine, as `./x run` starts it.
//!
//! A dev node (a block every second, finalized at once), the attestation server (SQLite and
//! blobs under the data directory), a verifier (`//Bob`, registered and serving) and a
//! requester (`//Alice`, with a funded channel) that attests the sample files, checkpoints
//! and checks every file with `attest verify`. Every step is the `attest` command a user
//! would type, run as a child process and printed. Then (unless `--once`) it keeps running:
//! files dropped into the inbox folder are attested and anchored; Ctrl-C stops every
//! process and says where the data is. Running it again continues on the same data.
//!
//! The node, the server and the verifier run in process groups of their own, so that the
//! terminal's Ctrl-C reaches only this program, which stops them in order (verifier, server,
//! node: SIGINT, then SIGKILL after a grace period). They also get SIGTERM if this program
//! dies without stopping them (`PR_SET_PDEATHSIG`; they are spawned from the main thread,
//! which lives as long as the process).

use anyhow::{anyhow, bail, Context};
use attest_client::chain::Chain;
use std::{
	collections::BTreeMap,
	io::Write,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant, SystemTime},
};

/// Options of `attest demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
	/// Where the chain, the server's data, both agents' databases and the inbox live.
	/// Default: `$XDG_DATA_HOME/attest/demo` (`~/.local/share/attest/demo`).
	#[arg(long)]
	data_dir: Option<PathBuf>,
	/// The files to attest first (`./x run` runs in the repository: its `samples/`).
	#[arg(long, default_value = "samples")]
	samples: PathBuf,
	/// Folder watched for more files (default: `<data-dir>/inbox`).
	#[arg(long)]
	inbox: Option<PathBuf>,
	/// Delete the data directory first and start a new chain.
	#[arg(long)]
	fresh: bool,
	/// Attest and check the samples, then stop everything and exit (non-interactive).
	#[arg(long)]
	once: bool,
	/// Node JSON-RPC port (0: any free port; a busy default is replaced by a free one).
	#[arg(long, default_value_t = 9944)]
	rpc_port: u16,
	/// Attestation server port (0: any free port).
	#[arg(long, default_value_t = 8080)]
	server_port: u16,
	/// Verifier service port (0: any free port).
	#[arg(long, default_value_t = 8090)]
	verifier_port: u16,
	/// Block time of the dev chain, milliseconds.
	#[arg(long, default_value_t = 1000)]
	block_ms: u64,
	/// Directory of the `attest-node` and `attest-server` binaries (default: this binary's).
	#[arg(long)]
	bin_dir: Option<PathBuf>,
}

/// Marker file of a demo data directory: `--fresh` deletes only a directory holding it.
const MARKER: &str = ".attest-demo";
const REQUESTER: &str = "//Alice";
const VERIFIER: &str = "//Bob";
/// Price per item, plancks.
const PRICE: u128 = 1_000_000;
/// Seconds a child gets to stop after SIGINT before it is killed.
const GRACE: Duration = Duration::from_secs(20);

fn step(msg: impl std::fmt::Display) {
	eprintln!("\x1b[1m==> {msg}\x1b[0m");
}

/// A port: the one asked for when free, else (or when 0) one the OS picks.
fn port(wanted: u16, what: &str) -> anyhow::Result<u16> {
	if wanted != 0 && TcpListener::bind(("127.0.0.1", wanted)).is_ok() {
		return Ok(wanted);
	}
	let p = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
	if wanted != 0 {
		eprintln!("    port {wanted} ({what}) is busy: using {p}");
	}
	Ok(p)
}

/// A long-running child: node, server or verifier service.
struct Service {
	name: &'static str,
	child: Child,
	log: PathBuf,
}

impl Service {
	fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> anyhow::Result<Self> {
		let out = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&log)
			.with_context(|| log.display().to_string())?;
		let err = out.try_clone()?;
		cmd.stdin(Stdio::null()).stdout(out).stderr(err);
		// SAFETY: async-signal-safe calls only, between fork and exec.
		unsafe {
			std::os::unix::process::CommandExt::pre_exec(cmd, || {
				// Own process group: the terminal's Ctrl-C reaches the demo only.
				libc::setpgid(0, 0);
				// Stopped when the demo dies without stopping it.
				libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
				Ok(())
			});
		}
		let child = cmd.spawn().with_context(|| format!("starting {name}: {cmd:?}"))?;
		Ok(Service { name, child, log })
	}

	/// Exited already? Then say how, with its log's end.
	fn check(&mut self) -> anyhow::Result<()> {
		if let Some(status) = self.child.try_wait()? {
			bail!(
				"{} exited ({status}); the end of its log ({}):\n{}",
				self.name,
				self.log.display(),
				tail(&self.log, 15)
			);
		}
		Ok(())
	}

	/// SIGINT, then SIGKILL after [`GRACE`].
	fn stop(&mut self) {
		if matches!(self.child.try_wait(), Ok(Some(_))) {
			return;
		}
		// SAFETY: a signal to our own child's pid.
		unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
		let until = Instant::now() + GRACE;
		while Instant::now() < until {
			if matches!(self.child.try_wait(), Ok(Some(_))) {
				return;
			}
			std::thread::sleep(Duration::from_millis(50));
		}
		eprintln!("    {} did not stop within {} s: killed", self.name, GRACE.as_secs());
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

fn tail(path: &Path, lines: usize) -> String {
	let text = std::fs::read_to_string(path).unwrap_or_default();
	let all: Vec<&str> = text.lines().collect();
	all[all.len().saturating_sub(lines)..].join("\n")
}

/// Every service, stopped in reverse order of start when dropped.
#[derive(Default)]
struct Services(Vec<Service>);

impl Services {
	fn check(&mut self) -> anyhow::Result<()> {
		self.0.iter_mut().try_for_each(Service::check)
	}
}

impl Drop for Services {
	fn drop(&mut self) {
		while let Some(mut s) = self.0.pop() {
			s.stop();
		}
	}
}

/// What the demo's steps need to call `attest`.
struct Env {
	attest: PathBuf,
	node: String,
	server: String,
	dir: PathBuf,
}

impl Env {
	/// `attest` with the demo's node and server and one party's key and database.
	fn attest_std(&self, suri: &str, db: &str) -> Command {
		let mut c = Command::new(&self.attest);
		c.args(["--node", &self.node, "--server", &self.server, "--suri", suri])
			.arg("--db")
			.arg(self.dir.join(db))
			.env_remove("ATTEST_SURI");
		c
	}

	/// [`Env::attest_std`] for a step that runs to its end (killed if the demo stops first).
	fn attest(&self, suri: &str, db: &str) -> tokio::process::Command {
		let mut c = tokio::process::Command::from(self.attest_std(suri, db));
		c.stdin(Stdio::null()).kill_on_drop(true);
		c
	}

	/// Run `attest` to the end; its stdout, or an error with its stderr.
	async fn run(&self, what: &str, mut cmd: tokio::process::Command) -> anyhow::Result<String> {
		print_cmd(&cmd);
		let out = cmd.output().await.with_context(|| format!("running attest ({what})"))?;
		if !out.status.success() {
			bail!(
				"{what} failed ({}):\n{}{}",
				out.status,
				String::from_utf8_lossy(&out.stdout),
				String::from_utf8_lossy(&out.stderr)
			);
		}
		Ok(String::from_utf8_lossy(&out.stdout).into_owned())
	}
}

/// The command as a user would type it (the key is a dev name, not a secret).
fn print_cmd(cmd: &tokio::process::Command) {
	print_std_cmd(cmd.as_std())
}

fn print_std_cmd(c: &Command) {
	let args: Vec<String> = c
		.get_args()
		.map(|a| {
			let a = a.to_string_lossy();
			if a.contains(' ') {
				format!("'{a}'")
			} else {
				a.into_owned()
			}
		})
		.collect();
	eprintln!("\x1b[2m    $ attest {}\x1b[0m", args.join(" "));
}

fn default_data_dir() -> PathBuf {
	let base = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".local/share")
	});
	base.join("attest").join("demo")
}

/// Run the demo. Returns the exit status.
pub async fn run(a: DemoArgs) -> anyhow::Result<i32> {
	let dir = a.data_dir.clone().unwrap_or_else(default_data_dir);
	if a.fresh && dir.exists() {
		if !dir.join(MARKER).exists() {
			bail!(
				"--fresh: {} exists but is not a demo data directory (no {MARKER} in it): \
				 not deleting it; choose another --data-dir",
				dir.display()
			);
		}
		std::fs::remove_dir_all(&dir).with_context(|| format!("deleting {}", dir.display()))?;
		step(format!("--fresh: deleted {}", dir.display()));
	}
	std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
	let continuing = dir.join(MARKER).exists();
	std::fs::write(dir.join(MARKER), "attest demo data directory (./x run)\n")?;
	let samples = a
		.samples
		.canonicalize()
		.with_context(|| format!("the sample files {} are not there", a.samples.display()))?;
	let inbox = a.inbox.clone().unwrap_or_else(|| dir.join("inbox"));
	std::fs::create_dir_all(&inbox)?;
	let bin_dir = match &a.bin_dir {
		Some(d) => d.clone(),
		None => std::env::current_exe()?
			.parent()
			.ok_or_else(|| anyhow!("no directory of the attest binary"))?
			.to_path_buf(),
	};
	let bin = |name: &str| -> anyhow::Result<PathBuf> {
		let p = bin_dir.join(name);
		if !p.is_file() {
			bail!("{} is not built: run ./x run (or cargo build --release -p {name})", p.display());
		}
		Ok(p)
	};
	let (node_bin, server_bin) = (bin("attest-node")?, bin("attest-server")?);
	step(format!(
		"{} the demo in {}",
		if continuing { "continuing" } else { "starting" },
		dir.display()
	));

	let started = Instant::now();
	let mut services = Services::default();
	let result = tokio::select! {
		r = demo(&a, &dir, &samples, &inbox, &node_bin, &server_bin, &mut services, started) => r,
		_ = interrupted() => {
			eprintln!();
			step("interrupted");
			Ok(130)
		},
	};
	step("stopping the verifier, the server and the node");
	drop(services);
	eprintln!(
		"    stopped. The data is in {}: run ./x run again to continue on it, ./x run --fresh to start over.",
		dir.display()
	);
	result
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
	let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
		Ok(t) => t,
		Err(_) => return std::future::pending().await,
	};
	tokio::select! {
		_ = tokio::signal::ctrl_c() => {},
		_ = term.recv() => {},
	}
}

#[allow(clippy::too_many_arguments)]
async fn demo(
	a: &DemoArgs,
	dir: &Path,
	samples: &Path,
	inbox: &Path,
	node_bin: &Path,
	server_bin: &Path,
	services: &mut Services,
	started: Instant,
) -> anyhow::Result<i32> {
	let rpc_port = port(a.rpc_port, "node JSON-RPC")?;
	let server_port = port(a.server_port, "attestation server")?;
	let verifier_port = port(a.verifier_port, "verifier")?;
	let env = Env {
		attest: std::env::current_exe()?,
		node: format!("ws://127.0.0.1:{rpc_port}"),
		server: format!("http://127.0.0.1:{server_port}"),
		dir: dir.to_path_buf(),
	};

	// 1. The node.
	let t = Instant::now();
	step(format!("starting the node (dev chain, a block every {} ms)", a.block_ms));
	let p2p = port(0, "p2p")?;
	services.0.push(Service::spawn(
		"attest-node",
		Command::new(node_bin)
			.args(["--dev", "--sealing", &a.block_ms.to_string()])
			.arg("--base-path")
			.arg(dir.join("node"))
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &p2p.to_string()])
			.args(["--rpc-cors", "all", "--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(["--offchain-worker", "always", "--attestation-server", &env.server]),
		dir.join("node.log"),
	)?);
	// The RPC port first (the reconnecting client backs off for seconds after a refusal).
	let node_up = |services: &mut Services| {
		services.check().map_err(|e| {
			e.context(format!(
				"the node did not start; if its chain in {} is from an older build of the \
				 runtime, ./x run --fresh starts a new one",
				dir.join("node").display()
			))
		})
	};
	while tokio::net::TcpStream::connect(("127.0.0.1", rpc_port)).await.is_err() {
		node_up(services)?;
		if t.elapsed() > Duration::from_secs(120) {
			bail!("the node did not open its RPC port {rpc_port} within 120 s");
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	let chain = loop {
		node_up(services)?;
		match Chain::connect(&env.node).await {
			Ok(c) => break c,
			Err(_) if t.elapsed() < Duration::from_secs(120) => {
				tokio::time::sleep(Duration::from_millis(300)).await
			},
			Err(e) => bail!("the node did not answer on {} within 120 s: {e}", env.node),
		}
	};
	let (_, finalized) = chain.finalized().await?;
	eprintln!(
		"    node ready in {:.1} s: {} (finalized block {finalized}), log {}",
		t.elapsed().as_secs_f64(),
		env.node,
		dir.join("node.log").display()
	);

	// 2. The attestation server.
	let t = Instant::now();
	step("starting the attestation server (SQLite and blobs in the data directory)");
	services.0.push(Service::spawn(
		"attest-server",
		Command::new(server_bin)
			.args(["--listen", &format!("127.0.0.1:{server_port}"), "--data-dir"])
			.arg(dir.join("server"))
			.args(["--chain-rpc", &env.node, "--anchor-poll-secs", "1"]),
		dir.join("server.log"),
	)?);
	wait_http(services, &format!("{}/healthz", env.server), "the attestation server").await?;
	eprintln!(
		"    server ready in {:.1} s: {} (verify page at /), log {}",
		t.elapsed().as_secs_f64(),
		env.server,
		dir.join("server.log").display()
	);

	// 3. The verifier: registered with this run's endpoint, serving.
	let t = Instant::now();
	let bob = attest_client::chain::Key::from_suri(VERIFIER)?;
	let endpoint = format!("http://127.0.0.1:{verifier_port}");
	step(format!("verifier {} ({VERIFIER})", bob.address()));
	match chain.verifier(bob.public()).await? {
		None => {
			let mut c = env.attest(VERIFIER, "verifier.db");
			c.args(["verifier", "register", "--endpoint", &endpoint, "--price"])
				.arg(PRICE.to_string())
				.args(["--min-challenge-period", "10"]);
			env.run("registering the verifier", c).await?;
		},
		Some(v) if v.endpoint.0 != endpoint.as_bytes() => {
			let mut c = env.attest(VERIFIER, "verifier.db");
			c.args(["verifier", "update", "--endpoint", &endpoint]);
			env.run("updating the verifier's endpoint", c).await?;
		},
		Some(_) => eprintln!("    registered already, endpoint {endpoint}"),
	}
	let mut serve = env.attest_std(VERIFIER, "verifier.db");
	serve.args(["verifier", "serve", "--listen", &format!("127.0.0.1:{verifier_port}")]);
	print_std_cmd(&serve);
	services
		.0
		.push(Service::spawn("verifier", &mut serve, dir.join("verifier.log"))?);
	wait_http(services, &format!("{endpoint}/v1/openapi.json"), "the verifier").await?;
	eprintln!(
		"    verifier ready in {:.1} s: {endpoint}, log {}",
		t.elapsed().as_secs_f64(),
		dir.join("verifier.log").display()
	);

	// 4. The requester's channel: the one in its database, or a new one.
	let alice = attest_client::chain::Key::from_suri(REQUESTER)?;
	step(format!("requester {} ({REQUESTER})", alice.address()));
	let mut channel = None;
	if dir.join("requester.db").exists() {
		let store = attest_client::store::Store::open(&dir.join("requester.db")).await?;
		for c in store.channels().await? {
			if !c.closed && chain.channel(&c.id).await?.is_some() {
				channel = Some(c.id);
			}
		}
	}
	let channel = match channel {
		Some(id) => {
			eprintln!("    channel {id:?} (open)");
			id
		},
		None => {
			let mut c = env.attest(REQUESTER, "requester.db");
			c.args(["--json", "channel", "open", "--verifier", &bob.address()]).args([
				"--deposit",
				"1000",
				"--challenge-period",
				"20",
			]);
			let out = env.run("opening a channel", c).await?;
			let v: serde_json::Value = serde_json::from_str(out.trim())
				.with_context(|| format!("channel open printed {out}"))?;
			let id = v["channel"].as_str().ok_or_else(|| anyhow!("channel open printed {out}"))?;
			eprintln!("    opened channel {id} with 1000 ATT");
			crate::parse_hash(id)?
		},
	};

	// 5. The samples: attest, anchor, check.
	let files = list_files(samples)?;
	step(format!("attesting {} sample files from {}", files.len(), samples.display()));
	let report = attest_and_check(&env, &files, &[samples.to_path_buf()]).await?;
	let failed = print_report(&env, &report);
	eprintln!(
		"    every sample file attested, anchored and checked {:.0} s after start",
		started.elapsed().as_secs_f64()
	);
	if a.once {
		if failed > 0 {
			eprintln!("    {failed} sample file(s) did not pass attest verify");
		}
		return Ok(i32::from(failed > 0));
	}

	// 6. Keep running: attest what is dropped into the inbox.
	let apps = format!(
		"https://polkadot.js.org/apps/?rpc={}",
		env.node.replace(':', "%3A").replace('/', "%2F")
	);
	step("running: Ctrl-C stops everything");
	println!(
		"\n  Verify page      {}/?node={}\n  polkadot.js Apps {apps}\n  Drop files into  {}\n  or run           {} --node {} --server {} --suri {REQUESTER} --db {} submit PATH...\n  Channel          {channel:?}\n",
		env.server,
		env.node,
		inbox.display(),
		env.attest.display(),
		env.node,
		env.server,
		dir.join("requester.db").display(),
	);
	let _ = std::io::stdout().flush();
	let mut seen: BTreeMap<PathBuf, (u64, SystemTime)> = BTreeMap::new();
	let mut pending: BTreeMap<PathBuf, (u64, SystemTime)> = BTreeMap::new();
	loop {
		tokio::time::sleep(Duration::from_secs(2)).await;
		services.check()?;
		// A file is taken once its size and time stayed the same for one round (copied whole).
		let now: BTreeMap<PathBuf, (u64, SystemTime)> = list_files(inbox)?
			.into_iter()
			.filter_map(|p| {
				let m = std::fs::metadata(&p).ok()?;
				Some((p, (m.len(), m.modified().ok()?)))
			})
			.collect();
		let ready: Vec<PathBuf> = now
			.iter()
			.filter(|(p, s)| seen.get(*p) != Some(s) && pending.get(*p) == Some(s))
			.map(|(p, _)| p.clone())
			.collect();
		pending = now.into_iter().filter(|(p, s)| seen.get(p) != Some(s)).collect();
		if ready.is_empty() {
			continue;
		}
		step(format!("{} new file(s) in {}", ready.len(), inbox.display()));
		match attest_and_check(&env, &ready, &ready).await {
			Ok(report) => {
				print_report(&env, &report);
			},
			Err(e) => eprintln!("    {e:#}"),
		}
		for p in ready {
			if let Some(s) = pending.remove(&p) {
				seen.insert(p, s);
			}
		}
	}
}

/// Until `url` answers 2xx (60 s at most), while every service still runs.
async fn wait_http(services: &mut Services, url: &str, what: &str) -> anyhow::Result<()> {
	let (http, t) = (reqwest::Client::new(), Instant::now());
	loop {
		services.check()?;
		if matches!(http.get(url).send().await, Ok(r) if r.status().is_success()) {
			return Ok(());
		}
		if t.elapsed() > Duration::from_secs(60) {
			bail!("{what} did not answer on {url} within 60 s");
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// Regular files under `root` (recursively), sorted.
fn list_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
	let mut out = Vec::new();
	for e in walkdir::WalkDir::new(root).follow_links(true) {
		let e = e.with_context(|| format!("reading {}", root.display()))?;
		if e.file_type().is_file() {
			out.push(e.into_path());
		}
	}
	out.sort();
	Ok(out)
}

/// One file's outcome.
struct Attested {
	path: PathBuf,
	submit: serde_json::Value,
	verify: Option<serde_json::Value>,
}

/// `attest submit --json` the paths, `attest channel checkpoint`, then `attest verify --json`
/// each file (again, for up to 60 s, while the server has not yet taken up the anchor).
async fn attest_and_check(
	env: &Env,
	files: &[PathBuf],
	paths: &[PathBuf],
) -> anyhow::Result<Vec<Attested>> {
	let mut c = env.attest(REQUESTER, "requester.db");
	c.args(["--json", "submit", "--watch-every", "0"]).args(paths);
	print_cmd(&c);
	// Each item as it is attested (one JSON line each).
	let mut child = c
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.context("running attest submit")?;
	let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
	let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
	let errors = tokio::spawn(async move {
		let mut s = String::new();
		let _ =
			tokio::io::AsyncReadExt::read_to_string(&mut tokio::io::BufReader::new(stderr), &mut s)
				.await;
		s
	});
	let mut by_path: BTreeMap<PathBuf, serde_json::Value> = BTreeMap::new();
	let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
	let cwd = std::env::current_dir().unwrap_or_default();
	while let Some(line) = lines.next_line().await? {
		let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
		let Some(p) = v["path"].as_str().map(PathBuf::from) else { continue };
		let shown = p.strip_prefix(&cwd).unwrap_or(&p).display().to_string();
		match v["state"].as_str() {
			Some("attested") => eprintln!("    + {shown}: seq {}", v["seq"]),
			Some("skipped") => eprintln!("    = {shown}: attested before (seq {})", v["seq"]),
			_ => {},
		}
		by_path.insert(p, v);
	}
	let status = child.wait().await?;
	if !status.success() {
		bail!("attesting failed ({status}):\n{}", errors.await.unwrap_or_default());
	}
	let attested = by_path.values().filter(|v| v["state"] == "attested").count();
	let skipped = by_path.values().filter(|v| v["state"] == "skipped").count();
	eprintln!("    {attested} attested, {skipped} attested before");
	for v in by_path.values().filter(|v| v["state"] == "refused") {
		eprintln!("    refused {}: {}", v["path"], v["reason"]);
	}
	let mut c = env.attest(REQUESTER, "requester.db");
	c.args(["channel", "checkpoint"]);
	let out = env.run("anchoring (checkpoint)", c).await?;
	eprintln!("    {}", out.trim());

	let mut report: Vec<Attested> = files
		.iter()
		.map(|p| Attested {
			path: p.clone(),
			submit: by_path.remove(p).unwrap_or_default(),
			verify: None,
		})
		.collect();
	let t = Instant::now();
	loop {
		let todo: Vec<&Path> = report
			.iter()
			.filter(|r| r.verify.as_ref().is_none_or(|v| v["attested"] != true))
			.map(|r| r.path.as_path())
			.collect();
		if todo.is_empty() || t.elapsed() > Duration::from_secs(60) {
			break;
		}
		let mut c = env.attest(REQUESTER, "requester.db");
		c.args(["--json", "verify"]).args(&todo);
		if t.elapsed().is_zero() || todo.len() == report.len() {
			print_cmd(&c);
		}
		let out = c.output().await.context("running attest verify")?;
		for line in String::from_utf8_lossy(&out.stdout).lines() {
			let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
			if let Some(r) = report.iter_mut().find(|r| v["file"] == r.path.display().to_string()) {
				r.verify = Some(v);
			}
		}
		if report.iter().all(|r| r.verify.as_ref().is_some_and(|v| v["attested"] == true)) {
			break;
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	Ok(report)
}

/// Print each file's line; returns how many did not pass `attest verify`.
fn print_report(env: &Env, report: &[Attested]) -> usize {
	let mut failed = 0;
	let cwd = std::env::current_dir().unwrap_or_default();
	// A few files in full; of a large drop, the first ones and a count.
	const SHOWN: usize = 12;
	let mut hidden = 0;
	for (i, r) in report.iter().enumerate() {
		// Relative to where the demo runs when under it (`./x run`: the repository).
		let name = r.path.strip_prefix(&cwd).unwrap_or(&r.path).display();
		let v = match &r.verify {
			Some(v) if v["attested"] == true => v,
			other => {
				failed += 1;
				let why = other
					.as_ref()
					.and_then(|v| v["error"].as_str().map(str::to_owned))
					.unwrap_or_else(|| "no answer from attest verify".into());
				println!("\n  NOT ATTESTED {name}: {why} (submit: {})", r.submit);
				continue;
			},
		};
		if i >= SHOWN {
			hidden += 1;
			continue;
		}
		let digest = v["digest"].as_str().unwrap_or_default();
		let time = v["blockTimeMs"].as_u64().map(attest_client::evidence::utc).unwrap_or_default();
		println!(
			"\n  {name} ({} bytes)\n    digest   {digest}\n    channel  {} seq {}\n    anchored in block {} ({}) at {time}\n    check    attest --node {} --server {} verify {name}\n    page     {}/?digest={digest}&node={}",
			v["size"],
			v["channel"].as_str().unwrap_or_default(),
			v["seq"],
			v["block"],
			v["blockHash"].as_str().unwrap_or_default(),
			env.node,
			env.server,
			env.server,
			env.node,
		);
	}
	if hidden > 0 {
		println!("\n  ... and {hidden} more files, verified the same way");
	}
	let _ = std::io::stdout().flush();
	failed
}

#[cfg(test)]
mod tests {
	use attest_client::evidence::utc;

	#[test]
	fn utc_dates() {
		assert_eq!(utc(0), "1970-01-01T00:00:00Z");
		assert_eq!(utc(1_795_821_005_999), "2026-11-27T23:10:05Z");
		assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
	}
}
