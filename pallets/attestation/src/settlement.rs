//! Settlement: pay out a channel's final state, once.
//!
//! Holds are per account, so settlement moves funds between the parties' holds: the requester
//! ends with its balance (plus its unused top-ups) free and the amounts of HTLCs still pending
//! on hold; the verifier with its balance, its unused top-ups and the HTLCs whose bill key it
//! revealed in time, free. Nothing here fails because of an account's state: a payment the
//! payee's account cannot take (its free balance would stay below the existential deposit)
//! stays with the payer, and freezes on the payer's account do not hold back funds the
//! channel owes.

// Runtime code never panics on input (FRAME's macro expansions in lib.rs are outside this
// check; the calls there use `?` and checked arithmetic throughout).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::{pallet::*, types::*};
use frame_support::{
	pallet_prelude::*,
	traits::{
		fungible::{Inspect, MutateHold},
		tokens::{DepositConsequence, Fortitude, Precision, Provenance, Restriction},
		Get,
	},
};
use sp_runtime::AccountId32;

impl<T: Config> Pallet<T> {
	/// Move `amount` from `from`'s channel hold to `to`'s free balance. If `to` cannot take
	/// it (its free balance would stay below the existential deposit), the amount is released
	/// to `from` instead. Returns what `to` received.
	pub(crate) fn pay_from_hold(
		from: &AccountId32,
		to: &AccountId32,
		amount: u128,
	) -> Result<u128, DispatchError> {
		if amount == 0 {
			return Ok(0);
		}
		let reason: T::RuntimeHoldReason = HoldReason::ChannelDeposit.into();
		if T::Currency::can_deposit(to, amount, Provenance::Extant) == DepositConsequence::Success {
			T::Currency::transfer_on_hold(
				&reason,
				from,
				to,
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Force,
			)?;
			Ok(amount)
		} else {
			T::Currency::release(&reason, from, amount, Precision::Exact)?;
			Ok(0)
		}
	}

	/// Release `amount` of `who`'s channel hold (nothing if zero).
	fn release(who: &AccountId32, amount: u128) -> DispatchResult {
		if amount > 0 {
			T::Currency::release(
				&HoldReason::ChannelDeposit.into(),
				who,
				amount,
				Precision::Exact,
			)?;
		}
		Ok(())
	}

	/// Settle `channel` with its current state: move the stale-close penalty from
	/// `stale_closer` (if a newer state proved its close stale) to the counterparty, anchor the
	/// log, pay out, keep unrevealed HTLCs claimable, remove the channel.
	pub(crate) fn finish(
		channel_id: ChannelId,
		mut channel: Channel<T>,
		stale_closer: Option<Party>,
	) -> DispatchResult {
		let state = channel.state.clone();
		let (mut balance_r, mut balance_v) = (state.requester_balance, state.verifier_balance);
		let mut penalty = 0u128;
		if let Some(closer) = stale_closer {
			let (from, to) = match closer {
				Party::Requester => (&mut balance_r, &mut balance_v),
				Party::Verifier => (&mut balance_v, &mut balance_r),
			};
			penalty = T::StaleClosePenalty::get().mul_floor(*from);
			*from = from.saturating_sub(penalty);
			*to = to.checked_add(penalty).ok_or(Error::<T>::Overflow)?;
		}
		let prefix = Self::funding_prefix(&channel, &state)?;
		let (mut unused_r, mut unused_v) = (0u128, 0u128);
		for f in channel.fundings.iter().skip(prefix) {
			match f.by {
				Party::Requester => unused_r = unused_r.saturating_add(f.amount),
				Party::Verifier => unused_v = unused_v.saturating_add(f.amount),
			}
		}
		// An HTLC whose bill key the verifier revealed on chain by its expiry pays the
		// verifier now, however late the settlement; the others stay claimable.
		let paid_by_reveal: alloc::vec::Vec<bool> = state
			.htlcs
			.iter()
			.map(|h| channel.revealed_at(&h.payment_hash).is_some_and(|block| block <= h.expiry))
			.collect();
		let (mut revealed_total, mut pending_total) = (0u128, 0u128);
		for (h, revealed) in state.htlcs.iter().zip(&paid_by_reveal) {
			let sum = if *revealed { &mut revealed_total } else { &mut pending_total };
			*sum = sum.checked_add(h.amount).ok_or(Error::<T>::Overflow)?;
		}
		let (held_r, held_v) =
			(channel.held_by(Party::Requester), channel.held_by(Party::Verifier));
		let pay_r = balance_r.checked_add(unused_r).ok_or(Error::<T>::Overflow)?;
		let pay_v = balance_v
			.checked_add(unused_v)
			.and_then(|p| p.checked_add(revealed_total))
			.ok_or(Error::<T>::Overflow)?;
		let keep_r = pay_r.checked_add(pending_total).ok_or(Error::<T>::Overflow)?;
		// Conservation: what is paid and kept equals what is held.
		ensure!(keep_r.checked_add(pay_v) == held_r.checked_add(held_v), Error::<T>::TotalMismatch);

		Self::anchor(channel_id, &mut channel, &state.log)?;

		let (requester, verifier) = (channel.requester.clone(), channel.verifier.clone());
		let (mut paid_r, mut paid_v) = (pay_r, pay_v);
		if held_r >= keep_r {
			// The requester's hold pays the requester, keeps the pending HTLCs and pays the
			// rest to the verifier, whose own hold is released first.
			Self::release(&verifier, held_v)?;
			Self::release(&requester, pay_r)?;
			let surplus = held_r - keep_r;
			let sent = Self::pay_from_hold(&requester, &verifier, surplus)?;
			paid_v = paid_v.saturating_sub(surplus - sent);
			paid_r = paid_r.saturating_add(surplus - sent);
		} else {
			// The requester is owed more than it holds: the verifier's hold makes up the
			// difference. Pending HTLCs never exceed what the requester funded (checked when
			// the state was accepted), so the requester's hold covers them.
			let deficit = keep_r - held_r;
			Self::release(&requester, pay_r.saturating_sub(deficit))?;
			let sent = Self::pay_from_hold(&verifier, &requester, deficit)?;
			paid_r = paid_r.saturating_sub(deficit - sent);
			paid_v = paid_v.saturating_add(deficit - sent);
			// Either way the deficit left the verifier's hold.
			Self::release(&verifier, held_v.saturating_sub(deficit))?;
		}
		let mut pending = 0u32;
		for (h, _) in state.htlcs.iter().zip(&paid_by_reveal).filter(|(_, revealed)| !**revealed) {
			pending += 1;
			ClaimableHtlcs::<T>::insert(
				channel_id,
				h.payment_hash,
				ClaimableHtlc {
					requester: requester.clone(),
					verifier: verifier.clone(),
					amount: h.amount,
					expiry: h.expiry,
					items: h.items,
				},
			);
		}
		Channels::<T>::remove(channel_id);
		Self::deposit_event(Event::ChannelClosed {
			channel_id,
			requester_paid: paid_r,
			verifier_paid: paid_v,
			revealed_htlcs_paid: revealed_total,
			pending_htlcs: pending,
			stale_close_penalty: penalty,
		});
		Ok(())
	}
}
