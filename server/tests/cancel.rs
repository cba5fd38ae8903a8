//! A store write whose caller goes away: an HTTP handler dropped when its client hangs up or
//! its request times out drops the store's future at whatever `.await` it had reached. Cut
//! after 1, 2, 3, ... polls, then after 0, 20, 40, ... µs, each sweep until the write completes
//! first: each write sent again in full must succeed, the next write too, and everything
//! acknowledged must be there after the store is closed and opened again. No pooled connection
//! may be left inside a transaction the cut began (it would refuse the next `BEGIN` or swallow
//! later writes; seen in the verifier's store before its handlers ran as tasks).

#[allow(unused_imports)]
mod common;

use attest_primitives::{Anchor, Hash, LogHead};
use attest_server::store::{BatchData, Store};
use attest_testkit::cut::{Cut, PollLimit};
use std::time::Duration;

fn small(i: u64) -> (Hash, Vec<u8>) {
	let bytes = format!("item {i} of the cut writes").into_bytes();
	(attest_primitives::sha256(&bytes), bytes)
}

async fn cut_writes(url: &str) -> anyhow::Result<()> {
	let store = Store::open(url, 4).await?;
	let mut written = Vec::new();
	let mut cuts = [0, 0];
	let mut i = 0u64;
	for sweep in [0, 1] {
		for n in 1usize.. {
			let cut = if sweep == 0 {
				Cut::Polls(n)
			} else {
				Cut::After(Duration::from_micros(20 * (n as u64 - 1)))
			};
			i += 2;
			let (digest, bytes) = small(i);
			let data = BatchData { small: vec![(digest, bytes.clone())], ..Default::default() };
			let write = store.put_data(&data);
			let done = cut.apply(write).await;
			store
				.put_data(&data)
				.await
				.map_err(|e| anyhow::anyhow!("sent again after a cut {cut:?}: {e}"))?;
			let next = small(i + 1);
			store
				.put_data(&BatchData { small: vec![next.clone()], ..Default::default() })
				.await
				.map_err(|e| anyhow::anyhow!("the next write after a cut {cut:?}: {e}"))?;
			written.push((digest, bytes));
			written.push(next);
			match done {
				None => cuts[sweep] += 1,
				Some(r) => {
					r?;
					break;
				},
			}
		}
	}
	// The poll sweep reaches as many points as the write has awaits that are still pending
	// when polled: on a fast database the write may finish at its second poll (seen in 1 of 10
	// runs), so one point is enough there; the time sweep cuts at microsecond steps and always
	// reaches several.
	anyhow::ensure!(cuts[0] >= 1 && cuts[1] >= 2, "writes cut at {cuts:?} points only");

	// Anchors (the relay endpoint's writes, behind its request timeout): an anchor accepted,
	// then completed, each cut at every poll count and sent again; a channel per point.
	let mut anchors = Vec::new();
	for n in 1usize.. {
		let digest = attest_primitives::sha256(&n.to_le_bytes());
		let a = Anchor {
			channel_id: attest_primitives::sha256(format!("channel {n}").as_bytes()),
			index: 0,
			first_seq: 0,
			log: LogHead::of_digests(&[digest]),
			block: 1,
		};
		let first = PollLimit::new(store.insert_anchor(&a), n).await;
		let again = store
			.insert_anchor(&a)
			.await
			.map_err(|e| anyhow::anyhow!("anchor sent again after a cut at poll {n}: {e}"))?;
		anyhow::ensure!(
			first.is_some() || store.anchor(&a.channel_id, 0).await?.is_some(),
			"anchor not there after a cut at poll {n} and a retry that said {again}"
		);
		let completed = PollLimit::new(store.complete_anchor(&a, &[]), n).await;
		store
			.complete_anchor(&a, &[])
			.await
			.map_err(|e| anyhow::anyhow!("completion sent again after a cut at poll {n}: {e}"))?;
		anchors.push(a);
		if first.is_some() && completed.is_some() {
			break;
		}
	}
	anyhow::ensure!(anchors.len() >= 2, "anchor writes cut at {} points only", anchors.len() - 1);
	store.close().await;
	let store = Store::open(url, 4).await?;
	for (digest, bytes) in &written {
		anyhow::ensure!(
			store.blob_data(digest).await? == Some((bytes.len() as u64, Some(bytes.clone()))),
			"{digest:?} acknowledged but not there after reopening"
		);
	}
	for a in &anchors {
		let row = store.anchor(&a.channel_id, 0).await?;
		anyhow::ensure!(
			row.as_ref().map(|r| (&r.anchor, r.complete)) == Some((a, true)),
			"anchor of {:?} not there complete after reopening: {row:?}",
			a.channel_id
		);
	}
	store.close().await;
	eprintln!(
		"{url}: writes cut after {} poll counts and at {} times, anchor writes at {} poll counts; each sent again, all there after reopening",
		cuts[0],
		cuts[1],
		anchors.len() - 1
	);
	Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cut_off_at_any_point_leave_sqlite_usable_and_lose_nothing() {
	let dir = tempfile::tempdir().expect("temp dir");
	let url = format!("sqlite://{}", dir.path().join("attest.db").display());
	cut_writes(&url).await.expect("SQLite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cut_off_at_any_point_leave_postgres_usable_and_lose_nothing() {
	let pg = common::postgres::Postgres::start();
	cut_writes(&pg.url()).await.expect("PostgreSQL");
}
