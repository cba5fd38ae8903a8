//! Real processes for the agents' tests: a dev node, the attestation server, a verifier
//! service, and `attest` commands. Every process is killed on drop (also when a test panics).

#![allow(dead_code)]

pub mod network;

use attest_testkit::{free_port, log_tail, target_dir, Node};
use std::{
	path::{Path, PathBuf},
	process::{Child, Command, Output, Stdio},
	time::{Duration, Instant},
};

/// Price per item the test verifier registers.
pub const PRICE: u128 = 1_000_000;

/// A background process, killed on drop.
pub struct Proc {
	child: Child,
	pub log: PathBuf,
}

impl Drop for Proc {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

impl Proc {
	pub fn spawn(bin: &Path, args: &[String], log: PathBuf) -> Self {
		let out = std::fs::File::create(&log).expect("log file");
		let child = Command::new(bin)
			.args(args)
			.stdout(out.try_clone().expect("log"))
			.stderr(out)
			.spawn()
			.unwrap_or_else(|e| panic!("{} starts: {e}", bin.display()));
		Proc { child, log }
	}

	pub fn kill9(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}

	/// Its process id.
	pub fn pid(&self) -> u32 {
		self.child.id()
	}

	/// Wait until `url` answers 200, or panic with the log (at once when the process ended:
	/// e.g. its port was taken).
	pub fn wait_http(&mut self, url: &str) {
		wait_http(url, &self.log, Some(&mut self.child))
	}
}

/// Wait until `url` answers 200 or panic with `log`; early when `child` has exited.
pub fn wait_http(url: &str, log: &Path, mut child: Option<&mut Child>) {
	let deadline = Instant::now() + Duration::from_secs(60);
	while Instant::now() < deadline {
		if let Some(status) = child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
			panic!("the process serving {url} exited with {status}:\n{}", log_tail(log, 40));
		}
		if let Ok(r) = reqwest::blocking::get(url) {
			if r.status().is_success() {
				return;
			}
		}
		std::thread::sleep(Duration::from_millis(200));
	}
	panic!("{url} not up:\n{}", log_tail(log, 40));
}

/// The attestation server's arguments: listening on `port`, data in `data`, the node at
/// `node`, looking for anchors every second.
pub fn server_args(port: u16, data: &Path, node: &str) -> Vec<String> {
	vec![
		"--listen".into(),
		format!("127.0.0.1:{port}"),
		"--data-dir".into(),
		data.display().to_string(),
		"--chain-rpc".into(),
		node.into(),
		"--anchor-poll-secs".into(),
		"1".into(),
	]
}

/// The whole system: node, server, a registered verifier serving, and `attest` for parties.
pub struct System {
	pub node: Node,
	pub server: Proc,
	pub server_url: String,
	pub verifier: Option<Proc>,
	pub verifier_url: String,
	pub dir: tempfile::TempDir,
}

pub fn attest_bin() -> PathBuf {
	PathBuf::from(env!("CARGO_BIN_EXE_attest"))
}

/// `attest proof check PROOF --chain-spec SPEC` with nothing else (the node given is a dead
/// port, never asked): its exit status and its output.
pub fn check_offline(proof: &std::path::Path, spec: &std::path::Path) -> (Option<i32>, String) {
	let out = Command::new(attest_bin())
		.args(["--node", "ws://127.0.0.1:9", "proof", "check"])
		.arg(proof)
		.arg("--chain-spec")
		.arg(spec)
		.output()
		.expect("attest runs");
	let text =
		String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
	(out.status.code(), text)
}

impl System {
	/// Start everything; the verifier is //Bob with `verifier_args`.
	pub fn start(verifier_args: &[&str]) -> Self {
		Self::start_with(&[], verifier_args)
	}

	/// [`System::start`] with `node_args` added to the dev node's.
	pub fn start_with(node_args: &[&str], verifier_args: &[&str]) -> Self {
		Self::start_on(Node::dev(node_args), verifier_args)
	}

	/// [`System::start`] on `node` (running, its RPC up).
	pub fn start_on(node: Node, verifier_args: &[&str]) -> Self {
		let dir = tempfile::tempdir().expect("temp dir");
		let port = free_port();
		let server_url = format!("http://127.0.0.1:{port}");
		let mut server = Proc::spawn(
			&target_dir().join("attest-server"),
			&server_args(port, &dir.path().join("server"), &node.ws_url()),
			dir.path().join("server.log"),
		);
		server.wait_http(&format!("{server_url}/healthz"));
		let vport = free_port();
		let mut sys = System {
			node,
			server,
			server_url,
			verifier: None,
			verifier_url: format!("http://127.0.0.1:{vport}"),
			dir,
		};
		let endpoint = sys.verifier_url.clone();
		sys.attest_ok(
			"//Bob",
			"verifier",
			&["verifier", "register", "--endpoint", &endpoint, "--price", &PRICE.to_string()],
		);
		sys.start_verifier(verifier_args);
		sys
	}

	/// Kill the attestation server (SIGKILL, as a crash would) and start it again on its port
	/// and data, its log in `server-<n>.log`; waits until it answers.
	pub fn restart_server(&mut self, n: u32) {
		self.server.kill9();
		let port: u16 =
			self.server_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
		self.server = Proc::spawn(
			&target_dir().join("attest-server"),
			&server_args(port, &self.dir.path().join("server"), &self.node.ws_url()),
			self.dir.path().join(format!("server-{n}.log")),
		);
		let url = format!("{}/healthz", self.server_url);
		self.server.wait_http(&url);
	}

	pub fn start_verifier(&mut self, extra: &[&str]) {
		let port = self.verifier_url.rsplit(':').next().unwrap_or_default().to_string();
		let mut args = self.common("//Bob", "verifier");
		args.extend(["verifier", "serve", "--listen"].map(String::from));
		args.push(format!("127.0.0.1:{port}"));
		args.extend(["--watch-every", "1"].map(String::from));
		args.extend(extra.iter().map(|s| s.to_string()));
		let log = self
			.dir
			.path()
			.join(format!("verifier-{}.log", Instant::now().elapsed().as_nanos()));
		let mut p = Proc::spawn(&attest_bin(), &args, log);
		p.wait_http(&format!("{}/v1/info", self.verifier_url));
		self.verifier = Some(p);
	}

	/// The global flags of party `who` with its own database `<db>.db`.
	pub fn common(&self, who: &str, db: &str) -> Vec<String> {
		vec![
			"--node".into(),
			self.node.ws_url(),
			"--server".into(),
			self.server_url.clone(),
			"--suri".into(),
			who.into(),
			"--db".into(),
			self.dir.path().join(format!("{db}.db")).display().to_string(),
		]
	}

	/// Run `attest` as `who` with database `db`.
	pub fn attest(&self, who: &str, db: &str, args: &[&str]) -> Output {
		self.attest_command(who, db, args).output().expect("attest runs")
	}

	/// `attest` as `who` with database `db` and `args`, not started (no stdin).
	pub fn attest_command(&self, who: &str, db: &str, args: &[&str]) -> Command {
		let mut c = Command::new(attest_bin());
		c.args(self.common(who, db)).args(args).stdin(Stdio::null());
		c
	}

	/// Run `attest` and require success; its stdout.
	pub fn attest_ok(&self, who: &str, db: &str, args: &[&str]) -> String {
		let out = self.attest(who, db, args);
		assert!(
			out.status.success(),
			"attest {args:?} failed ({}):\n{}\n{}\nverifier log:\n{}",
			out.status,
			String::from_utf8_lossy(&out.stdout),
			String::from_utf8_lossy(&out.stderr),
			self.verifier.as_ref().map(|v| log_tail(&v.log, 30)).unwrap_or_default()
		);
		String::from_utf8_lossy(&out.stdout).into_owned()
	}

	/// Open a channel from `who` (database `db`) to //Bob; its id.
	pub fn open(&self, who: &str, db: &str, deposit: &str) -> String {
		self.open_with_period(who, db, deposit, 10)
	}

	/// [`System::open`] with a challenge period of `period` blocks (of 250 ms on the dev node).
	pub fn open_with_period(&self, who: &str, db: &str, deposit: &str, period: u32) -> String {
		let period = period.to_string();
		let out = self.attest_ok(
			who,
			db,
			&[
				"--json",
				"channel",
				"open",
				"--verifier",
				BOB,
				"--deposit",
				deposit,
				"--challenge-period",
				&period,
			],
		);
		let v: serde_json::Value = serde_json::from_str(out.trim()).expect("channel JSON");
		v["channel"].as_str().expect("channel id").to_string()
	}
}

/// //Bob's SS58 address.
pub const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

/// The seqs `attest --json submit` reported, one JSON line per file, sorted.
pub fn seqs_of(out: &str) -> Vec<u64> {
	let mut seqs: Vec<u64> = out
		.lines()
		.map(|l| {
			serde_json::from_str::<serde_json::Value>(l).expect("JSON")["seq"]
				.as_u64()
				.expect("seq")
		})
		.collect();
	seqs.sort();
	seqs
}

/// Deterministic pseudo-random bytes (xorshift), distinct per `seed`.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
	let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	let mut out = Vec::with_capacity(len + 8);
	while out.len() < len {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out.extend_from_slice(&x.to_le_bytes());
	}
	out.truncate(len);
	out
}

/// Write `n` files of mixed sizes under `dir` (seeds `first..first+n`): the first is 1 byte and
/// the second 8 MiB; of the others 90 % are up to 64 KiB and 10 % between 64 KiB and 8 MiB
/// (log-uniform). Returns the paths.
pub fn write_files(dir: &Path, first: u64, n: u64) -> Vec<PathBuf> {
	std::fs::create_dir_all(dir).expect("dir");
	(first..first + n)
		.map(|i| {
			let r = bytes(i ^ 0xABCD, 16);
			let u = u64::from_le_bytes(r[..8].try_into().expect("8"));
			let v = u64::from_le_bytes(r[8..].try_into().expect("8")) as f64 / u64::MAX as f64;
			let len = match i - first {
				0 => 1,
				1 => 8 << 20,
				_ if u % 10 != 0 => 1 + (u % (64 << 10)) as usize,
				_ => ((64u64 << 10) as f64 * (128f64).powf(v)) as usize,
			};
			let p = dir.join(format!("item-{i:06}.bin"));
			std::fs::write(&p, bytes(i, len)).expect("write");
			p
		})
		.collect()
}

pub use attest_client::verifier::Calls;

/// `key`'s signed calls about channel `id` to the system's verifier.
pub fn calls_of(
	sys: &System,
	key: &attest_chain::Key,
	genesis: attest_primitives::Hash,
	id: attest_primitives::Hash,
) -> Calls {
	Calls::new(&sys.verifier_url, key, genesis, id)
}
