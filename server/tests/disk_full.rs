//! A full disk in the middle of an upload: the server answers `507 insufficient_storage`,
//! keeps nothing of the upload, and stores the next blob that fits.
//!
//! The blob store is put on a 16 MiB tmpfs that the test mounts (and always unmounts), so
//! the disk really fills. Mounting needs root (CI runs as root); where mounting is not
//! permitted the test says so loudly and stops.

mod common;

use attest_primitives::Hash;
use common::{chain::*, files_under, Node, Server};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::{
	path::{Path, PathBuf},
	process::Command,
	time::Duration,
};

/// A tmpfs of `size` mounted at `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
	fn mount(dir: &Path, size: &str) -> Result<Self, String> {
		std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
		let out = Command::new("mount")
			.args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
			.arg(dir)
			.output()
			.map_err(|e| format!("cannot run mount: {e}"))?;
		if !out.status.success() {
			return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
		}
		Ok(Tmpfs(dir.to_path_buf()))
	}
}

impl Drop for Tmpfs {
	fn drop(&mut self) {
		let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
	}
}

/// Whether `mount` failed for lack of privilege (not root, or a sandbox without
/// `CAP_SYS_ADMIN`), rather than for a fault worth failing the test on.
fn not_permitted(mount_error: &str) -> bool {
	let e = mount_error.to_lowercase();
	["permission denied", "must be superuser", "not permitted"]
		.iter()
		.any(|m| e.contains(m))
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
	(0..len).map(|i| (i as u8).wrapping_mul(13) ^ seed ^ (i >> 10) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_answers_507_and_keeps_nothing() {
	let dir = tempfile::tempdir().expect("temp dir");
	let data = dir.path().join("data");
	let disk = match Tmpfs::mount(&data, "16m") {
		Ok(disk) => disk,
		Err(e) if not_permitted(&e) => {
			eprintln!(
				"disk_full: NOT RUN: mounting a tmpfs is not permitted here ({e}); run as root"
			);
			return;
		},
		Err(e) => panic!("mount a 16 MiB tmpfs at {}: {e}", data.display()),
	};
	let node = Node::dev(&[]);
	// The database stays on the real disk: only the blob store fills up.
	let db = format!("sqlite://{}", dir.path().join("attest.sqlite").display());
	let server = Server::start(&data, &node.ws_url(), &["--database-url", &db]);
	let result = tokio::time::timeout(Duration::from_secs(120), scenario(&node, &server)).await;
	let logs = || format!("server log:\n{}\nnode log:\n{}", server.log_tail(30), node.log_tail(10));
	match result {
		Ok(Ok(())) => {},
		Ok(Err(e)) => panic!("{e:?}\n{}", logs()),
		Err(_) => panic!("timed out\n{}", logs()),
	}
	drop(server);
	drop(disk);
}

async fn scenario(node: &Node, server: &Server) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let id = chain.open_channel("//Alice", "//Bob").await?;
	let http = Client::new();
	let base = server.url();
	let big = bytes(24 << 20, 1); // more than the 16 MiB disk
	let small = bytes(1 << 20, 2);
	for (seq, data) in [(0u64, &big), (1, &small)] {
		let rec = first(&chain.genesis, "//Bob", id, claim(seq, data));
		let r = http.post(format!("{base}/v1/records/first")).json(&rec).send().await?;
		anyhow::ensure!(r.status() == StatusCode::CREATED, "first record {seq}: {}", r.status());
	}
	let put = |data: &Vec<u8>| {
		let digest: Hash = attest_primitives::sha256(data);
		let url = blob_url(
			&base,
			&chain.genesis,
			"//Alice",
			attest_primitives::signing::Kind::BlobWrite,
			id,
			&digest,
		);
		http.put(url).body(data.clone()).send()
	};

	// Twice: the first failure must not have recorded the blob as stored (a stored blob is
	// answered 200 without reading the body).
	for attempt in 1..=2 {
		let r = put(&big).await?;
		let status = r.status();
		let body: Value = r.json().await?;
		anyhow::ensure!(
			status == StatusCode::INSUFFICIENT_STORAGE && body["error"] == "insufficient_storage",
			"upload {attempt} onto a full disk: {status} {body}"
		);
	}
	let blobs = server.data_dir.join("blobs");
	let left = files_under(&blobs);
	anyhow::ensure!(left.is_empty(), "a failed upload left files: {left:?}");

	// The space was given back: a blob that fits is stored whole.
	let r = put(&small).await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "upload that fits: {}", r.status());
	let files = files_under(&blobs);
	anyhow::ensure!(files.len() == 1, "expected the one blob, found {files:?}");
	anyhow::ensure!(std::fs::read(&files[0])? == small, "stored blob differs from the upload");
	Ok(())
}
