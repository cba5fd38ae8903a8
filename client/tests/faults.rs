//! Faults on the chain side, with real processes (issue 29): three validators (Alice, Bob,
//! Charlie: Aura and GRANDPA, 6 s blocks), a full node that serves the agents and the
//! attestation server ("the agents' node"), a verifier service (//Bob) and a requester
//! (//Alice) attesting a folder of files each round and checkpointing it. One fault a round:
//!
//! 1. none;
//! 2. validator Charlie killed (SIGKILL) before the round, restarted 20 s into it: GRANDPA
//!    needs all three of three validators, so finality stops and the checkpoint waits for it;
//! 3. the agents' node killed as the requester starts a submit, restarted 10 s later on the
//!    same ports: the requester, the verifier service and the server wait and resume (a
//!    command that gave up with exit 2 is run again, as a user or a script would);
//! 4. the attestation server killed while the checkpoint goes to the chain, restarted once the
//!    checkpoint is final: it finds the anchor it missed.
//!
//! Afterwards the channel is closed cooperatively and every item is checked: attested once
//! (seqs `0..n`, none twice), anchored and proven (`attest verify` of every file), and paid
//! once (the verifier's balance grew by price x n, the requester got the rest, no penalty).
//!
//! Sizes: `FAULT_ITEMS` files a round (default 25).

mod common;

use attest_chain::{Chain, Key};
use common::*;
use std::{
	collections::BTreeSet,
	path::{Path, PathBuf},
	process::{Child, Output, Stdio},
	time::{Duration, Instant},
};

fn env(name: &str, default: u64) -> u64 {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn text(o: &Output) -> String {
	String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// Run `attest args` as Alice until it succeeds: a run that could not reach the node or the
/// server (exit 2) is run again, as a script would, within `limit`. Its output and the number
/// of runs.
fn until_done(sys: &System, args: &[&str], limit: Duration) -> (String, u32) {
	let deadline = Instant::now() + limit;
	let mut runs = 0;
	loop {
		runs += 1;
		let out = sys.attest("//Alice", "alice", args);
		if out.status.success() {
			return (String::from_utf8_lossy(&out.stdout).into_owned(), runs);
		}
		assert_eq!(
			out.status.code(),
			Some(2),
			"attest {args:?} failed, not for want of a peer:\n{}",
			text(&out)
		);
		assert!(
			Instant::now() < deadline,
			"attest {args:?} still failing after {limit:?}:\n{}",
			text(&out)
		);
		eprintln!(
			"attest {args:?} gave up (exit 2), run again: {}",
			text(&out).lines().last().unwrap_or("")
		);
		std::thread::sleep(Duration::from_secs(2));
	}
}

/// A round's files.
fn round_files(dir: &Path, round: u64, n: u64) -> PathBuf {
	let d = dir.join(format!("round-{round}"));
	std::fs::create_dir_all(&d).expect("dir");
	for i in 0..n {
		std::fs::write(
			d.join(format!("{i:04}.bin")),
			bytes(round * 10_000 + i, 100 + (i as usize * 37) % 3000),
		)
		.expect("write");
	}
	d
}

/// `attest` started in the background, its output kept for [`wait`].
fn in_background(mut c: std::process::Command) -> Child {
	c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("attest starts")
}

/// Wait for `child` (an `attest` command started earlier); its output.
fn wait(child: Child) -> Output {
	child.wait_with_output().expect("attest ends")
}

#[test]
fn attesting_goes_on_through_validator_node_and_server_crashes() {
	let started = Instant::now();
	let per_round = env("FAULT_ITEMS", 25);
	let work = tempfile::tempdir().expect("dir");
	let spec = network::three_validator_spec(work.path(), 10, "attest-faults");
	let (alice, mut others) = network::start_validators(&spec);
	let agents_node = network::node(spec.to_str().unwrap(), &alice, &[]);
	let mut sys = System::start_on(agents_node, &[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let bob = Key::from_suri("//Bob").expect("key");
	let bob_before = {
		let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
		rt.block_on(chain.free_balance(bob.public())).expect("balance")
	};
	let channel = sys.open("//Alice", "alice", "100");
	let files = sys.dir.path().join("files");
	let mut dirs = Vec::new();
	let limit = Duration::from_secs(240);
	let submit = |sys: &System, d: &Path| {
		until_done(
			sys,
			&["submit", "--channel", &channel, d.to_str().unwrap(), "--batch", "10"],
			limit,
		)
		.1
	};
	let checkpoint = |sys: &System| until_done(sys, &["channel", "checkpoint", &channel], limit).1;

	// 1. No fault.
	let t = Instant::now();
	let d = round_files(&files, 1, per_round);
	submit(&sys, &d);
	checkpoint(&sys);
	dirs.push(d);
	eprintln!("round 1 (no fault): {:.0} s", t.elapsed().as_secs_f64());

	// 2. Charlie's validator down: no finality until it is back.
	let t = Instant::now();
	let charlie = &mut others[1];
	charlie.kill();
	let d = round_files(&files, 2, per_round);
	submit(&sys, &d);
	let mut cp =
		in_background(sys.attest_command("//Alice", "alice", &["channel", "checkpoint", &channel]));
	std::thread::sleep(Duration::from_secs(20));
	// Two validators of three are not enough for GRANDPA: the checkpoint is still waiting.
	assert!(cp.try_wait().expect("wait").is_none(), "a checkpoint final without Charlie");
	others[1].restart();
	let out = wait(cp);
	let runs = if out.status.success() { 1 } else { 1 + checkpoint(&sys) };
	dirs.push(d);
	eprintln!(
		"round 2 (validator Charlie killed, restarted after 20 s): checkpoint final in {runs} run(s), round {:.0} s",
		t.elapsed().as_secs_f64()
	);

	// 3. The agents' node down when the requester starts, back 10 s later.
	let t = Instant::now();
	let d = round_files(&files, 3, per_round);
	sys.node.kill();
	let s = in_background(sys.attest_command(
		"//Alice",
		"alice",
		&["submit", "--channel", &channel, d.to_str().unwrap(), "--batch", "5"],
	));
	std::thread::sleep(Duration::from_secs(10));
	sys.node.restart();
	let out = wait(s);
	let runs = if out.status.success() { 1 } else { 1 + submit(&sys, &d) };
	eprintln!(
		"round 3: the first submit {}",
		if runs == 1 {
			"waited for the node".to_string()
		} else {
			format!("gave up: {}", text(&out).lines().last().unwrap_or(""))
		}
	);
	checkpoint(&sys);
	dirs.push(d);
	eprintln!(
		"round 3 (agents' node down for 10 s from the start of a submit): submit done in {runs} run(s), round {:.0} s",
		t.elapsed().as_secs_f64()
	);

	// 4. The server killed while the checkpoint goes to the chain; back once it is final.
	let t = Instant::now();
	let d = round_files(&files, 4, per_round);
	submit(&sys, &d);
	let mut cp =
		in_background(sys.attest_command("//Alice", "alice", &["channel", "checkpoint", &channel]));
	std::thread::sleep(Duration::from_secs(2));
	assert!(cp.try_wait().expect("wait").is_none(), "the checkpoint was final within 2 s");
	sys.server.kill9();
	let out = wait(cp);
	assert!(out.status.success(), "the checkpoint needs no server: {}", text(&out));
	sys.restart_server(2);
	dirs.push(d);
	eprintln!(
		"round 4 (server killed during the anchor's relay): {:.0} s",
		t.elapsed().as_secs_f64()
	);

	// Every item once: a run over every folder reports each file skipped, with its seq.
	let n = per_round * dirs.len() as u64;
	let mut args: Vec<&str> = vec!["--json", "submit", "--channel", &channel];
	args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
	let (out, _) = until_done(&sys, &args, limit);
	assert_eq!(seqs_of(&out), (0..n).collect::<Vec<_>>(), "each item once, seqs 0..{n}");

	// Every file anchored and proven: `attest verify` of every folder.
	let mut args: Vec<&str> = vec!["--json", "verify", "--wait", "120"];
	args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
	let (out, _) = until_done(&sys, &args, limit);
	let verdicts: Vec<serde_json::Value> =
		out.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
	assert_eq!(verdicts.len() as u64, n, "one verdict per file");
	assert!(
		verdicts.iter().all(|v| v["attested"] == true && v["requester"] == ALICE_SS58),
		"{out}"
	);
	let anchors: BTreeSet<u64> =
		verdicts.iter().map(|v| v["anchorIndex"].as_u64().expect("index")).collect();
	assert_eq!(anchors.len(), 4, "one anchor a round: {anchors:?}");

	// Paid once per item.
	let (out, _) = until_done(&sys, &["--json", "channel", "close", &channel], limit);
	let closed: serde_json::Value = serde_json::from_str(out.trim()).expect("close JSON");
	let paid = PRICE * n as u128;
	assert_eq!(closed["verifierPaid"], paid.to_string().as_str());
	assert_eq!(closed["requesterPaid"], (100 * attest_chain::UNIT - paid).to_string().as_str());
	assert_eq!(closed["staleClosePenalty"], "0");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let bob_after = rt.block_on(chain.free_balance(bob.public())).expect("balance");
	assert_eq!(bob_after - bob_before, paid, "the verifier's balance grew by price x items");
	eprintln!(
		"faults: {n} items in 4 rounds (validator, agents' node and server killed), each once, \
		 anchored, proven and paid once; {:.0} s",
		started.elapsed().as_secs_f64()
	);
}

/// //Alice's SS58 address.
const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
