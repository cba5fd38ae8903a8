use super::*;

fn data(len: usize, seed: u8) -> Vec<u8> {
	(0..len)
		.map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed ^ (i >> 12) as u8))
		.collect()
}

fn sha256(bytes: &[u8]) -> Hash {
	Hash(Sha256::digest(bytes).into())
}

/// `bytes` as a stream of chunks of `chunk` bytes.
fn chunks(
	bytes: &[u8],
	chunk: usize,
) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> + Unpin {
	let parts: Vec<_> = bytes
		.chunks(chunk.max(1))
		.map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
		.collect();
	futures::stream::iter(parts)
}

fn tmp_is_empty(store: &BlobStore) -> bool {
	std::fs::read_dir(&store.tmp).map(|mut d| d.next().is_none()).unwrap_or(false)
}

const IDLE: Duration = Duration::from_secs(5);

/// Every size around the alignment and block boundaries comes back byte for byte, with
/// direct I/O and through the page cache, whatever the chunking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_bytes_are_the_uploaded_bytes() {
	let sizes = [
		0,
		1,
		DIRECT_ALIGN - 1,
		DIRECT_ALIGN,
		DIRECT_ALIGN + 1,
		BLOCK_BYTES - 1,
		BLOCK_BYTES,
		BLOCK_BYTES + 1,
		3 * BLOCK_BYTES + 12_345,
	];
	for direct_io in [true, false] {
		let dir = tempfile::tempdir().unwrap();
		let store = BlobStore::open(dir.path(), None, direct_io).unwrap();
		for (i, &len) in sizes.iter().enumerate() {
			let bytes = data(len, i as u8);
			let chunk = [1000, 65_536, 3 << 20][i % 3];
			let (digest, size) = store
				.ingest(Some(sha256(&bytes)), chunks(&bytes, chunk), u64::MAX, IDLE)
				.await
				.unwrap();
			assert_eq!((digest, size), (sha256(&bytes), len as u64), "direct {direct_io}");
			let stored = std::fs::read(store.path(&digest)).unwrap();
			assert!(stored == bytes, "{len} bytes (direct {direct_io}) stored differently");
			assert!(tmp_is_empty(&store));
		}
	}
}

/// The same blob uploaded by several clients at once: every upload succeeds, one file
/// holds it, no temporary file is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_of_one_blob() {
	let dir = tempfile::tempdir().unwrap();
	let store = std::sync::Arc::new(BlobStore::open(dir.path(), None, true).unwrap());
	let bytes = std::sync::Arc::new(data(2 * BLOCK_BYTES + 99, 4));
	let digest = sha256(&bytes);
	let uploads = (0..4).map(|i| {
		let (store, bytes) = (store.clone(), bytes.clone());
		tokio::spawn(async move {
			let chunk = [65_536, 1 << 20][i % 2];
			store.ingest(Some(digest), chunks(&bytes, chunk), u64::MAX, IDLE).await
		})
	});
	for result in futures::future::join_all(uploads).await {
		assert_eq!(result.unwrap().unwrap(), (digest, bytes.len() as u64));
	}
	assert!(std::fs::read(store.path(&digest)).unwrap() == *bytes);
	let files: Vec<_> = walk(dir.path());
	assert_eq!(files, vec![store.path(&digest)], "one blob file and nothing else");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
	let mut out = Vec::new();
	for e in std::fs::read_dir(dir).unwrap().flatten() {
		if e.path().is_dir() {
			out.extend(walk(&e.path()));
		} else {
			out.push(e.path());
		}
	}
	out
}

/// Many small blobs at once: each checked, stored whole, results in input order,
/// duplicates fine, a mismatch refused without touching the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_many_checks_each_and_keeps_order() {
	let dir = tempfile::tempdir().unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	let blobs: Vec<Vec<u8>> = (0..50).map(|i| data(100 + i * 37, i as u8)).collect();
	let mut items: Vec<(Hash, Vec<u8>)> = blobs.iter().map(|b| (sha256(b), b.clone())).collect();
	items.push((sha256(&blobs[3]), blobs[3].clone())); // the same blob twice
	let wrong = sha256(b"claimed");
	items.push((wrong, b"sent instead".to_vec()));
	items.push((sha256(b""), Vec::new()));
	let results = store.put_many(items).await;
	assert_eq!(results.len(), 53);
	for (i, b) in blobs.iter().enumerate() {
		let (d, size) = results[i].as_ref().unwrap();
		assert_eq!((*d, *size), (sha256(b), b.len() as u64));
		assert!(std::fs::read(store.path(d)).unwrap() == *b);
	}
	assert_eq!(results[50].as_ref().unwrap().0, sha256(&blobs[3]));
	assert!(
		matches!(&results[51], Err(IngestError::Mismatch { expected, .. }) if *expected == wrong)
	);
	assert!(!store.path(&wrong).exists());
	assert_eq!(*results[52].as_ref().unwrap(), (sha256(b""), 0));
	assert!(tmp_is_empty(&store));
}

/// Bytes that hash to another digest leave nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickle_below_the_minimum_rate_is_dropped() {
	let dir = tempfile::tempdir().unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	// One byte every 50 ms (20 B/s, never idle) against a minimum of 1000 B/s after 1 s.
	let trickle = futures::stream::unfold((), |()| async {
		tokio::time::sleep(Duration::from_millis(50)).await;
		Some((Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x")), ()))
	});
	let limits = UploadLimits { max_bytes: u64::MAX, idle: Duration::from_secs(1), min_rate: 1000 };
	let t = std::time::Instant::now();
	match store.ingest_with(None, Box::pin(trickle), &limits, true).await {
		Err(e @ IngestError::Truncated { .. }) => {
			assert!(e.to_string().contains("minimum of 1000 bytes/s"), "{e}")
		},
		other => panic!("expected the trickle to be dropped, got {other:?}"),
	}
	assert!(t.elapsed() < Duration::from_secs(4), "dropped after {:?}", t.elapsed());
	assert!(tmp_is_empty(&store));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checked_upload_keeps_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	let bytes = data(2 * BLOCK_BYTES + 5, 3);
	let limits = UploadLimits { max_bytes: u64::MAX, idle: IDLE, min_rate: 0 };
	let got = store
		.ingest_with(Some(sha256(&bytes)), chunks(&bytes, 65_536), &limits, false)
		.await
		.unwrap();
	assert_eq!(got, (sha256(&bytes), bytes.len() as u64));
	assert!(!store.contains(&sha256(&bytes)).await.unwrap(), "only checked, not stored");
	let wrong = sha256(b"other");
	let err = store.ingest_with(Some(wrong), chunks(&bytes, 65_536), &limits, false).await;
	assert!(matches!(err, Err(IngestError::Mismatch { .. })), "{err:?}");
	assert!(tmp_is_empty(&store));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatch_keeps_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	let bytes = data(BLOCK_BYTES + 7, 1);
	let claimed = sha256(b"something else");
	let err = store.ingest(Some(claimed), chunks(&bytes, 65_536), u64::MAX, IDLE).await;
	match err {
		Err(IngestError::Mismatch { expected, actual, size }) => {
			assert_eq!((expected, actual, size), (claimed, sha256(&bytes), bytes.len() as u64))
		},
		other => panic!("expected a mismatch, got {other:?}"),
	}
	assert!(!store.contains(&sha256(&bytes)).await.unwrap());
	assert!(!store.path(&claimed).exists());
	assert!(tmp_is_empty(&store));
}

/// Over the limit: refused, nothing kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_keeps_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	let bytes = data(2 * BLOCK_BYTES, 2);
	let limit = BLOCK_BYTES as u64 + 1;
	let err = store.ingest(None, chunks(&bytes, 1 << 20), limit, IDLE).await;
	assert!(matches!(err, Err(IngestError::TooLarge { limit: l }) if l == limit), "{err:?}");
	assert!(!store.contains(&sha256(&bytes)).await.unwrap());
	assert!(tmp_is_empty(&store));
}

/// A body that fails half-way, or stops sending: truncated, nothing kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_or_stalled_body_keeps_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	let good = data(BLOCK_BYTES + DIRECT_ALIGN, 3);
	let broken = chunks(&good, 1 << 20)
		.chain(futures::stream::iter([Err(std::io::Error::other("connection reset"))]));
	match store.ingest(Some(sha256(&good)), broken, u64::MAX, IDLE).await {
		Err(IngestError::Truncated { received, reason }) => {
			assert_eq!(received, good.len() as u64);
			assert!(reason.contains("connection reset"), "{reason}");
		},
		other => panic!("expected truncated, got {other:?}"),
	}
	let stalled = chunks(&good, 1 << 20).chain(futures::stream::pending());
	let idle = Duration::from_millis(200);
	match store.ingest(Some(sha256(&good)), stalled, u64::MAX, idle).await {
		Err(IngestError::Truncated { received, .. }) => {
			assert_eq!(received, good.len() as u64)
		},
		other => panic!("expected truncated, got {other:?}"),
	}
	assert!(!store.contains(&sha256(&good)).await.unwrap());
	assert!(tmp_is_empty(&store));
}

/// Leftovers of an interrupted upload are removed when the store opens.
#[test]
fn open_removes_interrupted_uploads() {
	let dir = tempfile::tempdir().unwrap();
	std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
	std::fs::write(dir.path().join("tmp/upload-1-0"), b"half").unwrap();
	let store = BlobStore::open(dir.path(), None, true).unwrap();
	assert!(tmp_is_empty(&store));
}
