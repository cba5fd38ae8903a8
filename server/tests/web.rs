//! The verify page in headless Chromium: a file attested and anchored on a dev chain is
//! dropped on the page, which hashes it with WebCrypto, fetches the records and the proof,
//! checks the proof against the anchored root, and shows the verdict. The driver script
//! (`tests/web/verify-page.mjs`, playwright-core + Debian's chromium) checks the screenshot.

mod common;

use attest_primitives::DataRef;
use attest_server::api::ItemStatus;
use common::{chain::*, Node, Server};
use std::{path::PathBuf, process::Command, time::Duration};

fn run_page(
	url: &str,
	file: &std::path::Path,
	shot: &std::path::Path,
	expect: &str,
	tamper: bool,
) -> serde_json::Value {
	let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web/verify-page.mjs");
	let out = Command::new("node")
		.arg(&script)
		.arg(url)
		.arg(file)
		.arg(shot)
		.env("EXPECT_STATE", expect)
		.env("TAMPER_PROOF", if tamper { "1" } else { "" })
		.output()
		.expect("node runs (install Node.js; `./x test` runs `npm ci` in server/tests/web)");
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"page check failed ({}):\nstdout: {stdout}\nstderr: {}",
		out.status,
		String::from_utf8_lossy(&out.stderr)
	);
	serde_json::from_str(stdout.trim()).expect("the script prints its verdict as JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_page_in_headless_chromium() {
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let server = Server::start(&dir.path().join("data"), &node.ws_url(), &[]);
	if let Err(e) = scenario(&node, &server, dir.path()).await {
		panic!("{e:?}\nserver log:\n{}", server.log_tail(30));
	}
}

async fn scenario(node: &Node, server: &Server, dir: &std::path::Path) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let g = chain.genesis;
	let id = chain.open_channel("//Alice", "//Bob").await?;
	let http = reqwest::Client::new();
	let base = server.url();
	let items: Vec<Vec<u8>> = (0..5).map(|i| data("web", i)).collect();
	let claims: Vec<_> = items.iter().enumerate().map(|(i, d)| claim(i as u64, d)).collect();
	for (c, d) in claims.iter().zip(&items) {
		http.post(format!("{base}/v1/records/first"))
			.json(&first(&g, "//Bob", id, *c))
			.send()
			.await?
			.error_for_status()?;
		http.post(format!("{base}/v1/records/second"))
			.json(&second(&g, "//Alice", id, *c, DataRef::Inline(d.clone())))
			.send()
			.await?
			.error_for_status()?;
	}
	let digests: Vec<_> = claims.iter().map(|c| c.digest).collect();
	chain.checkpoint(id, 1, &digests, 0, "//Alice", "//Bob").await?;
	let mut anchored = false;
	for _ in 0..100 {
		let s: ItemStatus = http
			.get(format!("{base}/v1/items/{:?}", digests[3]))
			.send()
			.await?
			.json()
			.await?;
		if s.claims[0].status == "anchored" {
			anchored = true;
			break;
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	anyhow::ensure!(anchored, "item 3 not anchored");

	let shots = attest_testkit::target_dir().join("attest-web");
	std::fs::create_dir_all(&shots)?;
	let file = dir.join("item-3.bin");
	std::fs::write(&file, &items[3])?;
	let v = run_page(&format!("{base}/"), &file, &shots.join("verified.png"), "verified", false);
	let text = v["text"].as_str().unwrap_or_default();
	anyhow::ensure!(text.contains("item 3") && text.contains("anchored in block"), "{v}");
	anyhow::ensure!(v["greenPixels"].as_u64().unwrap_or(0) > 20_000, "{v}");

	let stranger = dir.join("never-attested.bin");
	std::fs::write(&stranger, b"nobody attested these bytes")?;
	let v = run_page(&format!("{base}/"), &stranger, &shots.join("unknown.png"), "unknown", false);
	anyhow::ensure!(
		v["greenPixels"].as_u64().unwrap_or(1) == 0,
		"an unattested file shows green: {v}"
	);
	// A server that lies about the proof: the page itself catches it.
	let v = run_page(&format!("{base}/"), &file, &shots.join("tampered.png"), "failed", true);
	anyhow::ensure!(v["text"].as_str().unwrap_or_default().contains("does not check"), "{v}");
	println!("screenshots in {}", shots.display());
	Ok(())
}
