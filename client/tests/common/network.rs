//! A network of three validators (Alice, Bob, Charlie: Aura and GRANDPA, 6 s blocks) from the
//! `local` spec made the operators' way (docs/operators.md: export, add a validator, export
//! raw), and full nodes joining it.

use attest_testkit::{node_bin, Node};
use sp_core::{crypto::Ss58Codec, Pair};
use std::{
	path::{Path, PathBuf},
	process::Command,
	time::Duration,
};

/// Alice's fixed node key, so the others can name her as their bootnode.
pub const ALICE_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
/// The peer id of [`ALICE_NODE_KEY`].
pub const ALICE_PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";

fn node_cmd(args: &[&str]) {
	let out = Command::new(node_bin()).args(args).output().expect("attest-node runs");
	assert!(out.status.success(), "attest-node {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The `local` spec with Charlie as a third validator and `session_period`-block sessions,
/// raw, written in `dir`; `name` its id and protocol id (so that two tests' networks running
/// at once never talk to each other).
pub fn three_validator_spec(dir: &Path, session_period: u32, name: &str) -> PathBuf {
	let plain = dir.join("plain.json");
	let raw = dir.join("raw.json");
	node_cmd(&["export-chain-spec", "--chain", "local", "--output", plain.to_str().unwrap()]);
	let mut spec: serde_json::Value =
		serde_json::from_slice(&std::fs::read(&plain).unwrap()).expect("spec JSON");
	let patch = &mut spec["genesis"]["runtimeGenesis"]["patch"];
	let charlie = sp_core::sr25519::Pair::from_string("//Charlie", None).unwrap().public();
	let charlie_ed = sp_core::ed25519::Pair::from_string("//Charlie", None).unwrap().public();
	let (acc, gran) = (charlie.to_ss58check(), charlie_ed.to_ss58check());
	patch["validatorSet"]["initialValidators"]
		.as_array_mut()
		.unwrap()
		.push(acc.clone().into());
	patch["validatorSet"]["sessionPeriod"] = session_period.into();
	patch["session"]["keys"].as_array_mut().unwrap().push(serde_json::json!([
		acc,
		acc,
		{ "aura": acc, "grandpa": gran }
	]));
	spec["id"] = name.replace('-', "_").into();
	spec["protocolId"] = name.into();
	std::fs::write(&plain, serde_json::to_vec(&spec).unwrap()).unwrap();
	node_cmd(&[
		"export-chain-spec",
		"--chain",
		plain.to_str().unwrap(),
		"--raw",
		"--output",
		raw.to_str().unwrap(),
	]);
	raw
}

/// Alice's node (the bootnode), then Bob's and Charlie's, each with its RPC up.
pub fn start_validators(spec: &Path) -> (Node, Vec<Node>) {
	let spec = spec.to_str().unwrap();
	let mut alice =
		Node::spawn(&node_bin(), &["--chain", spec, "--alice", "--node-key", ALICE_NODE_KEY]);
	alice.wait_for_rpc(Duration::from_secs(120));
	let others = ["--bob", "--charlie"].iter().map(|who| node(spec, &alice, &[who])).collect();
	(alice, others)
}

/// A node of the network (booting from Alice's) with `extra` flags (`--bob`; none: a full
/// node), its RPC up.
pub fn node(spec: &str, alice: &Node, extra: &[&str]) -> Node {
	let boot = format!("/ip4/127.0.0.1/tcp/{}/p2p/{ALICE_PEER_ID}", alice.p2p_port);
	let mut args =
		vec!["--chain", spec, "--unsafe-force-node-key-generation", "--bootnodes", &boot];
	args.extend_from_slice(extra);
	let mut n = Node::spawn(&node_bin(), &args);
	n.wait_for_rpc(Duration::from_secs(120));
	n
}
