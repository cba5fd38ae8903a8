//! The off-chain anchor relay against the offchain test externalities.

use crate::{anchor_count_key, anchor_index_key, relay};
use attest_primitives::{Anchor, Hash, LogHead};
use codec::Encode;
use sp_core::offchain::{
	testing::{PendingRequest, TestOffchainExt},
	OffchainDbExt, OffchainWorkerExt, StorageKind,
};

fn anchor(block: u32, index: u32) -> Anchor {
	Anchor {
		channel_id: Hash([index as u8; 32]),
		index,
		first_seq: 0,
		log: LogHead { size: 1, root: Hash([9; 32]) },
		block,
	}
}

fn index(block: u32, anchors: &[Anchor]) {
	for (n, a) in anchors.iter().enumerate() {
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			&anchor_index_key(block, n as u32),
			&a.encode(),
		);
	}
	sp_io::offchain::local_storage_set(
		StorageKind::PERSISTENT,
		&anchor_count_key(block),
		&(anchors.len() as u32).encode(),
	);
}

fn post_of(a: &Anchor) -> PendingRequest {
	PendingRequest {
		method: "POST".into(),
		uri: "http://server.test:8080/v1/anchors".into(),
		headers: vec![("Content-Type".into(), "application/octet-stream".into())],
		body: a.encode(),
		response: Some(br#"{"outcome":"accepted"}"#.to_vec()),
		sent: true,
		..Default::default()
	}
}

fn cursor() -> Option<(u32, u32)> {
	sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, relay::CURSOR_KEY)
		.map(|v| codec::Decode::decode(&mut &v[..]).expect("cursor decodes"))
}

#[test]
fn without_a_server_url_nothing_is_posted() {
	let (offchain, _state) = TestOffchainExt::new();
	let mut t = sp_io::TestExternalities::default();
	t.register_extension(OffchainWorkerExt::new(offchain.clone()));
	t.register_extension(OffchainDbExt::new(offchain));
	t.execute_with(|| {
		index(3, &[anchor(3, 0)]);
		// No expected request: any HTTP request would panic the test externalities.
		relay::run(3);
		assert_eq!(cursor(), None);
	});
}

#[test]
fn posts_each_anchor_once_in_order_and_keeps_a_cursor() {
	let (offchain, state) = TestOffchainExt::new();
	let mut t = sp_io::TestExternalities::default();
	t.register_extension(OffchainWorkerExt::new(offchain.clone()));
	t.register_extension(OffchainDbExt::new(offchain));
	let expect = |a: &Anchor| state.write().expect_request(post_of(a));
	t.execute_with(|| {
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			relay::SERVER_URL_KEY,
			b"http://server.test:8080/",
		);
		let (a, b, c) = (anchor(5, 0), anchor(5, 1), anchor(7, 0));
		index(5, &[a, b]);
		index(7, &[c]);
		// The relay starts at the block where it first runs.
		for x in [&a, &b] {
			expect(x);
		}
		relay::run(5);
		assert_eq!(cursor(), Some((6, 0)));
		// Blocks 6 (no anchors) and 7; nothing is posted twice (the test externalities panic on
		// an unexpected request).
		expect(&c);
		relay::run(7);
		assert_eq!(cursor(), Some((8, 0)));
		relay::run(8);
		assert_eq!(cursor(), Some((9, 0)));
	});
}

#[test]
fn a_held_lock_stops_a_second_run() {
	let (offchain, _state) = TestOffchainExt::new();
	let mut t = sp_io::TestExternalities::default();
	t.register_extension(OffchainWorkerExt::new(offchain.clone()));
	t.register_extension(OffchainDbExt::new(offchain));
	t.execute_with(|| {
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			relay::SERVER_URL_KEY,
			b"http://s",
		);
		index(4, &[anchor(4, 0)]);
		let mut lock = sp_runtime::offchain::storage_lock::StorageLock::<
			sp_runtime::offchain::storage_lock::Time,
		>::new(relay::LOCK_KEY);
		let _guard = lock.try_lock().expect("free lock");
		// Another run is posting: this one must not (no request is expected).
		relay::run(4);
		assert_eq!(cursor(), None);
	});
}

/// Two overlapping runs: a run that posts for longer than the lock's deadline keeps it by
/// extending it after each post, so a second run started past the first deadline posts
/// nothing; once the first run stalls past its extended deadline, the second takes over and
/// its posts go on from the shared cursor.
#[test]
fn overlapping_runs_never_post_twice() {
	let (offchain, state) = TestOffchainExt::new();
	let mut t = sp_io::TestExternalities::default();
	t.register_extension(OffchainWorkerExt::new(offchain.clone()));
	t.register_extension(OffchainDbExt::new(offchain));
	let at = |ms: u64| state.write().timestamp = sp_core::offchain::Timestamp::from_unix_millis(ms);
	t.execute_with(|| {
		sp_io::offchain::local_storage_set(
			StorageKind::PERSISTENT,
			relay::SERVER_URL_KEY,
			b"http://server.test:8080",
		);
		let a = anchor(4, 0);
		index(4, &[a]);
		let lock_value = || {
			sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, relay::LOCK_KEY).map(|v| {
				<sp_core::offchain::Timestamp as codec::Decode>::decode(&mut &v[..]).unwrap()
			})
		};
		// Run A takes the lock at t = 0 and posts for almost its whole deadline, then extends.
		at(0);
		let mut lock_a = relay::lock();
		let mut guard_a = lock_a.try_lock().expect("free lock");
		at(relay::LOCK_DEADLINE_MS - 1);
		let extended = guard_a.extend_lock().expect("still held");
		assert_eq!(lock_value(), Some(extended));
		// Run B starts after A's first deadline but within the extension: it posts nothing
		// (the test externalities panic on an unexpected request).
		at(relay::LOCK_DEADLINE_MS + 1);
		relay::run(4);
		assert_eq!(cursor(), None);
		// A stalls past its extended deadline: B takes over and posts.
		at(3 * relay::LOCK_DEADLINE_MS);
		state.write().expect_request(post_of(&a));
		relay::run(4);
		assert_eq!(cursor(), Some((5, 0)));
		// B finished and released the lock; A's stale guard must not matter any more.
		assert_eq!(lock_value(), None);
		guard_a.forget();
	});
}
