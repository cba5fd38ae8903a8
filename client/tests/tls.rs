//! TLS: the attestation server and the verifier service serve HTTPS with `--tls-cert` and
//! `--tls-key` (a certificate made for 127.0.0.1 here, trusted by the agents through
//! `SSL_CERT_FILE`). A file is attested, anchored and verified with every call to both over
//! https; a client that does not trust the certificate is refused with one line naming the
//! server (exit 2); plain HTTP to a TLS port gets no answer; a key that is not the
//! certificate's is refused at start.

mod common;

use attest_testkit::{free_port, log_tail, target_dir, Node};
use common::*;
use std::{
	path::Path,
	process::{Command, Output},
	time::{Duration, Instant},
};

/// A certificate for 127.0.0.1 and its key, as PEM files in `dir`.
fn certificate(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
	let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
		.expect("certificate");
	let (c, k) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
	std::fs::write(&c, cert.serialize_pem().expect("PEM")).expect("write");
	std::fs::write(&k, cert.serialize_private_key_pem()).expect("write");
	(c, k)
}

/// Wait until `url` answers 200 to a client trusting `cert`, or panic with `log`.
fn wait_https(url: &str, cert: &Path, log: &Path) {
	let pem = std::fs::read(cert).expect("cert");
	let client = reqwest::blocking::Client::builder()
		.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"))
		.build()
		.expect("client");
	let deadline = Instant::now() + Duration::from_secs(60);
	while Instant::now() < deadline {
		if client.get(url).send().is_ok_and(|r| r.status().is_success()) {
			return;
		}
		std::thread::sleep(Duration::from_millis(200));
	}
	panic!("{url} not up:\n{}", log_tail(log, 30));
}

#[test]
fn agents_and_server_talk_over_tls() {
	let dir = tempfile::tempdir().expect("dir");
	let (cert, key) = certificate(dir.path(), "service");
	let node = Node::dev(&[]);
	let (sport, vport) = (free_port(), free_port());
	let (server_url, verifier_url) =
		(format!("https://127.0.0.1:{sport}"), format!("https://127.0.0.1:{vport}"));
	let tls_args = |a: &mut Vec<String>| {
		a.extend([
			"--tls-cert".into(),
			cert.display().to_string(),
			"--tls-key".into(),
			key.display().to_string(),
		])
	};
	let mut args = server_args(sport, &dir.path().join("server"), &node.ws_url());
	tls_args(&mut args);
	let server =
		Proc::spawn(&target_dir().join("attest-server"), &args, dir.path().join("server.log"));
	wait_https(&format!("{server_url}/healthz"), &cert, &server.log);
	// `attest` as `who` with database `db`, trusting `ca` (the system's roots when None).
	let attest = |who: &str, db: &str, ca: Option<&Path>, args: &[&str]| -> Output {
		let mut c = Command::new(attest_bin());
		c.args(["--node", &node.ws_url(), "--server", &server_url, "--suri", who, "--db"])
			.arg(dir.path().join(format!("{db}.db")))
			.args(args);
		match ca {
			Some(ca) => c.env("SSL_CERT_FILE", ca),
			None => c.env_remove("SSL_CERT_FILE"),
		};
		c.output().expect("attest runs")
	};
	let ok = |who: &str, db: &str, args: &[&str]| -> String {
		let out = attest(who, db, Some(&cert), args);
		assert!(
			out.status.success(),
			"{args:?}: {}{}",
			String::from_utf8_lossy(&out.stdout),
			String::from_utf8_lossy(&out.stderr)
		);
		String::from_utf8_lossy(&out.stdout).into_owned()
	};
	ok(
		"//Bob",
		"verifier",
		&["verifier", "register", "--endpoint", &verifier_url, "--price", "1000000"],
	);
	let mut serve = vec![
		"--node".to_string(),
		node.ws_url(),
		"--server".into(),
		server_url.clone(),
		"--suri".into(),
		"//Bob".into(),
		"--db".into(),
		dir.path().join("verifier.db").display().to_string(),
		"verifier".into(),
		"serve".into(),
		"--listen".into(),
		format!("127.0.0.1:{vport}"),
	];
	tls_args(&mut serve);
	let verifier = {
		let mut cmd = Command::new(attest_bin());
		cmd.args(&serve).env("SSL_CERT_FILE", &cert);
		let log = std::fs::File::create(dir.path().join("verifier.log")).expect("log");
		cmd.stdout(log.try_clone().expect("log")).stderr(log);
		KillOnDrop(cmd.spawn().expect("verifier"))
	};
	wait_https(&format!("{verifier_url}/v1/info"), &cert, &dir.path().join("verifier.log"));
	let _ = &verifier;

	// Everything over https: open, submit (items, bill, request, records, data), checkpoint,
	// verify (proof from the server).
	let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
	ok("//Alice", "alice", &["channel", "open", "--verifier", bob, "--deposit", "10"]);
	let file = dir.path().join("contract.pdf");
	std::fs::write(&file, bytes(44, 70_000)).expect("write");
	let file = file.to_str().expect("utf-8");
	let out = ok("//Alice", "alice", &["submit", file]);
	assert!(out.starts_with("1 item attested"), "{out}");
	ok("//Alice", "alice", &["channel", "checkpoint"]);
	let out = ok("//Alice", "alice", &["verify", file]);
	assert!(out.starts_with("ATTESTED"), "{out}");

	// A client that does not trust the certificate: one line naming the server, exit 2.
	let untrusting = attest("//Alice", "alice", None, &["verify", file]);
	let err = String::from_utf8_lossy(&untrusting.stderr);
	assert_eq!(untrusting.status.code(), Some(2), "{err}");
	assert!(err.contains(&server_url) && err.trim().lines().count() == 1, "{err}");
	// Plain HTTP to the TLS port: no HTTP answer.
	let plain = reqwest::blocking::Client::builder()
		.timeout(Duration::from_secs(5))
		.build()
		.expect("client")
		.get(format!("http://127.0.0.1:{sport}/healthz"))
		.send();
	assert!(plain.is_err(), "plain HTTP answered: {:?}", plain.map(|r| r.status()));

	// A key that is not the certificate's: refused at start, naming what to give.
	let (_, other_key) = certificate(dir.path(), "other");
	let out = Command::new(target_dir().join("attest-server"))
		.args(["--listen", "127.0.0.1:0", "--data-dir"])
		.arg(dir.path().join("server2"))
		.args(["--chain-rpc", &node.ws_url(), "--tls-cert"])
		.arg(&cert)
		.arg("--tls-key")
		.arg(&other_key)
		.output()
		.expect("attest-server runs");
	let err = String::from_utf8_lossy(&out.stderr);
	assert!(!out.status.success() && err.contains("TLS"), "{err}");
	drop(server);
}

/// A child process killed when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}
