//! `kill -9` of the server in the middle of a large upload and of concurrent batch
//! submissions of records with small inline data, then a restart on the same data: no
//! partial blob is visible, every acknowledged record is there with its data byte for byte,
//! and no record is without its data or data without its record. Once on SQLite, once on
//! PostgreSQL.

mod common;

use attest_primitives::signing::Kind;
use attest_primitives::{DataRef, Hash, ItemClaim};
use attest_server::api::{Batch, BatchResult, ItemStatus, Record};
use common::{chain::*, files_under, Node, Server};
use futures::StreamExt;
use reqwest::{Client, StatusCode};
use sha2::{Digest as _, Sha256};
use std::{
	collections::HashSet,
	sync::{Arc, Mutex},
	time::Duration,
};

const CHUNK: usize = 1 << 20;
const CHUNKS: u64 = 256; // 256 MiB
const BATCHES: u64 = 100;
const PER_BATCH: u64 = 25;

/// 1 KiB of data of item `seq` (small: kept in the database with its record).
fn small(seq: u64) -> Vec<u8> {
	let mut bytes: Vec<u8> = (0..1024u64).map(|i| (seq ^ i.wrapping_mul(7)) as u8).collect();
	bytes[..8].copy_from_slice(&seq.to_le_bytes());
	bytes
}

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

	// 2. Concurrent batches killed mid-way: each item's first record, and its second record
	// with 1 KiB of data inline (kept in the database with the record).
	let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
	let mut clients = Vec::new();
	let seqs = |c: u64, b: u64| (0..PER_BATCH).map(move |k| 1 + c * 10_000 + b * PER_BATCH + k);
	// Every client's records are signed before any is sent.
	let mut signed = Vec::new();
	for c in 0..4u64 {
		let batches: Vec<(Vec<u64>, Vec<Record>)> = (0..BATCHES)
			.map(|b| {
				let mut records = Vec::new();
				for seq in seqs(c, b) {
					let bytes = small(seq);
					let claim = claim(seq, &bytes);
					records.push(Record::First(first(&g, "//Bob", id, claim)));
					let inline = DataRef::Inline(bytes);
					records.push(Record::Second(second(&g, "//Alice", id, claim, inline)));
				}
				(seqs(c, b).collect(), records)
			})
			.collect();
		signed.push(batches);
	}
	for batches in signed {
		let (http, acked, url) = (http.clone(), acked.clone(), format!("{base}/v1/records/batch"));
		clients.push(tokio::spawn(async move {
			for (seqs, records) in batches {
				let Ok(r) = http.post(&url).json(&Batch { records }).send().await else {
					return;
				};
				let Ok(r) = r.json::<BatchResult>().await else {
					return;
				};
				let mut acked = acked.lock().expect("lock");
				for (seq, pair) in seqs.iter().zip(r.results.chunks(2)) {
					if pair.iter().all(|res| res.outcome.is_stored()) {
						acked.push(*seq);
					}
				}
			}
		}));
	}
	// Kill once a good part is acknowledged, while the rest is in flight.
	while acked.lock().map(|a| a.len()).unwrap_or(0) < 1000 {
		tokio::time::sleep(Duration::from_millis(5)).await;
	}
	server.kill9();
	for c in clients {
		c.await?;
	}
	let acked: HashSet<u64> = acked.lock().expect("lock").iter().copied().collect();
	let sent = 4 * BATCHES * PER_BATCH;
	anyhow::ensure!(!acked.is_empty(), "no batch was acknowledged before the kill");
	anyhow::ensure!(
		(acked.len() as u64) < sent,
		"every batch finished before the kill; the test proves nothing"
	);
	server.restart();
	// Every item sent: acknowledged ones have both records and their exact bytes; none has a
	// record without its data, or data readable without its record.
	let all: Vec<u64> = (0..4).flat_map(|c| (0..BATCHES).flat_map(move |b| seqs(c, b))).collect();
	let checks = futures::stream::iter(all.into_iter().map(|seq| {
		let (http, base, acked) = (http.clone(), base.clone(), &acked);
		async move {
			let bytes = small(seq);
			let d = attest_primitives::sha256(&bytes);
			let r = http
				.get(format!("{base}/v1/items/{d:?}?channel={id:?}&seq={seq}"))
				.send()
				.await?;
			let second = if r.status() == StatusCode::NOT_FOUND {
				false
			} else {
				let s: ItemStatus = r.json().await?;
				let c = &s.claims[0];
				anyhow::ensure!(
					c.requester_record_at.is_some() == c.has_data,
					"item {seq}: second record {:?} but has_data {}",
					c.requester_record_at,
					c.has_data
				);
				c.requester_record_at.is_some()
			};
			anyhow::ensure!(
				second || !acked.contains(&seq),
				"acknowledged item {seq}: its second record was lost after kill -9"
			);
			let r = http.get(blob_url(&base, &g, "//Alice", Kind::BlobRead, id, &d)).send().await?;
			if second {
				anyhow::ensure!(r.status() == StatusCode::OK, "item {seq}: data: {}", r.status());
				anyhow::ensure!(r.bytes().await? == bytes, "item {seq}: other bytes read back");
			} else {
				anyhow::ensure!(
					r.status() != StatusCode::OK,
					"item {seq}: data readable without its record"
				);
			}
			Ok::<bool, anyhow::Error>(second)
		}
	}))
	.buffer_unordered(16)
	.collect::<Vec<_>>()
	.await;
	let mut kept = 0;
	for c in checks {
		kept += u64::from(c?);
	}
	println!(
		"{} acknowledged items (of {sent} sent, {kept} stored) read back byte for byte after \
		 kill -9; partial upload of {partial} bytes discarded",
		acked.len()
	);
	Ok(())
}
