//! A node that cannot be reached: every command that needs it gives up within `--timeout`
//! with one line naming the URL and exit status 2 ("could not check"), never 1 ("not
//! attested") and never a hang (before: `attest verify` was silent after 90 s, `proof check`
//! without `--node` waited 10 minutes).

use std::{
	process::Command,
	time::{Duration, Instant},
};

#[test]
fn an_unreachable_node_is_reported_within_the_timeout() {
	let dir = tempfile::tempdir().expect("temp dir");
	let file = dir.path().join("photo.jpg");
	std::fs::write(&file, b"bytes nobody attested").expect("write");
	let proof = dir.path().join("proof.json");
	std::fs::write(&proof, b"{}").expect("write");
	// A port nothing listens on (connection refused) is retried by the RPC client until the
	// timeout; a name that does not resolve likewise.
	let node = format!("ws://127.0.0.1:{}", attest_testkit::free_port());
	let file = file.to_str().expect("utf-8");
	let db = dir.path().join("a.db");
	let db = db.to_str().expect("utf-8");
	let cases: [&[&str]; 4] = [
		&["verify", file],
		&["channel", "status"],
		&["verifier", "register", "--endpoint", "http://127.0.0.1:1", "--price", "1"],
		&["proof", "export", file, "-o", "out.json"],
	];
	for args in cases {
		let started = Instant::now();
		let out = Command::new(env!("CARGO_BIN_EXE_attest"))
			.args(["--node", &node, "--timeout", "3", "--suri", "//Alice", "--db", db])
			.args(args)
			.current_dir(dir.path())
			.output()
			.expect("attest runs");
		let took = started.elapsed();
		let err = String::from_utf8_lossy(&out.stderr);
		assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
		assert!(took < Duration::from_secs(8), "{args:?} took {took:?}");
		assert!(err.contains(&node) && err.trim().lines().count() == 1, "{args:?}: {err}");
		eprintln!("{args:?}: exit 2 after {:.1} s: {}", took.as_secs_f64(), err.trim());
	}
}

/// An error that quotes its cause is printed once: a key file that does not exist was "key
/// file /x: No such file or directory (os error 2): No such file or directory (os error 2)".
#[test]
fn an_error_and_its_cause_are_one_line_each_said_once() {
	let dir = tempfile::tempdir().expect("temp dir");
	let missing = dir.path().join("no-such.key");
	let out = Command::new(env!("CARGO_BIN_EXE_attest"))
		.args(["--suri", &format!("file:{}", missing.display())])
		.args(["verifier", "register", "--endpoint", "http://127.0.0.1:1", "--price", "1"])
		.output()
		.expect("attest runs");
	let err = String::from_utf8_lossy(&out.stderr);
	assert_eq!(out.status.code(), Some(2), "{err}");
	assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
	assert!(
		err.contains(&missing.display().to_string()) && err.trim().lines().count() == 1,
		"{err}"
	);
}

/// A node that starts while `attest` is already asking for it is found: the client retried a
/// refused connection after 10 ms, 100 ms, 1 s, then 10 s, so a node that took a second and
/// a half to open its port was not asked again within the default 10 s timeout (`attest`
/// run right after starting a node, as docs/usage.md does, failed).
#[test]
fn a_node_that_starts_late_is_found_within_the_timeout() {
	let dir = tempfile::tempdir().expect("temp dir");
	let port = attest_testkit::free_port();
	let node = format!("ws://127.0.0.1:{port}");
	let db = dir.path().join("a.db");
	let started = Instant::now();
	let attest = Command::new(env!("CARGO_BIN_EXE_attest"))
		.args(["--node", &node, "--suri", "//Alice", "--db", db.to_str().expect("utf-8")])
		.args(["channel", "status"])
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.expect("attest runs");
	std::thread::sleep(Duration::from_millis(2500));
	let mut late = attest_testkit::Node::spawn_with_rpc_port(
		&attest_testkit::node_bin(),
		&["--dev", "--sealing", "250"],
		port,
	);
	late.wait_for_rpc(Duration::from_secs(60));
	let up = started.elapsed();
	let out = attest.wait_with_output().expect("attest ends");
	let took = started.elapsed();
	let err = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "{err}");
	assert!(
		took < up + Duration::from_secs(4),
		"asked again {:?} after the node was up",
		took - up
	);
	eprintln!(
		"node up after {:.1} s; attest connected and ended after {:.1} s",
		up.as_secs_f64(),
		took.as_secs_f64()
	);
}
