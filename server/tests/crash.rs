//! `kill -9` of the server in the middle of a large upload and of concurrent batch
//! submissions, then a restart on the same data: no partial blob is visible and every
//! acknowledged record is there. Once on SQLite, once on PostgreSQL.

mod common;

use attest_primitives::signing::Kind;
use attest_primitives::{FirstRecord, Hash, ItemClaim};
use attest_server::api::{Batch, BatchResult, ItemStatus, Record};
use common::{chain::*, files_under, Node, Server};
use reqwest::{Client, StatusCode};
use sha2::{Digest as _, Sha256};
use std::{
	sync::{Arc, Mutex},
	time::Duration,
};

const CHUNK: usize = 1 << 20;
const CHUNKS: u64 = 256; // 256 MiB
const BATCHES: u64 = 100;

fn chunk(i: u64) -> Vec<u8> {
	let mut c = vec![0u8; CHUNK];
	for (j, b) in c.iter_mut().enumerate() {
		*b = (i as usize * 31 + j * 7) as u8;
	}
	c
}

fn big_digest() -> Hash {
	let mut h = Sha256::new();
	for i in 0..CHUNKS {
		h.update(chunk(i));
	}
	Hash(h.finalize().into())
}

/// A body that sends the big blob slowly (about 5 s) so the server can be killed mid-way.
fn slow_body() -> reqwest::Body {
	let s = futures::stream::unfold(0u64, |i| async move {
		if i == CHUNKS {
			return None;
		}
		tokio::time::sleep(Duration::from_millis(20)).await;
		Some((Ok::<_, std::io::Error>(chunk(i)), i + 1))
	});
	reqwest::Body::wrap_stream(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_on_sqlite() {
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let mut server = Server::start(&dir.path().join("data"), &node.ws_url(), &[]);
	if let Err(e) = scenario(&node, &mut server).await {
		panic!("{e:?}\nserver log:\n{}", server.log_tail(40));
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_on_postgres() {
	let pg = common::postgres::Postgres::start();
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let url = pg.url();
	let mut server =
		Server::start(&dir.path().join("data"), &node.ws_url(), &["--database-url", &url]);
	if let Err(e) = scenario(&node, &mut server).await {
		panic!("{e:?}\nserver log:\n{}", server.log_tail(40));
	}
}

async fn scenario(node: &Node, server: &mut Server) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let g = chain.genesis;
	let id = chain.open_channel("//Alice", "//Bob").await?;
	let http = Client::new();
	let base = server.url();

	// 1. A large upload killed half-way.
	let digest = big_digest();
	let big = ItemClaim { seq: 0, digest, payment_hash: Hash([1; 32]) };
	let r = http
		.post(format!("{base}/v1/records/first"))
		.json(&first(&g, "//Bob", id, big))
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "first record: {}", r.status());
	let upload = tokio::spawn({
		let url = blob_url(&base, &g, "//Alice", Kind::BlobWrite, id, &digest);
		let http = http.clone();
		async move { http.put(url).body(slow_body()).send().await }
	});
	tokio::time::sleep(Duration::from_millis(1500)).await;
	let tmp = server.data_dir.join("blobs/tmp");
	let partial: u64 = files_under(&tmp)
		.iter()
		.filter_map(|p| p.metadata().ok())
		.map(|m| m.len())
		.sum();
	anyhow::ensure!(partial > 0, "the upload had not started writing before the kill");
	server.kill9();
	let answer = upload.await?;
	anyhow::ensure!(
		answer.is_err() || answer.as_ref().map(|r| !r.status().is_success()).unwrap_or(true),
		"upload acknowledged?"
	);
	server.restart();
	let blob_files: Vec<_> = files_under(&server.data_dir.join("blobs"));
	anyhow::ensure!(
		blob_files.is_empty(),
		"after the restart the blob store holds {blob_files:?} (partial {partial} bytes)"
	);
	let s: ItemStatus =
		http.get(format!("{base}/v1/items/{digest:?}")).send().await?.json().await?;
	anyhow::ensure!(!s.claims[0].has_data, "a partial upload counts as data");
	// The full upload then works.
	let url = blob_url(&base, &g, "//Alice", Kind::BlobWrite, id, &digest);
	let r = http.put(url).body(slow_body()).send().await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "full upload after restart: {}", r.status());

	// 2. Concurrent batch submissions killed mid-way.
	let acked: Arc<Mutex<Vec<Hash>>> = Arc::default();
	let mut clients = Vec::new();
	for c in 0..4u64 {
		// Each client signs its records up front: 100 batches of 50.
		let records: Vec<Vec<FirstRecord>> = (0..BATCHES)
			.map(|b| {
				(0..50u64)
					.map(|k| {
						let seq = 1 + c * 10_000 + b * 50 + k;
						first(&g, "//Bob", id, claim(seq, &data("crash", seq)))
					})
					.collect()
			})
			.collect();
		let (http, acked, url) = (http.clone(), acked.clone(), format!("{base}/v1/records/batch"));
		clients.push(tokio::spawn(async move {
			for batch in records {
				let body = Batch { records: batch.iter().cloned().map(Record::First).collect() };
				let Ok(r) = http.post(&url).json(&body).send().await else {
					return;
				};
				let Ok(r) = r.json::<BatchResult>().await else {
					return;
				};
				let mut acked = acked.lock().expect("lock");
				for (rec, res) in batch.iter().zip(r.results) {
					if res.outcome == "stored" || res.outcome == "already_stored" {
						acked.push(rec.claim.digest);
					}
				}
			}
		}));
	}
	// Kill once a good part is acknowledged, while the rest is in flight.
	while acked.lock().map(|a| a.len()).unwrap_or(0) < 2000 {
		tokio::time::sleep(Duration::from_millis(5)).await;
	}
	server.kill9();
	for c in clients {
		c.await?;
	}
	let acked = acked.lock().expect("lock").clone();
	anyhow::ensure!(!acked.is_empty(), "no batch was acknowledged before the kill");
	anyhow::ensure!(
		acked.len() < 4 * BATCHES as usize * 50,
		"every batch finished before the kill; the test proves nothing"
	);
	server.restart();
	for d in &acked {
		let r = http.get(format!("{base}/v1/items/{d:?}")).send().await?;
		anyhow::ensure!(
			r.status() == StatusCode::OK,
			"acknowledged record {d:?} lost after kill -9"
		);
	}
	println!(
		"{} acknowledged records survived kill -9; partial upload of {partial} bytes discarded",
		acked.len()
	);
	Ok(())
}
