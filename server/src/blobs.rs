//! Content-addressed blob store: a local directory (default) or S3-compatible object storage.
//!
//! Locally a blob lives at `<dir>/<hex[0..2]>/<hex>` where `hex` is its SHA-256. Uploads are
//! streamed to `<dir>/tmp/` while being hashed on a dedicated thread, `fsync`ed, and renamed
//! into place only when the digest is the expected one; the rename is atomic, so a reader
//! sees a whole blob or none. Temporary files left by a crash are removed when the store
//! opens.
//!
//! With object storage (`s3://bucket/prefix`) the upload is staged and checked the same way
//! in `<dir>/tmp/`, then put to `<prefix>/<hex>` (multipart for large blobs); an object
//! appears only when its upload completes, so readers again see a whole blob or none.

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

/// Bytes gathered before they go to the hashing and writing threads.
const SEND_BATCH: usize = 1 << 20;

/// Write every chunk, in order, with vectored writes.
fn write_all_vectored(file: &mut std::fs::File, chunks: &[bytes::Bytes]) -> std::io::Result<()> {
	let mut i = 0;
	let mut offset = 0;
	while i < chunks.len() {
		let mut slices = Vec::with_capacity(chunks.len() - i);
		slices.push(std::io::IoSlice::new(&chunks[i][offset..]));
		for c in &chunks[i + 1..] {
			slices.push(std::io::IoSlice::new(c));
		}
		let mut n = file.write_vectored(&slices)?;
		if n == 0 {
			return Err(std::io::ErrorKind::WriteZero.into());
		}
		// Skip what was written.
		while i < chunks.len() && n >= chunks[i].len() - offset {
			n -= chunks[i].len() - offset;
			i += 1;
			offset = 0;
		}
		offset += n;
	}
	Ok(())
}

/// Bytes written between two writeback kicks.
const WRITEBACK_STEP: u64 = 32 << 20;

/// Ask the kernel to start writing `len` bytes at `offset` of `file` to disk, without
/// waiting (Linux `sync_file_range`; elsewhere nothing, the final fsync does it all).
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
	#[cfg(target_os = "linux")]
	{
		use std::os::fd::AsRawFd;
		// SAFETY: a valid open descriptor and plain integers; the call only schedules I/O.
		unsafe {
			libc::sync_file_range(
				file.as_raw_fd(),
				offset as i64,
				len as i64,
				libc::SYNC_FILE_RANGE_WRITE,
			);
		}
	}
	#[cfg(not(target_os = "linux"))]
	let _ = (file, offset, len);
}

/// Object storage holding the blobs instead of the local directory.
#[derive(Clone)]
pub struct Remote {
	/// The store (an S3 bucket).
	pub store: std::sync::Arc<dyn object_store::ObjectStore>,
	/// Key prefix (no trailing slash; may be empty).
	pub prefix: String,
}

impl Remote {
	/// `s3://bucket[/prefix]`, credentials and region from the `AWS_*` environment variables,
	/// `endpoint` for S3-compatible services (http allowed for loopback and test setups).
	pub fn s3(url: &str, endpoint: Option<&str>) -> Result<Self, String> {
		let rest = url
			.strip_prefix("s3://")
			.ok_or_else(|| format!("blob store {url:?}: expected s3://BUCKET[/PREFIX]"))?;
		let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
		if bucket.is_empty() {
			return Err(format!("blob store {url:?} names no bucket"));
		}
		let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
		if std::env::var_os("AWS_REGION").is_none()
			&& std::env::var_os("AWS_DEFAULT_REGION").is_none()
		{
			b = b.with_region("us-east-1");
		}
		if let Some(e) = endpoint {
			b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
		}
		let store = b.build().map_err(|e| format!("blob store {url:?}: {e}"))?;
		Ok(Remote {
			store: std::sync::Arc::new(store),
			prefix: prefix.trim_end_matches('/').to_string(),
		})
	}

	fn key(&self, digest: &Hash) -> object_store::path::Path {
		let hex = hex_of(digest);
		if self.prefix.is_empty() {
			object_store::path::Path::from(hex)
		} else {
			object_store::path::Path::from(format!("{}/{hex}", self.prefix))
		}
	}
}

/// A readable blob.
pub type BlobStream = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// The blob store.
pub struct BlobStore {
	root: PathBuf,
	tmp: PathBuf,
	counter: AtomicU64,
	remote: Option<Remote>,
}

fn hex_of(digest: &Hash) -> String {
	hex::encode(digest.0)
}

impl BlobStore {
	/// Open the store under `root` (created when missing) and remove leftovers of
	/// interrupted uploads.
	pub fn open(root: impl AsRef<Path>, remote: Option<Remote>) -> std::io::Result<Self> {
		let root = root.as_ref().to_path_buf();
		let tmp = root.join("tmp");
		std::fs::create_dir_all(&tmp)?;
		for entry in std::fs::read_dir(&tmp)? {
			let entry = entry?;
			tracing::info!("removing interrupted upload {}", entry.path().display());
			std::fs::remove_file(entry.path())?;
		}
		Ok(BlobStore { root, tmp, counter: AtomicU64::new(0), remote })
	}

	/// Where blob `digest` is in the local directory (whether or not it exists).
	pub fn path(&self, digest: &Hash) -> PathBuf {
		let hex = hex_of(digest);
		self.root.join(&hex[..2]).join(hex)
	}

	/// Whether blobs go to object storage.
	pub fn remote(&self) -> Option<&Remote> {
		self.remote.as_ref()
	}

	/// Whether blob `digest` is stored.
	pub async fn contains(&self, digest: &Hash) -> std::io::Result<bool> {
		match &self.remote {
			None => Ok(tokio::fs::try_exists(self.path(digest)).await.unwrap_or(false)),
			Some(r) => match r.store.head(&r.key(digest)).await {
				Ok(_) => Ok(true),
				Err(object_store::Error::NotFound { .. }) => Ok(false),
				Err(e) => Err(std::io::Error::other(e.to_string())),
			},
		}
	}

	/// The bytes of blob `digest`, streamed.
	pub async fn read(&self, digest: &Hash) -> std::io::Result<BlobStream> {
		match &self.remote {
			None => {
				let file = tokio::fs::File::open(self.path(digest)).await?;
				Ok(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20).boxed())
			}
			Some(r) => {
				let got = r.store.get(&r.key(digest)).await.map_err(|e| match e {
					object_store::Error::NotFound { .. } => {
						std::io::Error::from(std::io::ErrorKind::NotFound)
					}
					e => std::io::Error::other(e.to_string()),
				})?;
				Ok(got
					.into_stream()
					.map(|r| r.map_err(|e| std::io::Error::other(e.to_string())))
					.boxed())
			}
		}
	}

	/// Put the checked temporary file `tmp` in place as blob `digest`.
	async fn commit(&self, tmp: PathBuf, digest: &Hash) -> std::io::Result<()> {
		if let Some(r) = &self.remote {
			use tokio::io::AsyncWriteExt;
			let mut file = tokio::fs::File::open(&tmp).await?;
			let mut out = object_store::buffered::BufWriter::with_capacity(
				r.store.clone(),
				r.key(digest),
				8 << 20,
			);
			let copied = tokio::io::copy(&mut file, &mut out).await;
			let result = match copied {
				Ok(_) => out.shutdown().await,
				Err(e) => {
					let _ = out.abort().await;
					Err(e)
				}
			};
			let _ = tokio::fs::remove_file(&tmp).await;
			return result;
		}
		let dest = self.path(digest);
		let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
		tokio::task::spawn_blocking(move || -> std::io::Result<()> {
			std::fs::create_dir_all(&dir)?;
			std::fs::rename(&tmp, &dest)?;
			std::fs::File::open(&dir)?.sync_all()
		})
		.await
		.map_err(|e| std::io::Error::other(e.to_string()))?
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
		// Hash on one thread and write on another, both fed the same chunks through bounded
		// channels, so the network, the hash and the disk overlap.
		// Chunks travel in batches of about 1 MiB: few wake-ups per gigabyte.
		type Batch = std::sync::Arc<Vec<bytes::Bytes>>;
		let (hash_tx, mut hash_rx) = tokio::sync::mpsc::channel::<Batch>(16);
		let (write_tx, mut write_rx) = tokio::sync::mpsc::channel::<Batch>(16);
		let hasher = tokio::task::spawn_blocking(move || {
			let mut hasher = Sha256::new();
			while let Some(batch) = hash_rx.blocking_recv() {
				for chunk in batch.iter() {
					hasher.update(chunk);
				}
			}
			Hash(hasher.finalize().into())
		});
		let path = tmp_path.clone();
		let writer = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
			let mut file = std::fs::File::create(&path)?;
			let mut size = 0u64;
			let mut flushed = 0u64;
			// One vectored write per batch: no copy into a buffer, few system calls.
			while let Some(batch) = write_rx.blocking_recv() {
				write_all_vectored(&mut file, &batch)?;
				size += batch.iter().map(|c| c.len() as u64).sum::<u64>();
				if size - flushed >= WRITEBACK_STEP {
					// Start writing back what is written so far, so the final fsync has
					// little left to do.
					start_writeback(&file, flushed, size - flushed);
					flushed = size;
				}
			}
			file.sync_all()?;
			Ok(size)
		});
		let mut received = 0u64;
		let mut failure = None;
		let mut batch: Vec<bytes::Bytes> = Vec::new();
		let mut batch_len = 0usize;
		loop {
			match tokio::time::timeout(idle, stream.next()).await {
				Err(_) => {
					failure = Some(IngestError::Truncated {
						received,
						reason: format!("no data for {} s", idle.as_secs()),
					});
					break;
				}
				Ok(None) => {
					if !batch.is_empty() {
						let b: Batch = std::sync::Arc::new(std::mem::take(&mut batch));
						let _ = hash_tx.send(b.clone()).await;
						let _ = write_tx.send(b).await;
					}
					break;
				}
				Ok(Some(Err(e))) => {
					failure = Some(IngestError::Truncated { received, reason: e.to_string() });
					break;
				}
				Ok(Some(Ok(chunk))) => {
					received += chunk.len() as u64;
					if received > limit {
						failure = Some(IngestError::TooLarge { limit });
						break;
					}
					batch_len += chunk.len();
					batch.push(chunk);
					if batch_len >= SEND_BATCH {
						batch_len = 0;
						let b: Batch = std::sync::Arc::new(std::mem::take(&mut batch));
						if hash_tx.send(b.clone()).await.is_err() || write_tx.send(b).await.is_err()
						{
							break; // the writer failed; its error is reported below
						}
					}
				}
			}
		}
		drop((hash_tx, write_tx));
		let written = writer.await.map_err(|e| std::io::Error::other(e.to_string()))?;
		let actual = hasher.await.map_err(|e| std::io::Error::other(e.to_string()))?;
		let result = match (failure, written) {
			(Some(f), _) => Err(f),
			(None, Err(e)) => Err(IngestError::Io(e)),
			(None, Ok(size)) => match expected {
				Some(expected) if expected != actual => {
					Err(IngestError::Mismatch { expected, actual, size })
				}
				_ => Ok((actual, size)),
			},
		};
		match result {
			Ok((digest, size)) => {
				self.commit(tmp_path, &digest).await?;
				Ok((digest, size))
			}
			Err(e) => {
				let _ = tokio::fs::remove_file(&tmp_path).await;
				Err(e)
			}
		}
	}

	/// Store bytes already in memory (inline data of a record).
	pub async fn put_bytes(
		&self,
		expected: Hash,
		bytes: Vec<u8>,
	) -> Result<(Hash, u64), IngestError> {
		let len = bytes.len() as u64;
		let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
		self.ingest(Some(expected), stream, len, Duration::from_secs(60)).await
	}
}
