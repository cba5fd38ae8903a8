//! The attestation server's custody of data and records against dishonest parties and
//! strangers (issue 12), over real HTTP against a dev node, on SQLite and on PostgreSQL. Each
//! stage is one flaw found in review, written as the attack:
//!
//! 1. a stranger claims a victim's digest in a channel of its own and reads the bytes;
//! 2. one party stores a wrong record first and the other party's right one is refused, so
//!    the anchored log never matches and the range is never provable;
//! 3. unauthenticated, unbounded, trickling uploads;
//! 4. an anchor the stored records do not give is rebuilt on every poll, and records that
//!    arrive later wait for the next poll;
//! 5. early claims hide later real ones, and unknown channels cost a chain lookup each.
//!
//! All stages run even when one fails; the test fails naming every failed stage.

mod common;

use attest_primitives::{sha256, signing::Kind, DataRef, Hash};
use common::{chain::*, Node, Server};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::{
	io::{Read, Write},
	time::{Duration, Instant},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custody_on_sqlite() {
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let main = Server::start(&dir.path().join("main"), &node.ws_url(), &main_args(None));
	let polling = Server::start(&dir.path().join("polling"), &node.ws_url(), &polling_args(None));
	run(&node, &main, &polling, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custody_on_postgres() {
	let pg = common::postgres::Postgres::start();
	let (url, url2) = (pg.url(), pg.database("polling"));
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let main = Server::start(&dir.path().join("main"), &node.ws_url(), &main_args(Some(&url)));
	let polling =
		Server::start(&dir.path().join("polling"), &node.ws_url(), &polling_args(Some(&url2)));
	run(&node, &main, &polling, "postgres").await;
}

/// The main server: anchors are relayed by the test (the watcher polls only every 30 s, so
/// anything faster comes from records arriving), small upload bounds.
fn main_args(db: Option<&str>) -> Vec<&str> {
	let mut a = vec![
		"--anchor-poll-secs",
		"30",
		"--upload-idle-secs",
		"2",
		"--upload-min-rate",
		"65536",
		"--max-uploads-per-party",
		"3",
	];
	if let Some(db) = db {
		a.extend(["--database-url", db]);
	}
	a
}

/// A server whose watcher polls every second (stage 4).
fn polling_args(db: Option<&str>) -> Vec<&str> {
	let mut a = vec!["--anchor-poll-secs", "1"];
	if let Some(db) = db {
		a.extend(["--database-url", db]);
	}
	a
}

struct Ctx<'a> {
	chain: Chain,
	reader: attest_server::chain::Chain,
	http: Client,
	base: String,
	server: &'a Server,
	polling: &'a Server,
	tag: &'static str,
}

async fn run(node: &Node, main: &Server, polling: &Server, tag: &'static str) {
	let setup = async {
		anyhow::Ok(Ctx {
			chain: Chain::connect(&node.ws_url()).await?,
			reader: attest_server::chain::Chain::connect(&node.ws_url()).await?,
			http: Client::new(),
			base: main.url(),
			server: main,
			polling,
			tag,
		})
	};
	let ctx = setup.await.expect("connect to the dev node");
	let mut failed = Vec::new();
	macro_rules! stage {
		($name:literal, $f:expr) => {
			let t = Instant::now();
			match tokio::time::timeout(Duration::from_secs(120), $f).await {
				Ok(Ok(())) => eprintln!("{tag}: {} passed in {:.1?}", $name, t.elapsed()),
				Ok(Err(e)) => failed.push(format!("{}: {e:?}", $name)),
				Err(_) => failed.push(format!("{}: timed out", $name)),
			}
		};
	}
	stage!("flaw 1 (strangers read data)", strangers_cannot_read(&ctx));
	stage!("flaw 2 (a wrong record blocks a range)", the_anchored_log_decides(&ctx));
	stage!("flaw 3 (uploads tie up the server)", uploads_are_signed_and_bounded(&ctx));
	stage!("flaw 4 (anchors never complete)", anchors_are_checked_on_records(&ctx));
	stage!("flaw 5 (hidden claims, unknown channels)", claims_and_lookups(&ctx));
	assert!(
		failed.is_empty(),
		"{tag}: {} stage(s) failed:\n{}\n\nmain server log:\n{}\n\npolling server log:\n{}\n\nnode log:\n{}",
		failed.len(),
		failed.join("\n"),
		main.log_tail(30),
		polling.log_tail(15),
		node.log_tail(10)
	);
}

impl Ctx<'_> {
	fn url(&self, path: &str) -> String {
		format!("{}{path}", self.base)
	}

	async fn post(&self, path: &str, body: &impl serde::Serialize) -> anyhow::Result<(u16, Value)> {
		let r = self.http.post(self.url(path)).json(body).send().await?;
		let status = r.status().as_u16();
		Ok((status, r.json().await.unwrap_or(Value::Null)))
	}

	async fn get(&self, url: &str) -> anyhow::Result<(u16, Value)> {
		let r = self.http.get(url).send().await?;
		let status = r.status().as_u16();
		Ok((status, r.json().await.unwrap_or(Value::Null)))
	}

	/// Relay anchor `index` of `id` to `server` once the chain finalized it.
	async fn relay(&self, server: &Server, id: Hash, index: u32) -> anyhow::Result<()> {
		for _ in 0..100 {
			if let Some(a) = self.reader.finalized_anchor(&id, index).await? {
				let r =
					self.http.post(format!("{}/v1/anchors", server.url())).json(&a).send().await?;
				anyhow::ensure!(
					r.status().is_success(),
					"relay: {} {}",
					r.status(),
					r.text().await?
				);
				return Ok(());
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		anyhow::bail!("anchor {index} of {id:?} not finalized")
	}

	/// Wait (at most `secs`) for a proof of `digest` in `channel`.
	async fn proof(&self, digest: &Hash, channel: Hash, secs: u64) -> anyhow::Result<Value> {
		let url = self.url(&format!("/v1/items/{digest:?}/proof?channel={channel:?}"));
		let deadline = Instant::now() + Duration::from_secs(secs);
		loop {
			let (status, body) = self.get(&url).await?;
			if status == 200 {
				return Ok(body);
			}
			anyhow::ensure!(
				Instant::now() < deadline,
				"no proof of {digest:?} after {secs} s: {status} {body}"
			);
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}

	/// The value of a metric (`None` when the server does not report it).
	async fn metric(&self, server: &Server, name: &str) -> anyhow::Result<Option<f64>> {
		let text = self.http.get(format!("{}/metrics", server.url())).send().await?.text().await?;
		Ok(text
			.lines()
			.find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
			.and_then(|l| l.rsplit(' ').next()?.parse().ok()))
	}
}

/// The proof's inclusion path checks `digest` against the anchored root.
fn check_proof(p: &Value, digest: &Hash) -> anyhow::Result<()> {
	let proof: attest_primitives::InclusionProof = serde_json::from_value(p["proof"].clone())?;
	let root: Hash = serde_json::from_value(p["anchor"]["log"]["root"].clone())?;
	proof.verify_digest(digest, &root)?;
	Ok(())
}

// -------------------------------------------------------------------------------------
// Flaw 1: reads only for the parties of a channel whose requester proved possession.

async fn strangers_cannot_read(ctx: &Ctx<'_>) -> anyhow::Result<()> {
	let g = ctx.chain.genesis;
	let secret = format!("{}: the victim's private video", ctx.tag).into_bytes();
	let c0 = claim(0, &secret);
	let d = c0.digest;
	let victim = ctx.chain.open_channel("//Alice", "//Bob").await?;
	let (s, b) = ctx.post("/v1/records/first", &first(&g, "//Bob", victim, c0)).await?;
	anyhow::ensure!(s == 201, "victim's first record: {s} {b}");
	let rec = second(&g, "//Alice", victim, c0, DataRef::Inline(secret.clone()));
	let (s, b) = ctx.post("/v1/records/second", &rec).await?;
	anyhow::ensure!(s == 201, "victim's second record: {s} {b}");

	// The attacker: requester Charlie, verifier Dave (both its own accounts). A claim needs
	// no data, and the digest is public.
	let own = ctx.chain.open_channel("//Charlie", "//Dave").await?;
	let (s, b) = ctx.post("/v1/records/first", &first(&g, "//Dave", own, c0)).await?;
	anyhow::ensure!(s == 201, "attacker's claim: {s} {b}");
	// A second record by reference to the stored blob: a record, not a proof of possession.
	let by_ref = second(&g, "//Charlie", own, c0, DataRef::Blob(d));
	let (s, b) = ctx.post("/v1/records/second", &by_ref).await?;
	anyhow::ensure!(s == 201, "attacker's second record by reference: {s} {b}");
	for who in ["//Charlie", "//Dave"] {
		let r = ctx
			.http
			.get(blob_url(&ctx.base, &g, who, Kind::BlobRead, own, &d))
			.send()
			.await?;
		let status = r.status();
		let body = r.bytes().await?;
		anyhow::ensure!(
			status == StatusCode::FORBIDDEN,
			"{who} read the victim's data through its own channel: {status}, {} bytes{}",
			body.len(),
			if body[..] == secret[..] { " (the secret)" } else { "" }
		);
	}
	// The victim's parties read it.
	for who in ["//Alice", "//Bob"] {
		let r = ctx
			.http
			.get(blob_url(&ctx.base, &g, who, Kind::BlobRead, victim, &d))
			.send()
			.await?;
		anyhow::ensure!(r.status() == StatusCode::OK, "{who} reads its data: {}", r.status());
		anyhow::ensure!(r.bytes().await?[..] == secret[..], "{who} read other bytes");
	}
	// Wrong bytes do not prove anything; the real bytes do (stored once, not twice).
	let put = |body: Vec<u8>| {
		ctx.http
			.put(blob_url(&ctx.base, &g, "//Charlie", Kind::BlobWrite, own, &d))
			.body(body)
	};
	let r = put(b"a guess".to_vec()).send().await?;
	anyhow::ensure!(r.status() == StatusCode::UNPROCESSABLE_ENTITY, "wrong bytes: {}", r.status());
	let r = ctx
		.http
		.get(blob_url(&ctx.base, &g, "//Charlie", Kind::BlobRead, own, &d))
		.send()
		.await?;
	anyhow::ensure!(
		r.status() == StatusCode::FORBIDDEN,
		"read after a wrong upload: {}",
		r.status()
	);
	let r = put(secret.clone()).send().await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "upload of stored bytes: {}", r.status());
	let r = ctx
		.http
		.get(blob_url(&ctx.base, &g, "//Charlie", Kind::BlobRead, own, &d))
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "a holder reads after proving: {}", r.status());
	Ok(())
}

// -------------------------------------------------------------------------------------
// Flaw 2: a wrong record by either party never blocks the right one; the anchored log
// decides.

async fn the_anchored_log_decides(ctx: &Ctx<'_>) -> anyhow::Result<()> {
	let g = ctx.chain.genesis;
	let items: Vec<Vec<u8>> = (0..4).map(|i| data(&format!("{} flaw 2", ctx.tag), i)).collect();
	let claims: Vec<_> = items.iter().enumerate().map(|(i, d)| claim(i as u64, d)).collect();
	let digests: Vec<Hash> = claims.iter().map(|c| c.digest).collect();

	// Channel 1: the verifier stores a wrong first record for item 1 before anyone else.
	let id = ctx.chain.open_channel("//Alice", "//Bob").await?;
	let wrong = claim(1, format!("{} not item 1", ctx.tag).as_bytes());
	let (s, b) = ctx.post("/v1/records/first", &first(&g, "//Bob", id, wrong)).await?;
	anyhow::ensure!(s == 201, "wrong first record: {s} {b}");
	let seconds: Vec<Value> = (0..4)
		.map(|i| {
			let r = second(&g, "//Alice", id, claims[i], DataRef::Inline(items[i].clone()));
			json!({ "second": r })
		})
		.collect();
	let (s, b) = ctx.post("/v1/records/batch", &json!({ "records": seconds })).await?;
	anyhow::ensure!(s == 200, "requester's batch: {s} {b}");
	let outcomes: Vec<&str> = b["results"]
		.as_array()
		.into_iter()
		.flatten()
		.filter_map(|r| r["outcome"].as_str())
		.collect();
	anyhow::ensure!(
		outcomes == ["stored"; 4],
		"the requester's records must all be kept, got {outcomes:?}: {b}"
	);
	anyhow::ensure!(
		b["results"][1]["disputed"] == json!(wrong.digest),
		"the dispute is reported: {}",
		b["results"][1]
	);
	let firsts: Vec<Value> = [0, 2, 3]
		.iter()
		.map(|&i| json!({ "first": first(&g, "//Bob", id, claims[i]) }))
		.collect();
	let (s, b) = ctx.post("/v1/records/batch", &json!({ "records": firsts })).await?;
	anyhow::ensure!(s == 200, "verifier's batch: {s} {b}");

	// Channel 2: the requester stores a wrong record first; the verifier's right one follows.
	let id2 = ctx.chain.open_channel("//Alice", "//Bob").await?;
	let bad = format!("{} bad data", ctx.tag).into_bytes();
	let bad_claim = claim(0, &bad);
	let rec = second(&g, "//Alice", id2, bad_claim, DataRef::Inline(bad.clone()));
	let (s, b) = ctx.post("/v1/records/second", &rec).await?;
	anyhow::ensure!(s == 201, "wrong second record: {s} {b}");
	let (s, b) = ctx.post("/v1/records/first", &first(&g, "//Bob", id2, claims[0])).await?;
	anyhow::ensure!(s == 201, "the verifier's right record after a wrong one: {s} {b}");

	// Both parties signed the logs with the right digests.
	ctx.chain.checkpoint(id, 1, &digests, 0, "//Alice", "//Bob").await?;
	ctx.chain.checkpoint(id2, 1, &digests[..1], 0, "//Alice", "//Bob").await?;
	ctx.relay(ctx.server, id, 0).await?;
	ctx.relay(ctx.server, id2, 0).await?;

	let p = ctx.proof(&digests[1], id, 10).await?;
	check_proof(&p, &digests[1])?;
	anyhow::ensure!(
		p["firstRecord"].is_null() && !p["secondRecord"].is_null(),
		"item 1: only the requester's record claims its digest: {p}"
	);
	let p2 = ctx.proof(&digests[0], id2, 10).await?;
	check_proof(&p2, &digests[0])?;
	anyhow::ensure!(!p2["firstRecord"].is_null() && p2["secondRecord"].is_null(), "{p2}");
	for (d, channel) in [(wrong.digest, id), (bad_claim.digest, id2)] {
		let (s, st) = ctx.get(&ctx.url(&format!("/v1/items/{d:?}?channel={channel:?}"))).await?;
		anyhow::ensure!(
			s == 200 && st["claims"][0]["status"] == "wrong",
			"a wrong record is reported as wrong: {s} {st}"
		);
	}
	Ok(())
}

// -------------------------------------------------------------------------------------
// Flaw 3: uploads signed by the requester, bounded per party, at a minimum rate.

/// A raw HTTP upload that sends its head, then one byte every `every` until the server
/// answers (or `give_up`): the answer and when it came.
fn trickle(port: u16, path: &str, every: Duration, give_up: Duration) -> (String, Duration) {
	let t = Instant::now();
	let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
		return ("no connection".into(), t.elapsed());
	};
	let head = format!("PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
	let _ = s.write_all(head.as_bytes());
	let _ = s.set_read_timeout(Some(every));
	let mut answer = Vec::new();
	while t.elapsed() < give_up {
		let mut buf = [0u8; 4096];
		match s.read(&mut buf) {
			Ok(0) => break,
			Ok(n) => {
				answer.extend_from_slice(&buf[..n]);
				if answer.windows(4).any(|w| w == b"\r\n\r\n") {
					break;
				}
			},
			Err(_) => {
				if s.write_all(b"x").is_err() && !answer.is_empty() {
					break;
				}
			},
		}
	}
	(String::from_utf8_lossy(&answer).into_owned(), t.elapsed())
}

async fn uploads_are_signed_and_bounded(ctx: &Ctx<'_>) -> anyhow::Result<()> {
	let g = ctx.chain.genesis;
	let id = ctx.chain.open_channel("//Alice", "//Bob").await?;
	let items: Vec<Vec<u8>> = (0..5).map(|i| data(&format!("{} flaw 3", ctx.tag), i)).collect();
	let claims: Vec<_> = items.iter().enumerate().map(|(i, d)| claim(i as u64, d)).collect();
	let firsts: Vec<Value> =
		claims.iter().map(|c| json!({ "first": first(&g, "//Bob", id, *c) })).collect();
	let (s, b) = ctx.post("/v1/records/batch", &json!({ "records": firsts })).await?;
	anyhow::ensure!(s == 200, "first records: {s} {b}");

	// No signature: refused before any byte is taken.
	let r = ctx
		.http
		.put(ctx.url(&format!("/v1/blobs/{:?}", claims[0].digest)))
		.body(items[0].clone())
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::UNAUTHORIZED, "unsigned upload: {}", r.status());

	// Three trickling uploads by Alice (the most one party may have here), then a fourth.
	let port = ctx.server.port;
	let paths: Vec<String> = claims
		.iter()
		.map(|c| blob_url("", &g, "//Alice", Kind::BlobWrite, id, &c.digest))
		.collect();
	let mut slow = Vec::new();
	for path in &paths[..3] {
		let path = path.clone();
		slow.push(tokio::task::spawn_blocking(move || {
			trickle(port, &path, Duration::from_millis(200), Duration::from_secs(15))
		}));
	}
	tokio::time::sleep(Duration::from_millis(500)).await;
	let p4 = paths[3].clone();
	let (answer, _) = tokio::task::spawn_blocking(move || {
		trickle(port, &p4, Duration::from_millis(200), Duration::from_secs(5))
	})
	.await?;
	anyhow::ensure!(
		answer.contains(" 429 ") && answer.contains("too_many_uploads"),
		"a fourth upload by the same party: {:?}",
		answer.lines().next()
	);
	// The trickles (5 B/s) are dropped once the grace period (2 s) is over.
	for t in slow {
		let (answer, after) = t.await?;
		anyhow::ensure!(
			answer.contains(" 400 ") && answer.contains("minimum"),
			"a trickling upload after {after:?}: {:?}",
			answer.lines().last()
		);
		anyhow::ensure!(after < Duration::from_secs(6), "dropped only after {after:?}");
	}
	// Their places are free again: a real upload goes through.
	let r = ctx
		.http
		.put(format!("{}{}", ctx.base, paths[4]))
		.body(items[4].clone())
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "upload after the trickles: {}", r.status());
	Ok(())
}

// -------------------------------------------------------------------------------------
// Flaw 4: an anchor the records do not give is checked again only when records arrive,
// and then at once.

async fn anchors_are_checked_on_records(ctx: &Ctx<'_>) -> anyhow::Result<()> {
	let g = ctx.chain.genesis;
	let items: Vec<Vec<u8>> = (0..3).map(|i| data(&format!("{} flaw 4", ctx.tag), i)).collect();
	let claims: Vec<_> = items.iter().enumerate().map(|(i, d)| claim(i as u64, d)).collect();
	let digests: Vec<Hash> = claims.iter().map(|c| c.digest).collect();
	// The verifier's records are all wrong; the log both signed has the right digests.
	let id = ctx.chain.open_channel("//Alice", "//Bob").await?;
	let firsts: Vec<Value> = (0..3u64)
		.map(|i| {
			let wrong = claim(i, format!("{} wrong {i}", ctx.tag).as_bytes());
			json!({ "first": first(&g, "//Bob", id, wrong) })
		})
		.collect();
	for server in [ctx.server, ctx.polling] {
		let r = ctx
			.http
			.post(format!("{}/v1/records/batch", server.url()))
			.json(&json!({ "records": firsts }))
			.send()
			.await?;
		anyhow::ensure!(r.status() == StatusCode::OK, "wrong records: {}", r.status());
	}
	ctx.chain.checkpoint(id, 1, &digests, 0, "//Alice", "//Bob").await?;
	// On the server that polls every second, the failed check is not repeated per poll.
	ctx.relay(ctx.polling, id, 0).await?;
	let needle = format!("anchor 0 of {id:?}");
	tokio::time::sleep(Duration::from_secs(5)).await;
	let log = std::fs::read_to_string(ctx.polling.data_dir.with_extension("log"))?;
	let checks = log.lines().filter(|l| l.contains(&needle) && l.contains("root")).count();
	anyhow::ensure!(
		(1..=2).contains(&checks),
		"the mismatching anchor was checked {checks} times in 5 s of 1 s polls"
	);
	// On the server that polls every 30 s, the requester's records complete the anchor at once.
	ctx.relay(ctx.server, id, 0).await?;
	let seconds: Vec<Value> = (0..3)
		.map(|i| {
			let r = second(&g, "//Alice", id, claims[i], DataRef::Inline(items[i].clone()));
			json!({ "second": r })
		})
		.collect();
	let (s, b) = ctx.post("/v1/records/batch", &json!({ "records": seconds })).await?;
	anyhow::ensure!(s == 200, "requester's records: {s} {b}");
	let p = ctx.proof(&digests[2], id, 5).await?;
	check_proof(&p, &digests[2])?;
	Ok(())
}

// -------------------------------------------------------------------------------------
// Flaw 5: claims are ranked, not cut at the oldest 100; unknown channels are remembered.

async fn claims_and_lookups(ctx: &Ctx<'_>) -> anyhow::Result<()> {
	let g = ctx.chain.genesis;
	let item = format!("{}: a photo everybody claims", ctx.tag).into_bytes();
	let d = sha256(&item);
	// 120 early claims of the digest by a channel of the attacker's.
	let spam_channel = ctx.chain.open_channel("//Charlie", "//Dave").await?;
	let spam: Vec<Value> = (0..120u64)
		.map(|seq| {
			let c = attest_primitives::ItemClaim { seq, digest: d, payment_hash: Hash([9; 32]) };
			json!({ "first": first(&g, "//Dave", spam_channel, c) })
		})
		.collect();
	let (s, b) = ctx.post("/v1/records/batch", &json!({ "records": spam })).await?;
	anyhow::ensure!(s == 200, "spam: {s} {b}");
	// The real claim comes later, with the data, and is anchored.
	let id = ctx.chain.open_channel("//Alice", "//Bob").await?;
	let c = claim(0, &item);
	ctx.post("/v1/records/first", &first(&g, "//Bob", id, c)).await?;
	let (s, b) = ctx
		.post("/v1/records/second", &second(&g, "//Alice", id, c, DataRef::Inline(item.clone())))
		.await?;
	anyhow::ensure!(s == 201 && b["otherClaims"] == 120, "real claim: {s} {b}");
	ctx.chain.checkpoint(id, 1, &[d], 0, "//Alice", "//Bob").await?;
	ctx.relay(ctx.server, id, 0).await?;
	ctx.proof(&d, id, 10).await?;
	let (s, st) = ctx.get(&ctx.url(&format!("/v1/items/{d:?}"))).await?;
	anyhow::ensure!(
		s == 200
			&& st["claims"][0]["channelId"] == json!(id)
			&& st["claims"][0]["status"] == "anchored",
		"the anchored claim comes first: {s} {}",
		st["claims"][0]
	);
	// Without naming the channel, the proof is the anchored claim's.
	let (s, p) = ctx.get(&ctx.url(&format!("/v1/items/{d:?}/proof"))).await?;
	anyhow::ensure!(s == 200 && p["anchor"]["channelId"] == json!(id), "proof: {s} {p}");
	// Every claim can be listed, page by page.
	let (_, page2) = ctx.get(&ctx.url(&format!("/v1/items/{d:?}?offset=100"))).await?;
	anyhow::ensure!(page2["claims"].as_array().map(Vec::len) == Some(21), "page 2: {page2}");

	// Records naming a channel the chain does not know: one lookup, not one per record.
	let before = ctx.metric(ctx.server, "attest_server_chain_channel_lookups_total").await?;
	let unknown = Hash([0x77; 32]);
	for seq in 0..20 {
		let (s, _) = ctx
			.post("/v1/records/first", &first(&g, "//Bob", unknown, claim(seq, b"u")))
			.await?;
		anyhow::ensure!(s == 422, "record of an unknown channel: {s}");
	}
	let after = ctx.metric(ctx.server, "attest_server_chain_channel_lookups_total").await?;
	match (before, after) {
		(Some(b), Some(a)) => {
			anyhow::ensure!(a - b <= 1.0, "{} chain lookups for 20 records", a - b)
		},
		_ => anyhow::bail!("the server does not count its chain lookups"),
	}
	Ok(())
}
