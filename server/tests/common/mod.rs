//! Test harness: a dev node, PostgreSQL, and the server as a real process, each on free
//! loopback ports and always stopped (on drop, so also when a test fails).

#![allow(dead_code)]

pub mod chain;
pub mod postgres;

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("the OS gives out a free loopback port")
}

/// `target/<profile>/`, where cargo put this test and the workspace's binaries.
pub fn target_dir() -> PathBuf {
	let exe = std::env::current_exe().expect("test executable path");
	exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

fn log_tail(path: &Path, lines: usize) -> String {
	let log = std::fs::read_to_string(path).unwrap_or_default();
	let all: Vec<&str> = log.lines().collect();
	all[all.len().saturating_sub(lines)..].join("\n")
}

/// A running `attest-node --dev`.
pub struct Node {
	child: Child,
	pub rpc_port: u16,
	log_path: PathBuf,
	_dir: tempfile::TempDir,
}

impl Node {
	/// Start a dev node that seals (and finalizes) a block every 250 ms.
	pub fn start() -> Self {
		Self::start_with(&[])
	}

	/// [`Node::start`] with more flags.
	pub fn start_with(extra: &[&str]) -> Self {
		let bin = std::env::var_os("ATTEST_NODE_BIN")
			.map(PathBuf::from)
			.unwrap_or_else(|| target_dir().join("attest-node"));
		assert!(
			bin.is_file(),
			"{} not built: run `cargo test --release --workspace` (it builds the node) or set ATTEST_NODE_BIN",
			bin.display()
		);
		let dir = tempfile::tempdir().expect("temp dir");
		let rpc_port = free_port();
		let log_path = dir.path().join("node.log");
		let log = std::fs::File::create(&log_path).expect("log file");
		let child = Command::new(bin)
			.args(["--dev", "--sealing", "250", "--no-telemetry", "--no-mdns", "--no-prometheus"])
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &free_port().to_string()])
			.args(extra)
			.arg("--base-path")
			.arg(dir.path().join("base"))
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("attest-node starts");
		let mut node = Node { child, rpc_port, log_path, _dir: dir };
		node.wait_for_rpc(Duration::from_secs(120));
		node
	}

	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	pub fn log_tail(&self, lines: usize) -> String {
		log_tail(&self.log_path, lines)
	}

	fn wait_for_rpc(&mut self, timeout: Duration) {
		let deadline = Instant::now() + timeout;
		while Instant::now() < deadline {
			if let Ok(Some(status)) = self.child.try_wait() {
				panic!("attest-node exited early with {status}:\n{}", self.log_tail(40));
			}
			if std::net::TcpStream::connect(("127.0.0.1", self.rpc_port)).is_ok() {
				return;
			}
			std::thread::sleep(Duration::from_millis(200));
		}
		panic!("attest-node RPC not up after {timeout:?}:\n{}", self.log_tail(40));
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// The server as a process, restartable on the same data.
pub struct Server {
	child: Option<Child>,
	pub port: u16,
	pub data_dir: PathBuf,
	args: Vec<String>,
	log_path: PathBuf,
}

impl Server {
	/// Start `attest-server` with `--data-dir data_dir` plus `args`.
	pub fn start(data_dir: &Path, chain_rpc: &str, args: &[&str]) -> Self {
		Self::start_on(free_port(), data_dir, chain_rpc, args)
	}

	/// [`Server::start`] on a given port.
	pub fn start_on(port: u16, data_dir: &Path, chain_rpc: &str, args: &[&str]) -> Self {
		let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
		args.extend(["--chain-rpc".into(), chain_rpc.into()]);
		if !args.iter().any(|a| a == "--anchor-poll-secs") {
			args.extend(["--anchor-poll-secs".into(), "1".into()]);
		}
		let mut s = Server {
			child: None,
			port,
			data_dir: data_dir.to_path_buf(),
			args,
			log_path: data_dir.with_extension("log"),
		};
		s.spawn();
		s
	}

	fn spawn(&mut self) {
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&self.log_path)
			.expect("log");
		let child = Command::new(env!("CARGO_BIN_EXE_attest-server"))
			.arg("--listen")
			.arg(format!("127.0.0.1:{}", self.port))
			.arg("--data-dir")
			.arg(&self.data_dir)
			.args(&self.args)
			.env("ATTEST_SERVER_LOG", "info")
			.stdout(log.try_clone().expect("log"))
			.stderr(log)
			.spawn()
			.expect("attest-server starts");
		self.child = Some(child);
		self.wait_healthy(Duration::from_secs(60));
	}

	pub fn url(&self) -> String {
		format!("http://127.0.0.1:{}", self.port)
	}

	pub fn log_tail(&self, lines: usize) -> String {
		log_tail(&self.log_path, lines)
	}

	fn wait_healthy(&mut self, timeout: Duration) {
		let deadline = Instant::now() + timeout;
		while Instant::now() < deadline {
			if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
				panic!("attest-server exited early with {status}:\n{}", self.log_tail(40));
			}
			if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
				use std::io::{Read, Write};
				let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
				let mut out = String::new();
				let _ = s.read_to_string(&mut out);
				if out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200") {
					return;
				}
			}
			std::thread::sleep(Duration::from_millis(100));
		}
		panic!("attest-server not healthy after {timeout:?}:\n{}", self.log_tail(40));
	}

	/// SIGKILL: no shutdown code runs.
	pub fn kill9(&mut self) {
		if let Some(mut c) = self.child.take() {
			let _ = c.kill();
			let _ = c.wait();
		}
	}

	/// Start again on the same port and data.
	pub fn restart(&mut self) {
		self.kill9();
		self.spawn();
	}
}

impl Drop for Server {
	fn drop(&mut self) {
		self.kill9();
	}
}

/// Files under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
	let mut out = Vec::new();
	if let Ok(entries) = std::fs::read_dir(dir) {
		for e in entries.flatten() {
			let p = e.path();
			if p.is_dir() {
				out.extend(files_under(&p));
			} else {
				out.push(p);
			}
		}
	}
	out
}
