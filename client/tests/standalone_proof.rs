//! A proof that stands alone (issue 27, format 2): on a chain that finalizes with GRANDPA
//! (a `--dev` node authoring Aura slots, Alice its only authority), Alice attests a file and
//! checkpoints; the exported proof is checked by `attest proof check --chain-spec` with every
//! process stopped: the chain spec is the only thing trusted. Edits are refused offline, a
//! spec of another chain is refused, and a proof of a chain sealed by hand says what it does
//! not prove.

mod common;

use attest_testkit::{node_bin, Node};
use common::*;
use std::{
	process::Command,
	time::{Duration, Instant},
};

fn export_spec(chain: &str, out: &std::path::Path) {
	let status = Command::new(node_bin())
		.args(["export-chain-spec", "--chain", chain, "--raw", "--output"])
		.arg(out)
		.stderr(std::process::Stdio::null())
		.status()
		.expect("attest-node runs");
	assert!(status.success(), "export-chain-spec --chain {chain}");
}

#[test]
fn a_proof_checks_with_the_chain_spec_alone_after_every_process_stopped() {
	let started = Instant::now();
	let mut node = Node::spawn(&node_bin(), &["--dev"]);
	node.wait_for_rpc(Duration::from_secs(120));
	let sys = System::start_on(node, &[]);
	let file = sys.dir.path().join("report.pdf");
	std::fs::write(&file, bytes(27, 50_000)).expect("write");
	let file = file.to_str().expect("utf-8");
	let channel = sys.open("//Alice", "alice", "10");
	sys.attest_ok("//Alice", "alice", &["submit", "--channel", &channel, file]);
	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &channel]);
	// Export once the anchor is final and relayed.
	let proof = sys.dir.path().join("proof.json");
	let deadline = Instant::now() + Duration::from_secs(120);
	loop {
		let out = sys.attest(
			"//Alice",
			"alice",
			&["proof", "export", file, "-o", proof.to_str().expect("utf-8")],
		);
		if out.status.success() {
			break;
		}
		assert!(Instant::now() < deadline, "no proof: {}", String::from_utf8_lossy(&out.stderr));
		std::thread::sleep(Duration::from_secs(2));
	}
	// The server built the anchor's chain evidence when it accepted the anchor, and serves
	// the same proof itself (the export took it from there).
	let digest = attest_primitives::sha256(&std::fs::read(file).unwrap());
	let served: serde_json::Value =
		reqwest::blocking::get(format!("{}/v1/items/{digest:?}/proof?format=v2", sys.server_url))
			.expect("server")
			.json()
			.expect("JSON");
	let exported: serde_json::Value =
		serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
	assert_eq!(served["version"], 2, "{served}");
	assert_eq!(served, exported);
	let spec = sys.dir.path().join("dev.json");
	export_spec("dev", &spec);
	let other_spec = sys.dir.path().join("local.json");
	export_spec("local", &other_spec);
	// Checked against the node first, then with everything stopped.
	let online = sys.attest_ok("//Alice", "alice", &["proof", "check", proof.to_str().unwrap()]);
	assert!(online.starts_with("VALID") && online.contains("final by GRANDPA"), "{online}");
	let dir = tempfile::tempdir().expect("dir");
	let kept = dir.path().join("proof.json");
	std::fs::copy(&proof, &kept).expect("copy");
	let (spec_kept, other_kept) = (dir.path().join("dev.json"), dir.path().join("local.json"));
	std::fs::copy(&spec, &spec_kept).expect("copy");
	std::fs::copy(&other_spec, &other_kept).expect("copy");
	let online_secs = started.elapsed().as_secs_f64();
	// attest verify with the chain spec instead of a node: the server's format-2 proof is
	// checked from genesis; the node given is a dead port (never asked).
	let mut common = sys.common("//Alice", "alice");
	common[1] = "ws://127.0.0.1:9".into();
	let out = Command::new(attest_bin())
		.args(&common)
		.args(["verify", "--chain-spec", spec.to_str().unwrap(), file])
		.output()
		.expect("attest runs");
	let text = String::from_utf8_lossy(&out.stdout);
	assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
	assert!(
		text.contains("ATTESTED")
			&& text.contains("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY (first attester)"),
		"{text}"
	);
	// With another chain's spec: not attested there.
	let out = Command::new(attest_bin())
		.args(&common)
		.args(["verify", "--chain-spec", other_spec.to_str().unwrap(), file])
		.output()
		.expect("attest runs");
	assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
	drop(sys);

	let t = Instant::now();
	let (code, out) = check_offline(&kept, &spec_kept);
	let offline = t.elapsed();
	assert_eq!(code, Some(0), "{out}");
	assert!(
		out.contains("VALID")
			&& out.contains("requester 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
			&& out.contains("final by GRANDPA authority set 0"),
		"{out}"
	);
	let size = std::fs::metadata(&kept).expect("proof").len();
	let scale = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&kept).unwrap())
		.unwrap()["scale"]
		.as_str()
		.unwrap()
		.len() / 2
		- 1;
	eprintln!(
		"standalone proof: {scale} SCALE bytes ({size} bytes of JSON file), offline check {} ms \
		 (the whole `attest` process), {online_secs:.0} s to attest and export on 6 s blocks",
		offline.as_millis()
	);

	// Another chain's spec: refused, naming the chains.
	let (code, out) = check_offline(&kept, &other_kept);
	assert_eq!(code, Some(1), "{out}");
	assert!(out.contains("INVALID") && out.contains("is of chain"), "{out}");

	// The built-in dev chain's genesis authorities with the genesis hash one trusts: VALID; with
	// another genesis hash, or the built-in local chain's authorities: refused; without
	// --genesis: told to give it (exit 2). A spec file pinned to another genesis: refused.
	let genesis = pf_genesis(&kept);
	let builtin = |args: &[&str]| {
		let out = Command::new(attest_bin())
			.args(["--node", "ws://127.0.0.1:9", "proof", "check"])
			.arg(&kept)
			.args(args)
			.current_dir(dir.path())
			.output()
			.expect("attest runs");
		let text = String::from_utf8_lossy(&out.stdout).into_owned()
			+ &String::from_utf8_lossy(&out.stderr);
		(out.status.code(), text)
	};
	let (code, out) = builtin(&["--chain-spec", "dev", "--genesis", &genesis]);
	assert_eq!(code, Some(0), "built-in dev: {out}");
	assert!(out.contains("final by GRANDPA authority set 0"), "{out}");
	let other = format!("0x{}", "22".repeat(32));
	let (code, out) = builtin(&["--chain-spec", "dev", "--genesis", &other]);
	assert_eq!(code, Some(1), "another genesis: {out}");
	let (code, out) = builtin(&["--chain-spec", "local", "--genesis", &genesis]);
	assert_eq!(code, Some(1), "the local chain's authorities: {out}");
	let (code, out) = builtin(&["--chain-spec", "dev"]);
	assert_eq!(code, Some(2), "no --genesis: {out}");
	assert!(out.contains("--genesis"), "{out}");
	let (code, out) = builtin(&["--chain-spec", spec_kept.to_str().unwrap(), "--genesis", &other]);
	assert_eq!(code, Some(2), "a spec file of another genesis: {out}");
	assert!(out.contains("not the --genesis"), "{out}");

	// Edits, offline: the JSON a person reads, the block hash and time, the SCALE bytes.
	let pf: serde_json::Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
	type Edit = Box<dyn Fn(&mut serde_json::Value)>;
	let edits: Vec<(&str, Edit)> = vec![
		("anchor block", Box::new(|v| v["proof"]["anchor"]["block"] = 1.into())),
		("first seq", Box::new(|v| v["proof"]["anchor"]["firstSeq"] = 1.into())),
		("block hash", Box::new(|v| v["blockHash"] = format!("0x{}", "11".repeat(32)).into())),
		("block time", Box::new(|v| v["blockTime"] = 1.into())),
		("version", Box::new(|v| v["version"] = 1.into())),
		(
			"a byte of the evidence",
			Box::new(|v| {
				let s = v["scale"].as_str().unwrap();
				let i = s.len() - 200;
				let flipped = if &s[i..i + 1] == "0" { "1" } else { "0" };
				v["scale"] = format!("{}{flipped}{}", &s[..i], &s[i + 1..]).into();
			}),
		),
		(
			"appended bytes",
			Box::new(|v| v["scale"] = format!("{}00", v["scale"].as_str().unwrap()).into()),
		),
	];
	for (what, edit) in edits {
		let mut v = pf.clone();
		edit(&mut v);
		let edited = dir.path().join("edited.json");
		std::fs::write(&edited, serde_json::to_vec(&v).unwrap()).unwrap();
		let (code, out) = check_offline(&edited, &spec_kept);
		assert_eq!(code, Some(1), "{what}: {out}");
		assert!(out.contains("INVALID"), "{what}: {out}");
	}
}

/// The genesis hash a proof file names (here: the dev chain's, as the test's own node made it).
fn pf_genesis(proof: &std::path::Path) -> String {
	let v: serde_json::Value = serde_json::from_slice(&std::fs::read(proof).unwrap()).unwrap();
	v["genesis"].as_str().expect("genesis").to_string()
}

/// Whether the node at `rpc_port` still has the genesis block's state.
fn genesis_state_kept(rpc_port: u16) -> bool {
	let call = |method: &str, params: serde_json::Value| -> serde_json::Value {
		reqwest::blocking::Client::new()
			.post(format!("http://127.0.0.1:{rpc_port}"))
			.json(
				&serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }),
			)
			.send()
			.expect("node")
			.json()
			.expect("JSON")
	};
	let genesis = call("chain_getBlockHash", serde_json::json!([0]))["result"].clone();
	let key = format!("0x{}", hex::encode(attest_finality::storage::grandpa_authorities_key()));
	call("state_getStorage", serde_json::json!([key, genesis]))
		.get("error")
		.is_none()
}

#[test]
fn a_proof_of_a_chain_sealed_by_hand_says_what_it_does_not_prove() {
	// A pruning node that keeps the state of the last 40 blocks (a default node keeps 256):
	// the genesis state is gone ten seconds in, and proofs are still exported (they failed
	// with "State already discarded" for the genesis block: the GRANDPA authorities of the
	// trust root were read from it; now the node gives them from its chain spec).
	let sys = System::start_with(&["--state-pruning", "40"], &[]);
	let file = sys.dir.path().join("notes.txt");
	std::fs::write(&file, bytes(28, 5_000)).expect("write");
	let file = file.to_str().expect("utf-8");
	let channel = sys.open("//Alice", "alice", "10");
	sys.attest_ok("//Alice", "alice", &["submit", "--channel", &channel, file]);
	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &channel]);
	let proof = sys.dir.path().join("proof.json");
	let deadline = Instant::now() + Duration::from_secs(60);
	while !sys
		.attest("//Alice", "alice", &["proof", "export", file, "-o", proof.to_str().unwrap()])
		.status
		.success()
	{
		assert!(Instant::now() < deadline, "no proof");
		std::thread::sleep(Duration::from_millis(500));
	}
	let deadline = Instant::now() + Duration::from_secs(60);
	while genesis_state_kept(sys.node.rpc_port) {
		assert!(Instant::now() < deadline, "the node keeps the genesis state after 60 s");
		std::thread::sleep(Duration::from_millis(500));
	}
	let again = sys.dir.path().join("proof-again.json");
	sys.attest_ok("//Alice", "alice", &["proof", "export", file, "-o", again.to_str().unwrap()]);
	assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&proof).unwrap());
	// The node confirms it.
	let online = sys.attest_ok("//Alice", "alice", &["proof", "check", proof.to_str().unwrap()]);
	assert!(online.starts_with("VALID") && online.contains("confirmed by the node"), "{online}");
	// With the spec alone: not proven, saying why.
	let spec = sys.dir.path().join("dev.json");
	export_spec("dev", &spec);
	let (code, out) = check_offline(&proof, &spec);
	assert_eq!(code, Some(1), "{out}");
	assert!(out.contains("carries no finality") && out.contains("seals blocks by hand"), "{out}");
}
