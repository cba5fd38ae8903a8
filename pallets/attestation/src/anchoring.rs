//! Anchoring: a channel's log only grows, and each anchor is a checkpoint of it.
//!
//! Every state carries the head of the channel's whole log, not just what is new since the
//! last anchor, so a state stays usable whatever older state was anchored in between: the
//! chain checks that the state's log extends the last anchored log with an RFC 9162
//! consistency proof, and an anchor stores the longer log's size and root. Items
//! `previous size .. new size` are new in that anchor, so every item is anchored exactly once.

// Runtime code never panics on input (FRAME's macro expansions in lib.rs are outside this
// check; the calls there use `?` and checked arithmetic throughout).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::{pallet::*, types::*};
use attest_primitives::{Anchor, Hash, LogHead};
use codec::Encode;

impl<T: Config> Pallet<T> {
	/// Check that `log` is well formed and extends the channel's anchored log, given the
	/// consistency proof from the anchored size to `log.size`.
	pub(crate) fn check_log(
		channel: &Channel<T>,
		log: &LogHead,
		consistency: &[Hash],
	) -> Result<(), Error<T>> {
		frame_support::ensure!(log.is_well_formed(), Error::<T>::InconsistentLog);
		log.check_extends(&channel.anchored, consistency)
			.map_err(|_| Error::<T>::InconsistentLog)
	}

	/// Anchor `log` if it holds items the channel has not anchored yet (its consistency with
	/// the anchored log was checked when the state was accepted), index it by root and write
	/// it to offchain storage for the relay.
	pub(crate) fn anchor(
		channel_id: ChannelId,
		channel: &mut Channel<T>,
		log: &LogHead,
	) -> Result<(), Error<T>> {
		if log.size <= channel.anchored.size {
			return Ok(());
		}
		let index = channel.anchor_count;
		channel.anchor_count = index.checked_add(1).ok_or(Error::<T>::Overflow)?;
		let first_seq = channel.anchored.size;
		channel.anchored = *log;
		let block = Self::now();
		Anchors::<T>::insert(channel_id, index, AnchorInfo { first_seq, log: *log, block });
		AnchorsByRoot::<T>::insert(log.root, channel_id, index);

		let (counter_block, n) = AnchorCounter::<T>::get();
		let n = if counter_block == block { n } else { 0 };
		let anchor = Anchor { channel_id, index, first_seq, log: *log, block };
		sp_io::offchain_index::set(&crate::anchor_index_key(block, n), &anchor.encode());
		let next = n.saturating_add(1);
		sp_io::offchain_index::set(&crate::anchor_count_key(block), &next.encode());
		AnchorCounter::<T>::put((block, next));

		Self::deposit_event(Event::Anchored {
			channel_id,
			index,
			first_seq,
			size: log.size,
			root: log.root,
		});
		Ok(())
	}
}
