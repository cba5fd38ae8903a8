//! Two `attest-server` processes on one PostgreSQL database and one S3 store (moto), both
//! taking the same batches for the same channels at the same time, both watching the chain
//! for anchors: every record is stored once (one server answers `stored`, the other
//! `already_stored`), a second claim is a conflict at either, every anchor is accepted once,
//! both give the same proofs and the same bytes, and small data stays out of the object
//! store.

mod common;

use attest_primitives::{signing::Kind, AttestationProof, DataRef, Hash, ItemClaim};
use attest_server::api::{Batch, BatchResult, ClaimState, ItemStatus, Record, SubmitOutcome};
use common::{chain::*, Node, Server};
use reqwest::Client;
use std::{collections::HashMap, time::Duration};

/// Items per channel; every 10th is larger than --small-data-max (an S3 object).
const ITEMS: u64 = 300;
const BATCH: usize = 50;
const SMALL_MAX: usize = 4096;

fn item(channel: u8, seq: u64) -> Vec<u8> {
	let len = if seq % 10 == 9 { 3 * SMALL_MAX } else { 1024 };
	let mut bytes: Vec<u8> =
		(0..len).map(|i| (i as u64 ^ seq ^ u64::from(channel)) as u8).collect();
	bytes[..8].copy_from_slice(&seq.to_le_bytes());
	bytes[8] = channel;
	bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database_and_one_object_store() {
	let moto = common::s3::Moto::start("attest-shared").await.expect("moto");
	let pg = common::postgres::Postgres::start();
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let (url, s3) = (pg.url(), moto.url());
	let args = [
		"--database-url",
		&url,
		"--blob-store",
		"s3://attest-shared/blobs",
		"--s3-endpoint",
		&s3,
		"--small-data-max",
		"4096",
	];
	let a = Server::start(&dir.path().join("a"), &node.ws_url(), &args);
	let b = Server::start(&dir.path().join("b"), &node.ws_url(), &args);
	if let Err(e) = scenario(&node, [&a, &b], &url, &s3).await {
		panic!("{e:?}\nserver A log:\n{}\nserver B log:\n{}", a.log_tail(30), b.log_tail(30));
	}
}

/// POST a batch to both servers at once; the two answers.
async fn to_both(
	http: &Client,
	servers: [&Server; 2],
	records: Vec<Record>,
) -> anyhow::Result<[BatchResult; 2]> {
	let body = Batch { records };
	let send = |s: &Server| {
		let r = http.post(format!("{}/v1/records/batch", s.url())).json(&body).send();
		async move {
			let r = r.await?;
			anyhow::ensure!(r.status().is_success(), "batch: {} {}", r.status(), r.text().await?);
			Ok::<BatchResult, anyhow::Error>(r.json().await?)
		}
	};
	let (x, y) = tokio::join!(send(servers[0]), send(servers[1]));
	Ok([x?, y?])
}

async fn scenario(
	node: &Node,
	servers: [&Server; 2],
	pg_url: &str,
	s3: &str,
) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let g = chain.genesis;
	let http = Client::new();
	let parties = [("//Alice", "//Bob"), ("//Charlie", "//Bob")];
	let mut channels = Vec::new();
	for (requester, verifier) in parties {
		channels.push(chain.open_channel(requester, verifier).await?);
	}
	// Both channels' batches, each to both servers at once, the channels concurrently.
	let mut tasks = Vec::new();
	for (c, (&id, (requester, verifier))) in channels.iter().zip(parties).enumerate() {
		let http = http.clone();
		let urls = [servers[0].url(), servers[1].url()];
		let seqs: Vec<u64> = (0..ITEMS).collect();
		let batches: Vec<Vec<Record>> = seqs
			.chunks(BATCH / 2)
			.map(|chunk| {
				chunk
					.iter()
					.flat_map(|&seq| {
						let bytes = item(c as u8, seq);
						let claim = claim(seq, &bytes);
						let inline = DataRef::Inline(bytes);
						[
							Record::First(first(&g, verifier, id, claim)),
							Record::Second(second(&g, requester, id, claim, inline)),
						]
					})
					.collect()
			})
			.collect();
		tasks.push(tokio::spawn(async move {
			let mut outcomes: HashMap<&'static str, usize> = HashMap::new();
			for batch in batches {
				let n = batch.len();
				let body = Batch { records: batch };
				let (x, y) = tokio::join!(
					http.post(format!("{}/v1/records/batch", urls[0])).json(&body).send(),
					http.post(format!("{}/v1/records/batch", urls[1])).json(&body).send()
				);
				let (x, y): (BatchResult, BatchResult) = (x?.json().await?, y?.json().await?);
				anyhow::ensure!(x.results.len() == n && y.results.len() == n);
				for (rx, ry) in x.results.iter().zip(&y.results) {
					let mut pair = [rx.outcome.as_str(), ry.outcome.as_str()];
					pair.sort();
					anyhow::ensure!(
						pair == ["already_stored", "stored"],
						"one record answered {pair:?} by the two servers (A: {rx:?}, B: {ry:?})"
					);
					*outcomes
						.entry(if rx.outcome == SubmitOutcome::Stored { "a" } else { "b" })
						.or_default() += 1;
				}
			}
			Ok::<_, anyhow::Error>(outcomes)
		}));
	}
	for t in tasks {
		let stored_by = t.await??;
		println!(
			"records stored by server A / B: {:?} / {:?}",
			stored_by.get("a"),
			stored_by.get("b")
		);
	}
	// A second claim by the verifier for a stored slot: a conflict at either server.
	let (id, (_, verifier)) = (channels[0], parties[0]);
	let other = ItemClaim { seq: 3, digest: Hash([0xee; 32]), payment_hash: Hash([1; 32]) };
	let answers =
		to_both(&http, servers, vec![Record::First(first(&g, verifier, id, other))]).await?;
	for (s, r) in ["A", "B"].iter().zip(&answers) {
		anyhow::ensure!(
			r.results[0].outcome == SubmitOutcome::Conflict,
			"server {s}: {:?}",
			r.results[0]
		);
	}
	// Checkpoints anchor both logs; both servers watch the chain.
	let mut digests = Vec::new();
	for (c, &id) in channels.iter().enumerate() {
		let d: Vec<Hash> =
			(0..ITEMS).map(|seq| attest_primitives::sha256(&item(c as u8, seq))).collect();
		chain.checkpoint(id, 1, &d, 0, parties[c].0, parties[c].1).await?;
		digests.push(d);
	}
	for (c, &id) in channels.iter().enumerate() {
		for s in servers {
			let mut complete = false;
			for _ in 0..120 {
				let r: ItemStatus = http
					.get(format!("{}/v1/items/{:?}", s.url(), digests[c][ITEMS as usize - 1]))
					.send()
					.await?
					.json()
					.await?;
				if r.claims
					.iter()
					.any(|cl| cl.channel_id == id && cl.status == ClaimState::Anchored)
				{
					complete = true;
					break;
				}
				tokio::time::sleep(Duration::from_millis(250)).await;
			}
			anyhow::ensure!(complete, "channel {c}'s anchor not complete at {}", s.url());
		}
	}
	// Every anchor accepted once across the two processes, every record stored once.
	let accepted: f64 = {
		let mut sum = 0.0;
		for s in servers {
			let m = http.get(format!("{}/metrics", s.url())).send().await?.text().await?;
			sum += m
				.lines()
				.filter(|l| l.starts_with("attest_server_anchors_accepted_total"))
				.filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
				.sum::<f64>();
		}
		sum
	};
	anyhow::ensure!(accepted == 2.0, "anchors accepted {accepted} times for 2 anchors");
	sqlx::any::install_default_drivers();
	let db = sqlx::AnyPool::connect(pg_url).await?;
	let count = |sql: &'static str| {
		let db = db.clone();
		async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&db).await }
	};
	anyhow::ensure!(count("SELECT COUNT(*) FROM anchors").await? == 2, "anchor rows");
	let records = count("SELECT COUNT(*) FROM records").await?;
	anyhow::ensure!(records == 4 * ITEMS as i64, "{records} record rows for {} records", 4 * ITEMS);
	let in_db = count("SELECT COUNT(*) FROM blobs WHERE data IS NOT NULL").await?;
	anyhow::ensure!(in_db == 2 * (ITEMS - ITEMS / 10) as i64, "{in_db} small data rows");
	// Large data in the object store, small data not.
	let listing = http.get(format!("{s3}/attest-shared?list-type=2")).send().await?.text().await?;
	for (c, d) in digests.iter().enumerate() {
		for (seq, digest) in d.iter().enumerate() {
			let key = format!("<Key>blobs/{}</Key>", hex::encode(digest.0));
			anyhow::ensure!(
				listing.contains(&key) == (seq % 10 == 9),
				"channel {c} item {seq}: in the object store: {}",
				listing.contains(&key)
			);
		}
	}
	// The same proofs from both, each checking; the same bytes from both.
	for (c, &id) in channels.iter().enumerate() {
		let requester = parties[c].0;
		for (seq, digest) in digests[c].iter().enumerate().step_by(7) {
			let mut proofs = Vec::new();
			for s in servers {
				let r = http.get(format!("{}/v1/items/{digest:?}/proof", s.url())).send().await?;
				anyhow::ensure!(r.status().is_success(), "proof at {}: {}", s.url(), r.status());
				proofs.push(r.text().await?);
			}
			anyhow::ensure!(proofs[0] == proofs[1], "item {seq}: the servers' proofs differ");
			let p: AttestationProof = serde_json::from_str(&proofs[0])?;
			p.verify(&g, digest).map_err(|e| anyhow::anyhow!("item {seq}: {e}"))?;
			for s in servers {
				let url = blob_url(&s.url(), &g, requester, Kind::BlobRead, id, digest);
				let bytes = http.get(url).send().await?.bytes().await?;
				anyhow::ensure!(bytes == item(c as u8, seq as u64), "item {seq}: other bytes");
			}
		}
	}
	Ok(())
}
