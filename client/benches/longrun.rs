//! A long run through the whole stack (`cargo bench -p attest-client --bench longrun`): a dev
//! node, the attestation server (SQLite) and the verifier service as real processes; `attest
//! submit` attests `LONGRUN_ITEMS` 1 KiB items (default 100,000; `./x test` runs 20,000) in
//! `LONGRUN_ROUNDS` rounds (10), each ended by a checkpoint on chain. After every round it
//! samples each process's resident memory (VmRSS; the requester's peak, VmHWM, while it ran)
//! and the bytes each keeps on disk (the server's data folder, both agents' databases, the
//! node's base path), and prints them, bytes per item, and each process's RSS slope over the
//! second half of the run (MB per 100,000 items: flat when nothing grows with the items
//! attested). It fails only if an item is lost: every round's items attested, each exactly
//! once, the verifier paid for every item.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::{
	path::Path,
	process::Stdio,
	time::{Duration, Instant},
};

fn env(name: &str, default: u64) -> u64 {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `VmRSS` or `VmHWM` of process `pid`, bytes (0 once it is gone).
fn mem(pid: u32, field: &str) -> u64 {
	std::fs::read_to_string(format!("/proc/{pid}/status"))
		.ok()
		.and_then(|s| {
			s.lines()
				.find(|l| l.starts_with(field))
				.and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
		})
		.map(|kb| kb * 1024)
		.unwrap_or(0)
}

/// Bytes of the files under `path` (a file or a folder).
fn disk(path: &Path) -> u64 {
	match std::fs::metadata(path) {
		Ok(m) if m.is_file() => m.len(),
		Ok(m) if m.is_dir() => std::fs::read_dir(path)
			.map(|d| d.flatten().map(|e| disk(&e.path())).sum())
			.unwrap_or(0),
		_ => 0,
	}
}

/// A SQLite database with its write-ahead log and shared memory.
fn sqlite(path: &Path) -> u64 {
	["", "-wal", "-shm"]
		.iter()
		.map(|s| {
			disk(&path.with_file_name(format!(
				"{}{s}",
				path.file_name().unwrap_or_default().to_string_lossy()
			)))
		})
		.sum()
}

/// Least-squares slope of `ys` over `xs`.
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
	let n = xs.len() as f64;
	let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
	let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
	let var: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
	if var == 0.0 {
		0.0
	} else {
		cov / var
	}
}

const MB: f64 = 1e6;

fn main() {
	let items = env("LONGRUN_ITEMS", 100_000);
	let rounds = env("LONGRUN_ROUNDS", 10).max(2);
	let per_round = items / rounds;
	let sys = System::start(&["--max-batch", "10000"]);
	let channel = sys.open("//Alice", "alice", "100000");
	let (node, server, verifier) = (
		sys.node.pid(),
		sys.server.pid(),
		sys.verifier.as_ref().map(Proc::pid).unwrap_or_default(),
	);
	println!(
		"long run: {items} items of 1 KiB in {rounds} rounds (dev node 250 ms blocks, server on \
		 SQLite, verifier service, attest submit; a checkpoint per round)"
	);
	println!(
		"{:>9} {:>9} | {:>8} {:>8} {:>8} {:>8} {:>9} | {:>9} {:>9} {:>9} {:>9}",
		"items",
		"items/s",
		"node MB",
		"server",
		"srv anon",
		"verifier",
		"submit pk",
		"server B",
		"verif. B",
		"reqst. B",
		"node B"
	);
	let started = Instant::now();
	let mut samples: Vec<[f64; 4]> = Vec::new();
	let mut xs = Vec::new();
	let mut last = (0u64, 0u64, 0u64, 0u64);
	for r in 0..rounds {
		let dir = sys.dir.path().join(format!("round-{r:03}"));
		std::fs::create_dir_all(&dir).expect("dir");
		for i in r * per_round..(r + 1) * per_round {
			std::fs::write(dir.join(format!("{i:08}.bin")), bytes(9_000_000 + i, 1024))
				.expect("write");
		}
		let submit = ["--json", "submit", dir.to_str().expect("utf-8"), "--batch", "5000"];
		let t = Instant::now();
		let mut child = sys
			.attest_command("//Alice", "alice", &submit)
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.expect("attest submit");
		let pid = child.id();
		let mut peak = 0;
		let stdout = child.stdout.take().expect("stdout");
		let reader = std::thread::spawn(move || {
			use std::io::BufRead;
			std::io::BufReader::new(stdout)
				.lines()
				.map_while(Result::ok)
				.collect::<Vec<_>>()
		});
		while child.try_wait().expect("wait").is_none() {
			peak = peak.max(mem(pid, "VmHWM:"));
			std::thread::sleep(Duration::from_millis(100));
		}
		let status = child.wait().expect("wait");
		let lines = reader.join().expect("reader");
		let rate = per_round as f64 / t.elapsed().as_secs_f64();
		assert!(status.success(), "round {r}: attest submit failed");
		let attested = lines.iter().filter(|l| l.contains("\"attested\"")).count() as u64;
		assert_eq!(attested, per_round, "round {r}: every new item attested, once");
		sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &channel]);
		// Let the anchor's relay land before sampling.
		std::thread::sleep(Duration::from_secs(2));
		let done = (r + 1) * per_round;
		let mem_now = [mem(node, "VmRSS:"), mem(server, "VmRSS:"), mem(verifier, "VmRSS:")];
		// Of the server's: its heap and stacks (RssAnon), the rest being mapped files.
		let server_anon = mem(server, "RssAnon:");
		let disk_now = (
			disk(&sys.dir.path().join("server")),
			sqlite(&sys.dir.path().join("verifier.db")),
			sqlite(&sys.dir.path().join("alice.db")),
			disk(&sys.node.base_path()),
		);
		println!(
			"{done:>9} {rate:>9.0} | {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1} | {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
			mem_now[0] as f64 / MB,
			mem_now[1] as f64 / MB,
			server_anon as f64 / MB,
			mem_now[2] as f64 / MB,
			peak as f64 / MB,
			disk_now.0 as f64 / done as f64,
			disk_now.1 as f64 / done as f64,
			disk_now.2 as f64 / done as f64,
			disk_now.3 as f64 / done as f64,
		);
		samples.push([
			mem_now[0] as f64 / MB,
			mem_now[1] as f64 / MB,
			mem_now[2] as f64 / MB,
			peak as f64 / MB,
		]);
		xs.push(done as f64 / 100_000.0);
		last = disk_now;
	}
	let closed: serde_json::Value = serde_json::from_str(
		sys.attest_ok("//Alice", "alice", &["--json", "channel", "close"]).trim(),
	)
	.expect("close JSON");
	let attested = rounds * per_round;
	assert_eq!(
		closed["verifierPaid"],
		(PRICE * attested as u128).to_string().as_str(),
		"the verifier paid once per item"
	);
	let half = samples.len() / 2;
	let trend = |k: usize| {
		let ys: Vec<f64> = samples[half..].iter().map(|s| s[k]).collect();
		slope(&xs[half..], &ys)
	};
	println!(
		"after {attested} items ({:.0} s): bytes per item on disk: server {:.0} (its data folder: \
		 records, blobs inline up to 64 KiB, anchors), verifier database {:.0}, requester \
		 database {:.0}, node base path {:.0}",
		started.elapsed().as_secs_f64(),
		last.0 as f64 / attested as f64,
		last.1 as f64 / attested as f64,
		last.2 as f64 / attested as f64,
		last.3 as f64 / attested as f64,
	);
	if samples.len() - half < 2 {
		println!("RSS slope: too few rounds for one (LONGRUN_ROUNDS of 4 or more gives it)");
	} else {
		println!(
			"RSS slope over the second half, MB per 100,000 items: node {:+.2}, server {:+.2}, \
			 verifier {:+.2}, submit's peak {:+.2}",
			trend(0),
			trend(1),
			trend(2),
			trend(3)
		);
	}
}
