//! What differs between SQLite and PostgreSQL, and what a PostgreSQL transaction needs: the
//! backends, multi-row statement shapes, retries of aborted transactions, advisory lock keys,
//! and a fast hex decoder for text the databases return.

use super::{ChannelId, Result, StoreError};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
	Sqlite,
	Postgres,
}

impl Backend {
	/// Rows per multi-row statement. sqlx's SQLite driver slows down more than linearly
	/// with a statement's parameters (measured: 1,000 records in 500-row statements 45 ms,
	/// in 25-row statements 10 ms); PostgreSQL prefers few large statements.
	pub(super) fn rows_per_statement(self) -> usize {
		match self {
			Backend::Sqlite => 32,
			Backend::Postgres => INSERT_CHUNK,
		}
	}
}

/// Run a transaction `run` again (after a short pause) while PostgreSQL aborts it for a
/// deadlock or a serialization failure, at most [`TX_ATTEMPTS`] more times.
pub(super) async fn retrying<T, F, Fut>(mut run: F) -> Result<T>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Result<T>>,
{
	let mut attempt = 0;
	loop {
		match run().await {
			Err(e) if attempt < TX_ATTEMPTS && retryable(&e) => {
				attempt += 1;
				tracing::debug!("{e}; running the transaction again ({attempt})");
				tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
			},
			other => return other,
		}
	}
}

/// The key of a channel's PostgreSQL advisory lock: its id's first 8 bytes (channel ids are
/// hashes; two channels sharing a key only wait for each other now and then).
pub(super) fn channel_lock_key(id: &ChannelId) -> i64 {
	let mut key = [0u8; 8];
	key.copy_from_slice(&id.0[..8]);
	i64::from_le_bytes(key)
}

/// How many times a transaction that PostgreSQL aborted for a deadlock or a serialization
/// failure is run again.
pub(super) const TX_ATTEMPTS: u32 = 5;

/// Whether `e` aborted a transaction that can simply run again (PostgreSQL's deadlock
/// detected, 40P01, and serialization failure, 40001).
pub(super) fn retryable(e: &StoreError) -> bool {
	match e {
		StoreError::Db(e) => e
			.as_database_error()
			.and_then(|d| d.code())
			.is_some_and(|c| c == "40P01" || c == "40001"),
		_ => false,
	}
}

/// `($1,..,$cols),(..)` for a multi-row insert of `rows` rows; on SQLite anonymous `?`s. SQLite
/// keeps the names of numbered (`?N`) and named (`$N`) parameters in a list that
/// `sqlite3_bind_parameter_name` scans, and sqlx asks for every parameter's name on every
/// execution: a statement of n numbered parameters cost n²/2 steps of that scan (2% of the
/// server's CPU end to end, measured), anonymous ones cost nothing there.
pub(super) fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
	let mut sql = String::with_capacity(rows * cols * 5);
	for k in 0..rows {
		if k > 0 {
			sql.push(',');
		}
		sql.push('(');
		for c in 0..cols {
			if c > 0 {
				sql.push(',');
			}
			match backend {
				Backend::Sqlite => sql.push('?'),
				Backend::Postgres => sql.push_str(&format!("${}", k * cols + c + 1)),
			}
		}
		sql.push(')');
	}
	sql
}

/// Hex digits (either case) to bytes through a table: `None` on an odd length or a non-hex
/// digit. The hex crate's decoders check and branch per digit; a proof's leaves are 64,000
/// digits for a log of 1,000 items (11% of a proof's time with `hex::decode_to_slice`).
pub(super) fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
	pub(super) const BAD: u8 = 0xff;
	pub(super) const TABLE: [u8; 256] = {
		let mut t = [BAD; 256];
		let mut i = 0;
		while i < 10 {
			t[b'0' as usize + i] = i as u8;
			i += 1;
		}
		let mut i = 0;
		while i < 6 {
			t[b'a' as usize + i] = 10 + i as u8;
			t[b'A' as usize + i] = 10 + i as u8;
			i += 1;
		}
		t
	};
	if text.len() & 1 != 0 {
		return None;
	}
	let mut out = Vec::with_capacity(text.len() / 2);
	let mut bad = 0u8;
	for pair in text.chunks_exact(2) {
		let (hi, lo) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
		bad |= (hi | lo) & 0xf0;
		out.push(hi << 4 | (lo & 0x0f));
	}
	(bad == 0).then_some(out)
}

/// Rows per multi-row insert (7 parameters each; SQLite allows 32766 per statement).
pub(super) const INSERT_CHUNK: usize = 500;
