//! Test harness shared by the integration tests of `attest-node` and `attest-server`.
//!
//! * [`Node`]: `attest-node` as a real process on free loopback ports with a temporary base
//!   path and its log captured, always stopped (on drop, so also when a test panics).
//! * [`chain`]: the dev accounts (calls go through `attest-chain`).
//!
//! Development only (`publish = false`): it panics with the node's log where a test cannot
//! go on.

pub mod chain;
pub mod cut;
pub mod web;

use std::{
	collections::BTreeSet,
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::Mutex,
	time::{Duration, Instant},
};

/// Ports [`free_port`] has handed out in this process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before use), never
/// one this process was given before: the OS may give a port it just freed again, and two
/// tests running at once would then both start a service on it.
pub fn free_port() -> u16 {
	loop {
		let port = TcpListener::bind("127.0.0.1:0")
			.and_then(|l| l.local_addr())
			.map(|a| a.port())
			.expect("the OS gives out a free loopback port");
		let mut given = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
		if given.insert(port) {
			return port;
		}
	}
}

/// The RPC and Prometheus ports a node's log says it listens on (the last of each in `log`):
/// `Running JSON-RPC server: addr=127.0.0.1:45943,[::1]:38163` and `Prometheus exporter
/// started at 127.0.0.1:42415`.
pub fn node_ports_in_log(log: &str) -> (Option<u16>, Option<u16>) {
	let port_after = |line: &str, marker: &str| -> Option<u16> {
		let rest = &line[line.find(marker)? + marker.len()..];
		let addr = rest.split([',', ' ']).next()?;
		addr.rsplit(':').next()?.trim().parse().ok()
	};
	let (mut rpc, mut prometheus) = (None, None);
	for line in log.lines() {
		rpc = port_after(line, "Running JSON-RPC server: addr=").or(rpc);
		prometheus = port_after(line, "Prometheus exporter started at ").or(prometheus);
	}
	(rpc, prometheus)
}

/// `target/<profile>/`, where cargo put the running test and the workspace's binaries.
pub fn target_dir() -> PathBuf {
	let exe = std::env::current_exe().expect("test executable path");
	exe.parent()
		.and_then(Path::parent)
		.expect("target/<profile>/deps/<test>")
		.to_path_buf()
}

/// The last `lines` lines of the file at `path` (empty when it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
	let log = std::fs::read_to_string(path).unwrap_or_default();
	let all: Vec<&str> = log.lines().collect();
	all[all.len().saturating_sub(lines)..].join("\n")
}

/// A tool that `./x setup` installs into the project's Python venv: `$<env>` when set, else
/// `<venv>/bin/<name>` with `<venv>` = `$ATTEST_VENV` or `~/.cache/attest/venv`. Panics with
/// how to get it when it is missing.
pub fn venv_tool(env: &str, name: &str) -> PathBuf {
	let bin = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
		let venv = std::env::var_os("ATTEST_VENV").map(PathBuf::from).unwrap_or_else(|| {
			PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/attest/venv")
		});
		venv.join("bin").join(name)
	});
	assert!(bin.is_file(), "{} missing: `./x setup` installs it (or set {env})", bin.display());
	bin
}

/// The `attest-node` binary: `$ATTEST_NODE_BIN`, else the one next to the running test.
pub fn node_bin() -> PathBuf {
	let bin = std::env::var_os("ATTEST_NODE_BIN")
		.map(PathBuf::from)
		.unwrap_or_else(|| target_dir().join("attest-node"));
	assert!(
		bin.is_file(),
		"{} not built: run `cargo test --release --workspace` (it builds the node) or set \
		 ATTEST_NODE_BIN",
		bin.display()
	);
	bin
}

/// A running node.
pub struct Node {
	child: Option<Child>,
	/// JSON-RPC (WebSocket and HTTP) port: the one the node's log names once
	/// [`Node::wait_for_rpc`] returned.
	pub rpc_port: u16,
	/// libp2p port.
	pub p2p_port: u16,
	/// Prometheus port: the one the node's log names once [`Node::wait_for_rpc`] returned.
	pub prometheus_port: u16,
	log_path: PathBuf,
	/// Length of the log when the node was last started: what it printed since is after it.
	log_start: u64,
	bin: PathBuf,
	args: Vec<String>,
	dir: tempfile::TempDir,
}

impl Node {
	/// Start `bin` with `args` plus a free P2P port, RPC and Prometheus ports the node picks
	/// itself (port 0: no other process can hold them), and a temporary base path. Does not
	/// wait: see [`Node::wait_for_rpc`], which learns the RPC and Prometheus ports from the log.
	pub fn spawn(bin: &Path, args: &[&str]) -> Self {
		Self::spawn_with_rpc_port(bin, args, 0)
	}

	/// [`Node::spawn`] with its RPC on `rpc_port` (a client may already be asking there; 0:
	/// the node's choice).
	pub fn spawn_with_rpc_port(bin: &Path, args: &[&str], rpc_port: u16) -> Self {
		let dir = tempfile::tempdir().expect("temp dir");
		let log_path = dir.path().join("node.log");
		let mut node = Node {
			child: None,
			rpc_port,
			p2p_port: free_port(),
			prometheus_port: 0,
			log_path,
			log_start: 0,
			bin: bin.to_path_buf(),
			args: args.iter().map(|a| a.to_string()).collect(),
			dir,
		};
		let child = node.start();
		node.child = Some(child);
		node
	}

	/// Start the node on the ports it has (0 the first time: its RPC and Prometheus ports are
	/// then its choice; after a restart the ones it had, which its clients know).
	fn start(&mut self) -> Child {
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&self.log_path)
			.expect("log file");
		self.log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
		Command::new(&self.bin)
			.args(&self.args)
			.args(["--rpc-port", &self.rpc_port.to_string()])
			.args(["--port", &self.p2p_port.to_string()])
			.args(["--prometheus-port", &self.prometheus_port.to_string()])
			.args(["--no-telemetry", "--no-mdns"])
			.arg("--base-path")
			.arg(self.dir.path().join("base"))
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("attest-node starts")
	}

	/// Kill the node (SIGKILL, as a crash would); [`Node::restart`] starts it again.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Kill the node (SIGKILL, as a crash would) and start it again on the same base path and
	/// ports, its RPC up: its clients see the connection drop and come back.
	pub fn restart(&mut self) {
		self.kill();
		let child = self.start();
		self.child = Some(child);
		self.wait_for_rpc(Duration::from_secs(120));
	}

	/// A dev chain (`--dev`) that seals and finalizes a block every 250 ms, with `extra`
	/// flags, its RPC up.
	pub fn dev(extra: &[&str]) -> Self {
		let mut args = vec!["--dev", "--sealing", "250"];
		args.extend_from_slice(extra);
		let mut node = Self::spawn(&node_bin(), &args);
		node.wait_for_rpc(Duration::from_secs(120));
		node
	}

	/// Its process id (0 while it is not running).
	pub fn pid(&self) -> u32 {
		self.child.as_ref().map(Child::id).unwrap_or(0)
	}

	/// Its base path (chain database, keystore, network key).
	pub fn base_path(&self) -> PathBuf {
		self.dir.path().join("base")
	}

	/// `ws://` URL of the RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far (for failure messages).
	pub fn log_tail(&self, lines: usize) -> String {
		log_tail(&self.log_path, lines)
	}

	/// Wait until the node's log (since it was last started) says its RPC server runs, and
	/// take its RPC and Prometheus ports from there (a port asked for that another process
	/// took meanwhile is replaced by the node with a random one: a client of the asked-for
	/// port would talk to that other process), or panic with the log.
	pub fn wait_for_rpc(&mut self, timeout: Duration) {
		let deadline = Instant::now() + timeout;
		while Instant::now() < deadline {
			if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
				panic!("attest-node exited early with {status}:\n{}", self.log_tail(40));
			}
			let log = std::fs::read(&self.log_path).unwrap_or_default();
			let since = log.get(self.log_start as usize..).unwrap_or_default();
			let (rpc, prometheus) = node_ports_in_log(&String::from_utf8_lossy(since));
			if let Some(rpc) = rpc {
				if self.rpc_port != 0 && rpc != self.rpc_port {
					eprintln!(
						"attest-node: RPC port {} was taken, the node listens on {rpc}",
						self.rpc_port
					);
				}
				self.rpc_port = rpc;
				self.prometheus_port = prometheus.unwrap_or(self.prometheus_port);
				if std::net::TcpStream::connect(("127.0.0.1", self.rpc_port)).is_ok() {
					return;
				}
			}
			std::thread::sleep(Duration::from_millis(200));
		}
		panic!("attest-node RPC not up after {timeout:?}:\n{}", self.log_tail(40));
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if let Some(mut child) = self.child.take() {
			// SIGKILL is fine for a temporary base path; wait reaps the process.
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}
