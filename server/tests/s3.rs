//! Blobs in S3-compatible object storage (`--blob-store s3://bucket/prefix`), against a real
//! S3 API server on loopback (moto's `moto_server`, installed by `./x setup` in a Python
//! venv; `MOTO_SERVER` names its path): uploads checked before anything is put, objects
//! under `<prefix>/<hex>`, reads through the signed-request endpoint, nothing stored locally.

mod common;

use attest_primitives::{signing::Kind, DataRef};
use common::{chain::*, files_under, Node, Server};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_in_object_storage() {
	let moto = common::s3::Moto::start("attest-blobs").await.expect("moto");
	let s3 = moto.url();
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let data = dir.path().join("data");
	let server = Server::start(
		&data,
		&node.ws_url(),
		&["--blob-store", "s3://attest-blobs/blobs", "--s3-endpoint", &s3],
	);
	if let Err(e) = scenario(&node, &server, &s3).await {
		panic!("{e:?}\nserver log:\n{}", server.log_tail(30));
	}
	let local: Vec<_> = files_under(&data.join("blobs"));
	assert!(local.is_empty(), "blobs kept locally: {local:?}");
}

async fn list(http: &reqwest::Client, s3: &str) -> anyhow::Result<String> {
	Ok(http.get(format!("{s3}/attest-blobs?list-type=2")).send().await?.text().await?)
}

async fn scenario(node: &Node, server: &Server, s3: &str) -> anyhow::Result<()> {
	let chain = Chain::connect(&node.ws_url()).await?;
	let g = chain.genesis;
	let id = chain.open_channel("//Alice", "//Bob").await?;
	let http = reqwest::Client::new();
	let base = server.url();
	// 3 MiB: more than one multipart part is not needed, but more than one body chunk is.
	let bytes: Vec<u8> = (0..3u32 << 20).map(|i| (i * 7 + (i >> 11)) as u8).collect();
	let c = claim(0, &bytes);
	let hex = hex::encode(c.digest.0);
	http.post(format!("{base}/v1/records/first"))
		.json(&first(&g, "//Bob", id, c))
		.send()
		.await?
		.error_for_status()?;
	// Wrong bytes: refused, nothing put.
	let r = http
		.put(blob_url(&base, &g, "//Alice", Kind::BlobWrite, id, &c.digest))
		.body(b"not it".to_vec())
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::UNPROCESSABLE_ENTITY, "wrong bytes: {}", r.status());
	anyhow::ensure!(!list(&http, s3).await?.contains(&hex), "a rejected upload reached the bucket");
	// The right bytes: stored as blobs/<hex>.
	let r = http
		.put(blob_url(&base, &g, "//Alice", Kind::BlobWrite, id, &c.digest))
		.body(bytes.clone())
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::CREATED, "upload: {}", r.status());
	anyhow::ensure!(
		list(&http, s3).await?.contains(&format!("<Key>blobs/{hex}</Key>")),
		"object missing"
	);
	let listing = list(&http, s3).await?;
	anyhow::ensure!(
		listing.contains(&format!("<Size>{}</Size>", bytes.len())),
		"object size: {listing}"
	);
	let r = http
		.put(blob_url(&base, &g, "//Alice", Kind::BlobWrite, id, &c.digest))
		.body(bytes.clone())
		.send()
		.await?;
	anyhow::ensure!(r.status() == StatusCode::OK, "upload again: {}", r.status());
	// The second record by reference, then a signed read through the server.
	let s = second(&g, "//Alice", id, c, DataRef::Blob(c.digest));
	http.post(format!("{base}/v1/records/second"))
		.json(&s)
		.send()
		.await?
		.error_for_status()?;
	let url = blob_url(&base, &g, "//Alice", Kind::BlobRead, id, &c.digest);
	let got = http.get(url).send().await?;
	anyhow::ensure!(got.status() == StatusCode::OK, "signed read: {}", got.status());
	anyhow::ensure!(got.bytes().await?.to_vec() == bytes, "read other bytes");
	Ok(())
}
