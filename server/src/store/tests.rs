use super::{dialect::decode_hex, *};
use sp_runtime::{MultiSignature, MultiSigner};

fn claim(seq: u64, digest: u8) -> ItemClaim {
	ItemClaim { seq, digest: Hash([digest; 32]), payment_hash: Hash([1; 32]) }
}

fn rec(channel: u8, seq: u64, digest: u8) -> Record {
	Record::First(FirstRecord {
		channel_id: Hash([channel; 32]),
		claim: claim(seq, digest),
		verifier_signature: MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw(
			[seq as u8; 64],
		)),
		verifier: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([2; 32])),
	})
}

fn rec2(channel: u8, seq: u64, digest: u8) -> Record {
	Record::Second(SecondRecord {
		channel_id: Hash([channel; 32]),
		claim: claim(seq, digest),
		data: attest_primitives::DataRef::Blob(Hash([digest; 32])),
		requester_signature: MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw(
			[seq as u8; 64],
		)),
		requester: MultiSigner::Sr25519(sp_core::sr25519::Public::from_raw([3; 32])),
	})
}

async fn store() -> (tempfile::TempDir, Store) {
	let dir = tempfile::tempdir().expect("temp dir");
	let url = format!("sqlite://{}", dir.path().join("t.sqlite").display());
	let s = Store::open(&url, 4).await.expect("open");
	(dir, s)
}

async fn claims(s: &Store, digest: u8) -> Vec<Item> {
	s.claims(&Hash([digest; 32]), None, None, 100, 0).await.expect("claims")
}

#[tokio::test]
async fn batch_outcomes_duplicates_and_conflicts() {
	let (_d, s) = store().await;
	let out = s
		.submit(&[rec(1, 0, 10), rec(1, 1, 11), rec(1, 0, 10), rec(1, 1, 99)])
		.await
		.expect("submit");
	let kinds: Vec<_> = out.iter().map(|o| o.outcome.clone()).collect();
	assert_eq!(kinds[0], Outcome::Stored);
	assert_eq!(kinds[1], Outcome::Stored);
	assert_eq!(kinds[2], Outcome::AlreadyStored, "a duplicate within one batch");
	assert!(
		matches!(kinds[3], Outcome::Conflict(c) if c.digest == Hash([11; 32])),
		"{:?}",
		kinds[3]
	);
	// The party's first claim is kept.
	assert_eq!(claims(&s, 11).await.len(), 1);
	assert!(claims(&s, 99).await.is_empty());
	let again = s.submit(&[rec(1, 0, 10)]).await.expect("submit");
	assert_eq!(again[0].outcome, Outcome::AlreadyStored);
}

#[tokio::test]
async fn the_other_partys_record_is_never_kept_out() {
	let (_d, s) = store().await;
	// The verifier claims digest 50 for slot 0; the requester's record says 60.
	s.submit(&[rec(1, 0, 50)]).await.expect("submit");
	let out = s.submit(&[rec2(1, 0, 60)]).await.expect("submit");
	assert_eq!(out[0].outcome, Outcome::Stored);
	assert_eq!(out[0].disputed, Some(Hash([50; 32])));
	assert_eq!(claims(&s, 50).await.len(), 1);
	assert_eq!(claims(&s, 60).await.len(), 1);
	// The anchored log says 60: the requester's record is anchored, the verifier's wrong.
	let log = attest_primitives::LogHead::of_digests(&[Hash([60; 32])]);
	let anchor = Anchor { channel_id: Hash([1; 32]), index: 0, first_seq: 0, log, block: 9 };
	s.insert_anchor(&anchor).await.expect("insert");
	s.complete_anchor(&anchor, &[(0, Hash([60; 32]))]).await.expect("complete");
	let right = claims(&s, 60).await;
	assert_eq!((right[0].anchor_index, right[0].wrong), (Some(0), false));
	let wrong = claims(&s, 50).await;
	assert_eq!((wrong[0].anchor_index, wrong[0].wrong), (None, true));
	// A record arriving later for the anchored slot is matched at once.
	let late = s.submit(&[rec(2, 0, 70), rec2(1, 0, 60)]).await.expect("submit");
	assert_eq!(late[1].outcome, Outcome::AlreadyStored);
	s.put_channel(&Hash([1; 32]), &Parties { requester: [3; 32], verifier: [2; 32] })
		.await
		.expect("channel");
	assert!(s.channels_to_watch().await.expect("watch").is_empty());
}

#[tokio::test]
async fn other_claims_are_counted_and_strong_claims_come_first() {
	let (_d, s) = store().await;
	assert_eq!(s.submit(&[rec(1, 0, 10)]).await.expect("submit")[0].other_claims, 0);
	// Another channel claims digest 10: one other claim, both kept.
	assert_eq!(s.submit(&[rec(2, 5, 10)]).await.expect("submit")[0].other_claims, 1);
	// 150 weak claims by a third channel cannot hide the anchored one.
	let spam: Vec<Record> = (0..150).map(|i| rec(3, i, 10)).collect();
	s.submit(&spam).await.expect("submit");
	let log = attest_primitives::LogHead::of_digests(&[Hash([10; 32])]);
	let anchor = Anchor { channel_id: Hash([1; 32]), index: 0, first_seq: 0, log, block: 9 };
	s.complete_anchor(&anchor, &[]).await.expect("complete");
	let proven =
		BatchData { possession: vec![(Hash([2; 32]), Hash([10; 32]))], ..Default::default() };
	s.put_data(&proven).await.expect("possession");
	let page = s.claims(&Hash([10; 32]), None, None, 100, 0).await.expect("claims");
	assert_eq!(page.len(), 100);
	assert_eq!(page[0].channel_id, Hash([1; 32]), "anchored first");
	assert_eq!((page[1].channel_id, page[1].possession), (Hash([2; 32]), true));
	let rest = s.claims(&Hash([10; 32]), None, None, 100, 100).await.expect("claims");
	assert_eq!(rest.len(), 52);
	let one = s.claims(&Hash([10; 32]), Some(&Hash([3; 32])), Some(7), 100, 0).await;
	assert_eq!(one.expect("claims").len(), 1);
}

/// DESIGN invariant 10: the earliest anchored claim of a digest comes first, whatever the
/// order its records arrived in or how strong a later claim looks; a claim not yet anchored
/// never outranks an anchored one. (Before: the newest anchored claim came first, so a
/// later copy attested elsewhere was named as the owner.)
#[tokio::test]
async fn the_earliest_anchored_claim_comes_first() {
	let (_d, s) = store().await;
	// Channel 1 (the first to hold the data, anchored in block 5), then channel 2 (a copy,
	// anchored in block 9, with both records and proven data), then channel 3 (newest, not
	// anchored, with proven data).
	s.submit(&[rec(1, 0, 10)]).await.expect("submit");
	s.submit(&[rec(2, 0, 10), rec2(2, 0, 10)]).await.expect("submit");
	s.submit(&[rec(3, 0, 10), rec2(3, 0, 10)]).await.expect("submit");
	for c in [2u8, 3] {
		let proven =
			BatchData { possession: vec![(Hash([c; 32]), Hash([10; 32]))], ..Default::default() };
		s.put_data(&proven).await.expect("possession");
	}
	let log = attest_primitives::LogHead::of_digests(&[Hash([10; 32])]);
	// The copy's anchor is accepted by this server first.
	for (c, block) in [(2u8, 9u32), (1, 5)] {
		let a = Anchor { channel_id: Hash([c; 32]), index: 0, first_seq: 0, log, block };
		s.insert_anchor(&a).await.expect("insert");
		s.complete_anchor(&a, &[]).await.expect("complete");
	}
	let order: Vec<Hash> = claims(&s, 10).await.iter().map(|i| i.channel_id).collect();
	let mut firsts = order.clone();
	firsts.dedup();
	assert_eq!(firsts, vec![Hash([1; 32]), Hash([2; 32]), Hash([3; 32])], "{order:?}");
	// A page starting after the first claim starts with the second.
	let page = s.claims(&Hash([10; 32]), None, None, 1, 1).await.expect("claims");
	assert_eq!(page[0].channel_id, Hash([2; 32]));
}

#[tokio::test]
async fn anchors_are_checked_again_only_after_new_records() {
	let (_d, s) = store().await;
	// 1,001 anchors of channels without records here, then one with records.
	for c in 0..1001u32 {
		let mut id = [0u8; 32];
		id[..4].copy_from_slice(&c.to_le_bytes());
		id[31] = 0xff;
		let log = attest_primitives::LogHead::of_digests(&[Hash([1; 32])]);
		let a = Anchor { channel_id: Hash(id), index: 0, first_seq: 0, log, block: 1 };
		s.insert_anchor(&a).await.expect("insert");
	}
	let id = Hash([4; 32]);
	s.put_channel(&id, &Parties { requester: [3; 32], verifier: [2; 32] })
		.await
		.expect("c");
	s.submit(&[rec(4, 0, 10)]).await.expect("submit");
	let log = attest_primitives::LogHead::of_digests(&[Hash([10; 32]), Hash([11; 32])]);
	let a = Anchor { channel_id: id, index: 0, first_seq: 0, log, block: 2 };
	s.insert_anchor(&a).await.expect("insert");
	let due = s.anchors_to_check(1000).await.expect("due");
	assert_eq!(due.iter().map(|(a, _)| a.channel_id).collect::<Vec<_>>(), vec![id]);
	s.anchor_tried(&a, due[0].1).await.expect("tried");
	assert!(s.anchors_to_check(1000).await.expect("due").is_empty(), "failure remembered");
	s.submit(&[rec(4, 1, 11)]).await.expect("submit");
	assert_eq!(s.anchors_to_check(1000).await.expect("due").len(), 1, "new records");
	assert_eq!(s.slots_stored(&id, 2).await.expect("count"), 2);
	assert_eq!(s.slots_stored(&id, 1).await.expect("count"), 1);
	assert_eq!(s.slots_stored(&id, 3).await.expect("count"), 2);
	let records = s.log_records(&id, 2).await.expect("log");
	assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn hex_decodes_as_the_hex_crate_and_refuses_what_it_refuses() {
	let all: Vec<u8> = (0..=255u8).collect();
	assert_eq!(decode_hex(hex::encode(&all).as_bytes()), Some(all.clone()));
	assert_eq!(decode_hex(hex::encode_upper(&all).as_bytes()), Some(all));
	assert_eq!(decode_hex(b""), Some(vec![]));
	for bad in [&b"0"[..], b"0g", b"g0", b"0x", b"\xff0", b" 0", b"0:", b"@0", b"0`"] {
		assert_eq!(decode_hex(bad), None, "{bad:?}");
	}
}

/// A complete anchor's leaves come back in slot order from one row; a slot without an
/// anchored record (not yet complete, or past the log) gives none.
#[tokio::test]
async fn anchored_leaves_are_the_anchored_digests_in_order() {
	let (_d, s) = store().await;
	let id = Hash([5; 32]);
	// Slots 0..3: both parties agree at 0 and 2; at 1 they differ, the log holds 21.
	// Digests in an order unlike the slots' so that a sort by digest would show.
	s.submit(&[rec(5, 0, 90), rec2(5, 0, 90), rec(5, 1, 20), rec2(5, 1, 21), rec(5, 2, 3)])
		.await
		.expect("submit");
	let digests = [Hash([90; 32]), Hash([21; 32]), Hash([3; 32])];
	let log = attest_primitives::LogHead::of_digests(&digests);
	let a = Anchor { channel_id: id, index: 0, first_seq: 0, log, block: 2 };
	s.insert_anchor(&a).await.expect("insert");
	assert_eq!(s.anchored_leaves(&id, 3).await.expect("leaves"), None, "not complete yet");
	s.complete_anchor(&a, &[(1, Hash([21; 32]))]).await.expect("complete");
	// At slot 1 the verifier's record is not the anchored one: both parties' records.
	assert_eq!(s.anchored_leaves(&id, 3).await.expect("leaves"), Some(digests.to_vec()));
	assert_eq!(s.anchored_leaves(&id, 2).await.expect("leaves"), Some(digests[..2].to_vec()));
	// Slot 0 from the verifier's records alone.
	assert_eq!(s.anchored_leaves(&id, 1).await.expect("leaves"), Some(digests[..1].to_vec()));
	assert_eq!(s.anchored_leaves(&id, 4).await.expect("leaves"), None, "slot 3 is not there");
	assert_eq!(s.anchored_leaves(&Hash([6; 32]), 1).await.expect("leaves"), None);
	// A claim's anchor comes with it.
	let items = s.claims(&Hash([21; 32]), None, None, 10, 0).await.expect("claims");
	assert_eq!(items.len(), 1);
	assert_eq!((items[0].anchor_index, items[0].anchor), (Some(0), Some(a)));
	let items = s.claims(&Hash([20; 32]), None, None, 10, 0).await.expect("claims");
	assert_eq!((items[0].anchor_index, items[0].anchor, items[0].wrong), (None, None, true));
}

/// A request that goes away while its group is being committed (a client that
/// disconnects, a timeout) does not take the others of its group down with it: the group
/// is committed and each other submission gets its answer.
#[tokio::test]
async fn a_writer_that_goes_away_still_commits_its_group() {
	let (_d, s) = store().await;
	let s = std::sync::Arc::new(s);
	// Hold the writer's place so that both submissions queue up behind it.
	let place = s.writers.clone().acquire_owned().await.expect("place");
	let a = tokio::spawn({
		let s = s.clone();
		async move { s.submit(&[rec(1, 1, 1)]).await }
	});
	let b = tokio::spawn({
		let s = s.clone();
		async move { s.submit(&[rec(1, 2, 2)]).await }
	});
	while s.queue.lock().expect("queue").len() < 2 {
		tokio::task::yield_now().await;
	}
	// The place goes to the first waiter, which takes both submissions into its group;
	// it goes away as soon as it has started.
	drop(place);
	tokio::task::yield_now().await;
	a.abort();
	let b = b.await.expect("task b").expect("b is answered");
	assert_eq!(b[0].outcome, Outcome::Stored);
	// Both were committed: the same records again are already stored.
	let again = s.submit(&[rec(1, 1, 1), rec(1, 2, 2)]).await.expect("again");
	assert!(again.iter().all(|o| o.outcome == Outcome::AlreadyStored), "{again:?}");
}

/// Concurrent submissions on SQLite are committed in groups: each still gets its own
/// answers, one per record, and a slot sent by several is `Stored` for exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_commits_answer_each_submission() {
	let (_d, s) = store().await;
	let s = std::sync::Arc::new(s);
	let mut tasks = Vec::new();
	for t in 0..16u64 {
		let s = s.clone();
		tasks.push(tokio::spawn(async move {
			// Each task: 3 slots of its own, and slot 1000 that every task sends.
			let mut recs: Vec<Record> = (0..3).map(|k| rec(1, t * 10 + k, 10 + k as u8)).collect();
			recs.push(rec(1, 1000, 99));
			let out = s.submit(&recs).await.expect("submit");
			assert_eq!(out.len(), 4);
			assert!(out[..3].iter().all(|o| o.outcome == Outcome::Stored), "{out:?}");
			out[3].outcome.clone()
		}));
	}
	let mut shared = Vec::new();
	for t in tasks {
		shared.push(t.await.expect("task"));
	}
	assert_eq!(shared.iter().filter(|o| **o == Outcome::Stored).count(), 1, "{shared:?}");
	assert_eq!(shared.iter().filter(|o| **o == Outcome::AlreadyStored).count(), 15, "{shared:?}");
}

#[tokio::test]
async fn rejects_unknown_database_urls() {
	assert!(matches!(Store::open("mysql://x", 1).await, Err(StoreError::Url(_))));
}

/// SQLite's page cache is one budget for the pool, shared out among its connections (the long
/// run showed 64 MiB per connection growing the server to 800 MB): each connection's
/// `cache_size` is the budget over the pool size, in KiB, at least 1 MiB.
#[tokio::test]
async fn the_page_cache_is_a_budget_for_the_whole_pool() {
	let dir = tempfile::tempdir().expect("temp dir");
	for (connections, mib, per_connection_kib) in [(8, 64, 8_192), (4, 64, 16_384), (8, 4, 1_024)] {
		let url = format!(
			"sqlite://{}",
			dir.path().join(format!("{connections}-{mib}.sqlite")).display()
		);
		let s = Store::open_with_cache(&url, connections, mib).await.expect("open");
		let mut conns = Vec::new();
		for _ in 0..connections {
			let mut c = s.pool.acquire().await.expect("connection");
			let (size,): (i64,) =
				sqlx::query_as("PRAGMA cache_size").fetch_one(&mut *c).await.expect("pragma");
			assert_eq!(size, -per_connection_kib, "{connections} connections, {mib} MiB");
			conns.push(c);
		}
		drop(conns);
		s.close().await;
	}
}
