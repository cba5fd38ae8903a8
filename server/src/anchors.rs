//! Anchors: accepted only when finalized chain storage holds exactly the same anchor, whether
//! a node's off-chain worker relayed it or the watcher found it by polling.

use crate::{error::ApiError, AppState};
use attest_primitives::{merkle::MerkleTree, Anchor, Hash};
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
			complete(state, &real).await?;
			Ok(if new { Accepted::New } else { Accepted::Known })
		},
	}
}

/// The Merkle tree of an anchored log as this server stores it: `None` unless every item
/// of the log (`0 .. log.size`) is stored and their digests give the anchored root. Trees are
/// kept in a small LRU cache, so the proofs asked for right after anchoring do not rebuild
/// them.
pub async fn tree(state: &AppState, anchor: &Anchor) -> Result<Option<Arc<MerkleTree>>, ApiError> {
	let key = (anchor.channel_id, anchor.index);
	if let Some(t) = state.trees.lock().ok().and_then(|mut c| c.get(&key).cloned()) {
		return Ok(Some(t));
	}
	let items = state.store.range_digests(&anchor.channel_id, 0, anchor.log.size).await?;
	if items.len() as u64 != anchor.log.size {
		return Ok(None);
	}
	let digests: Vec<Hash> = items.into_iter().map(|(_, d)| d).collect();
	let tree = tokio::task::spawn_blocking(move || MerkleTree::from_digests(&digests))
		.await
		.map_err(|e| ApiError::Internal(e.to_string()))?;
	if tree.root() != anchor.log.root {
		tracing::warn!(
			"anchor {} of {:?}: the stored records give root {:?}, the chain {:?}; \
			 items stay unanchored here",
			anchor.index,
			anchor.channel_id,
			tree.root(),
			anchor.log.root
		);
		return Ok(None);
	}
	let tree = Arc::new(tree);
	if let Ok(mut c) = state.trees.lock() {
		c.put(key, tree.clone());
	}
	Ok(Some(tree))
}

/// If the stored records give the anchored root ([`tree`]), mark the items anchored.
/// Returns whether it did.
pub async fn complete(state: &AppState, anchor: &Anchor) -> Result<bool, ApiError> {
	if tree(state, anchor).await?.is_none() {
		return Ok(false);
	}
	state.store.complete_anchor(anchor).await?;
	Ok(true)
}

/// One pass: new anchors of channels with unanchored items, then incomplete anchors.
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
	for anchor in state.store.incomplete_anchors().await? {
		complete(state, &anchor).await?;
	}
	Ok(found)
}

/// Poll the chain for anchors every `anchor_poll_secs` until `stop`.
pub fn spawn_watcher(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
	let period = Duration::from_secs(state.config.anchor_poll_secs.max(1));
	tokio::spawn(async move {
		loop {
			if let Err(e) = poll_once(&state).await {
				tracing::warn!("anchor watcher: {e}");
			}
			tokio::select! {
				_ = tokio::time::sleep(period) => {},
				_ = stop.changed() => return,
			}
		}
	});
}
