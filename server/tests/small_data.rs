//! Small data kept in the database with its record (`blobs.data`, migration 0003), on SQLite
//! and on PostgreSQL: a database made by the schema before it keeps working (its blobs are
//! read from the blob store, its records are there), and small data commits with its
//! records or not at all.

#[allow(unused_imports)]
mod common;

use attest_primitives::{DataRef, FirstRecord, Hash, ItemClaim, SecondRecord};
use attest_server::store::{BatchData, Record, Store};
use sp_runtime::{MultiSignature, MultiSigner};
use std::path::Path;

fn claim(seq: u64, digest: Hash) -> ItemClaim {
	ItemClaim { seq, digest, payment_hash: Hash([1; 32]) }
}

fn sig() -> MultiSignature {
	MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw([9; 64]))
}

fn first(channel: Hash, claim: ItemClaim) -> Record {
	Record::First(FirstRecord {
		channel_id: channel,
		claim,
		verifier_signature: sig(),
		verifier: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([2; 32])),
	})
}

fn second(channel: Hash, claim: ItemClaim) -> Record {
	Record::Second(SecondRecord {
		channel_id: channel,
		claim,
		data: DataRef::Blob(claim.digest),
		requester_signature: sig(),
		requester: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([3; 32])),
	})
}

/// The schema as it was before small data (migrations 0001 and 0002 only).
async fn old_schema(url: &str, backend: &str) -> anyhow::Result<sqlx::AnyPool> {
	sqlx::any::install_default_drivers();
	let dir = tempfile::tempdir()?;
	let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
	let mut copied = 0;
	for entry in std::fs::read_dir(&src)? {
		let path = entry?.path();
		let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
		if name.starts_with("0001_") || name.starts_with("0002_") {
			std::fs::copy(&path, dir.path().join(&name))?;
			copied += 1;
		}
	}
	anyhow::ensure!(copied == 2, "migrations 0001 and 0002 not found in {}", src.display());
	let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?;
	sqlx::migrate::Migrator::new(dir.path()).await?.run(&pool).await?;
	Ok(pool)
}

async fn scenario(url: &str, backend: &str) -> anyhow::Result<()> {
	let channel = Hash([0xc1; 32]);
	let old_data = b"bytes stored as a file before the upgrade".to_vec();
	let old_digest = attest_primitives::sha256(&old_data);
	// A database written by the old server: a channel, a record, a blob in the blob store.
	let pool = old_schema(url, backend).await?;
	let record = match first(channel, claim(0, old_digest)) {
		Record::First(r) => codec::Encode::encode(&r),
		Record::Second(_) => unreachable!(),
	};
	sqlx::query(
		"INSERT INTO channels (channel_id, requester, verifier, next_anchor, seen_at) \
		 VALUES ($1, $2, $3, 0, 1)",
	)
	.bind(channel.0.to_vec())
	.bind(vec![3u8; 32])
	.bind(vec![2u8; 32])
	.execute(&pool)
	.await?;
	sqlx::query(
		"INSERT INTO records (channel_id, seq, party, digest, payment_hash, record, at) \
		 VALUES ($1, 0, 0, $2, $3, $4, 1)",
	)
	.bind(channel.0.to_vec())
	.bind(old_digest.0.to_vec())
	.bind(vec![1u8; 32])
	.bind(record)
	.execute(&pool)
	.await?;
	sqlx::query("INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, 1)")
		.bind(old_digest.0.to_vec())
		.bind(old_data.len() as i64)
		.execute(&pool)
		.await?;
	pool.close().await;

	// The new server's store upgrades it; what was there is there.
	let store = Store::open(url, 4).await?;
	anyhow::ensure!(
		store.blob_data(&old_digest).await? == Some((old_data.len() as u64, None)),
		"an old blob must be read from the blob store"
	);
	anyhow::ensure!(store.blob_in_database(&old_digest).await? == Some(false));
	anyhow::ensure!(store.claims(&old_digest, None, None, 10, 0).await?.len() == 1, "old record");

	// Small data goes in with its record, byte for byte.
	let bytes = vec![0x5a; 1024];
	let digest = attest_primitives::sha256(&bytes);
	let data = BatchData {
		small: vec![(digest, bytes.clone()), (digest, bytes.clone())],
		possession: vec![(channel, digest)],
		..Default::default()
	};
	let (out, new_bytes) = store.submit_with(&[second(channel, claim(1, digest))], &data).await?;
	anyhow::ensure!(out.len() == 1 && new_bytes == 1024, "{out:?}, {new_bytes} new bytes");
	anyhow::ensure!(store.blob_data(&digest).await? == Some((1024, Some(bytes.clone()))));
	anyhow::ensure!(store.has_possession(&channel, &digest).await?);
	// The same data again is not new.
	let (_, new_bytes) = store.submit_with(&[second(channel, claim(1, digest))], &data).await?;
	anyhow::ensure!(new_bytes == 0, "stored twice: {new_bytes} new bytes");

	// A batch whose records fail to store leaves no data and no possession behind.
	let lost = vec![0x77; 2048];
	let lost_digest = attest_primitives::sha256(&lost);
	let data = BatchData {
		small: vec![(lost_digest, lost)],
		possession: vec![(channel, lost_digest)],
		..Default::default()
	};
	let bad = second(channel, claim(u64::MAX, lost_digest));
	anyhow::ensure!(store.submit_with(&[bad], &data).await.is_err(), "seq 2^64-1 was stored");
	anyhow::ensure!(store.blob_data(&lost_digest).await?.is_none(), "data without its record");
	anyhow::ensure!(!store.has_possession(&channel, &lost_digest).await?, "possession without it");
	store.close().await;
	Ok(())
}

#[tokio::test]
async fn old_sqlite_databases_keep_working_and_small_data_commits_with_its_record() {
	let dir = tempfile::tempdir().expect("temp dir");
	let url = format!("sqlite://{}?mode=rwc", dir.path().join("attest.sqlite").display());
	scenario(&url, "sqlite").await.expect("sqlite");
}

#[tokio::test]
async fn old_postgres_databases_keep_working_and_small_data_commits_with_its_record() {
	let pg = common::postgres::Postgres::start();
	scenario(&pg.url(), "postgres").await.expect("postgres");
}
