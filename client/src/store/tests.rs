use super::*;
use crate::protocol::{next_state, Transition};
use attest_primitives::{payment_hash, sha256, ItemRange, LogHead};
use sp_core::{sr25519, Pair};

fn opening() -> ChannelState {
	ChannelState {
		channel_id: Hash([7; 32]),
		nonce: 0,
		requester_balance: 1_000,
		verifier_balance: 0,
		htlcs: Default::default(),
		log: LogHead::empty(),
		finality: attest_primitives::Finality::Open,
	}
}

async fn store_with_channel(dir: &Path) -> Store {
	let store = Store::open(&dir.join("agent.db")).await.unwrap();
	store
		.add_channel(&ChannelRow::learned(
			Hash([7; 32]),
			Party::Requester,
			[1; 32],
			[2; 32],
			"http://127.0.0.1:1".into(),
			opening(),
			0,
		))
		.await
		.unwrap();
	store
}

fn sig() -> MultiSignature {
	sr25519::Pair::from_seed(&[3; 32]).sign(b"x").into()
}

/// After its own close an agent signs only the final state naming it: `will_sign` and the
/// last write before a signature leaves (`set_pending` for the requester, `set_latest` for
/// the verifier) refuse everything else, also a state whose `will_sign` passed before the
/// close was recorded. The close is recorded once; a close prepared from a state older
/// than the newest both signed is refused. A database of the version before the column
/// opens and is migrated.
#[tokio::test]
async fn after_its_own_close_an_agent_signs_only_the_final_state_naming_it() {
	let dir = tempfile::tempdir().unwrap();
	let store = store_with_channel(dir.path()).await;
	let id = Hash([7; 32]);
	let s1 = ChannelState { nonce: 1, requester_balance: 900, verifier_balance: 100, ..opening() };
	store.will_sign(&s1).await.unwrap();
	store.set_latest(&s1, &sig(), &sig(), &[], None).await.unwrap();
	// Prepared from state 0 while 1 is the newest: refused.
	assert!(matches!(
		store.will_close(&id, 0, 0).await,
		Err(StoreError::CloseRace { newest: 1, .. })
	));
	// A state whose will_sign passed before the close.
	let s2 = ChannelState { nonce: 2, ..s1.clone() };
	store.will_sign(&s2).await.unwrap();
	store.will_close(&id, 1, 1).await.unwrap();
	store.will_close(&id, 1, 1).await.unwrap();
	assert!(matches!(store.will_close(&id, 2, 1).await, Err(StoreError::CloseRace { .. })));
	assert_eq!(store.channel(&id).await.unwrap().closing, Some(1));
	let refused = |e: Result<()>| {
		matches!(e, Err(StoreError::ClosedByUs { closed_nonce: 1, party: Party::Requester, .. }))
	};
	assert!(refused(store.set_pending(&s2, &sig()).await), "its signature must not leave");
	let s3 = ChannelState { nonce: 3, ..s1.clone() };
	for finality in [
		Finality::Open,
		Finality::Final,
		Finality::EndsClose { closer: Party::Verifier, closed_nonce: 1 },
		Finality::EndsClose { closer: Party::Requester, closed_nonce: 0 },
		Finality::EndsClose { closer: Party::Requester, closed_nonce: 2 },
	] {
		let s = ChannelState { finality, ..s3.clone() };
		assert!(refused(store.will_sign(&s).await), "{finality:?}");
	}
	let ok = ChannelState {
		finality: Finality::EndsClose { closer: Party::Requester, closed_nonce: 1 },
		..s3.clone()
	};
	store.will_sign(&ok).await.unwrap();
	store.set_pending(&ok, &sig()).await.unwrap();
	// The counterparty's late countersignature of a state is recorded (receiving is not
	// signing), for the requester.
	store.set_latest(&s2, &sig(), &sig(), &[], None).await.unwrap();
	assert_eq!(store.channel(&id).await.unwrap().state.nonce, 2);

	// The verifier: its countersignature leaves after set_latest, which refuses.
	let v = Store::open(&dir.path().join("verifier.db")).await.unwrap();
	let mut row = store.channel(&id).await.unwrap();
	row.role = Party::Verifier;
	row.state = opening();
	v.add_channel(&row).await.unwrap();
	let s1v = ChannelState { nonce: 1, ..s1 };
	v.will_sign(&s1v).await.unwrap();
	v.will_close(&id, 0, 0).await.unwrap();
	assert!(matches!(
		v.set_latest(&s1v, &sig(), &sig(), &[], None).await,
		Err(StoreError::ClosedByUs { party: Party::Verifier, closed_nonce: 0, .. })
	));
	assert_eq!(v.channel(&id).await.unwrap().state.nonce, 0);
	drop(v);

	// A database made before the column (user_version 0) gains it on open.
	let old = dir.path().join("old.db");
	{
		let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", old.display()))
			.unwrap()
			.create_if_missing(true);
		let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
		sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
		pool.close().await;
	}
	let migrated = Store::open(&old).await.unwrap();
	migrated.add_channel(&row).await.unwrap();
	assert_eq!(migrated.channel(&id).await.unwrap().closing, None);
	drop(migrated);
	let again = Store::open(&old).await.unwrap();
	assert_eq!(again.channel(&id).await.unwrap().closing, None);
}

/// The multi-row statements: batches that span several statements (and a second batch
/// after them) keep every row and its order; `missing_received` names exactly the digests
/// not received, in the order asked, across its chunks and for duplicates.
#[tokio::test]
async fn rows_written_many_per_statement_are_all_there_in_order() {
	let dir = tempfile::tempdir().unwrap();
	let store = store_with_channel(dir.path()).await;
	let channel = Hash([7; 32]);
	let digests: Vec<Hash> = (0u32..1_200).map(|i| sha256(&i.to_le_bytes())).collect();
	// Received: every third digest is missing.
	let received: Vec<(Hash, u64)> = digests
		.iter()
		.enumerate()
		.filter(|(i, _)| i % 3 != 0)
		.map(|(i, d)| (*d, i as u64))
		.collect();
	store.put_received(&channel, &received[..700]).await.unwrap();
	store.put_received(&channel, &received[650..]).await.unwrap();
	let mut asked = digests.clone();
	asked.push(digests[0]);
	let expected: Vec<Hash> =
		asked.iter().enumerate().filter(|(i, _)| i % 3 == 0).map(|(_, d)| *d).collect();
	assert_eq!(store.missing_received(&channel, &asked).await.unwrap(), expected);
	assert!(store.missing_received(&channel, &[]).await.unwrap().is_empty());

	// The log: 70 digests (three statements), then 5 more.
	let mut state = opening();
	for part in [&digests[..70], &digests[70..75]] {
		let mut next = state.clone();
		next.nonce += 1;
		next.log.size += part.len() as u64;
		store.set_latest(&next, &sig(), &sig(), part, None).await.unwrap();
		state = next;
	}
	assert_eq!(store.log(&channel).await.unwrap(), digests[..75].to_vec());

	// Items: 100 in one call.
	let items: Vec<ItemRow> = (0..100)
		.map(|i| ItemRow {
			path: format!("/f{i}"),
			size: i,
			mtime: i as i64,
			digest: digests[i as usize],
			slot: (i % 2 == 0).then_some((channel, 1_000 + i)),
			status: if i % 2 == 0 { ItemStage::Billed } else { ItemStage::Hashed },
		})
		.collect();
	store.put_items(&items).await.unwrap();
	let paths: Vec<String> = items.iter().map(|i| i.path.clone()).collect();
	let got = store.items_at(&paths).await.unwrap();
	assert_eq!(got.len(), 100);
	for i in &items {
		assert_eq!(got[&i.path], *i);
	}
}

/// A requester that stops right after recording the countersigned state must not find its
/// items still `billed` (it would attest them again at new slots, leaving gaps in its log
/// and paying twice) nor the bill without the key it learned (it could not resolve it).
#[tokio::test]
async fn a_countersigned_state_marks_its_items_and_bills_in_the_same_transaction() {
	let dir = tempfile::tempdir().unwrap();
	let store = store_with_channel(dir.path()).await;
	let channel = Hash([7; 32]);
	let digests: Vec<Hash> = (0u8..3).map(|i| sha256(&[i])).collect();
	let key = BillKey([9; 32]);
	let bill = Bill {
		items: ItemRange::of_digests(0, &digests),
		amount: 30,
		payment_hash: payment_hash(&key),
		expiry: 100,
	};
	store
		.put_bill(&channel, &bill, None, None, &digests, BillStage::Open)
		.await
		.unwrap();
	// An earlier attempt, never agreed, billed another file at slot 1.
	let old = ItemRow {
		path: "/old".into(),
		size: 1,
		mtime: 0,
		digest: sha256(b"old"),
		slot: Some((channel, 1)),
		status: ItemStage::Billed,
	};
	store.put_items(&[old]).await.unwrap();
	let items: Vec<ItemRow> = digests
		.iter()
		.enumerate()
		.map(|(i, d)| ItemRow {
			path: format!("/f{i}"),
			size: 1,
			mtime: 0,
			digest: *d,
			slot: Some((channel, i as u64)),
			status: ItemStage::Billed,
		})
		.collect();
	store.put_items(&items).await.unwrap();
	// An item billed in an earlier, never-signed attempt at a slot past the new log stays.
	store
		.put_items(&[ItemRow {
			path: "/later".into(),
			slot: Some((channel, 3)),
			..items[0].clone()
		}])
		.await
		.unwrap();
	let s1 = next_state(
		&opening(),
		&Transition { bill: Some((&bill, LogHead::of_digests(&digests))), ..Default::default() },
	)
	.unwrap();
	store.will_sign(&s1).await.unwrap();
	store.set_latest(&s1, &sig(), &sig(), &digests, Some(&key)).await.unwrap();

	let attested: Vec<String> = store
		.items(ItemStage::Attested)
		.await
		.unwrap()
		.into_iter()
		.map(|i| i.path)
		.collect();
	assert_eq!(attested, ["/f0", "/f1", "/f2"]);
	let billed: Vec<String> = store
		.items(ItemStage::Billed)
		.await
		.unwrap()
		.into_iter()
		.map(|i| i.path)
		.collect();
	assert_eq!(billed, ["/later"]);
	let old = store.item("/old").await.unwrap().unwrap();
	assert_eq!((old.status, old.slot), (ItemStage::Hashed, None));
	let b = store.bill(&channel, &bill.payment_hash).await.unwrap().unwrap();
	assert_eq!((b.status, b.key), (BillStage::Pending, Some(key)));
	assert_eq!(store.log(&channel).await.unwrap(), digests);

	// The state resolving the HTLC marks its bill resolved, with it.
	let s2 = next_state(&s1, &Transition { resolve: &[bill.payment_hash], ..Default::default() })
		.unwrap();
	store.will_sign(&s2).await.unwrap();
	store.set_latest(&s2, &sig(), &sig(), &[], None).await.unwrap();
	let b = store.bill(&channel, &bill.payment_hash).await.unwrap().unwrap();
	assert_eq!((b.status, b.key), (BillStage::Resolved, Some(key)));
	// A retried confirmation of an older state changes nothing.
	store.set_latest(&s1, &sig(), &sig(), &digests, Some(&key)).await.unwrap();
	assert_eq!(store.channel(&channel).await.unwrap().state, s2);
	assert_eq!(
		store.bill(&channel, &bill.payment_hash).await.unwrap().unwrap().status,
		BillStage::Resolved
	);
}

/// A database left by a version that stopped between the two steps is repaired on start.
#[tokio::test]
async fn billed_items_the_agreed_log_holds_are_reconciled() {
	let dir = tempfile::tempdir().unwrap();
	let store = store_with_channel(dir.path()).await;
	let channel = Hash([7; 32]);
	let d = sha256(b"a");
	let mut s1 = opening();
	s1.nonce = 1;
	s1.log = LogHead::of_digests(&[d]);
	// The old order: the state and its log recorded, the items not yet marked.
	sqlx::query("UPDATE channels SET state = ? WHERE id = ?")
		.bind(s1.encode())
		.bind(channel.0.to_vec())
		.execute(&store.pool)
		.await
		.unwrap();
	sqlx::query("INSERT INTO log (channel, seq, digest) VALUES (?, 0, ?)")
		.bind(channel.0.to_vec())
		.bind(d.0.to_vec())
		.execute(&store.pool)
		.await
		.unwrap();
	let row = |path: &str, seq| ItemRow {
		path: path.into(),
		size: 1,
		mtime: 0,
		digest: d,
		slot: Some((channel, seq)),
		status: ItemStage::Billed,
	};
	store.put_items(&[row("/in", 0), row("/past", 1)]).await.unwrap();
	// A row whose digest is not the log's at its slot is not the item agreed there.
	let other = ItemRow { digest: sha256(b"b"), ..row("/other", 0) };
	sqlx::query("INSERT INTO items (path, size, mtime, digest, channel, seq, status) VALUES (?, 1, 0, ?, ?, 0, 'billed')")
		.bind(&other.path)
		.bind(other.digest.0.to_vec())
		.bind(channel.0.to_vec())
		.execute(&store.pool)
		.await
		.unwrap();
	store.reconcile_items(&channel).await.unwrap();
	let paths = |v: Vec<ItemRow>| v.into_iter().map(|i| i.path).collect::<Vec<_>>();
	assert_eq!(paths(store.items(ItemStage::Attested).await.unwrap()), ["/in"]);
	assert_eq!(paths(store.items(ItemStage::Billed).await.unwrap()), ["/other", "/past"]);
}
