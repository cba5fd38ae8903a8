//! Proofs across a GRANDPA authority-set change (issue 27 on the network of issue 28): three
//! validators (Alice, Bob, Charlie; Aura and GRANDPA, 4-block sessions) from a spec made the
//! operators' way; Alice attests a file and checkpoints; governance (sudo) removes Charlie, and
//! once GRANDPA's new set (Alice and Bob) is in force Alice attests a second file. Both proofs,
//! exported from the server, are checked by `attest proof check --chain-spec` with every
//! process stopped: the first from the genesis set, the second through the set change and the
//! old set's justification of it. A proof whose set-change justification is cut out is
//! refused. With every node stopped, the verify page (served by the attestation server) checks
//! the second proof in headless Chromium.

mod common;

use attest_chain::{runtime, Chain, Key};
use codec::{Decode, DecodeAll};
use common::*;
use sp_core::{crypto::Ss58Codec, Pair};
use std::{
	path::Path,
	process::Command,
	time::{Duration, Instant},
};

/// GRANDPA's set id in the newest finalized block's state.
async fn finalized_set_id(chain: &Chain) -> u64 {
	let (at, _) = chain.finalized().await.expect("finalized");
	let key = attest_finality::storage::value_key("Grandpa", "CurrentSetId");
	chain
		.storage_at(&key, at)
		.await
		.expect("storage")
		.map(|v| u64::decode(&mut &v[..]).expect("u64"))
		.unwrap_or(0)
}

fn export(sys: &System, file: &str, out: &Path) {
	let deadline = Instant::now() + Duration::from_secs(120);
	loop {
		let o =
			sys.attest("//Alice", "alice", &["proof", "export", file, "-o", out.to_str().unwrap()]);
		if o.status.success() {
			return;
		}
		assert!(Instant::now() < deadline, "no proof: {}", String::from_utf8_lossy(&o.stderr));
		std::thread::sleep(Duration::from_secs(2));
	}
}

#[test]
fn proofs_from_before_and_after_an_authority_set_change_check_with_the_spec_alone() {
	let started = Instant::now();
	let work = tempfile::tempdir().expect("dir");
	let spec = network::three_validator_spec(work.path(), 4, "attest-set-change");
	let (alice, others) = network::start_validators(&spec);
	let sys = System::start_on(alice, &[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("connect");
	assert_eq!(rt.block_on(finalized_set_id(&chain)), 0);

	// Before the change.
	let first = sys.dir.path().join("before.pdf");
	std::fs::write(&first, bytes(281, 20_000)).unwrap();
	let first = first.to_str().unwrap().to_string();
	let channel = sys.open("//Alice", "alice", "10");
	sys.attest_ok("//Alice", "alice", &["submit", "--channel", &channel, &first]);
	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &channel]);
	let before = work.path().join("before.json");
	export(&sys, &first, &before);

	// Governance removes Charlie; wait for GRANDPA's new set to be final.
	let charlie = attest_testkit::chain::account("//Charlie");
	let remove = runtime::tx().sudo().sudo(
		runtime::runtime_types::attest_runtime::RuntimeCall::ValidatorSet(
			runtime::runtime_types::pallet_validator_set::pallet::Call::remove_validator {
				who: subxt::utils::AccountId32(charlie.into()),
			},
		),
	);
	let sudo = Key::from_suri("//Alice").expect("key");
	rt.block_on(chain.submit(&sudo, &remove)).expect("sudo(removeValidator)");
	let changing = Instant::now();
	while rt.block_on(finalized_set_id(&chain)) < 1 {
		assert!(changing.elapsed() < Duration::from_secs(180), "no new GRANDPA set after 180 s");
		std::thread::sleep(Duration::from_secs(2));
	}
	eprintln!("GRANDPA set 1 final {} s after the removal", changing.elapsed().as_secs());

	// After the change.
	let second = sys.dir.path().join("after.pdf");
	std::fs::write(&second, bytes(282, 20_000)).unwrap();
	let second = second.to_str().unwrap().to_string();
	sys.attest_ok("//Alice", "alice", &["submit", "--channel", &channel, &second]);
	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &channel]);
	let after = work.path().join("after.json");
	export(&sys, &second, &after);
	let second_digest = attest_primitives::sha256(&std::fs::read(&second).unwrap());

	// Every node stopped: the verify page, served by the attestation server (which keeps each
	// anchor's chain evidence), checks the proof carrying the set change in the browser.
	drop(chain);
	drop(others);
	let mut sys = sys;
	sys.node.kill();
	let shots = attest_testkit::target_dir().join("attest-web");
	std::fs::create_dir_all(&shots).unwrap();
	let dead = format!("{}/?node=ws://127.0.0.1:{}", sys.server_url, attest_testkit::free_port());
	let page = attest_testkit::web::verify_page(
		&dead,
		Path::new(&second),
		&shots.join("set-change.png"),
		"verified",
		"",
	);
	let alice = sp_core::sr25519::Pair::from_string("//Alice", None).unwrap().public();
	let (text, claims) =
		(page["text"].as_str().unwrap_or(""), page["claims"].as_str().unwrap_or(""));
	assert!(
		text.starts_with(&format!("Verified: first attested by {}", alice.to_ss58check())),
		"{page}"
	);
	assert!(claims.contains("final by GRANDPA authority set 1"), "{page}");
	eprintln!("verify page, no node: {text}");
	// The reader gives the page the chain spec they hold: the trust root is computed from it in
	// the browser (genesis hash from the spec's storage), not taken from the server.
	let page = attest_testkit::web::verify_page_with_spec(
		&dead,
		Path::new(&second),
		&shots.join("set-change-spec.png"),
		"verified",
		&spec,
	);
	let text = page["text"].as_str().unwrap_or("");
	assert!(text.contains("genesis authorities in the chain spec you gave"), "{page}");
	// Another chain's spec (the dev chain's): the server is not of that chain, refused.
	let dev = work.path().join("dev.json");
	let out = Command::new(attest_testkit::node_bin())
		.args(["export-chain-spec", "--chain", "dev", "--raw", "--output"])
		.arg(&dev)
		.output()
		.expect("attest-node runs");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	let page = attest_testkit::web::verify_page_with_spec(
		&dead,
		Path::new(&second),
		&shots.join("set-change-other-spec.png"),
		"failed",
		&dev,
	);
	assert!(page["text"].as_str().unwrap_or("").contains("the chain spec you gave of"), "{page}");
	eprintln!("verify page with the chain spec: verified; with another chain's spec: failed");
	// Every process stopped: only the spec is left.
	drop(sys);
	let (code, out) = check_offline(&before, &spec);
	assert_eq!(code, Some(0), "{out}");
	assert!(out.contains("VALID") && out.contains("final by GRANDPA authority set 0"), "{out}");
	let (code, out) = check_offline(&after, &spec);
	assert_eq!(code, Some(0), "{out}");
	assert!(out.contains("VALID") && out.contains("final by GRANDPA authority set 1"), "{out}");

	// The set change's justification is what carries the proof from set 0 to set 1: a proof
	// that claims no change (its set-change list emptied) is refused.
	let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&after).unwrap()).unwrap();
	let bytes_of = attest_wire::hex_decode(json["scale"].as_str().unwrap()).expect("hex");
	let proof = attest_finality::ProofV2::decode_all(&mut &bytes_of[..]).expect("decodes");
	let finality = proof.chain.finality.as_ref().expect("finality");
	assert_eq!(finality.set_changes.len(), 1, "one set change since genesis");
	let mut cut = proof.clone();
	if let Some(f) = cut.chain.finality.as_mut() {
		f.set_changes.clear();
	}
	let trust = attest_finality::TrustRoot::from_raw_spec(&std::fs::read(&spec).unwrap())
		.expect("trust root");
	assert!(proof.verify(&trust, &second_digest).is_ok());
	assert!(cut.verify(&trust, &second_digest).is_err(), "a proof without its set change");
	eprintln!(
		"set change proofs: before {} B, after {} B of SCALE; {} s in all",
		serde_json::from_slice::<serde_json::Value>(&std::fs::read(&before).unwrap()).unwrap()
			["scale"]
			.as_str()
			.unwrap()
			.len() / 2,
		bytes_of.len(),
		started.elapsed().as_secs()
	);
}
