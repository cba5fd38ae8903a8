//! Load on loopback, bounded in time: 300 slow uploads held open while a client submits
//! record batches and asks for proofs. Uploads hold no worker thread while they wait for
//! bytes and record checks and proof builds run on their own pool, so batches and proofs
//! keep their latency. Prints p50/p99 with and without the slow uploads.
//!
//! `LOAD_UPLOADS` (default 300), `LOAD_BATCHES` (default 15 batches of 200 records) and
//! `LOAD_PROOFS` (default 150) set the sizes.

mod common;

use attest_primitives::{signing::Kind, Hash, ItemClaim};
use common::{chain::*, Node, Server};
use rayon::prelude::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::{
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env(name: &str, default: usize) -> usize {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn digest_of(tag: u64, i: u64) -> Hash {
	attest_primitives::sha256(&[tag.to_le_bytes(), i.to_le_bytes()].concat())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
	let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
	sorted.get(i).copied().unwrap_or(f64::NAN)
}

struct Figures {
	batch: (f64, f64),
	proof: (f64, f64),
}

/// `batches` batches of 200 first records (new items of `channel` from `first_seq`), each
/// followed by proof requests for anchored items, one client, one request at a time.
/// Where the workload goes: the server, the chain, the channel whose items are anchored.
struct Target<'a> {
	http: &'a Client,
	base: &'a str,
	genesis: Hash,
	channel: Hash,
	anchored: &'a [Hash],
}

async fn workload(
	target: &Target<'_>,
	first_seq: u64,
	batches: usize,
	proofs: usize,
) -> anyhow::Result<Figures> {
	let Target { http, base, genesis, channel, anchored } = *target;
	let bodies: Vec<String> = (0..batches)
		.into_par_iter()
		.map(|b| {
			let records: Vec<Value> = (0..200u64)
				.map(|k| {
					let seq = first_seq + b as u64 * 200 + k;
					let c =
						ItemClaim { seq, digest: digest_of(2, seq), payment_hash: Hash([1; 32]) };
					json!({ "first": first(&genesis, "//Bob", channel, c) })
				})
				.collect();
			json!({ "records": records }).to_string()
		})
		.collect();
	let (mut batch_ms, mut proof_ms) = (Vec::new(), Vec::new());
	let per_batch = proofs.div_ceil(batches.max(1));
	let mut asked = 0usize;
	for body in bodies {
		let t = Instant::now();
		let r = http
			.post(format!("{base}/v1/records/batch"))
			.header("content-type", "application/json")
			.body(body)
			.send()
			.await?;
		anyhow::ensure!(r.status() == StatusCode::OK, "batch: {}", r.status());
		r.bytes().await?;
		batch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
		for _ in 0..per_batch {
			if asked == proofs {
				break;
			}
			let d = anchored[(asked * 7919) % anchored.len()];
			asked += 1;
			let t = Instant::now();
			let r = http
				.get(format!("{base}/v1/items/{d:?}/proof?channel={channel:?}"))
				.send()
				.await?;
			anyhow::ensure!(r.status() == StatusCode::OK, "proof: {}", r.status());
			r.bytes().await?;
			proof_ms.push(t.elapsed().as_secs_f64() * 1000.0);
		}
	}
	for v in [&mut batch_ms, &mut proof_ms] {
		v.sort_by(f64::total_cmp);
	}
	Ok(Figures {
		batch: (percentile(&batch_ms, 0.5), percentile(&batch_ms, 0.99)),
		proof: (percentile(&proof_ms, 0.5), percentile(&proof_ms, 0.99)),
	})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_uploads_do_not_slow_batches_or_proofs() {
	let uploads = env("LOAD_UPLOADS", 300);
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let max = (uploads + 20).to_string();
	// Every slow upload is admitted (the bounds are above their number) and none is dropped
	// for its rate during the run: the point is what holding them costs the rest.
	let server = Server::start(
		&dir.path().join("data"),
		&node.ws_url(),
		&["--max-uploads", &max, "--max-uploads-per-party", &max, "--upload-idle-secs", "120"],
	);
	let run = scenario(&node, &server, uploads);
	match tokio::time::timeout(Duration::from_secs(240), run).await {
		Ok(Ok(())) => {},
		Ok(Err(e)) => panic!("{e:?}\nserver log:\n{}", server.log_tail(30)),
		Err(_) => panic!("timed out\nserver log:\n{}", server.log_tail(30)),
	}
}

async fn scenario(node: &Node, server: &Server, uploads: usize) -> anyhow::Result<()> {
	let (batches, proofs) = (env("LOAD_BATCHES", 15), env("LOAD_PROOFS", 150));
	let chain = Chain::connect(&node.ws_url()).await?;
	let g = chain.genesis;
	let http = Client::new();
	let base = server.url();

	// Items to prove: 1,000 anchored items.
	let id = chain.open_channel("//Alice", "//Bob").await?;
	let anchored: Vec<Hash> = (0..1000).map(|i| digest_of(1, i)).collect();
	let records: Vec<Value> = anchored
		.par_iter()
		.enumerate()
		.map(|(i, d)| {
			let c = ItemClaim { seq: i as u64, digest: *d, payment_hash: Hash([1; 32]) };
			json!({ "first": first(&g, "//Bob", id, c) })
		})
		.collect();
	let r = http
		.post(format!("{base}/v1/records/batch"))
		.json(&json!({ "records": records }))
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "records to prove: {}", r.status());
	eprintln!("load: 1,000 records stored");
	// Claimants of a whole lookup's worth of digests (10,000: the 1,000 stored ones among
	// them), then one digest too many.
	let mut asked: Vec<Hash> = (0..9000).map(|i| digest_of(3, i)).collect();
	asked.extend(anchored.iter().copied());
	let found: Value = http
		.post(format!("{base}/v1/items/claimants"))
		.json(&json!({ "digests": asked }))
		.send()
		.await?
		.json()
		.await?;
	let listed = found["items"].as_array().map(Vec::len).unwrap_or_default();
	anyhow::ensure!(listed == 1000, "claimants of 10,000 digests: {listed} listed, not 1,000");
	asked.push(digest_of(3, 9000));
	let r = http
		.post(format!("{base}/v1/items/claimants"))
		.json(&json!({ "digests": asked }))
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::BAD_REQUEST, "10,001 digests: {}", r.status());
	chain.checkpoint(id, 1, &anchored, 0, "//Alice", "//Bob").await?;
	let deadline = Instant::now() + Duration::from_secs(30);
	let last = anchored[999];
	while http.get(format!("{base}/v1/items/{last:?}/proof")).send().await?.status()
		!= StatusCode::OK
	{
		anyhow::ensure!(Instant::now() < deadline, "the 1,000 items were not anchored");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	// Warm up, then the figures without slow uploads.
	let target = Target { http: &http, base: &base, genesis: g, channel: id, anchored: &anchored };
	workload(&target, 1000, 2, 20).await?;
	eprintln!("load: anchored, measuring without slow uploads");
	let calm = workload(&target, 2000, batches, proofs).await?;

	// The slow uploads: claimed digests, signed by the requester, one byte every 500 ms.
	let upload_channel = chain.open_channel("//Alice", "//Bob").await?;
	let claims: Vec<Value> = (0..uploads as u64)
		.into_par_iter()
		.map(|i| {
			let c = ItemClaim { seq: i, digest: digest_of(3, i), payment_hash: Hash([1; 32]) };
			json!({ "first": first(&g, "//Bob", upload_channel, c) })
		})
		.collect();
	let r = http
		.post(format!("{base}/v1/records/batch"))
		.json(&json!({ "records": claims }))
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "upload claims: {}", r.status());
	let stop = Arc::new(tokio::sync::Notify::new());
	let answered = Arc::new(AtomicUsize::new(0));
	let mut tasks = Vec::new();
	for i in 0..uploads as u64 {
		let path = blob_url("", &g, "//Alice", Kind::BlobWrite, upload_channel, &digest_of(3, i));
		let (stop, answered, port) = (stop.clone(), answered.clone(), server.port);
		tasks.push(tokio::spawn(async move {
			let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
				answered.fetch_add(1, Ordering::SeqCst);
				return;
			};
			let head = format!("PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
			if s.write_all(head.as_bytes()).await.is_err() {
				answered.fetch_add(1, Ordering::SeqCst);
				return;
			}
			let mut buf = [0u8; 256];
			loop {
				tokio::select! {
					_ = stop.notified() => return,
					_ = tokio::time::sleep(Duration::from_millis(500)) => {
						if s.write_all(b"x").await.is_err() {
							answered.fetch_add(1, Ordering::SeqCst);
							return;
						}
					},
					n = s.read(&mut buf) => {
						let _ = n;
						answered.fetch_add(1, Ordering::SeqCst);
						return;
					},
				}
			}
		}));
	}
	tokio::time::sleep(Duration::from_secs(2)).await;
	eprintln!("load: {uploads} slow uploads started, measuring with them");
	let loaded = workload(&target, 10_000, batches, proofs).await?;
	let dropped = answered.load(Ordering::SeqCst);
	stop.notify_waiters();
	for t in tasks {
		t.abort();
	}
	println!(
		"load: {uploads} slow uploads held ({dropped} answered early); {batches} batches of 200 \
		 records, {proofs} proofs\n\
		 \x20 batch ms  p50 {:.1} p99 {:.1} without | p50 {:.1} p99 {:.1} with\n\
		 \x20 proof ms  p50 {:.1} p99 {:.1} without | p50 {:.1} p99 {:.1} with",
		calm.batch.0,
		calm.batch.1,
		loaded.batch.0,
		loaded.batch.1,
		calm.proof.0,
		calm.proof.1,
		loaded.proof.0,
		loaded.proof.1
	);
	anyhow::ensure!(dropped == 0, "{dropped} of the slow uploads were answered before the end");
	// A stalled server shows seconds here; the bound only catches that, not noise.
	for (what, without, with) in
		[("batch", calm.batch.1, loaded.batch.1), ("proof", calm.proof.1, loaded.proof.1)]
	{
		anyhow::ensure!(
			with <= 3.0 * without + 250.0,
			"{what} p99 went from {without:.1} ms to {with:.1} ms with the slow uploads"
		);
	}
	Ok(())
}
