//! Crash safety: `kill -9` the requester, and separately the verifier, at seeded random
//! moments during a run, restart, and finish. Every item is attested exactly once (seqs
//! `0..n`, none twice), paid exactly once (the close pays the verifier price x n), and no
//! party signed two different states with one nonce (the requester's and the verifier's
//! signed states agree nonce by nonce).
//!
//! Sizes: `CRASH_ITEMS` (default 2,000) items and `CRASH_KILLS` (default 20) kills per party;
//! the full run is `CRASH_ITEMS=10000`.

mod common;

use attest_client::store::Store;
use common::*;
use std::{
	collections::BTreeMap,
	process::{Command, Stdio},
	time::Duration,
};

fn env(name: &str, default: u64) -> u64 {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (the kills' timing).
struct Lcg(u64);
impl Lcg {
	fn next(&mut self, below: u64) -> u64 {
		self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
		(self.0 >> 33) % below.max(1)
	}
}

fn small_files(dir: &std::path::Path, n: u64) {
	std::fs::create_dir_all(dir).expect("dir");
	for i in 0..n {
		std::fs::write(
			dir.join(format!("{i:06}.bin")),
			bytes(1_000_000 + i, 16 + (i % 200) as usize),
		)
		.expect("write");
	}
}

/// Run `attest submit` as Alice, killing it after `ms` (if still running); whether it finished.
fn submit_for(sys: &System, dir: &str, ms: Option<u64>) -> bool {
	let mut child = sys
		.attest_command("//Alice", "alice", &["submit", dir, "--batch", "100"])
		.stdout(Stdio::null())
		.stderr(Stdio::null())
		.spawn()
		.expect("attest");
	match ms {
		Some(ms) => {
			std::thread::sleep(Duration::from_millis(ms));
			if child.try_wait().expect("wait").is_none() {
				let _ = child.kill();
				let _ = child.wait();
				return false;
			}
			true
		},
		None => child.wait().expect("wait").success(),
	}
}

/// The last run after the crashes must finish, reporting each file at most once (`--json`:
/// a file a cut batch left is finished and reported attested, and not reported again as
/// skipped when the walk reaches it).
fn finish(sys: &System, dir: &str) {
	let out = sys.attest("//Alice", "alice", &["--json", "submit", dir, "--batch", "100"]);
	assert!(
		out.status.success(),
		"the run does not finish after the crashes:\n{}\nverifier log:\n{}",
		String::from_utf8_lossy(&out.stderr),
		sys.verifier
			.as_ref()
			.map(|v| attest_testkit::log_tail(&v.log, 20))
			.unwrap_or_default()
	);
	let mut seen = std::collections::HashMap::new();
	for line in String::from_utf8_lossy(&out.stdout).lines() {
		let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
		let path = v["path"].as_str().expect("path").to_string();
		if let Some(before) = seen.insert(path.clone(), v["state"].clone()) {
			panic!("{path} reported twice: {before} then {}", v["state"]);
		}
	}
}

fn check(sys: &System, n: u64, channel: &str) {
	// Every item exactly once: `--json` on a finished run reports each file skipped with its seq.
	let dir = sys.dir.path().join("items");
	let out =
		sys.attest_ok("//Alice", "alice", &["--json", "submit", dir.to_str().expect("utf-8")]);
	let seqs = seqs_of(&out);
	if seqs != (0..n).collect::<Vec<_>>() {
		let twice: Vec<u64> = seqs.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
		let missing: Vec<u64> = (0..n).filter(|s| seqs.binary_search(s).is_err()).collect();
		panic!(
			"each item once, seqs without gaps: {} items reported, seqs twice: {twice:?}, \
			 missing: {missing:?}, past {n}: {:?}",
			seqs.len(),
			seqs.iter().filter(|s| **s >= n).collect::<Vec<_>>()
		);
	}
	let closed: serde_json::Value = serde_json::from_str(
		sys.attest_ok("//Alice", "alice", &["--json", "channel", "close"]).trim(),
	)
	.expect("close JSON");
	assert_eq!(
		closed["verifierPaid"],
		(PRICE * n as u128).to_string().as_str(),
		"paid once per item"
	);
	// No two different states signed with one nonce, across both parties.
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let id = {
		let b = hex::decode(channel.trim_start_matches("0x")).expect("hex");
		attest_primitives::Hash(b.try_into().expect("32"))
	};
	let states = |db: &str| -> BTreeMap<u64, attest_primitives::ChannelState> {
		let store = rt.block_on(Store::open(&sys.dir.path().join(format!("{db}.db")))).expect("db");
		rt.block_on(store.signed_states(&id))
			.expect("states")
			.into_iter()
			.map(|s| (s.nonce, s))
			.collect()
	};
	let (mine, theirs) = (states("alice"), states("verifier"));
	for (nonce, s) in &theirs {
		assert_eq!(
			mine.get(nonce),
			Some(s),
			"state {nonce}: the verifier signed one the requester did not"
		);
	}
	assert_eq!(
		mine.keys().copied().collect::<Vec<_>>(),
		(1..=mine.len() as u64).collect::<Vec<_>>()
	);
}

#[test]
fn the_requester_killed_at_random_points() {
	let (n, kills) = (env("CRASH_ITEMS", 2_000), env("CRASH_KILLS", 20));
	let sys = System::start(&[]);
	let channel = sys.open("//Alice", "alice", "100");
	let dir = sys.dir.path().join("items");
	small_files(&dir, n);
	let dir = dir.to_str().expect("utf-8").to_string();
	let mut rng = Lcg(0x5eed_0001);
	let mut killed = 0;
	for _ in 0..kills {
		if submit_for(&sys, &dir, Some(50 + rng.next(400))) {
			break;
		}
		killed += 1;
	}
	eprintln!("requester killed {killed} times during {n} items");
	finish(&sys, &dir);
	// As a kill between signing a state and uploading its records leaves them: items
	// attested, their records not on the server yet. The next run uploads them (reported
	// attested) and must not report them again as skipped.
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	rt.block_on(async {
		use attest_client::store::{ItemStage, Store};
		let store = Store::open(&sys.dir.path().join("alice.db")).await.expect("database");
		let done = store.items(ItemStage::Done).await.expect("items");
		let last: Vec<String> = done.iter().rev().take(5).map(|r| r.path.clone()).collect();
		store.set_items_status(&last, ItemStage::Attested).await.expect("status");
	});
	finish(&sys, &dir);
	check(&sys, n, &channel);
}

#[test]
fn the_verifier_killed_at_random_points() {
	let (n, kills) = (env("CRASH_ITEMS", 2_000), env("CRASH_KILLS", 20));
	let mut sys = System::start(&[]);
	let channel = sys.open("//Alice", "alice", "100");
	let dir = sys.dir.path().join("items");
	small_files(&dir, n);
	let dir = dir.to_str().expect("utf-8").to_string();
	let mut rng = Lcg(0x5eed_0002);
	let mut during = 0;
	for _ in 0..kills {
		let mut args = sys.common("//Alice", "alice");
		args.extend(["submit", dir.as_str(), "--batch", "100"].map(String::from));
		let mut child = Command::new(attest_bin())
			.args(&args)
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()
			.expect("attest");
		std::thread::sleep(Duration::from_millis(50 + rng.next(400)));
		// Counted when the requester was still at work when the verifier died.
		if child.try_wait().ok().flatten().is_none() {
			during += 1;
		}
		if let Some(v) = sys.verifier.as_mut() {
			v.kill9();
		}
		let _ = child.wait();
		sys.start_verifier(&[]);
	}
	eprintln!("verifier killed {kills} times, {during} of them while the requester was at work, during {n} items");
	finish(&sys, &dir);
	check(&sys, n, &channel);
}

/// The node is killed and started again (same base path and ports) between two submissions:
/// the verifier service and the attestation server, both left running, reconnect (subxt's
/// reconnecting RPC client) and the second submission, the close and `attest verify` work.
#[test]
fn a_node_restart_is_survived() {
	let mut sys = System::start(&[]);
	let channel = sys.open("//Alice", "alice", "100");
	let (first, second) = (sys.dir.path().join("first"), sys.dir.path().join("second"));
	small_files(&first, 50);
	std::fs::create_dir_all(&second).expect("dir");
	std::fs::write(second.join("after.bin"), b"attested after the node came back").expect("file");
	sys.attest_ok("//Alice", "alice", &["submit", first.to_str().expect("utf-8")]);
	sys.node.restart();
	// The verifier's connection comes back within seconds; a submission during the reconnect
	// fails cleanly and is retried by running it again (it resumes).
	let mut tries = 0;
	loop {
		tries += 1;
		let out = sys.attest("//Alice", "alice", &["submit", second.to_str().expect("utf-8")]);
		if out.status.success() {
			break;
		}
		assert!(
			tries < 10,
			"submissions still fail after the node restart:\n{}\nverifier log:\n{}",
			String::from_utf8_lossy(&out.stderr),
			sys.verifier
				.as_ref()
				.map(|v| attest_testkit::log_tail(&v.log, 20))
				.unwrap_or_default()
		);
		std::thread::sleep(Duration::from_secs(1));
	}
	eprintln!("submitted after the node restart at try {tries}");
	let closed: serde_json::Value = serde_json::from_str(
		sys.attest_ok("//Alice", "alice", &["--json", "channel", "close"]).trim(),
	)
	.expect("close JSON");
	assert_eq!(closed["verifierPaid"], (PRICE * 51).to_string().as_str(), "{closed}");
	// The server, also left running, saw the close's anchor through its own reconnected
	// connection: the file submitted after the restart verifies.
	let file = second.join("after.bin");
	let deadline = std::time::Instant::now() + Duration::from_secs(60);
	loop {
		let out = sys.attest("//Alice", "alice", &["verify", file.to_str().expect("utf-8")]);
		if out.status.success() {
			break;
		}
		assert!(
			std::time::Instant::now() < deadline,
			"{} (channel {channel}) does not verify after the restart:\n{}",
			file.display(),
			String::from_utf8_lossy(&out.stderr)
		);
		std::thread::sleep(Duration::from_millis(500));
	}
}
