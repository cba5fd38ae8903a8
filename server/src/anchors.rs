//! Anchors: accepted only when finalized chain storage holds exactly the same anchor, whether
//! a node's off-chain worker relayed it or the watcher found it by polling.

use crate::{error::ApiError, AppState};
use attest_primitives::{
	channel::{Party, Seq},
	merkle::MerkleTree,
	Anchor, Hash,
};
use std::{sync::Arc, time::Duration};

/// What happened to an anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
	/// Checked against the chain and stored now.
	New,
	/// Stored before.
	Known,
}

/// Check `anchor` against finalized chain storage and store it; then match it to the
/// stored records.
pub async fn accept(state: &AppState, anchor: &Anchor, source: &str) -> Result<Accepted, ApiError> {
	if let Some(known) = state.store.anchor(&anchor.channel_id, anchor.index).await? {
		if known.anchor == *anchor {
			return Ok(Accepted::Known);
		}
		return Err(ApiError::AnchorNotOnChain(format!(
			"anchor {} of channel {:?} is stored as {:?}, which the chain holds; {:?} differs",
			anchor.index, anchor.channel_id, known.anchor, anchor
		)));
	}
	let on_chain = state
		.chain
		.finalized_anchor(&anchor.channel_id, anchor.index)
		.await
		.map_err(|e| ApiError::ChainUnavailable(format!("{e}; retry later")))?;
	match on_chain {
		None => Err(ApiError::AnchorNotOnChain(format!(
			"the finalized chain holds no anchor {} for channel {:?}; if it was stored just now, \
			 relay it again once its block is finalized",
			anchor.index, anchor.channel_id
		))),
		Some(real) if real != *anchor => Err(ApiError::AnchorNotOnChain(format!(
			"the finalized chain holds anchor {} of channel {:?} as items {}..{} root {:?} at block {}, \
			 not what was sent",
			anchor.index, anchor.channel_id, real.first_seq, real.log.size, real.log.root, real.block
		))),
		Some(real) => {
			let new = state.store.insert_anchor(&real).await?;
			if new {
				state.metrics.anchors.with_label_values(&[source]).inc();
				tracing::info!(
					"anchor {} of {:?} (log of {} items, new from {}) at block {} accepted ({source})",
					real.index, real.channel_id, real.log.size, real.first_seq, real.block
				);
			}
			if new {
				if let Err(e) = prove(state, &real).await {
					tracing::warn!(
						"anchor {} of {:?}: no chain evidence yet ({e}); the watcher retries",
						real.index,
						real.channel_id
					);
				}
			}
			complete(state, &real).await?;
			Ok(if new { Accepted::New } else { Accepted::Known })
		},
	}
}

/// Build and store the chain's evidence for `anchor` (proof format 2: header, storage
/// proof, GRANDPA finality from genesis, the channel's parties), once per anchor, while the
/// node still holds the block's state; `false` if it was stored before.
pub async fn prove(state: &AppState, anchor: &Anchor) -> Result<bool, ApiError> {
	use codec::Encode as _;
	if state.store.evidence(&anchor.channel_id, anchor.index).await?.is_some() {
		return Ok(false);
	}
	let parties = match state.store.channel(&anchor.channel_id).await? {
		Some(p) => p,
		None => state
			.chain
			.channel(&anchor.channel_id)
			.await
			.map_err(|e| ApiError::ChainUnavailable(e.to_string()))?
			.ok_or_else(|| {
				ApiError::NotReady(format!(
					"the parties of channel {:?} are unknown here",
					anchor.channel_id
				))
			})?,
	};
	// The trust root read at start; read again if the node did not give it then.
	let fresh;
	let trust = if state.trust.authorities.is_empty() {
		fresh = state
			.chain
			.trust_root()
			.await
			.map_err(|e| ApiError::ChainUnavailable(e.to_string()))?;
		&fresh
	} else {
		&state.trust
	};
	let (block_hash, block_time, evidence) = state
		.chain
		.anchor_evidence(anchor, &parties, trust)
		.await
		.map_err(|e| ApiError::ChainUnavailable(e.to_string()))?;
	state
		.store
		.put_evidence(&anchor.channel_id, anchor.index, &block_hash, block_time, &evidence.encode())
		.await?;
	Ok(true)
}

/// [`prove`] the accepted anchors that have no evidence yet (a few per call); how many were
/// proven.
pub async fn prove_missing(state: &AppState) -> Result<usize, ApiError> {
	let mut proven = 0;
	for anchor in state.store.anchors_without_evidence(16).await? {
		match prove(state, &anchor).await {
			Ok(_) => proven += 1,
			Err(e) => {
				tracing::warn!(
					"anchor {} of {:?}: no chain evidence yet ({e})",
					anchor.index,
					anchor.channel_id
				);
				break;
			},
		}
	}
	Ok(proven)
}

/// How the stored records of an anchored log compare with the anchored root.
enum Check {
	/// They give the root; the slots where the parties' records differ, with the anchored
	/// leaf.
	Match(MerkleTree, Vec<(Seq, Hash)>),
	/// Some slot has no record here.
	Incomplete,
	/// No reading of the records gives the root.
	Mismatch,
}

/// Check the stored records of `anchor`'s log (`0 .. log.size`) against its root.
///
/// Each slot holds up to two records, the verifier's and the requester's. Where they agree,
/// or where the slot is anchored already, its digest is fixed. Where they differ, at most two
/// readings are tried: the requester's records wherever it has one (the verifier's
/// elsewhere), then the verifier's. The log was signed by both parties, so an honest party's
/// records give its root whatever the other party stored; only records wrong on both sides
/// can leave an anchor unresolved (reported, and checked again when records arrive).
async fn check(state: &AppState, anchor: &Anchor) -> Result<Check, ApiError> {
	let size = anchor.log.size;
	// Records arrive in batches while a large log is checked again: count before reading.
	if state.store.slots_stored(&anchor.channel_id, size).await? < size {
		return Ok(Check::Incomplete);
	}
	let records = state.store.log_records(&anchor.channel_id, size).await?;
	let root = anchor.log.root;
	let first_seq = anchor.first_seq;
	// Cheap test first: a log larger than the slots stored here is incomplete (and a huge
	// anchored size never costs memory).
	let mut distinct = 0u64;
	let mut last = None;
	for r in &records {
		if last != Some(r.seq) {
			distinct += 1;
			last = Some(r.seq);
		}
	}
	if distinct < size {
		return Ok(Check::Incomplete);
	}
	Ok(crate::cpu(move || {
		let mut slots: Vec<Slot> = vec![Slot::default(); size as usize];
		for r in records {
			let Some(slot) = slots.get_mut(r.seq as usize) else { continue };
			if r.anchored {
				slot.anchored = Some(r.digest);
			}
			*slot.record(r.party) = Some(r.digest);
		}
		if slots.iter().any(Slot::is_empty) {
			return Check::Incomplete;
		}
		let disputed: Vec<usize> =
			(first_seq as usize..slots.len()).filter(|&i| slots[i].is_disputed()).collect();
		// Where the parties' records differ, the requester's reading is tried first.
		let preferences: &[Party] = if disputed.is_empty() {
			&[Party::Requester]
		} else {
			&[Party::Requester, Party::Verifier]
		};
		for &prefer in preferences {
			let leaves: Vec<Hash> = slots.iter().map(|s| s.leaf(prefer)).collect();
			let tree = MerkleTree::from_digests(&leaves);
			if tree.root() == root {
				let resolved = disputed.iter().map(|&i| (i as Seq, leaves[i])).collect();
				return Check::Match(tree, resolved);
			}
		}
		Check::Mismatch
	})
	.await)
}

/// One slot of a channel's log as the records stored here have it.
#[derive(Clone, Copy, Default)]
struct Slot {
	/// The digest an accepted anchor holds here.
	anchored: Option<Hash>,
	/// The verifier's record's digest.
	verifier: Option<Hash>,
	/// The requester's record's digest.
	requester: Option<Hash>,
}

impl Slot {
	fn record(&mut self, party: Party) -> &mut Option<Hash> {
		match party {
			Party::Verifier => &mut self.verifier,
			Party::Requester => &mut self.requester,
		}
	}

	fn is_empty(&self) -> bool {
		self.anchored.is_none() && self.verifier.is_none() && self.requester.is_none()
	}

	/// Not anchored, and the parties' records name different digests.
	fn is_disputed(&self) -> bool {
		self.anchored.is_none()
			&& self.verifier.is_some()
			&& self.requester.is_some()
			&& self.verifier != self.requester
	}

	/// The slot's leaf when `prefer`'s record is believed over the other's.
	fn leaf(mut self, prefer: Party) -> Hash {
		let other = *self.record(prefer.other());
		self.anchored.or(*self.record(prefer)).or(other).unwrap_or_default()
	}
}

/// The Merkle tree of a complete anchored log, for proofs: built from the anchored records
/// of `0 .. log.size`, kept in a small LRU cache so the proofs asked for right after
/// anchoring do not rebuild it. `None` if the anchor is not complete here.
pub async fn tree(state: &AppState, anchor: &Anchor) -> Result<Option<Arc<MerkleTree>>, ApiError> {
	let key = (anchor.channel_id, anchor.index);
	if let Some(t) = state.trees.lock().ok().and_then(|mut c| c.get(&key).cloned()) {
		return Ok(Some(t));
	}
	// A complete anchor's slots all hold their anchored digest: read those alone (one row),
	// and check them against the root; the whole check (both parties' records) otherwise.
	let root = anchor.log.root;
	let quick = match state.store.anchored_leaves(&anchor.channel_id, anchor.log.size).await? {
		Some(leaves) => {
			crate::cpu(move || {
				let tree = MerkleTree::from_digests(&leaves);
				(tree.root() == root).then_some(tree)
			})
			.await
		},
		None => None,
	};
	let tree = match quick {
		Some(tree) => Arc::new(tree),
		None => match check(state, anchor).await? {
			Check::Match(tree, _) => Arc::new(tree),
			_ => return Ok(None),
		},
	};
	keep_tree(state, key, tree.clone());
	Ok(Some(tree))
}

/// Most leaves the cached trees hold together (about 64 bytes each: 128 MiB). The cache was
/// bounded in trees alone, and an anchor's tree holds its channel's whole log, so one
/// channel anchoring often kept ever larger trees (found by the long run: the server's
/// memory grew with the items attested).
pub const TREE_CACHE_LEAVES: u64 = 2_000_000;

/// Cache `tree` of anchor `key`, dropping the least recently used trees beyond
/// [`TREE_CACHE_LEAVES`] (never the one just added).
fn keep_tree(state: &AppState, key: (Hash, u32), tree: Arc<MerkleTree>) {
	if let Ok(mut c) = state.trees.lock() {
		c.put(key, tree);
		trim_trees(&mut c, TREE_CACHE_LEAVES);
	}
}

/// Drop least recently used trees until those left hold at most `budget` leaves or one is
/// left.
pub fn trim_trees<K: std::hash::Hash + Eq>(
	cache: &mut lru::LruCache<K, Arc<MerkleTree>>,
	budget: u64,
) {
	let mut leaves: u64 = cache.iter().map(|(_, t)| t.size()).sum();
	while leaves > budget && cache.len() > 1 {
		match cache.pop_lru() {
			Some((_, t)) => leaves -= t.size(),
			None => break,
		}
	}
}

/// If the stored records give the anchored root, mark the records anchored (and those that
/// contradict it wrong). Returns whether it did. A failure is remembered with the channel's
/// record version: the anchor is not checked again until records of its channel arrive.
pub async fn complete(state: &AppState, anchor: &Anchor) -> Result<bool, ApiError> {
	let version = state.store.channel_version(&anchor.channel_id).await?;
	let result = check(state, anchor).await?;
	let label = match &result {
		Check::Match(..) => "match",
		Check::Incomplete => "incomplete",
		Check::Mismatch => "mismatch",
	};
	state.metrics.anchor_checks.with_label_values(&[label]).inc();
	match result {
		Check::Match(tree, disputed) => {
			if !disputed.is_empty() {
				tracing::warn!(
					"anchor {} of {:?}: the parties' records differ at {} slots (first: item {}); \
					 the anchored log decided, the other records are marked wrong",
					anchor.index,
					anchor.channel_id,
					disputed.len(),
					disputed[0].0
				);
			}
			state.store.complete_anchor(anchor, &disputed).await?;
			keep_tree(state, (anchor.channel_id, anchor.index), Arc::new(tree));
			Ok(true)
		},
		Check::Incomplete => {
			state.store.anchor_tried(anchor, version).await?;
			Ok(false)
		},
		Check::Mismatch => {
			tracing::warn!(
				"anchor {} of {:?}: no reading of the stored records gives the anchored root {:?}; \
				 its items stay unanchored here until more records arrive",
				anchor.index,
				anchor.channel_id,
				anchor.log.root
			);
			state.store.anchor_tried(anchor, version).await?;
			Ok(false)
		},
	}
}

/// How long the watcher waits after records arrive before it checks incomplete anchors.
const RECORDS_SETTLE: Duration = Duration::from_millis(200);

/// Most incomplete anchors checked in one pass.
const CHECKS_PER_PASS: u32 = 1000;

/// Check the incomplete anchors whose channels got records since their last check.
pub async fn check_incomplete(state: &AppState) -> Result<usize, ApiError> {
	let mut completed = 0;
	for (anchor, _) in state.store.anchors_to_check(CHECKS_PER_PASS).await? {
		if complete(state, &anchor).await? {
			completed += 1;
		}
	}
	Ok(completed)
}

/// One pass: new anchors of channels with unanchored records, then incomplete anchors.
pub async fn poll_once(state: &AppState) -> Result<usize, ApiError> {
	let mut found = 0;
	for (channel, mut next) in state.store.channels_to_watch().await? {
		loop {
			let anchor = state
				.chain
				.finalized_anchor(&channel, next)
				.await
				.map_err(|e| ApiError::ChainUnavailable(e.to_string()))?;
			let Some(anchor) = anchor else { break };
			if accept(state, &anchor, "poll").await? == Accepted::New {
				found += 1;
			}
			next = next.saturating_add(1);
		}
	}
	check_incomplete(state).await?;
	prove_missing(state).await?;
	Ok(found)
}

/// Poll the chain for anchors every `anchor_poll_secs` until `stop`; check incomplete
/// anchors again as soon as records arrive.
pub fn spawn_watcher(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
	let period = Duration::from_secs(state.config.anchor_poll_secs.max(1));
	tokio::spawn(async move {
		let mut next_poll = tokio::time::Instant::now();
		loop {
			if tokio::time::Instant::now() >= next_poll {
				if let Err(e) = poll_once(&state).await {
					tracing::warn!("anchor watcher: {e}");
				}
				next_poll = tokio::time::Instant::now() + period;
			} else if let Err(e) = check_incomplete(&state).await {
				tracing::warn!("anchor watcher: {e}");
			}
			tokio::select! {
				_ = tokio::time::sleep_until(next_poll) => {},
				_ = state.records_arrived.notified() => {
					// Let a burst of batches land, then check once.
					tokio::time::sleep(RECORDS_SETTLE).await;
				},
				_ = stop.changed() => return,
			}
		}
	});
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tree(n: u64) -> Arc<MerkleTree> {
		let digests: Vec<Hash> =
			(0..n).map(|i| attest_primitives::sha256(&i.to_le_bytes())).collect();
		Arc::new(MerkleTree::from_digests(&digests))
	}

	#[test]
	fn cached_trees_are_bounded_in_leaves_not_only_in_trees() {
		let mut cache = lru::LruCache::new(std::num::NonZeroUsize::new(64).expect("64"));
		// One channel's anchors: each tree holds the whole log so far.
		for (i, n) in [100, 200, 300, 400].into_iter().enumerate() {
			cache.put(i, tree(n));
			trim_trees(&mut cache, 500);
		}
		let kept: u64 = cache.iter().map(|(_, t)| t.size()).sum();
		assert!(kept <= 500, "{kept} leaves kept");
		assert!(cache.contains(&3), "the newest tree stays");
		// A tree above the budget alone is still kept (it was just needed).
		cache.put(9, tree(900));
		trim_trees(&mut cache, 500);
		assert_eq!(cache.len(), 1);
		assert!(cache.contains(&9));
	}
}
