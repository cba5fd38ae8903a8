//! Test harness: a dev node (`attest-testkit`), PostgreSQL, and the server as a real process,
//! each on free loopback ports and always stopped (on drop, so also when a test fails).

#![allow(dead_code)]

pub mod chain;
pub mod postgres;
pub mod s3;

use attest_testkit::log_tail;
pub use attest_testkit::{free_port, Node};
use std::{
	path::{Path, PathBuf},
	process::{Child, Command},
	time::{Duration, Instant},
};

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
