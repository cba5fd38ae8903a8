//! Off-chain worker: relays every anchor to the attestation server.
//!
//! The pallet writes each anchor to offchain storage with offchain indexing
//! ([`crate::anchor_index_key`], [`crate::anchor_count_key`]), so the worker reads anchors
//! by block number without decoding blocks. It posts each one, SCALE-encoded, to
//! `<server>/v1/anchors` (`Content-Type: application/octet-stream`) with a deadline. The
//! server re-checks every anchor against finalized chain storage, so the relay only speeds
//! things up: the server also finds anchors by itself.
//!
//! * The server URL is the raw bytes at [`SERVER_URL_KEY`] in persistent local storage; the
//!   node sets it from `--attestation-server` (no URL: the relay is off).
//! * A cursor `(block, n)` at [`CURSOR_KEY`] survives restarts; it starts at the block
//!   where the relay first runs.
//! * A lock ([`LOCK_KEY`], a `StorageLock` with a [`LOCK_DEADLINE_MS`] deadline) keeps two
//!   runs (two blocks imported quickly) from posting the same anchor twice. A run extends it
//!   after every post, so a run of many slow posts keeps it; a run that finds its lock taken
//!   over (it stalled past the deadline) stops at once.
//! * Failures back off: a server that is down or answers 5xx, or an anchor the server does
//!   not see on its finalized chain yet (422), is retried after 1, 2, 4, ... up to 64 blocks;
//!   after [`MAX_ATTEMPTS`] tries the anchor is skipped (a fork's anchor, which the
//!   finalized chain never holds, must not stall the relay).

// Runtime code never panics on input (FRAME's macro expansions in lib.rs are outside this
// check; the calls there use `?` and checked arithmetic throughout).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::{anchor_count_key, anchor_index_key};
use alloc::{format, vec, vec::Vec};
use codec::{Decode, Encode};
use sp_core::offchain::{Duration, StorageKind, Timestamp};
use sp_runtime::offchain::{
	http,
	storage::StorageValueRef,
	storage_lock::{StorageLock, Time},
};

/// Persistent local-storage key holding the attestation server's base URL (raw bytes).
pub const SERVER_URL_KEY: &[u8] = b"attest/relay/server-url/v1";
/// Next anchor to relay: SCALE `(block: u32, n: u32)`.
pub const CURSOR_KEY: &[u8] = b"attest/relay/cursor/v1";
/// Back-off state: SCALE `(not_before_block: u32, backoff_blocks: u32, attempts: u32)`.
pub const RETRY_KEY: &[u8] = b"attest/relay/retry/v1";
/// Lock held while a run posts.
pub const LOCK_KEY: &[u8] = b"attest/relay/lock/v1";
/// Tries per anchor before it is skipped.
pub const MAX_ATTEMPTS: u32 = 10;
/// Most anchors posted per run.
pub const MAX_POSTS_PER_RUN: u32 = 64;
/// Most blocks scanned per run.
pub const MAX_BLOCKS_PER_RUN: u32 = 512;
/// Longest back-off, in blocks.
pub const MAX_BACKOFF: u32 = 64;
/// Deadline of one HTTP request, in milliseconds.
pub const HTTP_DEADLINE_MS: u64 = 5_000;
/// How long the lock holds without an extension: one post plus a margin. A run extends it
/// after every post.
pub const LOCK_DEADLINE_MS: u64 = 2 * HTTP_DEADLINE_MS;

/// The relay's lock.
pub fn lock() -> StorageLock<'static, Time> {
	StorageLock::<Time>::with_deadline(LOCK_KEY, Duration::from_millis(LOCK_DEADLINE_MS))
}

fn get(key: &[u8]) -> Option<Vec<u8>> {
	sp_io::offchain::local_storage_get(StorageKind::PERSISTENT, key)
}

fn get_decoded<V: Decode>(key: &[u8]) -> Option<V> {
	StorageValueRef::persistent(key).get::<V>().ok().flatten()
}

fn set<V: Encode>(key: &[u8], value: &V) {
	StorageValueRef::persistent(key).set(value);
}

/// What the server said about one anchor.
#[derive(Debug, PartialEq, Eq)]
pub enum Posted {
	/// Accepted now or known (2xx).
	Done,
	/// Try again later: not reachable, 5xx, or 422 (not on its finalized chain yet).
	Retry,
	/// Refused for good (another 4xx): skip it.
	Refused(u16),
}

fn post(url: &[u8], anchor: Vec<u8>) -> Posted {
	let Ok(base) = core::str::from_utf8(url) else {
		log::warn!(target: "attest-relay", "the attestation server URL is not UTF-8");
		return Posted::Retry;
	};
	let endpoint = format!("{}/v1/anchors", base.trim_end_matches('/'));
	let deadline = sp_io::offchain::timestamp().add(Duration::from_millis(HTTP_DEADLINE_MS));
	let pending = match http::Request::post(&endpoint, vec![anchor])
		.add_header("Content-Type", "application/octet-stream")
		.deadline(deadline)
		.send()
	{
		Ok(p) => p,
		Err(e) => {
			log::debug!(target: "attest-relay", "POST {endpoint}: {e:?}");
			return Posted::Retry;
		},
	};
	match pending.try_wait(deadline) {
		Ok(Ok(response)) => match response.code {
			200..=299 => Posted::Done,
			422 | 500..=599 => Posted::Retry,
			code => Posted::Refused(code),
		},
		Ok(Err(e)) => {
			log::debug!(target: "attest-relay", "POST {endpoint}: {e:?}");
			Posted::Retry
		},
		Err(_) => {
			log::debug!(target: "attest-relay", "POST {endpoint}: no answer within {HTTP_DEADLINE_MS} ms");
			Posted::Retry
		},
	}
}

/// One run of the relay at block `now`.
pub fn run(now: u32) {
	let Some(url) = get(SERVER_URL_KEY) else { return };
	if url.is_empty() {
		return;
	}
	let mut lock = lock();
	let Ok(mut guard) = lock.try_lock() else { return };
	// The deadline this run holds the lock to: if the stored one differs, another run took
	// the lock over after ours expired.
	let mut held = get_decoded::<Timestamp>(LOCK_KEY);
	let (retry_at, backoff, attempts) =
		get_decoded::<(u32, u32, u32)>(RETRY_KEY).unwrap_or((0, 0, 0));
	if now < retry_at {
		return;
	}
	let (mut block, mut n) = get_decoded::<(u32, u32)>(CURSOR_KEY).unwrap_or((now, 0));
	let (mut posts, mut scanned) = (0u32, 0u32);
	while block <= now && posts < MAX_POSTS_PER_RUN && scanned < MAX_BLOCKS_PER_RUN {
		let count = get_decoded::<u32>(&anchor_count_key(block)).unwrap_or(0);
		if n >= count {
			block = block.saturating_add(1);
			n = 0;
			scanned += 1;
			continue;
		}
		let Some(anchor) = get(&anchor_index_key(block, n)) else {
			n += 1;
			continue;
		};
		posts += 1;
		match post(&url, anchor) {
			Posted::Done => {
				log::debug!(target: "attest-relay", "relayed anchor {n} of block {block}");
				n += 1;
			},
			Posted::Refused(code) => {
				log::warn!(target: "attest-relay", "the server refused anchor {n} of block {block} ({code}); skipped");
				n += 1;
			},
			Posted::Retry if attempts + 1 >= MAX_ATTEMPTS => {
				log::warn!(
					target: "attest-relay",
					"anchor {n} of block {block} not taken after {MAX_ATTEMPTS} tries; skipped \
					 (the server also finds anchors on chain by itself)"
				);
				n += 1;
			},
			Posted::Retry => {
				let backoff = backoff.saturating_mul(2).clamp(1, MAX_BACKOFF);
				set(RETRY_KEY, &(now.saturating_add(backoff), backoff, attempts + 1));
				set(CURSOR_KEY, &(block, n));
				return;
			},
		}
		set(CURSOR_KEY, &(block, n));
		set(RETRY_KEY, &(0u32, 0u32, 0u32));
		// The post may have taken most of the lock's deadline: extend it, or stop if the lock
		// expired or another run took it over meanwhile (it goes on from the cursor just
		// written). A taken-over lock is left to its new holder.
		if get_decoded::<Timestamp>(LOCK_KEY) != held {
			log::warn!(target: "attest-relay", "the relay lock was taken over; stopping this run");
			guard.forget();
			return;
		}
		match guard.extend_lock() {
			Ok(deadline) => held = Some(deadline),
			Err(()) => {
				log::warn!(target: "attest-relay", "the relay lock expired during a post; stopping this run");
				return;
			},
		}
	}
	set(CURSOR_KEY, &(block, n));
}
