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

/// What an upload must keep to.
#[derive(Clone, Copy, Debug)]
pub struct UploadLimits {
	/// Most bytes.
	pub max_bytes: u64,
	/// Longest wait for the next bytes.
	pub idle: Duration,
	/// Least average rate in bytes per second, measured after a grace period of `idle`
	/// (0: none).
	pub min_rate: u64,
}

impl UploadLimits {
	/// The error for an upload that got `received` bytes in `elapsed`, if that is below the
	/// minimum rate.
	fn too_slow(&self, received: u64, elapsed: Duration) -> Option<IngestError> {
		let counted = elapsed.checked_sub(self.idle)?;
		let needed = (self.min_rate as f64 * counted.as_secs_f64()) as u64;
		(self.min_rate > 0 && received < needed).then(|| IngestError::Truncated {
			received,
			reason: format!(
				"slower than the minimum of {} bytes/s after {} s",
				self.min_rate,
				self.idle.as_secs()
			),
		})
	}
}

/// Bytes gathered before they go to the hashing and writing threads.
const SEND_BATCH: usize = 1 << 20;

/// Size of a spool block: bytes gathered before one write to the temporary file.
const BLOCK_BYTES: usize = 4 << 20;
/// Spool blocks per upload: one being filled, one handed over, one being written.
const BLOCKS: usize = 3;
/// Alignment of direct I/O buffers, offsets and lengths (a page; covers 512-byte and
/// 4096-byte logical blocks).
const DIRECT_ALIGN: usize = 4096;
/// Bytes written between two writeback kicks when the page cache is used.
const WRITEBACK_STEP: u64 = 32 << 20;

/// A buffer of `BLOCK_BYTES` aligned to `DIRECT_ALIGN`, filled from the front.
struct Block {
	buf: Vec<u8>,
	start: usize,
	len: usize,
}

impl Block {
	fn new() -> Self {
		let buf = vec![0u8; BLOCK_BYTES + DIRECT_ALIGN];
		let start = (DIRECT_ALIGN - buf.as_ptr() as usize % DIRECT_ALIGN) % DIRECT_ALIGN;
		Block { buf, start, len: 0 }
	}

	/// Copy as much of `bytes` as fits; returns how much did.
	fn fill_from(&mut self, bytes: &[u8]) -> usize {
		let n = bytes.len().min(BLOCK_BYTES - self.len);
		let at = self.start + self.len;
		self.buf[at..at + n].copy_from_slice(&bytes[..n]);
		self.len += n;
		n
	}

	fn is_full(&self) -> bool {
		self.len == BLOCK_BYTES
	}

	/// The first `len` bytes of the buffer (`len` may go past the filled part).
	fn head(&self, len: usize) -> &[u8] {
		&self.buf[self.start..self.start + len]
	}
}

/// The temporary file of an upload, written in large aligned blocks.
///
/// On Linux the file is opened with `O_DIRECT`: each block goes from its buffer to the disk
/// without a copy into the page cache and without writeback work afterwards, which leaves
/// the CPU to hashing and to the network. Where the file system refuses direct I/O (tmpfs,
/// some FUSE file systems) the same blocks are written through the page cache and writeback
/// is started as they go, so the final `fsync` has little left to do.
struct Spool {
	file: std::fs::File,
	/// Bytes written so far (a multiple of `BLOCK_BYTES` until the last block).
	written: u64,
	direct: bool,
	flushed: u64,
}

impl Spool {
	fn create(path: &Path, direct_io: bool) -> std::io::Result<Self> {
		let (file, direct) = open_spool(path, direct_io)?;
		Ok(Spool { file, written: 0, direct, flushed: 0 })
	}

	/// Write `data` at the end of what is written.
	fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
		use std::os::unix::fs::FileExt;
		match self.file.write_all_at(data, self.written) {
			Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
				// The file system took O_DIRECT at open but not these writes.
				self.direct = false;
				clear_direct(&self.file)?;
				self.file.write_all_at(data, self.written)?;
			},
			other => other?,
		}
		self.written += data.len() as u64;
		if !self.direct && self.written - self.flushed >= WRITEBACK_STEP {
			start_writeback(&self.file, self.flushed, self.written - self.flushed);
			self.flushed = self.written;
		}
		Ok(())
	}

	/// Write the last, partly filled block, make the file durable and return its size.
	fn finish(mut self, last: &mut Block) -> std::io::Result<u64> {
		let size = self.written + last.len as u64;
		if last.len > 0 {
			if self.direct {
				// Direct writes are whole aligned blocks: pad with zeros, then cut the file
				// back to its size.
				let padded = last.len.next_multiple_of(DIRECT_ALIGN);
				let at = last.start + last.len;
				last.buf[at..last.start + padded].fill(0);
				self.write(last.head(padded))?;
				self.file.set_len(size)?;
			} else {
				self.write(last.head(last.len))?;
			}
		}
		self.file.sync_all()?;
		Ok(size)
	}
}

/// Create `path` for writing, with `O_DIRECT` when asked and the file system supports it.
/// Returns the file and whether it is in direct mode.
fn open_spool(path: &Path, direct_io: bool) -> std::io::Result<(std::fs::File, bool)> {
	let mut options = std::fs::OpenOptions::new();
	options.write(true).create_new(true);
	#[cfg(not(target_os = "linux"))]
	let _ = direct_io;
	#[cfg(target_os = "linux")]
	if direct_io {
		use std::os::unix::fs::OpenOptionsExt;
		let mut direct = options.clone();
		match direct.custom_flags(libc::O_DIRECT).open(path) {
			Ok(file) => return Ok((file, true)),
			Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {},
			Err(e) => return Err(e),
		}
	}
	Ok((options.open(path)?, false))
}

/// Turn `O_DIRECT` off on an open file.
fn clear_direct(file: &std::fs::File) -> std::io::Result<()> {
	#[cfg(target_os = "linux")]
	{
		use std::os::fd::AsRawFd;
		let fd = file.as_raw_fd();
		// SAFETY: fcntl on a descriptor we own, with integer arguments only.
		let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
		if flags < 0 {
			return Err(std::io::Error::last_os_error());
		}
		// SAFETY: as above.
		if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
			return Err(std::io::Error::last_os_error());
		}
	}
	#[cfg(not(target_os = "linux"))]
	let _ = file;
	Ok(())
}

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
	direct_io: bool,
}

fn hex_of(digest: &Hash) -> String {
	hex::encode(digest.0)
}

impl BlobStore {
	/// Open the store under `root` (created when missing) and remove leftovers of
	/// interrupted uploads. With `direct_io`, uploads are written with `O_DIRECT` where the
	/// file system allows it; otherwise through the page cache.
	pub fn open(
		root: impl AsRef<Path>,
		remote: Option<Remote>,
		direct_io: bool,
	) -> std::io::Result<Self> {
		let root = root.as_ref().to_path_buf();
		let tmp = root.join("tmp");
		std::fs::create_dir_all(&tmp)?;
		for entry in std::fs::read_dir(&tmp)? {
			let entry = entry?;
			tracing::info!("removing interrupted upload {}", entry.path().display());
			std::fs::remove_file(entry.path())?;
		}
		Ok(BlobStore { root, tmp, counter: AtomicU64::new(0), remote, direct_io })
	}

	/// Where blob `digest` is in the local directory (whether or not it exists).
	pub fn path(&self, digest: &Hash) -> PathBuf {
		let hex = hex_of(digest);
		self.root.join(&hex[..2]).join(hex)
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
			},
			Some(r) => {
				let got = r.store.get(&r.key(digest)).await.map_err(|e| match e {
					object_store::Error::NotFound { .. } => {
						std::io::Error::from(std::io::ErrorKind::NotFound)
					},
					e => std::io::Error::other(e.to_string()),
				})?;
				Ok(got
					.into_stream()
					.map(|r| r.map_err(|e| std::io::Error::other(e.to_string())))
					.boxed())
			},
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
				},
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
		stream: S,
		limit: u64,
		idle: Duration,
	) -> Result<(Hash, u64), IngestError>
	where
		S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
		E: std::fmt::Display,
	{
		let limits = UploadLimits { max_bytes: limit, idle, min_rate: 0 };
		self.ingest_with(expected, stream, &limits, true).await
	}

	/// [`BlobStore::ingest`] with a minimum rate; with `keep == false` the bytes are only
	/// hashed and checked (an upload of a blob stored already: the uploader proves it holds
	/// the bytes), nothing is written.
	pub async fn ingest_with<S, E>(
		&self,
		expected: Option<Hash>,
		mut stream: S,
		limits: &UploadLimits,
		keep: bool,
	) -> Result<(Hash, u64), IngestError>
	where
		S: Stream<Item = Result<bytes::Bytes, E>> + Unpin,
		E: std::fmt::Display,
	{
		let (limit, idle) = (limits.max_bytes, limits.idle);
		let n = self.counter.fetch_add(1, Ordering::Relaxed);
		let tmp_path = self.tmp.join(format!("upload-{}-{n}", std::process::id()));
		// The network task hands the chunks to a thread that hashes them and copies them into
		// aligned blocks (the copy reads what the hash just read, still in cache); a second
		// thread writes the full blocks to the temporary file. Network, hash and disk overlap.
		// Chunks travel in batches of about 1 MiB: few wake-ups per gigabyte.
		type Batch = Vec<bytes::Bytes>;
		let (path, direct_io) = (tmp_path.clone(), self.direct_io);
		// The threads start with the first full batch (or at the end): an upload that trickles
		// in holds no thread and no block buffer while it waits.
		let mut start = Some(move || {
			let (hash_tx, mut hash_rx) = tokio::sync::mpsc::channel::<Batch>(16);
			let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Block>(1);
			let (free_tx, free_rx) = std::sync::mpsc::sync_channel::<Block>(BLOCKS);
			let hasher = tokio::task::spawn_blocking(move || {
				let mut hasher = Sha256::new();
				let mut block = Block::new();
				let mut spare = BLOCKS - 1;
				'batches: while let Some(batch) = hash_rx.blocking_recv() {
					for chunk in &batch {
						hasher.update(chunk);
						let mut rest = &chunk[..];
						while !rest.is_empty() {
							rest = &rest[block.fill_from(rest)..];
							if block.is_full() {
								let next = if spare > 0 {
									spare -= 1;
									Some(Block::new())
								} else {
									free_rx.recv().ok()
								};
								// No next block or no writer: the writer failed and says why.
								let Some(next) = next else { break 'batches };
								if full_tx.send(std::mem::replace(&mut block, next)).is_err() {
									break 'batches;
								}
							}
						}
					}
				}
				(Hash(hasher.finalize().into()), block)
			});
			let writer = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Spool>> {
				let mut spool = if keep { Some(Spool::create(&path, direct_io)?) } else { None };
				for block in full_rx {
					if let Some(spool) = spool.as_mut() {
						spool.write(block.head(block.len))?;
					}
					let mut block = block;
					block.len = 0;
					let _ = free_tx.send(block);
				}
				Ok(spool)
			});
			(hash_tx, hasher, writer)
		});
		let mut pipe = None;
		let mut received = 0u64;
		let mut failure = None;
		let mut batch: Vec<bytes::Bytes> = Vec::new();
		let mut batch_len = 0usize;
		let started = tokio::time::Instant::now();
		let mut last_data = started;
		// Wake at least once a second to check the idle limit and the minimum rate.
		let tick = idle.min(Duration::from_secs(1));
		loop {
			match tokio::time::timeout(tick, stream.next()).await {
				Err(_) => {
					if last_data.elapsed() >= idle {
						failure = Some(IngestError::Truncated {
							received,
							reason: format!("no data for {} s", idle.as_secs()),
						});
						break;
					}
					if let Some(f) = limits.too_slow(received, started.elapsed()) {
						failure = Some(f);
						break;
					}
				},
				Ok(None) => break,
				Ok(Some(Err(e))) => {
					failure = Some(IngestError::Truncated { received, reason: e.to_string() });
					break;
				},
				Ok(Some(Ok(chunk))) => {
					last_data = tokio::time::Instant::now();
					received += chunk.len() as u64;
					if let Some(f) = limits.too_slow(received, started.elapsed()) {
						failure = Some(f);
						break;
					}
					if received > limit {
						failure = Some(IngestError::TooLarge { limit });
						break;
					}
					batch_len += chunk.len();
					batch.push(chunk);
					if batch_len >= SEND_BATCH {
						batch_len = 0;
						if pipe.is_none() {
							pipe = start.take().map(|f| f());
						}
						let Some((hash_tx, _, _)) = pipe.as_ref() else { break };
						if hash_tx.send(std::mem::take(&mut batch)).await.is_err() {
							break; // the writer failed; its error is reported below
						}
					}
				},
			}
		}
		if failure.is_none() {
			if pipe.is_none() {
				pipe = start.take().map(|f| f());
			}
			if let Some((hash_tx, _, _)) = pipe.as_ref() {
				if !batch.is_empty() {
					let _ = hash_tx.send(std::mem::take(&mut batch)).await;
				}
			}
		}
		let Some((hash_tx, hasher, writer)) = pipe else {
			// Failed before any batch was full: nothing was started, nothing written.
			return Err(failure.unwrap_or_else(|| {
				IngestError::Io(std::io::Error::other("the upload pipeline did not start"))
			}));
		};
		drop(hash_tx);
		let joined = |e: tokio::task::JoinError| std::io::Error::other(e.to_string());
		let (actual, mut last) = hasher.await.map_err(joined)?;
		let spool = writer.await.map_err(joined)?;
		let result = match (failure, spool) {
			(Some(f), _) => Err(f),
			(None, Err(e)) => Err(IngestError::Io(e)),
			(None, Ok(None)) => match expected {
				Some(expected) if expected != actual => {
					Err(IngestError::Mismatch { expected, actual, size: received })
				},
				_ => return Ok((actual, received)),
			},
			(None, Ok(Some(spool))) => {
				let size = spool.written + last.len as u64;
				match expected {
					Some(expected) if expected != actual => {
						Err(IngestError::Mismatch { expected, actual, size })
					},
					_ => tokio::task::spawn_blocking(move || spool.finish(&mut last))
						.await
						.map_err(joined)?
						.map(|size| (actual, size))
						.map_err(IngestError::Io),
				}
			},
		};
		match result {
			Ok((digest, size)) => {
				self.commit(tmp_path, &digest).await?;
				Ok((digest, size))
			},
			Err(e) => {
				let _ = tokio::fs::remove_file(&tmp_path).await;
				Err(e)
			},
		}
	}

	/// Store many small blobs already in memory (the inline data of a batch of records), each
	/// checked against its expected digest. Durable as a whole with few journal commits: all
	/// files are written first, then `fsync`ed (the first `fsync` commits the journal for all
	/// of them), renamed into place, and each directory `fsync`ed once. Results in input
	/// order. With object storage, one by one as [`BlobStore::put_bytes`].
	pub async fn put_many(
		&self,
		items: Vec<(Hash, Vec<u8>)>,
	) -> Vec<Result<(Hash, u64), IngestError>> {
		if self.remote.is_some() {
			let mut out = Vec::with_capacity(items.len());
			for (expected, bytes) in items {
				out.push(self.put_bytes(expected, bytes).await);
			}
			return out;
		}
		let n = items.len();
		let first = self.counter.fetch_add(n as u64, Ordering::Relaxed);
		let (tmp, root) = (self.tmp.clone(), self.root.clone());
		let paths: Vec<PathBuf> = items.iter().map(|(d, _)| self.path(d)).collect();
		let joined = tokio::task::spawn_blocking(move || {
			put_many_blocking(items, paths, &tmp, &root, first)
		})
		.await;
		joined.unwrap_or_else(|e| {
			(0..n)
				.map(|_| Err(IngestError::Io(std::io::Error::other(e.to_string()))))
				.collect()
		})
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

/// The blocking part of [`BlobStore::put_many`].
fn put_many_blocking(
	items: Vec<(Hash, Vec<u8>)>,
	dests: Vec<PathBuf>,
	tmp: &Path,
	root: &Path,
	first: u64,
) -> Vec<Result<(Hash, u64), IngestError>> {
	let pid = std::process::id();
	let mut results = Vec::with_capacity(items.len());
	// Checked and written to a temporary file: (index, temporary path).
	let mut staged: Vec<(usize, PathBuf)> = Vec::new();
	for (k, (expected, bytes)) in items.into_iter().enumerate() {
		let actual = Hash(Sha256::digest(&bytes).into());
		let size = bytes.len() as u64;
		if actual != expected {
			results.push(Err(IngestError::Mismatch { expected, actual, size }));
			continue;
		}
		let path = tmp.join(format!("upload-{pid}-{}", first + k as u64));
		match std::fs::write(&path, &bytes) {
			Ok(()) => {
				staged.push((k, path));
				results.push(Ok((actual, size)));
			},
			Err(e) => {
				let _ = std::fs::remove_file(&path);
				results.push(Err(IngestError::Io(e)));
			},
		}
	}
	// Durable contents, then names.
	let mut placed: Vec<usize> = Vec::new();
	for (k, path) in staged {
		let synced = std::fs::File::open(&path).and_then(|f| f.sync_all());
		let moved = synced.and_then(|()| {
			let dir = dests[k].parent().unwrap_or(root);
			std::fs::create_dir_all(dir)?;
			std::fs::rename(&path, &dests[k])
		});
		match moved {
			Ok(()) => placed.push(k),
			Err(e) => {
				let _ = std::fs::remove_file(&path);
				results[k] = Err(IngestError::Io(e));
			},
		}
	}
	let mut dirs: Vec<&Path> = placed.iter().map(|&k| dests[k].parent().unwrap_or(root)).collect();
	dirs.sort();
	dirs.dedup();
	for dir in dirs {
		if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
			// The names in this directory may not survive a crash: report them failed (the
			// files are complete, so a retry just replaces them).
			for &k in placed.iter().filter(|&&k| dests[k].parent() == Some(dir)) {
				results[k] = Err(IngestError::Io(std::io::Error::new(e.kind(), e.to_string())));
			}
		}
	}
	results
}

#[cfg(test)]
mod tests;
