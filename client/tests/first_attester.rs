//! The first attester is the one named (DESIGN invariant 10, issue 27): Alice attests and
//! anchors a file; later Charlie attests a copy of the same bytes, through a verifier that
//! accepts digests others claimed, and anchors it. `attest verify` names Alice first and shows
//! Charlie's claim with its block; `--owner` passes for Alice and fails for Charlie; the
//! exported proof is Alice's. Before: the newest anchored claim was named.

mod common;

use common::*;
use std::time::{Duration, Instant};

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const CHARLIE: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

/// `attest --json verify` until `done` holds for its answer (anchors are relayed and
/// finalized a few blocks after a checkpoint).
fn verify_until(
	sys: &System,
	file: &str,
	done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
	let deadline = Instant::now() + Duration::from_secs(90);
	loop {
		let out = sys.attest("//Alice", "alice", &["--json", "verify", file]);
		let text = String::from_utf8_lossy(&out.stdout).into_owned();
		if let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim()) {
			if done(&v) {
				return v;
			}
		}
		assert!(Instant::now() < deadline, "verify never got there: {text}");
		std::thread::sleep(Duration::from_millis(500));
	}
}

#[test]
fn the_first_attester_is_named_and_a_later_copy_shown_after_it() {
	let sys = System::start(&["--allow-claimed"]);
	let original = sys.dir.path().join("photo.bin");
	std::fs::write(&original, bytes(4242, 70_000)).expect("write");
	let file = original.to_str().expect("utf-8");
	let alice = sys.open("//Alice", "alice", "10");
	sys.attest_ok("//Alice", "alice", &["submit", "--channel", &alice, file]);
	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &alice]);
	let first = verify_until(&sys, file, |v| v["attested"] == true);
	assert_eq!(first["requester"], ALICE);
	let alice_block = first["block"].as_u64().expect("block");

	// Charlie obtains a copy and attests it later, in a channel of its own.
	let copy_dir = sys.dir.path().join("copy");
	std::fs::create_dir_all(&copy_dir).expect("dir");
	let copy = copy_dir.join("mine.bin");
	std::fs::copy(&original, &copy).expect("copy");
	let charlie = sys.open("//Charlie", "charlie", "10");
	sys.attest_ok(
		"//Charlie",
		"charlie",
		&["submit", "--channel", &charlie, copy.to_str().unwrap()],
	);
	sys.attest_ok("//Charlie", "charlie", &["channel", "checkpoint", &charlie]);

	// Once Charlie's claim is anchored too, Alice is still named first, Charlie after her.
	let v = verify_until(&sys, file, |v| {
		v["laterClaims"]
			.as_array()
			.is_some_and(|l| l.iter().any(|c| c["block"].is_u64()))
	});
	assert_eq!(v["requester"], ALICE, "{v}");
	assert_eq!(v["block"].as_u64(), Some(alice_block));
	let later = &v["laterClaims"][0];
	assert_eq!(later["requester"], CHARLIE, "{v}");
	assert!(later["block"].as_u64().expect("block") > alice_block, "{v}");
	// The human answer says the same.
	let out = sys.attest_ok("//Alice", "alice", &["verify", copy.to_str().unwrap()]);
	assert!(out.contains(&format!("requester {ALICE} (first attester)")), "{out}");
	assert!(out.contains("1 later claim(s)") && out.contains(CHARLIE), "{out}");
	// --owner: Alice yes, Charlie no (exit 1, saying who is first).
	sys.attest_ok("//Alice", "alice", &["verify", "--owner", ALICE, file]);
	let not = sys.attest("//Alice", "alice", &["verify", "--owner", CHARLIE, file]);
	let text = String::from_utf8_lossy(&not.stdout);
	assert!(not.status.code() == Some(1) && text.contains("NOT OWNER"), "{text}");
	// The exported proof is Alice's.
	let proof = sys.dir.path().join("proof.json");
	sys.attest_ok(
		"//Charlie",
		"charlie",
		&["proof", "export", file, "-o", proof.to_str().unwrap()],
	);
	let p: serde_json::Value =
		serde_json::from_slice(&std::fs::read(&proof).expect("proof")).expect("JSON");
	assert_eq!(p["proof"]["secondRecord"]["requester"]["Sr25519"], ALICE, "{p}");
	assert_eq!(p["proof"]["anchor"]["block"].as_u64(), Some(alice_block));
}
