//! Runs `attest-node` for a test: free loopback ports, a temporary base path, logs captured,
//! and the process always stopped (on drop, so also when the test panics).

#![allow(dead_code)]

use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before use).
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("the OS gives out a free loopback port")
}

/// A running node.
pub struct Node {
	child: Option<Child>,
	pub rpc_port: u16,
	pub p2p_port: u16,
	pub prometheus_port: u16,
	pub log_path: PathBuf,
	_dir: tempfile::TempDir,
}

impl Node {
	/// Start `attest-node` with `args` plus free RPC, P2P and Prometheus ports.
	pub fn start(args: &[&str]) -> Self {
		let dir = tempfile::tempdir().expect("temp dir");
		let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
		let log_path = dir.path().join("node.log");
		let log = std::fs::File::create(&log_path).expect("log file");
		let child = Command::new(env!("CARGO_BIN_EXE_attest-node"))
			.args(args)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", &p2p_port.to_string()])
			.args(["--prometheus-port", &prometheus_port.to_string()])
			.args(["--no-telemetry", "--no-mdns"])
			.arg("--base-path")
			.arg(dir.path().join("base"))
			.stdout(Stdio::null())
			.stderr(log.try_clone().expect("log file handle"))
			.spawn()
			.expect("attest-node starts");
		Node { child: Some(child), rpc_port, p2p_port, prometheus_port, log_path, _dir: dir }
	}

	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far (for failure messages).
	pub fn log_tail(&self, lines: usize) -> String {
		let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
		let all: Vec<&str> = log.lines().collect();
		all[all.len().saturating_sub(lines)..].join("\n")
	}

	/// Wait until the RPC port accepts connections, or fail with the log.
	pub fn wait_for_rpc(&mut self, timeout: Duration) {
		let deadline = Instant::now() + timeout;
		while Instant::now() < deadline {
			if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
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
		if let Some(mut child) = self.child.take() {
			// SIGKILL is fine for a --tmp/temporary base path; wait reaps the process.
			let _ = child.kill();
			let _ = child.wait();
		}
	}
}
