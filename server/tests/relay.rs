//! The node's off-chain worker relays anchors to the server: started with
//! `--attestation-server` pointing at a port where nothing listens yet, the node keeps
//! retrying (with back-off) until the server is up, which then accepts the anchor after
//! checking it against the chain. The server's own polling is off (`--anchor-poll-secs`
//! one hour) and it holds no records of the channel, so only the relay can bring it.

mod common;

use attest_primitives::{Anchor, Hash};
use common::{chain::*, free_port, Node, Server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_relays_anchors_with_retries() {
	let port = free_port();
	let url = format!("http://127.0.0.1:{port}");
	let node = Node::dev(&["--attestation-server", &url]);
	let dir = tempfile::tempdir().expect("temp dir");
	if let Err(e) = scenario(&node, port, dir.path()).await {
		panic!("{e:?}\nnode log:\n{}", node.log_tail(30));
	}
}

async fn scenario(node: &Node, port: u16, dir: &std::path::Path) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let id = chain.open_channel("//Alice", "//Bob").await?;
	let digests: Vec<Hash> =
		(0..4u64).map(|i| attest_primitives::sha256(&i.to_le_bytes())).collect();
	let log = chain.checkpoint(id, 1, &digests, 0, "//Alice", "//Bob").await?;
	// Let the relay fail a few times against the closed port.
	tokio::time::sleep(Duration::from_secs(2)).await;
	let server =
		Server::start_on(port, &dir.join("data"), &node.ws_url(), &["--anchor-poll-secs", "3600"]);
	let http = reqwest::Client::new();
	for _ in 0..240 {
		let r = http
			.get(format!("{}/v1/channels/{id:?}/anchors/0", server.url()))
			.send()
			.await?;
		if r.status().is_success() {
			let a: Anchor = r.json().await?;
			anyhow::ensure!(a.log == log && a.first_seq == 0 && a.channel_id == id, "{a:?}");
			let m = http.get(format!("{}/metrics", server.url())).send().await?.text().await?;
			anyhow::ensure!(
				m.contains("attest_server_anchors_accepted_total{source=\"relay\"} 1"),
				"the anchor did not come by relay:\n{m}"
			);
			return Ok(());
		}
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	anyhow::bail!("no anchor relayed within 60 s\nserver log:\n{}", server.log_tail(30))
}
