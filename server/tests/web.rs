//! The verify page in headless Chromium: a file attested and anchored on a dev chain is
//! dropped on the page, which hashes it with WebCrypto, fetches the records and the proof,
//! checks the proof against the anchored root, reads that root itself from the node's
//! finalized storage over JSON-RPC, and shows the verdict with SS58 accounts, the anchor
//! block's time and a polkadot.js Apps link. A server that lies (a flipped proof, or a root and
//! proof invented to agree) and an unreachable node are caught by the page. The driver script
//! (`tests/web/verify-page.mjs`, playwright-core + Debian's chromium) checks the screenshot.

mod common;

use attest_primitives::DataRef;
use attest_server::api::{ClaimState, ItemStatus};
use attest_testkit::web::verify_page as run_page;
use common::{chain::*, Node, Server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_page_in_headless_chromium() {
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let server = Server::start(&dir.path().join("data"), &node.ws_url(), &[]);
	if let Err(e) = scenario(&node, &server, dir.path()).await {
		panic!("{e:?}\nserver log:\n{}", server.log_tail(30));
	}
}

/// On a chain that finalizes with GRANDPA (a `--dev` node authoring Aura slots), the page
/// checks the server's format-2 proof itself (header, storage proof, GRANDPA justification from
/// the chain's genesis authorities) and says verified with no node reachable; a proof edited
/// in its bytes is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_page_checks_a_proof_that_stands_alone_with_no_node() {
	let mut node = Node::spawn(&attest_testkit::node_bin(), &["--dev"]);
	node.wait_for_rpc(Duration::from_secs(120));
	let dir = tempfile::tempdir().expect("temp dir");
	let server =
		Server::start(&dir.path().join("data"), &node.ws_url(), &["--anchor-poll-secs", "1"]);
	if let Err(e) = standalone(&node, &server, dir.path()).await {
		panic!("{e:?}\nserver log:\n{}", server.log_tail(30));
	}
}

async fn standalone(node: &Node, server: &Server, dir: &std::path::Path) -> anyhow::Result<()> {
	let started = std::time::Instant::now();
	let http = reqwest::Client::new();
	let base = server.url();
	let chain = Chain::connect(&node.ws_url()).await?;
	let items: Vec<Vec<u8>> = (0..3).map(|i| data("alone", i)).collect();
	let (_, digests) = attest_and_checkpoint(&chain, server, "//Alice", "//Bob", &items).await?;
	// The server builds the anchor's chain evidence once the anchor is final.
	let mut ready = false;
	for _ in 0..120 {
		let r = http
			.get(format!("{base}/v1/items/{:?}/proof?format=v2", digests[1]))
			.send()
			.await?;
		if r.status().is_success() {
			ready = true;
			break;
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	anyhow::ensure!(ready, "no format-2 proof from the server");
	// Later, Dave obtains a copy of item 1 and attests the same bytes through a verifier of his
	// own (Eve), anchored in a later block: the page must still lead with Alice, and show
	// Dave's claim as a later one with its block.
	let copy = vec![items[1].clone()];
	attest_and_checkpoint(&chain, server, "//Dave", "//Eve", &copy).await?;
	let mut dave_block = None;
	for _ in 0..120 {
		let s: ItemStatus = http
			.get(format!("{base}/v1/items/{:?}", digests[1]))
			.send()
			.await?
			.json()
			.await?;
		if s.claims.len() == 2 && s.claims.iter().all(|c| c.status == ClaimState::Anchored) {
			dave_block = s.claims[1].anchor.map(|a| a.block);
			anyhow::ensure!(
				s.claims[0].requester.as_deref() == Some(hex_account("//Alice").as_str()),
				"the server lists Alice first: {s:?}"
			);
			break;
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let dave_block = dave_block.ok_or_else(|| anyhow::anyhow!("Dave's claim not anchored"))?;
	let shots = attest_testkit::target_dir().join("attest-web");
	std::fs::create_dir_all(&shots)?;
	let file = dir.join("item-1.bin");
	std::fs::write(&file, &items[1])?;
	let alice = ss58("//Alice");
	let dead = format!("{base}/?node=ws://127.0.0.1:{}", common::free_port());
	let v = run_page(&dead, &file, &shots.join("standalone.png"), "verified", "");
	let text = v["text"].as_str().unwrap_or_default();
	let claims_text = v["claims"].as_str().unwrap_or_default();
	anyhow::ensure!(
		text.starts_with(&format!("Verified: first attested by {alice}"))
			&& text.contains("GRANDPA"),
		"the verdict leads with the first attester and rests on the proof: {v}"
	);
	anyhow::ensure!(claims_text.contains("final by GRANDPA authority set 0"), "{v}");
	let dave = ss58("//Dave");
	anyhow::ensure!(
		claims_text.contains("Claim 1: first attested")
			&& claims_text.contains("Claim 2: a later claim")
			&& claims_text.contains(&dave)
			&& claims_text.contains(&format!("block {dave_block} ")),
		"the later claim, Dave's, is shown with its block {dave_block}: {v}"
	);
	// Its bytes edited by a lying server: refused in the browser, no node needed.
	let v = run_page(&dead, &file, &shots.join("standalone-tampered.png"), "failed", "proof");
	anyhow::ensure!(v["text"].as_str().unwrap_or_default().contains("does not check"), "{v}");
	println!(
		"the verify page checked a format-2 proof with no node in a run of {:.0} s",
		started.elapsed().as_secs_f64()
	);
	Ok(())
}

/// `items` attested in a new channel from `requester` to `verifier` (both parties send their
/// records to the server, the data inline), then a checkpoint of the channel's log signed by
/// both and sent to the chain. The channel and the items' digests.
async fn attest_and_checkpoint(
	chain: &Chain,
	server: &Server,
	requester: &str,
	verifier: &str,
	items: &[Vec<u8>],
) -> anyhow::Result<(attest_primitives::Hash, Vec<attest_primitives::Hash>)> {
	let g = chain.genesis;
	let id = chain.open_channel(requester, verifier).await?;
	let http = reqwest::Client::new();
	let base = server.url();
	let claims: Vec<_> = items.iter().enumerate().map(|(i, d)| claim(i as u64, d)).collect();
	for (c, d) in claims.iter().zip(items) {
		http.post(format!("{base}/v1/records/first"))
			.json(&first(&g, verifier, id, *c))
			.send()
			.await?
			.error_for_status()?;
		http.post(format!("{base}/v1/records/second"))
			.json(&second(&g, requester, id, *c, DataRef::Inline(d.clone())))
			.send()
			.await?
			.error_for_status()?;
	}
	let digests: Vec<_> = claims.iter().map(|c| c.digest).collect();
	chain.checkpoint(id, 1, &digests, 0, requester, verifier).await?;
	Ok((id, digests))
}

async fn scenario(node: &Node, server: &Server, dir: &std::path::Path) -> anyhow::Result<()> {
	let http = reqwest::Client::new();
	let base = server.url();
	let chain = Chain::connect(&node.ws_url()).await?;
	let items: Vec<Vec<u8>> = (0..5).map(|i| data("web", i)).collect();
	let (id, digests) = attest_and_checkpoint(&chain, server, "//Alice", "//Bob", &items).await?;
	let mut anchored = false;
	for _ in 0..100 {
		let s: ItemStatus = http
			.get(format!("{base}/v1/items/{:?}", digests[3]))
			.send()
			.await?
			.json()
			.await?;
		if s.claims[0].status == ClaimState::Anchored {
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
	// What the page must show, read here from the node: the anchor's block hash and time.
	let (block_hash, time_ms) = anchor_block_of(node, id).await?;
	let block_hash = format!("{block_hash:?}");
	let alice = ss58("//Alice");
	let bob = ss58("//Bob");
	let ws = node.ws_url();

	// The node is the one the server suggests in /v1/info.
	let v = run_page(&format!("{base}/"), &file, &shots.join("verified.png"), "verified", "");
	let text = v["text"].as_str().unwrap_or_default();
	let claims = v["claims"].as_str().unwrap_or_default();
	anyhow::ensure!(v["node"] == ws.as_str(), "the page's node is the server's: {v}");
	anyhow::ensure!(
		text.contains("item 3") && text.contains("confirmed by the node"),
		"verdict names the item and the node's confirmation: {v}"
	);
	anyhow::ensure!(
		text.contains(&alice) && text.contains(&bob) && claims.contains(&alice),
		"accounts as SS58 ({alice}, {bob}): {v}"
	);
	anyhow::ensure!(
		claims.contains(&format!("root confirmed in the finalized storage of {ws}")),
		"{v}"
	);
	let iso = iso_utc(time_ms);
	anyhow::ensure!(claims.contains(&iso), "the anchor block's time {iso}: {v}");
	let apps = format!(
		"https://polkadot.js.org/apps/?rpc={}#/explorer/query/{block_hash}",
		ws.replace(':', "%3A").replace('/', "%2F")
	);
	anyhow::ensure!(v["links"][0] == apps.as_str(), "Apps link {apps}: {v}");
	anyhow::ensure!(v["greenPixels"].as_u64().unwrap_or(0) > 20_000, "{v}");

	// By digest, as the demo prints its links.
	let by_digest = format!("{base}/?digest={:?}&node={ws}", digests[3]);
	let v = run_page(
		&by_digest,
		std::path::Path::new("-"),
		&shots.join("by-digest.png"),
		"verified",
		"",
	);
	anyhow::ensure!(v["text"].as_str().unwrap_or_default().contains("item 3"), "{v}");

	// No node answers: the proof checks against what the server says, but the page does not
	// call that verified.
	let dead = format!("{base}/?node=ws://127.0.0.1:{}", common::free_port());
	let v = run_page(&dead, &file, &shots.join("unconfirmed.png"), "unconfirmed", "");
	anyhow::ensure!(v["greenPixels"].as_u64().unwrap_or(1) == 0, "no green without the node: {v}");
	anyhow::ensure!(v["text"].as_str().unwrap_or_default().contains("could not confirm"), "{v}");

	let stranger = dir.join("never-attested.bin");
	std::fs::write(&stranger, b"nobody attested these bytes")?;
	let v = run_page(&format!("{base}/"), &stranger, &shots.join("unknown.png"), "unknown", "");
	anyhow::ensure!(
		v["greenPixels"].as_u64().unwrap_or(1) == 0,
		"an unattested file shows green: {v}"
	);
	// A server that lies about the proof: the page itself catches it.
	let v = run_page(&format!("{base}/"), &file, &shots.join("tampered.png"), "failed", "proof");
	anyhow::ensure!(v["text"].as_str().unwrap_or_default().contains("does not check"), "{v}");
	// A server that invents a root and a proof that agree: the chain's state, proven in the
	// format-2 proof (or read from the node for a format-1 one), tells.
	let v =
		run_page(&format!("{base}/"), &file, &shots.join("invented-root.png"), "failed", "root");
	let text = v["text"].as_str().unwrap_or_default();
	anyhow::ensure!(
		text.contains("differs from the server's") || text.contains("does not check"),
		"{v}"
	);
	println!("screenshots in {}", shots.display());
	Ok(())
}

/// The hash and time of the block that stored the channel's first anchor, read through
/// `attest-chain` (not from the server, not from the page).
async fn anchor_block_of(
	node: &Node,
	channel: attest_primitives::Hash,
) -> anyhow::Result<(attest_primitives::Hash, u64)> {
	let chain = attest_chain::Chain::connect(&node.ws_url()).await?;
	let (anchor, _) = chain
		.finalized_anchor(&channel, 0)
		.await?
		.ok_or_else(|| anyhow::anyhow!("anchor 0 of the channel is not finalized"))?;
	let hash = chain
		.block_hash(anchor.block)
		.await?
		.ok_or_else(|| anyhow::anyhow!("no block {}", anchor.block))?;
	Ok((hash, chain.block_time(hash).await?))
}

/// The account of `suri` as the server writes it (0x hex).
fn hex_account(suri: &str) -> String {
	use sp_core::Pair;
	format!(
		"0x{}",
		hex::encode(sp_core::sr25519::Pair::from_string(suri, None).expect("dev key").public().0)
	)
}

fn ss58(suri: &str) -> String {
	use sp_core::{crypto::Ss58Codec, Pair};
	sp_core::sr25519::Pair::from_string(suri, None)
		.expect("dev key")
		.public()
		.to_ss58check()
}

/// Unix milliseconds as JavaScript's `toISOString` writes them (UTC, milliseconds).
fn iso_utc(ms: u64) -> String {
	let t = std::time::UNIX_EPOCH + Duration::from_millis(ms);
	humantime::format_rfc3339_millis(t).to_string()
}
