//! Every endpoint over real HTTP against a real dev chain, once with SQLite and once with a
//! real PostgreSQL server: success paths and bad input (bad signature, wrong signer, digest
//! mismatch, oversized and truncated bodies, unknown channel, forged anchors, conflicts).

mod common;

use attest_primitives::{signing::Kind, DataRef, Hash, InclusionProof, SecondRecord};
use attest_server::api::{
	AttestationProof, Batch, BatchResult, ClaimState, ItemStatus, ProofResponse, Record,
	SubmitOutcome,
};
use codec::{Decode, Encode};
use common::{chain::*, files_under, Node, Server};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::{
	io::{Read, Write},
	time::Duration,
};

const MAX_JSON: usize = 64 * 1024;
const MAX_UPLOAD: u64 = 4 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_on_sqlite() {
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let data = dir.path().join("data");
	let server = Server::start(&data, &node.ws_url(), &limits());
	run_or_show(scenario(&node, &server, "sqlite"), &node, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_on_postgres() {
	let pg = common::postgres::Postgres::start();
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let data = dir.path().join("data");
	let mut args = limits();
	let url = pg.url();
	args.extend(["--database-url", url.as_str()]);
	let server = Server::start(&data, &node.ws_url(), &args);
	run_or_show(scenario(&node, &server, "postgres"), &node, &server).await;
	// The records are in PostgreSQL, not in a SQLite file.
	assert!(!data.join("attest.sqlite").exists());
}

fn limits() -> Vec<&'static str> {
	vec![
		"--max-json-bytes",
		"65536",
		"--max-upload-bytes",
		"4194304",
		"--upload-idle-secs",
		"2",
		"--request-timeout-secs",
		"2",
	]
}

async fn run_or_show(
	f: impl std::future::Future<Output = anyhow::Result<()>>,
	node: &Node,
	server: &Server,
) {
	match tokio::time::timeout(Duration::from_secs(300), f).await {
		Ok(Ok(())) => {},
		Ok(Err(e)) => {
			panic!("{e:?}\nserver log:\n{}\nnode log:\n{}", server.log_tail(40), node.log_tail(20))
		},
		Err(_) => panic!(
			"timed out\nserver log:\n{}\nnode log:\n{}",
			server.log_tail(40),
			node.log_tail(20)
		),
	}
}

/// Check an error answer: status and JSON error code.
async fn expect_error(
	r: reqwest::Response,
	status: StatusCode,
	code: &str,
) -> anyhow::Result<String> {
	let got = r.status();
	let body: Value = r.json().await.map_err(|e| anyhow::anyhow!("error body is not JSON: {e}"))?;
	anyhow::ensure!(
		got == status && body["error"] == code,
		"expected {status} {code}, got {got} {body}"
	);
	let message = body["message"].as_str().unwrap_or_default().to_string();
	anyhow::ensure!(message.len() > 10, "error message too short: {body}");
	Ok(message)
}

async fn scenario(node: &Node, server: &Server, tag: &str) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let g = chain.genesis;
	let http = Client::new();
	let base = server.url();
	let id = chain.open_channel("//Alice", "//Bob").await?;

	// Service endpoints.
	let health: Value = http.get(format!("{base}/healthz")).send().await?.json().await?;
	anyhow::ensure!(health["status"] == "ok", "{health}");
	let info: Value = http.get(format!("{base}/v1/info")).send().await?.json().await?;
	anyhow::ensure!(info["genesis"] == format!("{g:?}"), "{info} vs {g:?}");
	let openapi: Value = http.get(format!("{base}/v1/openapi.json")).send().await?.json().await?;
	anyhow::ensure!(openapi["openapi"].as_str().unwrap_or("").starts_with("3."), "openapi version");
	for path in [
		"/v1/records/first",
		"/v1/records/second",
		"/v1/records/second/stream",
		"/v1/records/batch",
		"/v1/blobs/{digest}",
		"/v1/items/{digest}",
		"/v1/items/{digest}/proof",
		"/v1/items/claimants",
		"/v1/anchors",
		"/v1/channels/{channel}/anchors/{index}",
		"/healthz",
		"/metrics",
	] {
		anyhow::ensure!(openapi["paths"].get(path).is_some(), "OpenAPI lacks {path}");
	}
	let page = http.get(format!("{base}/")).send().await?.text().await?;
	anyhow::ensure!(page.contains("crypto.subtle"), "verify page");
	expect_error(
		http.get(format!("{base}/v2/nothing")).send().await?,
		StatusCode::NOT_FOUND,
		"not_found",
	)
	.await?;

	let items: Vec<Vec<u8>> = (0..10).map(|i| data(tag, i)).collect();
	let claims: Vec<_> = items.iter().enumerate().map(|(i, d)| claim(i as u64, d)).collect();

	// First records: stored, then idempotent (also when signed again: sr25519 signatures
	// differ each time).
	let post = |path: &str, body: &dyn erased::Json| {
		http.post(format!("{base}{path}"))
			.header("content-type", "application/json")
			.body(body.json())
	};
	let r0 = first(&g, "//Bob", id, claims[0]);
	let r = post("/v1/records/first", &r0).send().await?;
	anyhow::ensure!(
		r.status() == StatusCode::CREATED,
		"first record: {} {}",
		r.status(),
		r.text().await?
	);
	let r = post("/v1/records/first", &r0).send().await?;
	let body: Value = r.json().await?;
	anyhow::ensure!(body["outcome"] == "already_stored", "{body}");
	let again = first(&g, "//Bob", id, claims[0]);
	anyhow::ensure!(again.verifier_signature != r0.verifier_signature);
	let r = post("/v1/records/first", &again).send().await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "re-signed duplicate: {}", r.status());

	// Bad input on first records.
	let mut forged = first(&g, "//Bob", id, claims[1]);
	forged.claim.digest = Hash([9; 32]);
	expect_error(
		post("/v1/records/first", &forged).send().await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;
	let other_chain = first(&Hash([1; 32]), "//Bob", id, claims[1]);
	expect_error(
		post("/v1/records/first", &other_chain).send().await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;
	let by_charlie = first(&g, "//Charlie", id, claims[1]);
	expect_error(
		post("/v1/records/first", &by_charlie).send().await?,
		StatusCode::FORBIDDEN,
		"forbidden",
	)
	.await?;
	let by_requester = first(&g, "//Alice", id, claims[1]);
	expect_error(
		post("/v1/records/first", &by_requester).send().await?,
		StatusCode::FORBIDDEN,
		"forbidden",
	)
	.await?;
	let unknown = first(&g, "//Bob", Hash([7; 32]), claims[1]);
	expect_error(
		post("/v1/records/first", &unknown).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"unknown_channel",
	)
	.await?;
	let r = http
		.post(format!("{base}/v1/records/first"))
		.body("{\"channelId\": 12")
		.send()
		.await?;
	expect_error(r, StatusCode::BAD_REQUEST, "bad_request").await?;
	let r = http
		.post(format!("{base}/v1/records/first"))
		.body(vec![b' '; MAX_JSON + 1])
		.send()
		.await?;
	expect_error(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await?;
	// The same slot claimed with another digest: refused, the first claim kept.
	let mut clash = claims[0];
	clash.digest = attest_primitives::sha256(b"something else");
	let r = post("/v1/records/first", &first(&g, "//Bob", id, clash)).send().await?;
	expect_error(r, StatusCode::CONFLICT, "conflict").await?;

	// More first records, in a batch with two bad ones.
	let mut batch: Vec<Record> =
		(1..10).map(|i| Record::First(first(&g, "//Bob", id, claims[i]))).collect();
	batch.push(Record::First(forged.clone()));
	batch.push(Record::First(unknown.clone()));
	let r: BatchResult = post("/v1/records/batch", &Batch { records: batch })
		.send()
		.await?
		.json()
		.await?;
	let outcomes: Vec<&str> = r.results.iter().map(|r| r.outcome.as_str()).collect();
	anyhow::ensure!(
		outcomes[..9].iter().all(|o| *o == "stored") && outcomes[9..] == ["rejected", "rejected"],
		"{outcomes:?}"
	);
	anyhow::ensure!(r.results[9].error.as_deref() == Some("bad_signature"), "{:?}", r.results[9]);
	anyhow::ensure!(
		r.results[10].error.as_deref() == Some("unknown_channel"),
		"{:?}",
		r.results[10]
	);

	// Second records: inline data.
	let s0 = second(&g, "//Alice", id, claims[0], DataRef::Inline(items[0].clone()));
	let r = post("/v1/records/second", &s0).send().await?;
	anyhow::ensure!(
		r.status() == StatusCode::CREATED,
		"second inline: {} {}",
		r.status(),
		r.text().await?
	);
	let wrong = second(&g, "//Alice", id, claims[1], DataRef::Inline(b"not the data".to_vec()));
	expect_error(
		post("/v1/records/second", &wrong).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"digest_mismatch",
	)
	.await?;
	let by_verifier = second(&g, "//Bob", id, claims[1], DataRef::Inline(items[1].clone()));
	expect_error(
		post("/v1/records/second", &by_verifier).send().await?,
		StatusCode::FORBIDDEN,
		"forbidden",
	)
	.await?;
	// By reference to a blob: missing first, then uploaded.
	let s1 = second(&g, "//Alice", id, claims[1], DataRef::Blob(claims[1].digest));
	expect_error(post("/v1/records/second", &s1).send().await?, StatusCode::NOT_FOUND, "not_found")
		.await?;
	let put = |d: &Hash, body: Vec<u8>| {
		http.put(blob_url(&base, &g, "//Alice", Kind::BlobWrite, id, d)).body(body)
	};
	// Uploads are signed by the channel's requester.
	expect_error(
		http.put(format!("{base}/v1/blobs/{:?}", claims[1].digest))
			.body(items[1].clone())
			.send()
			.await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;
	expect_error(
		http.put(blob_url(&base, &g, "//Bob", Kind::BlobWrite, id, &claims[1].digest))
			.body(items[1].clone())
			.send()
			.await?,
		StatusCode::FORBIDDEN,
		"forbidden",
	)
	.await?;
	expect_error(
		http.put(blob_url(&base, &g, "//Alice", Kind::BlobRead, id, &claims[1].digest))
			.body(items[1].clone())
			.send()
			.await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;
	expect_error(
		put(&claims[1].digest, b"tampered".to_vec()).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"digest_mismatch",
	)
	.await?;
	let unclaimed = attest_primitives::sha256(b"nobody attested this");
	expect_error(
		put(&unclaimed, b"nobody attested this".to_vec()).send().await?,
		StatusCode::NOT_FOUND,
		"not_found",
	)
	.await?;
	// Oversized uploads: refused up front by Content-Length, and while streaming (chunked).
	let signed = blob_url("", &g, "//Alice", Kind::BlobWrite, id, &claims[1].digest);
	oversized_uploads(server.port, &signed).await?;
	let r = put(&claims[1].digest, items[1].clone()).send().await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "blob upload: {}", r.status());
	let r = put(&claims[1].digest, items[1].clone()).send().await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "blob upload again: {}", r.status());
	let r = post("/v1/records/second", &s1).send().await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "second by ref: {}", r.status());
	// Streamed with the record in a header.
	let stream = |rec: &SecondRecord, body: Vec<u8>| {
		http.post(format!("{base}/v1/records/second/stream"))
			.header("attest-record", format!("0x{}", hex::encode(rec.encode())))
			.body(body)
	};
	let s2 = second(&g, "//Alice", id, claims[2], DataRef::Blob(claims[2].digest));
	let r = stream(&s2, items[2].clone()).send().await?;
	anyhow::ensure!(
		r.status() == StatusCode::CREATED,
		"stream: {} {}",
		r.status(),
		r.text().await?
	);
	let s3 = second(&g, "//Alice", id, claims[3], DataRef::Blob(claims[3].digest));
	expect_error(
		stream(&s3, b"wrong bytes".to_vec()).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"digest_mismatch",
	)
	.await?;
	let mut bad_sig = s3.clone();
	bad_sig.claim.seq = 4;
	expect_error(
		stream(&bad_sig, items[3].clone()).send().await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;
	let r = http
		.post(format!("{base}/v1/records/second/stream"))
		.body(items[3].clone())
		.send()
		.await?;
	expect_error(r, StatusCode::BAD_REQUEST, "bad_request").await?;
	// A JSON request that stalls is cut at --request-timeout-secs: 408 with the error body.
	let port = server.port;
	let answer = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
		let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
		s.write_all(b"POST /v1/records/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")?;
		s.set_read_timeout(Some(Duration::from_secs(10)))?;
		let mut answer = String::new();
		let _ = s.read_to_string(&mut answer);
		Ok(answer)
	})
	.await??;
	anyhow::ensure!(
		answer.contains(" 408 ") && answer.contains("\"timeout\""),
		"a stalled JSON request: {answer:?}"
	);
	// Truncated upload: Content-Length promises more than is sent, then the client stalls.
	truncated_upload(server.port, &s3, &items[3]).await?;
	tokio::time::sleep(Duration::from_secs(3)).await; // upload idle limit is 2 s
	let leftovers = files_under(&server.data_dir.join("blobs"));
	anyhow::ensure!(
		leftovers
			.iter()
			.all(|p| !p.to_string_lossy().contains(&hex::encode(claims[3].digest.0))
				&& !p.starts_with(server.data_dir.join("blobs/tmp"))),
		"partial upload visible: {leftovers:?}"
	);
	// Items 3..9 with inline data in a batch, and one record whose data is not its item's:
	// that one alone is refused.
	let mut batch: Vec<Record> = (3..10)
		.map(|i| {
			Record::Second(second(&g, "//Alice", id, claims[i], DataRef::Inline(items[i].clone())))
		})
		.collect();
	let not_the_data = DataRef::Inline(b"not item 9".to_vec());
	batch.push(Record::Second(second(&g, "//Alice", id, claims[9], not_the_data)));
	let r: BatchResult = post("/v1/records/batch", &Batch { records: batch })
		.send()
		.await?
		.json()
		.await?;
	anyhow::ensure!(
		r.results[..7].iter().all(|r| r.outcome == SubmitOutcome::Stored),
		"{:?}",
		r.results
	);
	anyhow::ensure!(
		r.results.len() == 8
			&& r.results[7].outcome == SubmitOutcome::Rejected
			&& r.results[7].error.as_deref() == Some("digest_mismatch"),
		"{:?}",
		r.results
	);
	// Small inline data is kept in the database with its record: no file of its own, and
	// its bytes read back exact.
	let blob_files = files_under(&server.data_dir.join("blobs"));
	for (i, c) in claims.iter().enumerate().take(9).skip(3) {
		let file = blob_files.iter().any(|p| p.ends_with(hex::encode(c.digest.0)));
		anyhow::ensure!(!file, "item {i}'s small inline data became a file");
		let url = blob_url(&base, &g, "//Alice", Kind::BlobRead, id, &c.digest);
		let r = http.get(url).send().await?;
		anyhow::ensure!(r.status() == StatusCode::OK, "item {i}'s data: {}", r.status());
		anyhow::ensure!(r.bytes().await? == items[i], "item {i}'s data read back other bytes");
	}

	// Status: pending, both records, data stored.
	let status: ItemStatus = http
		.get(format!("{base}/v1/items/{:?}", claims[2].digest))
		.send()
		.await?
		.json()
		.await?;
	let c = &status.claims[0];
	anyhow::ensure!(
		!status.conflict
			&& c.status == ClaimState::Pending
			&& c.has_data
			&& c.seq == 2
			&& c.channel_id == id,
		"{status:?}"
	);
	anyhow::ensure!(
		c.requester.as_deref() == Some(&*format!("0x{}", hex::encode(account("//Alice")))),
		"{c:?}"
	);
	anyhow::ensure!(c.verifier_record.is_some() && c.requester_record.is_some());
	expect_error(
		http.get(format!("{base}/v1/items/{unclaimed:?}")).send().await?,
		StatusCode::NOT_FOUND,
		"not_found",
	)
	.await?;
	// Claimants of many digests at once: the unclaimed one is left out, the order is the
	// order asked, a digest asked twice is answered once.
	let asked = [claims[3].digest, unclaimed, claims[2].digest, claims[3].digest];
	let found: Value = http
		.post(format!("{base}/v1/items/claimants"))
		.json(&serde_json::json!({ "digests": asked }))
		.send()
		.await?
		.json()
		.await?;
	let listed = found["items"].as_array().cloned().unwrap_or_default();
	anyhow::ensure!(listed.len() == 2, "{found}");
	anyhow::ensure!(listed[0]["digest"] == format!("{:?}", claims[3].digest), "{found}");
	anyhow::ensure!(listed[1]["digest"] == format!("{:?}", claims[2].digest), "{found}");
	let who = &listed[1]["claimants"][0];
	anyhow::ensure!(
		who["channelId"] == format!("{id:?}")
			&& who["seq"] == 2
			&& who["requester"] == format!("0x{}", hex::encode(account("//Alice"))),
		"{found}"
	);
	for bad in [serde_json::json!({ "digests": [] }), serde_json::json!({ "digests": ["0x12"] })] {
		expect_error(
			http.post(format!("{base}/v1/items/claimants")).json(&bad).send().await?,
			StatusCode::BAD_REQUEST,
			"bad_request",
		)
		.await?;
	}
	// A body over the JSON limit (here --max-json-bytes 65536; 10,001 digests against the
	// default limit are in load.rs). One byte over, as for the records above: a body far over
	// the limit is refused before the server has read it, and the client may then see its
	// write fail instead of the answer.
	let mut body = serde_json::to_vec(&serde_json::json!({ "digests": [unclaimed] }))?;
	body.resize(MAX_JSON + 1, b' ');
	expect_error(
		http.post(format!("{base}/v1/items/claimants"))
			.header("content-type", "application/json")
			.body(body)
			.send()
			.await?,
		StatusCode::PAYLOAD_TOO_LARGE,
		"too_large",
	)
	.await?;
	expect_error(
		http.get(format!("{base}/v1/items/0x12")).send().await?,
		StatusCode::BAD_REQUEST,
		"bad_request",
	)
	.await?;
	let proof_url = |d: &Hash| format!("{base}/v1/items/{d:?}/proof");
	expect_error(
		http.get(proof_url(&claims[2].digest)).send().await?,
		StatusCode::CONFLICT,
		"not_ready",
	)
	.await?;

	// Anchor items 0..8 on chain. Forged relays are refused; the real one is accepted.
	let digests: Vec<Hash> = claims.iter().map(|c| c.digest).collect();
	let log = chain.checkpoint(id, 1, &digests[..8], 0, "//Alice", "//Bob").await?;
	let real = attest_primitives::Anchor { channel_id: id, index: 0, first_seq: 0, log, block: 0 };
	let relay = |a: &attest_primitives::Anchor| post("/v1/anchors", a);
	let mut forged_root = real;
	forged_root.log.root = Hash([3; 32]);
	expect_error(
		relay(&forged_root).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"anchor_not_on_chain",
	)
	.await?;
	let mut forged_index = real;
	forged_index.index = 1;
	expect_error(
		relay(&forged_index).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"anchor_not_on_chain",
	)
	.await?;
	// The block is part of the anchor: find it from the chain-checked copy (the watcher may
	// already have it), else by trying recent blocks.
	let mut accepted = None;
	for _ in 0..50 {
		let r = http.get(format!("{base}/v1/channels/{id:?}/anchors/0")).send().await?;
		if r.status() == StatusCode::OK {
			accepted = Some(r.json::<attest_primitives::Anchor>().await?);
			break;
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let accepted = accepted.ok_or_else(|| anyhow::anyhow!("the watcher did not find anchor 0"))?;
	anyhow::ensure!(
		accepted.log == log && accepted.first_seq == 0 && accepted.block > 0,
		"{accepted:?}"
	);
	let mut wrong_block = accepted;
	wrong_block.block += 1;
	expect_error(
		relay(&wrong_block).send().await?,
		StatusCode::UNPROCESSABLE_ENTITY,
		"anchor_not_on_chain",
	)
	.await?;
	let r = relay(&accepted).send().await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "relay of a known anchor: {}", r.status());
	let r = http
		.post(format!("{base}/v1/anchors"))
		.header("content-type", "application/octet-stream")
		.body(accepted.encode())
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "SCALE relay: {}", r.status());
	// A relayed anchor the watcher does not know yet (a channel without records here): it is
	// checked against the chain and accepted.
	let id2 = chain.open_channel("//Charlie", "//Bob").await?;
	chain.checkpoint(id2, 1, &digests[..1], 0, "//Charlie", "//Bob").await?;
	let reader = attest_server::chain::Chain::connect(&node.ws_url()).await?;
	let real2 = reader
		.finalized_anchor(&id2, 0)
		.await?
		.ok_or_else(|| anyhow::anyhow!("anchor of channel 2"))?;
	let r = relay(&real2).send().await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "relay of a new anchor: {}", r.status());
	let body: Value = r.json().await?;
	anyhow::ensure!(body["outcome"] == "accepted", "{body}");
	// Item 0's digest claimed again in channel 2: stored, and reported as a conflict.
	let dup = first(&g, "//Bob", id2, claims[0]);
	let r: Value = post("/v1/records/first", &dup).send().await?.json().await?;
	anyhow::ensure!(r["outcome"] == "stored" && r["otherClaims"] == 1, "{r}");
	let s: ItemStatus = http
		.get(format!("{base}/v1/items/{:?}", claims[0].digest))
		.send()
		.await?
		.json()
		.await?;
	anyhow::ensure!(s.conflict && s.claims.len() == 2, "{s:?}");
	anyhow::ensure!(
		s.claims[0].channel_id == id && s.claims[1].channel_id == id2,
		"oldest claim first: {s:?}"
	);

	// Proofs: JSON and SCALE, checked against the anchored root.
	let p: ProofResponse = http.get(proof_url(&claims[5].digest)).send().await?.json().await?;
	anyhow::ensure!(p.genesis == g && p.proof.anchor == accepted, "{p:?}");
	p.proof.proof.verify_digest(&claims[5].digest, &log.root)?;
	anyhow::ensure!(p.proof.proof.leaf_index == 5 && p.proof.proof.tree_size == 8);
	p.proof
		.verifier_record
		.as_ref()
		.ok_or_else(|| anyhow::anyhow!("no first record"))?
		.verify(&g)?;
	p.proof
		.requester_record
		.as_ref()
		.ok_or_else(|| anyhow::anyhow!("no second record"))?
		.verify(&g)?;
	let scale = http
		.get(format!("{}?format=scale", proof_url(&claims[5].digest)))
		.send()
		.await?
		.bytes()
		.await?;
	anyhow::ensure!(
		AttestationProof::decode(&mut &scale[..])? == p.proof,
		"SCALE proof differs from JSON"
	);
	anyhow::ensure!(format!("0x{}", hex::encode(&scale)) == p.scale);
	let mut flipped: InclusionProof = p.proof.proof.clone();
	flipped.path[0].0[0] ^= 1;
	anyhow::ensure!(flipped.verify_digest(&claims[5].digest, &log.root).is_err());
	// Items 8, 9 are not anchored yet; the watcher finds the next checkpoint by itself.
	expect_error(
		http.get(proof_url(&claims[9].digest)).send().await?,
		StatusCode::CONFLICT,
		"not_ready",
	)
	.await?;
	// The second anchor covers the whole log (items 0..10); items 8 and 9 are new in it.
	chain.checkpoint(id, 2, &digests, 8, "//Alice", "//Bob").await?;
	let mut anchored = false;
	for _ in 0..100 {
		let s: ItemStatus = http
			.get(format!("{base}/v1/items/{:?}", claims[9].digest))
			.send()
			.await?
			.json()
			.await?;
		if s.claims[0].status == ClaimState::Anchored {
			anyhow::ensure!(s.claims[0].anchor.map(|a| a.index) == Some(1), "{s:?}");
			anchored = true;
			break;
		}
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	anyhow::ensure!(anchored, "the watcher did not anchor item 9");
	let p: ProofResponse = http.get(proof_url(&claims[9].digest)).send().await?.json().await?;
	p.proof.proof.verify_digest(&claims[9].digest, &p.proof.anchor.log.root)?;
	anyhow::ensure!(
		p.proof.anchor.first_seq == 8
			&& p.proof.proof.leaf_index == 9
			&& p.proof.proof.tree_size == 10,
		"{p:?}"
	);

	// Data reads: only the parties, only with a fresh signature.
	let read = |who: &str, d: &Hash, expires: u64| {
		blob_url_until(&base, &g, who, Kind::BlobRead, id, d, expires)
	};
	let now = attest_server::store::now_ms() as u64;
	for who in ["//Alice", "//Bob"] {
		let r = http.get(read(who, &claims[2].digest, now + 60_000)).send().await?;
		anyhow::ensure!(r.status() == StatusCode::OK, "{who} read: {}", r.status());
		anyhow::ensure!(r.bytes().await?.to_vec() == items[2], "{who} read other bytes");
	}
	expect_error(
		http.get(read("//Charlie", &claims[2].digest, now + 60_000)).send().await?,
		StatusCode::FORBIDDEN,
		"forbidden",
	)
	.await?;
	expect_error(
		http.get(read("//Alice", &claims[2].digest, now - 1)).send().await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;
	expect_error(
		http.get(read("//Alice", &claims[2].digest, now + 86_400_000)).send().await?,
		StatusCode::BAD_REQUEST,
		"bad_request",
	)
	.await?;
	let tampered = read("//Alice", &claims[2].digest, now + 60_000)
		.replace(&format!("expires={}", now + 60_000), &format!("expires={}", now + 60_001));
	expect_error(http.get(tampered).send().await?, StatusCode::UNAUTHORIZED, "bad_signature")
		.await?;
	let replayed = read("//Alice", &claims[2].digest, now + 60_000)
		.replace(&format!("{:?}", claims[2].digest), &format!("{:?}", claims[4].digest));
	expect_error(http.get(replayed).send().await?, StatusCode::UNAUTHORIZED, "bad_signature")
		.await?;
	expect_error(
		http.get(format!("{base}/v1/blobs/{:?}", claims[2].digest)).send().await?,
		StatusCode::UNAUTHORIZED,
		"bad_signature",
	)
	.await?;

	// Metrics.
	let m = http.get(format!("{base}/metrics")).send().await?.text().await?;
	for needle in [
		"attest_server_records_submitted_total{kind=\"first\",result=\"stored\"} 11",
		"attest_server_first_records 11",
		"attest_server_second_records 10",
		"attest_server_anchors 3",
		"attest_server_http_request_duration_seconds_bucket",
		"attest_server_anchors_accepted_total{source=\"relay\"} 1",
	] {
		anyhow::ensure!(m.contains(needle), "metrics lack {needle}:\n{m}");
	}
	Ok(())
}

/// Raw HTTP/1.1 exchange: the head, then as much of `body` as the server takes (it may
/// answer and close early), then the answer.
fn raw_http(port: u16, head: &str, body: &[u8]) -> anyhow::Result<String> {
	let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
	s.set_read_timeout(Some(Duration::from_secs(20)))?;
	s.write_all(head.as_bytes())?;
	for chunk in body.chunks(64 * 1024) {
		if s.write_all(chunk).is_err() {
			break;
		}
	}
	let mut answer = Vec::new();
	let _ = s.read_to_end(&mut answer);
	Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// `path`: the signed upload path and query.
async fn oversized_uploads(port: u16, path: &str) -> anyhow::Result<()> {
	let path = path.to_string();
	tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
		let head = format!(
			"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
			MAX_UPLOAD + 1
		);
		let answer = raw_http(port, &head, &[])?;
		anyhow::ensure!(
			answer.contains(" 413 ") && answer.contains("too_large"),
			"declared size: {answer:?}"
		);
		// Chunked: no size up front; refused once the limit is passed.
		let mut body = Vec::new();
		for _ in 0..=(MAX_UPLOAD / 65536) {
			body.extend_from_slice(format!("{:x}\r\n", 65536).as_bytes());
			body.extend_from_slice(&[0u8; 65536]);
			body.extend_from_slice(b"\r\n");
		}
		body.extend_from_slice(b"0\r\n\r\n");
		let head = format!(
			"PUT {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		);
		let answer = raw_http(port, &head, &body)?;
		anyhow::ensure!(
			answer.contains(" 413 ") && answer.contains("too_large"),
			"streamed size: {answer:?}"
		);
		Ok(())
	})
	.await?
}

/// Send headers promising the whole data but only half of it, then stall and drop.
async fn truncated_upload(port: u16, record: &SecondRecord, data: &[u8]) -> anyhow::Result<()> {
	let header = format!("0x{}", hex::encode(record.encode()));
	let data = data.to_vec();
	tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
		let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
		write!(
			s,
			"POST /v1/records/second/stream HTTP/1.1\r\nHost: x\r\nattest-record: {header}\r\n\
			 Content-Length: {}\r\n\r\n",
			data.len() + 1000
		)?;
		s.write_all(&data[..data.len() / 2])?;
		s.set_read_timeout(Some(Duration::from_secs(10)))?;
		let mut answer = String::new();
		let _ = s.read_to_string(&mut answer);
		anyhow::ensure!(
			answer.contains(" 400 ") && answer.contains("truncated"),
			"stalled upload answered {answer:?}"
		);
		Ok(())
	})
	.await?
}

/// JSON bodies of any serializable type.
mod erased {
	pub trait Json {
		fn json(&self) -> String;
	}
	impl<T: serde::Serialize> Json for T {
		fn json(&self) -> String {
			serde_json::to_string(self).expect("serializable")
		}
	}
}
