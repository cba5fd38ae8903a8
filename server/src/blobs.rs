//! Content-addressed blob store on the local file system.
//!
//! A blob lives at `<dir>/<hex[0..2]>/<hex>` where `hex` is its SHA-256. Uploads are streamed
//! to `<dir>/tmp/` while being hashed on a dedicated thread, `fsync`ed, and renamed into place
//! only when the digest is the expected one; the rename is atomic, so a reader sees a whole
//! blob or none. Temporary files left by a crash are removed when the store opens.

use attest_primitives::Hash;
use futures::{Stream, StreamExt};
use sha2::{Digest as _, Sha256};
use std::{
	io::Write,
	path::{Path, PathBuf},
	sync::atomic::{AtomicU64, Ordering},
	time::Duration,
};

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
	/// More bytes than allowed.
	#[error("upload larger than the limit of {limit} bytes")]
	TooLarge {
		/// The limit.
		limit: u64,
	},
	/// The body ended with an error or stalled.
	#[error("upload did not complete after {received} bytes: {reason}")]
	Truncated {
		/// Bytes received before it failed.
		received: u64,
		/// What happened.
		reason: String,
	},
	/// The bytes hash to another digest.
	#[error("the uploaded {size} bytes hash to {actual}, not to {expected}")]
	Mismatch {
		/// Digest the upload was sent for.
		expected: Hash,
		/// Digest of what arrived.
		actual: Hash,
		/// Bytes received.
		size: u64,
	},
	/// Disk failure.
	#[error("blob store: {0}")]
	Io(#[from] std::io::Error),
}

/// The blob directory.
pub struct BlobStore {
	root: PathBuf,
	tmp: PathBuf,
	counter: AtomicU64,
}

fn hex_of(digest: &Hash) -> String {
	hex::encode(digest.0)
}

impl BlobStore {
	/// Open the store under `root` (created when missing) and remove leftovers of
	/// interrupted uploads.
	pub fn open(root: impl AsRef<Path>) -> std::io::Result<Self> {
		let root = root.as_ref().to_path_buf();
		let tmp = root.join("tmp");
		std::fs::create_dir_all(&tmp)?;
		for entry in std::fs::read_dir(&tmp)? {
			let entry = entry?;
			tracing::info!("removing interrupted upload {}", entry.path().display());
			std::fs::remove_file(entry.path())?;
		}
		Ok(BlobStore { root, tmp, counter: AtomicU64::new(0) })
	}

	/// Where blob `digest` is (whether or not it exists).
	pub fn path(&self, digest: &Hash) -> PathBuf {
		let hex = hex_of(digest);
		self.root.join(&hex[..2]).join(hex)
	}

	/// Whether blob `digest` is stored.
	pub fn contains(&self, digest: &Hash) -> bool {
		self.path(digest).is_file()
	}

	/// Store `stream` as a blob. With `expected`, the bytes must hash to it. At most `limit`
	/// bytes; each chunk must arrive within `idle`. Returns the digest and size.
	pub async fn ingest<S, E>(
		&self,
		expected: Option<Hash>,
		mut stream: S,
		limit: u64,
		idle: Duration,
	) -> Result<(Hash, u64), IngestError>
	where
		S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
		E: std::fmt::Display,
	{
		let n = self.counter.fetch_add(1, Ordering::Relaxed);
		let tmp_path = self.tmp.join(format!("upload-{}-{n}", std::process::id()));
		// Hash and write on one blocking thread, fed through a bounded channel, so the
		// network, the hash and the disk overlap.
		let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(32);
		let path = tmp_path.clone();
		let writer = tokio::task::spawn_blocking(move || -> std::io::Result<(Hash, u64)> {
			let file = std::fs::File::create(&path)?;
			let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
			let mut hasher = Sha256::new();
			let mut size = 0u64;
			for chunk in rx {
				hasher.update(&chunk);
				out.write_all(&chunk)?;
				size += chunk.len() as u64;
			}
			let file = out.into_inner().map_err(|e| e.into_error())?;
			file.sync_all()?;
			Ok((Hash(hasher.finalize().into()), size))
		});
		let mut received = 0u64;
		let mut failure = None;
		loop {
			match tokio::time::timeout(idle, stream.next()).await {
				Err(_) => {
					failure = Some(IngestError::Truncated {
						received,
						reason: format!("no data for {} s", idle.as_secs()),
					});
					break;
				},
				Ok(None) => break,
				Ok(Some(Err(e))) => {
					failure = Some(IngestError::Truncated { received, reason: e.to_string() });
					break;
				},
				Ok(Some(Ok(chunk))) => {
					received += chunk.len() as u64;
					if received > limit {
						failure = Some(IngestError::TooLarge { limit });
						break;
					}
					if tx.send(chunk).is_err() {
						break; // the writer failed; its error is reported below
					}
				},
			}
		}
		drop(tx);
		let written = writer.await.map_err(|e| std::io::Error::other(e.to_string()))?;
		let result = match (failure, written) {
			(Some(f), _) => Err(f),
			(None, Err(e)) => Err(IngestError::Io(e)),
			(None, Ok((actual, size))) => match expected {
				Some(expected) if expected != actual => Err(IngestError::Mismatch { expected, actual, size }),
				_ => Ok((actual, size)),
			},
		};
		match result {
			Ok((digest, size)) => {
				let dest = self.path(&digest);
				let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
				let tmp_path2 = tmp_path.clone();
				tokio::task::spawn_blocking(move || -> std::io::Result<()> {
					std::fs::create_dir_all(&dir)?;
					std::fs::rename(&tmp_path2, &dest)?;
					std::fs::File::open(&dir)?.sync_all()
				})
				.await
				.map_err(|e| std::io::Error::other(e.to_string()))??;
				Ok((digest, size))
			},
			Err(e) => {
				let _ = tokio::fs::remove_file(&tmp_path).await;
				Err(e)
			},
		}
	}

	/// Store bytes already in memory (inline data of a record).
	pub async fn put_bytes(&self, expected: Hash, bytes: Vec<u8>) -> Result<(Hash, u64), IngestError> {
		let len = bytes.len() as u64;
		let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
		self.ingest(Some(expected), stream, len, Duration::from_secs(60)).await
	}
}
