//! Channel operations on chain (`attest channel ...`) and the watchtower (`attest watch`).

use crate::store::{BillStage, ChannelRow, Store};
use anyhow::{anyhow, bail, Context};
use attest_chain::{
	runtime::{self, runtime_types::bounded_collections::bounded_vec::BoundedVec},
	AttestationEvent, Chain, ChannelStatus, Key, Static,
};
use attest_primitives::Party;
use attest_primitives::{channel::Balance, ChannelState, Hash, LogHead};
use sp_runtime::MultiSignature;

/// Open a channel to `verifier` with `deposit` and `challenge_period`; store it.
pub async fn open(
	chain: &Chain,
	key: &Key,
	store: &Store,
	verifier: [u8; 32],
	deposit: Balance,
	challenge_period: u32,
) -> anyhow::Result<Hash> {
	let info = chain.verifier(verifier).await?.ok_or_else(|| {
		anyhow!("{} is not a registered verifier", attest_chain::account(verifier))
	})?;
	let endpoint = String::from_utf8(info.endpoint.0.clone())
		.context("the verifier's endpoint is not UTF-8")?;
	let call = runtime::transactions().attestation().open_channel(
		attest_chain::account(verifier),
		deposit,
		challenge_period,
	);
	let inc = chain.submit(key, &call).await?;
	let id = inc
		.events
		.iter()
		.find_map(|e| match e {
			AttestationEvent::ChannelOpened { channel_id, .. } => Some(*channel_id),
			_ => None,
		})
		.ok_or_else(|| anyhow!("open_channel emitted no ChannelOpened event"))?;
	let c = chain
		.channel(&id)
		.await?
		.ok_or_else(|| anyhow!("channel {id:?} is not on chain"))?;
	store
		.add_channel(&ChannelRow::learned(
			id,
			Party::Requester,
			key.public(),
			verifier,
			endpoint,
			c.state.0,
			0,
		))
		.await?;
	Ok(id)
}

/// The newest state both signed, with its signatures and the consistency proof from the
/// chain's anchored log.
async fn signed(chain: &Chain, store: &Store, id: &Hash) -> anyhow::Result<Signed> {
	let row = store.channel(id).await?;
	let (Some(rs), Some(vs)) = (row.requester_signature.clone(), row.verifier_signature.clone())
	else {
		bail!("channel {id:?} has no state signed by both yet: nothing to put on chain");
	};
	let c = chain
		.channel(id)
		.await?
		.ok_or_else(|| anyhow!("channel {id:?} is not open on chain"))?;
	let anchored = c.anchored.0.size;
	let log = store.log(id).await?;
	let proof =
		LogHead::consistency_path(&log, anchored).map_err(|e| anyhow!("consistency proof: {e}"))?;
	let args = (Static(row.state.clone()), Static(rs), Static(vs), BoundedVec(proof));
	Ok(Signed { row, args, chain_nonce: c.state.0.nonce })
}

/// The newest state both signed, as the calls that put it on chain take it.
struct Signed {
	row: ChannelRow,
	/// State, requester and verifier signatures, consistency proof from the anchored log.
	args: (Static<ChannelState>, Static<MultiSignature>, Static<MultiSignature>, BoundedVec<Hash>),
	/// Nonce of the state the chain holds.
	chain_nonce: u64,
}

/// Anchor the newest state both signed (`checkpoint`).
pub async fn checkpoint(
	chain: &Chain,
	key: &Key,
	store: &Store,
	id: &Hash,
) -> anyhow::Result<Option<u32>> {
	let Signed { row, args: (state, rs, vs, proof), chain_nonce } =
		signed(chain, store, id).await?;
	if row.state.nonce <= chain_nonce || row.state.log.size <= row.anchored {
		return Ok(None);
	}
	let call = runtime::transactions().attestation().checkpoint(*id, state, rs, vs, proof);
	let inc = chain.submit(key, &call).await?;
	store.set_anchored(id, row.state.log.size, false).await?;
	Ok(Some(inc.block))
}

/// What a channel's closing paid (`ChannelClosed`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Closed {
	/// Block of the close.
	pub block: u32,
	/// Paid to the requester.
	#[serde(serialize_with = "as_string")]
	pub requester_paid: Balance,
	/// Paid to the verifier.
	#[serde(serialize_with = "as_string")]
	pub verifier_paid: Balance,
	/// Moved from the closer for a stale close.
	#[serde(serialize_with = "as_string")]
	pub stale_close_penalty: Balance,
}

fn as_string<S: serde::Serializer>(v: &Balance, s: S) -> Result<S::Ok, S::Error> {
	s.serialize_str(&v.to_string())
}

/// The `ChannelClosed` event of an extrinsic.
pub fn closed_of(inc: &attest_chain::Included) -> Option<Closed> {
	inc.events.iter().find_map(|e| match e {
		AttestationEvent::ChannelClosed {
			requester_paid,
			verifier_paid,
			stale_close_penalty,
			..
		} => Some(Closed {
			block: inc.block,
			requester_paid: *requester_paid,
			verifier_paid: *verifier_paid,
			stale_close_penalty: *stale_close_penalty,
		}),
		_ => None,
	})
}

/// Close cooperatively with the final state both signed.
pub async fn close_cooperative(
	chain: &Chain,
	key: &Key,
	store: &Store,
	id: &Hash,
) -> anyhow::Result<Closed> {
	let Signed { row, args: (state, rs, vs, proof), .. } = signed(chain, store, id).await?;
	if !row.state.is_final() {
		bail!("the newest state is not final: agree the final state first (attest channel close does)");
	}
	let call = runtime::transactions()
		.attestation()
		.close_cooperative(*id, state, rs, vs, proof);
	let inc = chain.submit(key, &call).await?;
	store.set_anchored(id, row.state.log.size, true).await?;
	closed_of(&inc).ok_or_else(|| anyhow!("close_cooperative emitted no ChannelClosed event"))
}

/// Start closing alone with the newest state both signed (or the chain's state).
///
/// The close is recorded in the store before it is sent ([`Store::will_close`]): from then on
/// this agent signs only the final state that names this close, so nothing it signs after
/// closing can prove the close stale (`docs/protocol.md`).
pub async fn close_unilateral(
	chain: &Chain,
	key: &Key,
	store: &Store,
	id: &Hash,
) -> anyhow::Result<u32> {
	let row = store.channel(id).await?;
	let c = chain
		.channel(id)
		.await?
		.ok_or_else(|| anyhow!("channel {id:?} is not open on chain (settled already?)"))?;
	if let ChannelStatus::Closing { closer, closed_nonce, deadline } = c.status {
		if row.closing != Some(closed_nonce) || closer.0 != row.role {
			bail!(
				"channel {id:?} is closing already: the {} closed it with state {closed_nonce}, \
				 open to challenges until block {deadline}; attest watch challenges an old state, \
				 attest channel close agrees the final state",
				closer.0.word()
			);
		}
		// This agent's own close, sent before (a retry): nothing to do.
		return Ok(chain.best_number().await?);
	}
	if row.state.is_final() {
		bail!(
			"the newest state of channel {id:?} (nonce {}) is final: close cooperatively with it \
			 (attest channel close), not alone",
			row.state.nonce
		);
	}
	// With the newest state both signed and the counterparty's signature; before any, with the
	// chain's state (`None`).
	let both = row.requester_signature.is_some() && row.verifier_signature.is_some();
	let (arg, closed_nonce) = if both && row.state.nonce > c.state.0.nonce {
		let Signed { args: (state, rs, vs, proof), .. } = signed(chain, store, id).await?;
		let counter = match row.role {
			Party::Requester => vs,
			Party::Verifier => rs,
		};
		(Some((state, counter, proof)), row.state.nonce)
	} else {
		(None, c.state.0.nonce)
	};
	store.will_close(id, closed_nonce, row.state.nonce).await?;
	let call = runtime::transactions().attestation().close_unilateral(*id, arg);
	Ok(chain.submit(key, &call).await?.block)
}

/// Settle a channel after its challenge period.
pub async fn settle(chain: &Chain, key: &Key, store: &Store, id: &Hash) -> anyhow::Result<Closed> {
	let inc = chain.submit(key, &runtime::transactions().attestation().settle(*id)).await?;
	let _ = store.set_anchored(id, 0, true).await;
	closed_of(&inc).ok_or_else(|| anyhow!("settle emitted no ChannelClosed event"))
}

/// Challenge a close with the newest state both signed.
pub async fn challenge(chain: &Chain, key: &Key, store: &Store, id: &Hash) -> anyhow::Result<u32> {
	let Signed { args: (state, rs, vs, proof), .. } = signed(chain, store, id).await?;
	let call = runtime::transactions().attestation().challenge(*id, state, rs, vs, proof);
	Ok(chain.submit(key, &call).await?.block)
}

/// Before agreeing a final state during the counterparty's close: put this agent's newest
/// state both signed on chain if the chain holds an older one (before the deadline), so a
/// stale close stays proven whatever becomes of the final state (a final state naming the
/// close is no evidence, `docs/protocol.md`). A challenge with the same state made meanwhile
/// (the watchtower) counts as done. `c` is the channel as just read from the chain.
pub async fn challenge_counterpartys_close(
	chain: &Chain,
	key: &Key,
	store: &Store,
	row: &ChannelRow,
	c: &attest_chain::Channel,
) -> anyhow::Result<()> {
	let ChannelStatus::Closing { closer, deadline, .. } = &c.status else { return Ok(()) };
	let both = row.requester_signature.is_some() && row.verifier_signature.is_some();
	if closer.0 == row.role
		|| !both
		|| row.state.nonce <= c.state.0.nonce
		|| chain.best_number().await? >= *deadline
	{
		return Ok(());
	}
	if let Err(e) = challenge(chain, key, store, &row.id).await {
		let again = chain.channel(&row.id).await.ok().flatten();
		if again.is_none_or(|a| a.state.0.nonce < row.state.nonce) {
			return Err(
				e.context(format!("challenging the close with state {} first", row.state.nonce))
			);
		}
	}
	Ok(())
}

/// What one watchtower round did.
#[derive(Debug, Default, serde::Serialize)]
pub struct WatchRound {
	/// Closes challenged: channel, the stale nonce, ours.
	pub challenged: Vec<(Hash, u64, u64)>,
	/// Channels settled.
	pub settled: Vec<Hash>,
	/// HTLCs claimed (verifier) / refunded (requester).
	pub claimed: Vec<Hash>,
	/// See `claimed`.
	pub refunded: Vec<Hash>,
	/// Bill keys revealed on chain (verifier, HTLC near expiry).
	pub revealed: Vec<Hash>,
}

/// Blocks before an HTLC's expiry at which the verifier's watchtower puts the bill key on
/// chain when the requester has not resolved the HTLC (`docs/pallet.md`, "Expiry and period
/// margins": time to get `reveal_bill_key` included even while someone fills blocks).
pub const REVEAL_MARGIN_BLOCKS: u32 = 30;

/// Seconds between watchtower rounds while `attest submit` runs (its `--watch-every`).
pub const SUBMIT_WATCH_EVERY_SECS: u64 = 30;
/// Seconds between watchtower rounds of `attest watch` and of the verifier service.
pub const WATCH_EVERY_SECS: u64 = 3;

/// The watchtower of one agent: its key, chain and store, and rounds of [`watch_round`].
#[derive(Clone)]
pub struct Watchtower {
	/// The agent's key.
	pub key: Key,
	/// The chain it watches.
	pub chain: Chain,
	/// The agent's channels.
	pub store: Store,
}

impl Watchtower {
	/// One round over every channel.
	pub async fn round(&self) -> anyhow::Result<WatchRound> {
		watch_round(&self.chain, &self.key, &self.store, REVEAL_MARGIN_BLOCKS, None).await
	}

	/// Rounds every `every` in the background (the first at once), each error logged and the
	/// next round tried; stopped when the handle is aborted or dropped with the runtime.
	pub fn spawn(self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
		tokio::spawn(async move {
			loop {
				if let Err(e) = self.round().await {
					tracing::warn!("watchtower: {e:#}");
				}
				tokio::time::sleep(every).await;
			}
		})
	}
}

/// One watchtower round over every channel in `store` (or only `only`): challenge a close with
/// an older state than ours, settle after the deadline, reveal keys of HTLCs within
/// `reveal_margin` blocks of their expiry (verifier), claim HTLCs with known keys before
/// expiry (verifier), refund expired ones (requester).
pub async fn watch_round(
	chain: &Chain,
	key: &Key,
	store: &Store,
	reveal_margin: u32,
	only: Option<&Hash>,
) -> anyhow::Result<WatchRound> {
	let mut out = WatchRound::default();
	let now = chain.best_number().await?;
	for row in store
		.channels()
		.await?
		.into_iter()
		.filter(|r| only.is_none_or(|id| r.id == *id))
	{
		let id = row.id;
		match chain.channel(&id).await? {
			Some(c) => {
				match c.status {
					ChannelStatus::Closing { deadline, closed_nonce, .. } => {
						let chain_nonce = c.state.0.nonce;
						let both =
							row.verifier_signature.is_some() && row.requester_signature.is_some();
						if row.state.is_final() {
							// A final state agreed during the close: the requester (who
							// proposed it) puts it on chain (`attest channel close` does at
							// once); the verifier leaves it to the requester, and settles after
							// the deadline otherwise. It cannot challenge with it.
							if row.role == Party::Requester
								&& both && row.state.nonce > chain_nonce
								&& now <= deadline
							{
								close_cooperative(chain, key, store, &id).await?;
								out.settled.push(id);
							} else if now > deadline {
								settle(chain, key, store, &id).await?;
								out.settled.push(id);
							}
						} else if row.state.nonce > chain_nonce && both && now <= deadline {
							challenge(chain, key, store, &id).await?;
							out.challenged.push((id, closed_nonce, row.state.nonce));
						} else if now > deadline {
							settle(chain, key, store, &id).await?;
							out.settled.push(id);
						}
					},
					ChannelStatus::Open => {},
				}
				// Verifier: an HTLC of the newest state near expiry and not resolved: reveal.
				if row.role == Party::Verifier {
					let revealed: Vec<Hash> = c.revealed.0.iter().map(|r| r.payment_hash).collect();
					for h in row.state.htlcs.iter() {
						if revealed.contains(&h.payment_hash)
							|| h.expiry > now.saturating_add(reveal_margin)
							|| h.expiry < now
						{
							continue;
						}
						if let Some(b) = store.bill(&id, &h.payment_hash).await? {
							if let Some(k) = b.key {
								let call = runtime::transactions()
									.attestation()
									.reveal_bill_key(id, Static(k));
								chain.submit(key, &call).await?;
								out.revealed.push(h.payment_hash);
							}
						}
					}
				}
			},
			None => {
				// Settled: HTLCs left pending are claimable or refundable.
				for h in row.state.htlcs.iter() {
					let Some(ch) = chain.claimable_htlc(&id, &h.payment_hash).await? else {
						continue;
					};
					match row.role {
						Party::Verifier if now <= ch.expiry => {
							if let Some(k) =
								store.bill(&id, &h.payment_hash).await?.and_then(|b| b.key)
							{
								let call = runtime::transactions().attestation().claim_htlc(
									id,
									h.payment_hash,
									Static(k),
								);
								chain.submit(key, &call).await?;
								store
									.set_bill(&id, &h.payment_hash, BillStage::Claimed, None)
									.await?;
								out.claimed.push(h.payment_hash);
							}
						},
						Party::Requester if now > ch.expiry => {
							let call = runtime::transactions()
								.attestation()
								.refund_htlc(id, h.payment_hash);
							chain.submit(key, &call).await?;
							store.set_bill(&id, &h.payment_hash, BillStage::Refunded, None).await?;
							out.refunded.push(h.payment_hash);
						},
						_ => {},
					}
				}
				if !row.closed {
					store.set_anchored(&id, 0, true).await?;
				}
			},
		}
	}
	Ok(out)
}
