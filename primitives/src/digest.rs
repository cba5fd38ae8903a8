//! Streaming SHA-256 content digests (what `sha256sum` prints), for files of any size.
//!
//! The `sha2` crate picks the CPU's SHA extensions (x86 SHA-NI, ARMv8 SHA2) at run time.
//! Reading and hashing overlap: one thread reads the next buffer while this one hashes the
//! last, so a file in the page cache hashes at the speed of the hash function.

use crate::Hash;
use sha2::{Digest as _, Sha256};
use std::{
	io::{self, Read},
	path::Path,
	sync::mpsc,
};

/// Size of each read.
pub const CHUNK: usize = 1 << 20;

/// SHA-256 of everything `reader` yields, and the number of bytes read.
pub fn sha256_reader<R: Read>(mut reader: R) -> io::Result<(Hash, u64)> {
	let mut hasher = Sha256::new();
	let mut buf = vec![0u8; CHUNK];
	let mut total = 0u64;
	loop {
		let n = match reader.read(&mut buf) {
			Ok(0) => break,
			Ok(n) => n,
			Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
			Err(e) => return Err(e),
		};
		hasher.update(&buf[..n]);
		total += n as u64;
	}
	Ok((Hash(hasher.finalize().into()), total))
}

/// SHA-256 of a reader with reading on a second thread (double buffering).
pub fn sha256_reader_pipelined<R: Read + Send>(mut reader: R) -> io::Result<(Hash, u64)> {
	let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(2);
	let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(3);
	for _ in 0..3 {
		empty_tx
			.send(vec![0u8; CHUNK])
			.map_err(|_| io::Error::other("buffer pool closed"))?;
	}
	std::thread::scope(|scope| {
		let reading = scope.spawn(move || -> io::Result<()> {
			while let Ok(mut buf) = empty_rx.recv() {
				let mut filled = 0;
				while filled < buf.len() {
					match reader.read(&mut buf[filled..]) {
						Ok(0) => break,
						Ok(n) => filled += n,
						Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
						Err(e) => return Err(e),
					}
				}
				let eof = filled < buf.len();
				if full_tx.send((buf, filled)).is_err() || eof {
					break;
				}
			}
			Ok(())
		});
		let mut hasher = Sha256::new();
		let mut total = 0u64;
		for (buf, n) in full_rx.iter() {
			hasher.update(&buf[..n]);
			total += n as u64;
			// The reader may have finished already: a closed pool is fine then.
			let _ = empty_tx.send(buf);
		}
		drop(empty_tx);
		reading.join().map_err(|_| io::Error::other("the reading thread panicked"))??;
		Ok((Hash(hasher.finalize().into()), total))
	})
}

/// SHA-256 of a file and its length.
pub fn sha256_file(path: impl AsRef<Path>) -> io::Result<(Hash, u64)> {
	let file = std::fs::File::open(path)?;
	sha256_reader_pipelined(file)
}
