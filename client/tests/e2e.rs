//! The whole protocol end to end with real processes: a dev node, the attestation server, the
//! verifier service and `attest` commands. Open a channel, attest a folder of files of mixed
//! sizes (1 byte to 8 MiB) in batches, checkpoint, attest more, close cooperatively; then every
//! file passes `attest verify`, exported proofs pass `attest proof check` offline, the server
//! holds both records and the exact bytes of every file, and the chain paid the verifier the
//! price of every item and the requester the rest.
//!
//! Sizes: `E2E_FILES` (default 1,000) then `E2E_MORE` (default 500) files.

mod common;

use attest_chain::{Chain, Key};
use attest_primitives::{signing::Kind, Hash};
use codec::Encode;
use common::*;
use std::collections::{BTreeSet, HashMap};

fn env(name: &str, default: u64) -> u64 {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn parse_hash(s: &str) -> Hash {
	let b = hex::decode(s.trim_start_matches("0x")).expect("hex");
	Hash(b.try_into().expect("32 bytes"))
}

#[test]
fn attest_a_folder_end_to_end() {
	let (n1, n2) = (env("E2E_FILES", 1_000), env("E2E_MORE", 500));
	let sys = System::start(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let bob = Key::from_suri("//Bob").expect("key");
	let bob_before = rt.block_on(chain.free_balance(bob.public())).expect("balance");

	let channel = sys.open("//Alice", "alice", "100");
	let dir1 = sys.dir.path().join("first");
	let dir2 = sys.dir.path().join("second");
	let mut files = write_files(&dir1, 0, n1);
	let t = std::time::Instant::now();
	let out = sys.attest_ok(
		"//Alice",
		"alice",
		&["--json", "submit", dir1.to_str().expect("utf-8"), "--batch", "250"],
	);
	let first_secs = t.elapsed().as_secs_f64();
	let lines: Vec<serde_json::Value> =
		out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
	assert_eq!(lines.len() as u64, n1, "one line per item");
	let seqs: BTreeSet<u64> = lines.iter().map(|l| l["seq"].as_u64().expect("seq")).collect();
	assert_eq!(seqs, (0..n1).collect(), "seqs 0..{n1}, none skipped or repeated");
	assert!(lines
		.iter()
		.all(|l| l["state"] == "attested" && l["channel"] == channel.as_str()));

	// Re-running the same command attests nothing twice.
	let again =
		sys.attest_ok("//Alice", "alice", &["--json", "submit", dir1.to_str().expect("utf-8")]);
	assert!(again.lines().all(|l| l.contains("\"skipped\"")), "{again}");
	assert_eq!(again.lines().count() as u64, n1);

	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint"]);
	// Right after the checkpoint its anchor is not at the server yet: `verify` waits for it
	// (it answered "NOT ATTESTED ... 409" and exit 1, then passed 3 s later).
	let t = std::time::Instant::now();
	let first = files[0].to_str().expect("utf-8");
	let out = sys.attest("//Alice", "alice", &["verify", first]);
	assert!(
		out.status.success(),
		"verify right after a checkpoint waits for its anchor:\n{}{}",
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	);
	eprintln!("verify right after the checkpoint: exit 0 after {:.1} s", t.elapsed().as_secs_f64());
	files.extend(write_files(&dir2, n1, n2));
	let out = sys.attest_ok(
		"//Alice",
		"alice",
		&["--json", "submit", dir2.to_str().expect("utf-8"), "--batch", "250"],
	);
	// Claimed in a state both signed, not anchored until the close: "could not check yet"
	// (exit 2, saying so) once the wait is over, never "not attested" (exit 1).
	let unanchored = files[n1 as usize + 2].clone();
	let early = sys.attest(
		"//Alice",
		"alice",
		&["verify", "--wait", "1", unanchored.to_str().expect("utf-8")],
	);
	let err = String::from_utf8_lossy(&early.stderr);
	assert_eq!(early.status.code(), Some(2), "{err}");
	assert!(err.contains("not anchored yet") && err.contains("--wait"), "{err}");
	// A mistyped key is another, empty account: the refusal names it and its balance.
	let typo = Key::from_suri("//Alicx").expect("key").address();
	let refused =
		sys.attest("//Alicx", "alicx", &["channel", "open", "--verifier", BOB, "--deposit", "1"]);
	let err = String::from_utf8_lossy(&refused.stderr);
	assert_eq!(refused.status.code(), Some(2), "{err}");
	assert!(
		err.contains(&typo)
			&& err.contains("cannot pay the fee")
			&& err.contains("0.000000000000 ATT"),
		"{err}"
	);
	assert_eq!(seqs_of(&out), (n1..n1 + n2).collect::<Vec<_>>());

	let closed: serde_json::Value = serde_json::from_str(
		sys.attest_ok("//Alice", "alice", &["--json", "channel", "close"]).trim(),
	)
	.expect("close JSON");
	let total = n1 + n2;
	let paid = PRICE * total as u128;
	assert_eq!(closed["verifierPaid"], paid.to_string().as_str());
	assert_eq!(closed["requesterPaid"], (100 * attest_chain::UNIT - paid).to_string().as_str());
	assert_eq!(closed["staleClosePenalty"], "0");
	let bob_after = rt.block_on(chain.free_balance(bob.public())).expect("balance");
	assert_eq!(bob_after - bob_before, paid, "the verifier's free balance grew by price x items");

	// Every file passes `attest verify` (once the server has both anchors), given as the two
	// folders `attest submit` was given.
	let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
	let mut args: Vec<String> = vec!["--json".into(), "verify".into()];
	args.extend([&dir1, &dir2].iter().map(|d| d.display().to_string()));
	let args: Vec<&str> = args.iter().map(String::as_str).collect();
	let verified = loop {
		let out = sys.attest("//Alice", "alice", &args);
		if out.status.success() {
			break String::from_utf8_lossy(&out.stdout).into_owned();
		}
		assert!(
			std::time::Instant::now() < deadline,
			"not every file verifies:\n{}",
			String::from_utf8_lossy(&out.stdout)
				.lines()
				.find(|l| l.contains("false"))
				.unwrap_or_default()
		);
		std::thread::sleep(std::time::Duration::from_secs(1));
	};
	let mut anchors: HashMap<u64, (String, String)> = HashMap::new();
	for line in verified.lines() {
		let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
		assert_eq!(v["attested"], true);
		assert_eq!(v["requester"], "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
		assert_eq!(v["verifier"], BOB);
		anchors.insert(
			v["anchorIndex"].as_u64().expect("index"),
			(
				v["blockHash"].as_str().expect("hash").into(),
				v["root"].as_str().expect("root").into(),
			),
		);
	}
	assert_eq!(verified.lines().count(), files.len(), "one verdict per file of the folders");
	assert_eq!(anchors.len(), 2, "items of the checkpoint and of the close");

	// Every file's proof, exported in one command, passes `attest proof check` offline
	// against the two anchors as `attest verify` read them from finalized storage.
	let proofs = sys.dir.path().join("proofs");
	let mut args = vec!["proof".to_string(), "export".into()];
	args.extend([&dir1, &dir2].iter().map(|d| d.to_str().expect("utf-8").to_string()));
	args.extend(["--out-dir".into(), proofs.to_str().expect("utf-8").into()]);
	sys.attest_ok("//Alice", "alice", &args.iter().map(String::as_str).collect::<Vec<_>>());
	let mut args = vec!["proof".to_string(), "check".into()];
	for f in std::fs::read_dir(&proofs).expect("proofs") {
		args.push(f.expect("entry").path().to_str().expect("utf-8").into());
	}
	assert_eq!(args.len() - 2, files.len(), "one proof per file");
	for (block, root) in anchors.values() {
		args.extend(["--anchor".into(), format!("{block}:{root}")]);
	}
	let out =
		sys.attest_ok("//Alice", "alice", &args.iter().map(String::as_str).collect::<Vec<_>>());
	assert_eq!(out.lines().filter(|l| l.starts_with("VALID ")).count(), files.len(), "{out}");

	// Exported proofs pass `attest proof check` offline against the anchor's block and root,
	// and fail for another file or another root.
	let sample: Vec<&std::path::PathBuf> =
		files.iter().step_by((files.len() / 20).max(1)).collect();
	for (i, f) in sample.iter().enumerate() {
		let proof = sys.dir.path().join(format!("p{i}.json"));
		sys.attest_ok(
			"//Alice",
			"alice",
			&["proof", "export", f.to_str().expect("utf-8"), "-o", proof.to_str().expect("utf-8")],
		);
		let pf: serde_json::Value =
			serde_json::from_slice(&std::fs::read(&proof).expect("proof")).expect("JSON");
		let (block, root) = (
			pf["blockHash"].as_str().expect("b"),
			pf["proof"]["anchor"]["log"]["root"].as_str().expect("root"),
		);
		let p = proof.to_str().expect("utf-8");
		let ok = sys.attest_ok(
			"//Alice",
			"alice",
			&[
				"proof",
				"check",
				p,
				"--file",
				f.to_str().expect("utf-8"),
				"--block-hash",
				block,
				"--root",
				root,
			],
		);
		assert!(ok.starts_with("VALID"), "{ok}");
		if i == 0 {
			// `--json`: one JSON object per proof, valid or not.
			let ok = sys.attest_ok(
				"//Alice",
				"alice",
				&["--json", "proof", "check", p, "--block-hash", block, "--root", root],
			);
			let v: serde_json::Value = serde_json::from_str(ok.trim()).expect("JSON");
			assert_eq!((v["valid"].as_bool(), v["proof"].as_str()), (Some(true), Some(p)), "{ok}");
			let digest = attest_primitives::digest::sha256_file(f).expect("file").0;
			assert_eq!(v["digest"], format!("{digest:?}").as_str(), "{ok}");
			let other = sample[1 % sample.len()].to_str().expect("utf-8");
			let bad = sys.attest(
				"//Alice",
				"alice",
				&[
					"--json",
					"proof",
					"check",
					p,
					"--file",
					other,
					"--block-hash",
					block,
					"--root",
					root,
				],
			);
			assert_eq!(bad.status.code(), Some(1));
			let v: serde_json::Value =
				serde_json::from_slice(&bad.stdout).expect("JSON for an invalid proof too");
			assert_eq!(v["valid"], false);
			assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
		}
		let other = sample[(i + 1) % sample.len()].to_str().expect("utf-8");
		let bad = sys.attest(
			"//Alice",
			"alice",
			&["proof", "check", p, "--file", other, "--block-hash", block, "--root", root],
		);
		assert_eq!(bad.status.code(), Some(1), "another file must not pass");
		let wrong_root = format!("{:?}", Hash([7; 32]));
		let bad = sys.attest(
			"//Alice",
			"alice",
			&["proof", "check", p, "--block-hash", block, "--root", &wrong_root],
		);
		assert_eq!(bad.status.code(), Some(1), "another root must not pass");
		// Edits of the JSON a person reads (the SCALE bytes untouched), and bytes appended to
		// the SCALE bundle: refused, saying which.
		if i == 0 {
			type Edit = Box<dyn Fn(&mut serde_json::Value)>;
			let edits: [(&str, Edit, &str); 5] = [
				(
					"anchor block",
					Box::new(|v| v["proof"]["anchor"]["block"] = 999_999.into()),
					"JSON",
				),
				(
					"leaf index",
					Box::new(|v| v["proof"]["proof"]["leafIndex"] = 123_456.into()),
					"JSON",
				),
				(
					"requester",
					Box::new(
						|v| v["proof"]["secondRecord"]["requester"] = serde_json::json!({"Sr25519": "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"}),
					),
					"JSON",
				),
				("path", Box::new(|v| v["proof"]["proof"]["path"] = serde_json::json!([])), "JSON"),
				(
					"appended bytes",
					Box::new(|v| {
						let s = v["scale"].as_str().expect("scale").to_string();
						v["scale"] = format!("{s}00").into();
					}),
					"do not decode",
				),
			];
			for (what, edit, says) in edits {
				let mut v = pf.clone();
				edit(&mut v);
				let edited = sys.dir.path().join("edited.json");
				std::fs::write(&edited, serde_json::to_vec(&v).expect("JSON")).expect("write");
				let bad = sys.attest(
					"//Alice",
					"alice",
					&[
						"proof",
						"check",
						edited.to_str().expect("utf-8"),
						"--block-hash",
						block,
						"--root",
						root,
					],
				);
				let out = String::from_utf8_lossy(&bad.stdout);
				assert!(
					bad.status.code() == Some(1)
						&& out.starts_with("INVALID")
						&& out.contains(says),
					"{what}: {out}"
				);
			}
		}
	}

	// The server holds the exact bytes of every file, readable by the requester.
	let alice = Key::from_suri("//Alice").expect("key");
	let genesis = chain.genesis();
	let id = parse_hash(&channel);
	let http = reqwest::blocking::Client::new();
	for f in &files {
		let data = std::fs::read(f).expect("file");
		let digest = attest_primitives::sha256(&data);
		let expires = std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.expect("time")
			.as_millis() as u64
			+ 60_000;
		let sig = alice.sign(Kind::BlobRead, &genesis, &id, &(digest, expires));
		let url = format!(
			"{}/v1/blobs/{digest:?}?channel={id:?}&expires={expires}&signer=0x{}&signature=0x{}",
			sys.server_url,
			hex::encode(alice.signer().encode()),
			hex::encode(sig.encode())
		);
		let r = http.get(url).send().expect("blob GET");
		assert!(r.status().is_success(), "{}: {}", f.display(), r.status());
		assert!(
			r.bytes().expect("body").as_ref() == data.as_slice(),
			"{} differs on the server",
			f.display()
		);
	}
	eprintln!(
		"e2e: {total} files ({} MiB); first {n1} attested in {first_secs:.1} s",
		files
			.iter()
			.map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
			.sum::<u64>()
			>> 20
	);
}
