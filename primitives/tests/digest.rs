//! Content digests equal `sha256sum`'s, for every read pattern.

use attest_primitives::{digest, sha256};
use std::io::{Read, Write};

/// A reader that returns at most `step` bytes per call, to exercise partial reads.
struct Trickle<'a> {
	data: &'a [u8],
	step: usize,
}

impl Read for Trickle<'_> {
	fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
		let n = self.step.min(buf.len()).min(self.data.len());
		buf[..n].copy_from_slice(&self.data[..n]);
		self.data = &self.data[n..];
		Ok(n)
	}
}

#[test]
fn known_answers() {
	// FIPS 180-2 examples.
	assert_eq!(
		format!("{:x}", digest::sha256_reader(&b"abc"[..]).unwrap().0),
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	);
	assert_eq!(
		format!("{:x}", digest::sha256_reader(&b""[..]).unwrap().0),
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	);
}

#[test]
fn all_readers_agree_across_chunk_boundaries() {
	for len in [
		0usize,
		1,
		63,
		64,
		65,
		digest::CHUNK - 1,
		digest::CHUNK,
		digest::CHUNK + 1,
		3 * digest::CHUNK + 17,
	] {
		let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
		let expected = sha256(&data);
		assert_eq!(digest::sha256_reader(&data[..]).unwrap(), (expected, len as u64));
		assert_eq!(digest::sha256_reader_pipelined(&data[..]).unwrap(), (expected, len as u64));
		let trickle = Trickle { data: &data, step: 4099 };
		assert_eq!(digest::sha256_reader_pipelined(trickle).unwrap(), (expected, len as u64));
	}
}

#[test]
fn file_digest_matches_sha256sum_when_available() {
	let mut f = tempfile::NamedTempFile::new().unwrap();
	let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
	f.write_all(&data).unwrap();
	f.flush().unwrap();
	let (d, n) = digest::sha256_file(f.path()).unwrap();
	assert_eq!((d, n), (sha256(&data), data.len() as u64));
	if let Ok(out) = std::process::Command::new("sha256sum").arg(f.path()).output() {
		let text = String::from_utf8(out.stdout).unwrap();
		assert_eq!(text.split_whitespace().next().unwrap(), format!("{d:x}"));
	}
}

#[test]
fn read_errors_surface() {
	struct Failing;
	impl Read for Failing {
		fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
			Err(std::io::Error::other("disk on fire"))
		}
	}
	assert!(digest::sha256_reader(Failing).is_err());
	assert!(digest::sha256_reader_pipelined(Failing).is_err());
	assert!(digest::sha256_file("/nonexistent/attest/file").is_err());
}
