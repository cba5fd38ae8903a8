//! The requester agent (`attest submit`): hashes files, sends them to the verifier, checks
//! bills, signs states (persisted first), uploads its second records and the data, and
//! resolves each HTLC into the verifier's balance once it learned the bill key.

use crate::{
	protocol::{self, added_by, check_bill, next_state, BillTerms, Transition},
	server_api::{Record, Server, INLINE_MAX},
	store::{BillStage, ChannelRow, ItemRow, ItemStage, Store},
	transport::*,
};
use anyhow::{anyhow, bail, Context};
use attest_chain::{Chain, Key};
use attest_primitives::{
	channel::{Balance, BlockNumber},
	payment_hash,
	signing::sign::second_record,
	AttestationRequest, ChannelState, Confirmation, DataRef, Finality, Hash, Htlc, ItemClaim,
	LogHead, MerkleBuilder,
};
use futures::StreamExt;
use std::{
	path::{Path, PathBuf},
	sync::Arc,
};

/// What happened to one item (for progress and `--json`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemReport {
	/// The file.
	pub path: String,
	/// Its SHA-256.
	pub digest: Hash,
	/// Channel and seq, once attested.
	pub channel: Option<Hash>,
	/// Seq in the channel.
	pub seq: Option<u64>,
	/// What this run did with it.
	pub state: ItemOutcome,
	/// Size in bytes.
	pub size: u64,
}

/// What a run did with a file (`--json`: `attested` or `skipped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemOutcome {
	/// Both signed the state holding it; its records and data are on the server.
	Attested,
	/// Attested before (same path, size and modification time).
	Skipped,
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
	/// Most items per batch (one bill, one state).
	pub batch_items: usize,
	/// Most bytes per batch (an item larger than this goes alone).
	pub batch_bytes: u64,
	/// Accepted expiry window of bills, blocks from now.
	pub min_expiry: BlockNumber,
	/// See `min_expiry`.
	pub max_expiry: BlockNumber,
	/// Batches prepared (hashed and sent to the verifier) ahead of the one being signed.
	pub prefetch: usize,
	/// Checkpoint on chain after every this many items (0: never).
	pub checkpoint_every: u64,
	/// Checkpoint on chain when this long passed since the last one and items were added
	/// (`None`: never).
	pub checkpoint_interval: Option<std::time::Duration>,
}

impl Default for Settings {
	fn default() -> Self {
		Settings {
			batch_items: 1_000,
			batch_bytes: 64 << 20,
			min_expiry: 20,
			max_expiry: 2_000,
			prefetch: 2,
			checkpoint_every: 0,
			checkpoint_interval: None,
		}
	}
}

/// The requester of one channel.
pub struct Requester {
	key: Key,
	chain: Chain,
	store: Store,
	server: Server,
	http: reqwest::Client,
	channel: Hash,
	calls: crate::verifier::Calls,
	price: Balance,
	settings: Settings,
	/// The log of the newest state both signed, kept between batches.
	log: tokio::sync::Mutex<Option<MerkleBuilder>>,
}

/// A file ready to send: its row and, for small files, its bytes.
struct Prepared {
	row: ItemRow,
	bytes: Option<Arc<Vec<u8>>>,
}

/// A batch the verifier received and hashed.
struct Received {
	items: Vec<Prepared>,
}

async fn answer<T: serde::de::DeserializeOwned>(
	what: &str,
	r: reqwest::Response,
) -> anyhow::Result<T> {
	let status = r.status();
	if status.is_success() {
		return r.json().await.with_context(|| format!("verifier's answer to {what}"));
	}
	let body = r.text().await.unwrap_or_default();
	match serde_json::from_str::<ErrorBody>(&body) {
		Ok(e) => bail!("verifier refused {what} ({status}, {}): {}", e.error, e.message),
		Err(_) => bail!("verifier answered {status} to {what}: {body}"),
	}
}

/// Modification time of a file, ns since the epoch.
fn mtime(meta: &std::fs::Metadata) -> i64 {
	meta.modified()
		.ok()
		.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
		.map(|d| d.as_nanos() as i64)
		.unwrap_or(0)
}

/// Every regular file under `paths` (directories walked, sorted), absolute.
pub fn walk(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
	let absolute = paths
		.iter()
		.map(|p| std::fs::canonicalize(p).with_context(|| format!("{}", p.display())))
		.collect::<anyhow::Result<Vec<_>>>()?;
	crate::evidence::files_under(&absolute)
}

impl Requester {
	/// The requester of `channel` (in the store, added by `attest channel open`).
	pub async fn new(
		key: Key,
		chain: Chain,
		store: Store,
		server: Server,
		channel: Hash,
		settings: Settings,
	) -> anyhow::Result<Self> {
		let row = store.channel(&channel).await?;
		if row.requester != key.public() {
			bail!(
				"channel {channel:?} is not this key's ({}): pass the requester's --suri",
				key.address()
			);
		}
		let info = chain
			.verifier(row.verifier)
			.await?
			.ok_or_else(|| anyhow!("the channel's verifier is no longer registered"))?;
		// The endpoint registered now: a verifier that moved (`attest verifier update
		// --endpoint`) is reached where it is, not where it was when the channel opened.
		let endpoint = String::from_utf8(info.endpoint.0.clone()).unwrap_or(row.endpoint);
		let calls = crate::verifier::Calls::new(&endpoint, &key, chain.genesis(), channel);
		Ok(Requester {
			key,
			chain,
			store,
			server,
			http: reqwest::Client::new(),
			channel,
			calls,
			price: info.price,
			settings,
			log: Default::default(),
		})
	}

	/// The verifier's URL of this channel's `tail`, signed for a call (`?expires=&signature=`:
	/// the verifier refuses unsigned calls before reading them).
	fn url(&self, tail: &str) -> String {
		self.calls.to(tail)
	}

	async fn row(&self) -> anyhow::Result<ChannelRow> {
		Ok(self.store.channel(&self.channel).await?)
	}

	/// Finish what a crash interrupted: send the state signed and not countersigned again, and
	/// upload the records of items attested but not yet on the server.
	pub async fn resume(&self, report: &(dyn Fn(ItemReport) + Sync)) -> anyhow::Result<()> {
		self.store.reconcile_items(&self.channel).await?;
		let row = self.row().await?;
		// A state signed (stored first) but not yet sent when the agent stopped is sent now; its
		// signature is made again if it was not stored (same state, same nonce).
		let mut pending = row.pending.clone();
		// (After this agent's own close it signs nothing but the final state naming it: a state
		// whose signature was made but never stored never left, and is not made again.)
		if pending.is_none() && row.closing.is_none() {
			if let Some(state) = self.store.signed_state(&self.channel, row.state.nonce + 1).await?
			{
				let sig = self.store.sign_state(&self.key, &self.chain.genesis(), &state).await?;
				self.store.set_pending(&state, &sig).await?;
				pending = Some((state, sig));
			}
		}
		if let Some((state, sig)) = pending {
			let new: Vec<Htlc> = added_by(&row.state, &state).into_iter().copied().collect();
			match new.as_slice() {
				[htlc] => {
					let bill = self
						.store
						.bill(&self.channel, &htlc.payment_hash)
						.await?
						.ok_or_else(|| anyhow!("the pending state's bill is not stored"))?;
					self.request(&row, state, sig, &bill.digests).await?;
				},
				[] => self.update(&row, state, sig).await?,
				_ => bail!("the pending state adds several HTLCs: the database is damaged"),
			}
		}
		self.upload_attested(report).await
	}

	/// Upload the records (and data) of items attested but not on the server.
	async fn upload_attested(&self, report: &(dyn Fn(ItemReport) + Sync)) -> anyhow::Result<()> {
		let items = self.store.items(ItemStage::Attested).await?;
		for chunk in items.chunks(self.settings.batch_items.max(1)) {
			let prepared: Vec<Prepared> =
				chunk.iter().map(|r| Prepared { row: r.clone(), bytes: None }).collect();
			self.upload(&prepared, report).await?;
		}
		Ok(())
	}

	/// Attest every file under `paths`; report each item.
	pub async fn submit(
		&self,
		paths: &[PathBuf],
		report: &(dyn Fn(ItemReport) + Sync),
	) -> anyhow::Result<()> {
		if let Some(c) = self.row().await?.closing {
			bail!(
				"this requester closed channel {:?} alone with state {c}: it attests nothing more \
				 in it (a new state would be newer than its close and cost it the stale-close \
				 penalty); run `attest channel close` to agree the final state, or `attest \
				 channel settle` after the challenge period",
				self.channel
			);
		}
		// Items a cut batch left are finished (and reported) first; the walk then finds them
		// attested, and does not report them a second time.
		let resumed = std::sync::Mutex::new(std::collections::HashSet::new());
		self.resume(&|r: ItemReport| {
			if let Ok(mut seen) = resumed.lock() {
				seen.insert(r.path.clone());
			}
			report(r)
		})
		.await?;
		let resumed = resumed.into_inner().unwrap_or_default();
		let report = &|r: ItemReport| {
			if r.state != ItemOutcome::Skipped || !resumed.contains(&r.path) {
				report(r)
			}
		};
		let files = walk(paths)?;
		// Batches by count and size; hashing and sending to the verifier run ahead: files are
		// looked up and hashed a chunk at a time on a blocking thread, and each batch is sent
		// to the verifier by a task of its own while the next one is prepared (in order: the
		// channel carries the sends' handles).
		type Sent = tokio::task::JoinHandle<anyhow::Result<Received>>;
		let (tx, mut rx) =
			tokio::sync::mpsc::channel::<anyhow::Result<Sent>>(self.settings.prefetch.max(1));
		let producer = {
			let store = self.store.clone();
			let http = self.http.clone();
			// Each batch's call signed when it is sent (a signature expires in minutes, a
			// run may take hours).
			let calls = self.calls.clone();
			let settings = self.settings.clone();
			// Skipped items are reported here, on the producer side.
			let (stx, srx) = std::sync::mpsc::channel::<ItemReport>();
			let send = move |b: Vec<Prepared>| -> Sent {
				let (http, url) = (http.clone(), calls.to("/items"));
				tokio::spawn(async move { send_items(&http, &url, b).await })
			};
			let task = tokio::spawn(async move {
				let mut batch: Vec<Prepared> = Vec::new();
				let mut bytes = 0u64;
				for chunk in files.chunks(PREPARE_CHUNK) {
					let prepared = match prepare(&store, chunk.to_vec()).await {
						Ok(p) => p,
						Err(e) => {
							let _ = tx.send(Err(e)).await;
							return;
						},
					};
					for p in prepared {
						let prepared = match p {
							Ok(p) => p,
							Err(known) => {
								let _ = stx.send(ItemReport::of(known, ItemOutcome::Skipped));
								continue;
							},
						};
						if !batch.is_empty()
							&& (batch.len() >= settings.batch_items
								|| bytes + prepared.row.size > settings.batch_bytes)
						{
							let b = std::mem::take(&mut batch);
							bytes = 0;
							if tx.send(Ok(send(b))).await.is_err() {
								return;
							}
						}
						bytes += prepared.row.size;
						batch.push(prepared);
					}
				}
				if !batch.is_empty() {
					let _ = tx.send(Ok(send(batch))).await;
				}
			});
			(task, srx)
		};
		let (task, skipped) = producer;
		let mut uploads = futures::stream::FuturesOrdered::new();
		let mut since_checkpoint = 0u64;
		let mut last_checkpoint = std::time::Instant::now();
		loop {
			for r in skipped.try_iter() {
				report(r);
			}
			let Some(sent) = rx.recv().await else { break };
			let received =
				sent?.await.map_err(|e| anyhow!("sending items to the verifier: {e}"))??;
			let n = received.items.len() as u64;
			let attested = self.attest_batch(received).await?;
			uploads.push_back(self.upload_owned(attested, report));
			while uploads.len() > 2 {
				if let Some(r) = uploads.next().await {
					r?;
				}
			}
			since_checkpoint += n;
			let by_count = self.settings.checkpoint_every > 0
				&& since_checkpoint >= self.settings.checkpoint_every;
			let by_time = self
				.settings
				.checkpoint_interval
				.is_some_and(|t| last_checkpoint.elapsed() >= t);
			if by_count || by_time {
				while let Some(r) = uploads.next().await {
					r?;
				}
				self.resolve().await?;
				crate::ops::checkpoint(&self.chain, &self.key, &self.store, &self.channel).await?;
				since_checkpoint = 0;
				last_checkpoint = std::time::Instant::now();
			}
		}
		for r in skipped.try_iter() {
			report(r);
		}
		task.await.map_err(|e| anyhow!("file reader: {e}"))?;
		while let Some(r) = uploads.next().await {
			r?;
		}
		// Pay the verifier for what it confirmed.
		self.resolve().await
	}

	async fn upload_owned(
		&self,
		items: Vec<Prepared>,
		report: &(dyn Fn(ItemReport) + Sync),
	) -> anyhow::Result<()> {
		self.upload(&items, report).await
	}

	/// Bill, sign and confirm one received batch; returns its items, attested.
	async fn attest_batch(&self, received: Received) -> anyhow::Result<Vec<Prepared>> {
		let row = self.row().await?;
		let digests: Vec<Hash> = received.items.iter().map(|p| p.row.digest).collect();
		let r = self
			.http
			.post(self.url("/bills"))
			.json(&BillRequest { digests: digests.clone() })
			.send()
			.await?;
		let signed: SignedBill = answer("the bill request", r).await?;
		let terms = BillTerms {
			price: self.price,
			now: self.chain.best_number().await?,
			min_expiry: self.settings.min_expiry,
			max_expiry: self.settings.max_expiry,
		};
		let genesis = self.chain.genesis();
		check_bill(
			&genesis,
			&self.channel,
			&row.verifier.into(),
			(&signed.bill, &signed.signature),
			&row.state,
			&digests,
			&terms,
		)?;
		self.store
			.put_bill(
				&self.channel,
				&signed.bill,
				Some(&signed.signature),
				None,
				&digests,
				BillStage::Open,
			)
			.await?;
		let mut log = self.log_builder(row.state.log.size).await?;
		for d in &digests {
			log.push_digest(d);
		}
		let resolve = self.known_keys(&row).await?;
		let state = next_state(
			&row.state,
			&Transition {
				resolve: &resolve,
				bill: Some((&signed.bill, LogHead { size: log.size(), root: log.root() })),
				finality: attest_primitives::Finality::Open,
			},
		)?;
		let first = row.state.log.size;
		let mut items = received.items;
		for (i, p) in items.iter_mut().enumerate() {
			p.row.slot = Some((self.channel, first + i as u64));
			p.row.status = ItemStage::Billed;
		}
		self.store
			.put_items(&items.iter().map(|p| p.row.clone()).collect::<Vec<_>>())
			.await?;
		let sig = self.store.sign_state(&self.key, &genesis, &state).await?;
		self.store.set_pending(&state, &sig).await?;
		self.request(&row, state, sig, &digests).await?;
		for p in items.iter_mut() {
			p.row.status = ItemStage::Attested;
		}
		Ok(items)
	}

	/// Payment hashes of the newest state's HTLCs whose keys this requester holds.
	async fn known_keys(&self, row: &ChannelRow) -> anyhow::Result<Vec<Hash>> {
		let mut out = Vec::new();
		for h in row.state.htlcs.iter() {
			if let Some(b) = self.store.bill(&self.channel, &h.payment_hash).await? {
				if b.key.is_some() {
					out.push(h.payment_hash);
				}
			}
		}
		Ok(out)
	}

	/// Send an attestation request; on the confirmation, record the state both signed.
	async fn request(
		&self,
		row: &ChannelRow,
		state: ChannelState,
		sig: sp_runtime::MultiSignature,
		digests: &[Hash],
	) -> anyhow::Result<()> {
		let body = AttestationRequest {
			state: state.clone(),
			digests: digests.to_vec(),
			requester_signature: sig.clone(),
		};
		let r = self.http.post(self.url("/requests")).json(&body).send().await?;
		let c: Confirmation = answer("the attestation request", r).await?;
		let htlc = *added_by(&row.state, &state)
			.first()
			.ok_or_else(|| anyhow!("the request adds no HTLC"))?;
		if payment_hash(&c.bill_key) != htlc.payment_hash {
			return Err(protocol::ProtocolError::WrongBillKey(htlc.payment_hash).into());
		}
		if c.nonce != state.nonce {
			bail!("the confirmation is for state {}, the request was {}", c.nonce, state.nonce);
		}
		// The state, its log, the bill key and the items' status in one transaction.
		self.record_countersigned(
			row,
			&state,
			&sig,
			&c.verifier_signature,
			digests,
			Some(&c.bill_key),
		)
		.await
	}

	/// Send a state that adds no items; record it once countersigned.
	async fn update(
		&self,
		row: &ChannelRow,
		state: ChannelState,
		sig: sp_runtime::MultiSignature,
	) -> anyhow::Result<()> {
		let r = self
			.http
			.post(self.url("/states"))
			.json(&StateUpdate { state: state.clone(), requester_signature: sig.clone() })
			.send()
			.await?;
		let c: Countersignature = answer("the state update", r).await?;
		self.record_countersigned(row, &state, &sig, &c.verifier_signature, &[], None)
			.await
	}

	/// Check the verifier's signature on `state` (which follows `row.state` and adds
	/// `digests`), record it as the newest state both signed (with the bill key that confirmed
	/// it, its bills and its items: [`Store::set_latest`]), and extend the cached log.
	async fn record_countersigned(
		&self,
		row: &ChannelRow,
		state: &ChannelState,
		sig: &sp_runtime::MultiSignature,
		verifier_sig: &sp_runtime::MultiSignature,
		digests: &[Hash],
		bill_key: Option<&attest_primitives::BillKey>,
	) -> anyhow::Result<()> {
		protocol::check_state_signature(
			&self.chain.genesis(),
			state,
			verifier_sig,
			&row.verifier.into(),
			"verifier",
		)?;
		self.store.set_latest(state, sig, verifier_sig, digests, bill_key).await?;
		let mut log = self.log.lock().await;
		match log.as_mut() {
			Some(b) if b.size() == row.state.log.size => {
				digests.iter().for_each(|d| b.push_digest(d))
			},
			_ => *log = None,
		}
		Ok(())
	}

	/// The Merkle builder of the newest state's log (read from the store once, then kept).
	async fn log_builder(&self, size: u64) -> anyhow::Result<MerkleBuilder> {
		let mut log = self.log.lock().await;
		if let Some(b) = log.as_ref().filter(|b| b.size() == size) {
			return Ok(b.clone());
		}
		let mut b = MerkleBuilder::new();
		for d in self.store.log(&self.channel).await? {
			b.push_digest(&d);
		}
		*log = Some(b.clone());
		Ok(b)
	}

	/// Propose a state that adds no items (resolving what it can, or final) and get it
	/// countersigned.
	async fn propose(&self, finality: Finality) -> anyhow::Result<()> {
		let row = self.row().await?;
		let resolve = self.known_keys(&row).await?;
		if resolve.is_empty() && finality == Finality::Open {
			return Ok(());
		}
		let state =
			next_state(&row.state, &Transition { resolve: &resolve, bill: None, finality })?;
		let sig = self.store.sign_state(&self.key, &self.chain.genesis(), &state).await?;
		self.store.set_pending(&state, &sig).await?;
		self.update(&row, state, sig).await
	}

	/// Resolve every HTLC whose key is known into the verifier's balance.
	pub async fn resolve(&self) -> anyhow::Result<()> {
		self.propose(Finality::Open).await
	}

	/// Agree the final state with the verifier (everything resolved first).
	///
	/// While a unilateral close is pending on chain (by either party) the final state names
	/// it (`Finality::EndsClose`), and it resolves the known keys itself: after a party's own
	/// close it signs nothing else, and a state agreed after a close must not read as proof
	/// that the closer held it before (`docs/protocol.md`).
	pub async fn finalize(&self) -> anyhow::Result<()> {
		let row = self.row().await?;
		if row.state.is_final() {
			return Ok(());
		}
		// A state that waits for its countersignature goes first (its countersignature may
		// come late, after a close).
		if row.pending.is_some() {
			self.resume(&|_| {}).await.context(
				"sending the state that waits for the verifier's countersignature, before the \
				 final state",
			)?;
		}
		let row = self.row().await?;
		let on_chain = self.chain.channel(&self.channel).await?.ok_or_else(|| {
			anyhow!("channel {:?} is not open on chain (settled already?)", self.channel)
		})?;
		match &on_chain.status {
			attest_chain::ChannelStatus::Closing { closer, closed_nonce, .. } => {
				crate::ops::challenge_counterpartys_close(
					&self.chain,
					&self.key,
					&self.store,
					&row,
					&on_chain,
				)
				.await?;
				let (closer, closed_nonce) = (closer.0, *closed_nonce);
				self.propose(Finality::EndsClose { closer, closed_nonce }).await
			},
			attest_chain::ChannelStatus::Open => {
				self.resolve().await?;
				self.propose(Finality::Final).await
			},
		}
	}

	/// Upload second records and data of attested items; mark them done and report them.
	async fn upload(
		&self,
		items: &[Prepared],
		report: &(dyn Fn(ItemReport) + Sync),
	) -> anyhow::Result<()> {
		let genesis = self.chain.genesis();
		let mut inline = Vec::new();
		let mut done = Vec::new();
		let bills = self.paid_bills().await?;
		for p in items {
			let Some((channel, seq)) = p.row.slot else { continue };
			let ph = bills
				.iter()
				.find(|b| seq >= b.items.first_seq && seq - b.items.first_seq < b.items.count)
				.map(|b| b.payment_hash)
				.ok_or_else(|| anyhow!("no bill covers item {seq}"))?;
			let claim = ItemClaim { seq, digest: p.row.digest, payment_hash: ph };
			if p.row.size <= INLINE_MAX {
				let bytes = match &p.bytes {
					Some(b) => b.as_ref().clone(),
					None => {
						tokio::fs::read(&p.row.path).await.with_context(|| p.row.path.clone())?
					},
				};
				if attest_primitives::sha256(&bytes) != p.row.digest {
					bail!(
						"{} changed since it was attested: its bytes no longer give {:?}",
						p.row.path,
						p.row.digest
					);
				}
				inline.push(Record::Second(second_record(
					self.key.pair(),
					&genesis,
					channel,
					claim,
					DataRef::Inline(bytes),
				)));
			} else {
				let rec = second_record(
					self.key.pair(),
					&genesis,
					channel,
					claim,
					DataRef::Blob(p.row.digest),
				);
				self.server.submit_streamed(&rec, Path::new(&p.row.path)).await?;
			}
			done.push(p.row.clone());
		}
		self.server.submit(inline).await?;
		let paths: Vec<String> = done.iter().map(|r| r.path.clone()).collect();
		self.store.set_items_status(&paths, ItemStage::Done).await?;
		for r in done {
			report(ItemReport::of(r, ItemOutcome::Attested));
		}
		Ok(())
	}

	/// The bills that items were attested under (`pending` or `resolved`).
	async fn paid_bills(&self) -> anyhow::Result<Vec<attest_primitives::Bill>> {
		let mut out = Vec::new();
		for status in [BillStage::Pending, BillStage::Resolved] {
			out.extend(self.store.bills(&self.channel, status).await?.into_iter().map(|b| b.bill));
		}
		Ok(out)
	}
}

impl ItemReport {
	/// The report of a stored item in `state`.
	fn of(row: ItemRow, state: ItemOutcome) -> Self {
		ItemReport {
			path: row.path,
			digest: row.digest,
			channel: row.slot.map(|s| s.0),
			seq: row.slot.map(|s| s.1),
			state,
			size: row.size,
		}
	}
}

/// Files looked up in the store and hashed at a time, on one blocking thread.
const PREPARE_CHUNK: usize = 256;

/// Hash files (unless the store knows one attested with the same size and time: `Err` with
/// what it knows, to skip it), in order. One store query and one blocking task per call.
async fn prepare(
	store: &Store,
	paths: Vec<PathBuf>,
) -> anyhow::Result<Vec<Result<Prepared, ItemRow>>> {
	let keys: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
	let known = store.items_at(&keys).await?;
	tokio::task::spawn_blocking(move || {
		paths
			.iter()
			.zip(keys)
			.map(|(path, key)| {
				let meta = std::fs::metadata(path).with_context(|| key.clone())?;
				let (size, mtime) = (meta.len(), mtime(&meta));
				if let Some(k) = known.get(&key) {
					if k.size == size
						&& k.mtime == mtime
						&& matches!(k.status, ItemStage::Attested | ItemStage::Done)
					{
						return Ok(Err(k.clone()));
					}
				}
				let (digest, bytes) = if size <= INLINE_MAX {
					let b = std::fs::read(path).with_context(|| key.clone())?;
					(attest_primitives::sha256(&b), Some(Arc::new(b)))
				} else {
					(
						attest_primitives::digest::sha256_file(path)
							.with_context(|| key.clone())?
							.0,
						None,
					)
				};
				Ok(Ok(Prepared {
					row: ItemRow {
						path: key,
						size,
						mtime,
						digest,
						slot: None,
						status: ItemStage::Hashed,
					},
					bytes,
				}))
			})
			.collect()
	})
	.await
	.map_err(|e| anyhow!("file reader: {e}"))?
}

/// One item to send: size, bytes (small items), path.
type Part = (u64, Option<Arc<Vec<u8>>>, String);

/// Send a batch's data to the verifier as frames; check it hashed what we hashed.
async fn send_items(
	http: &reqwest::Client,
	url: &str,
	items: Vec<Prepared>,
) -> anyhow::Result<Received> {
	let parts: Vec<Part> = items
		.iter()
		.map(|p| (p.row.size, p.bytes.clone(), p.row.path.clone()))
		.collect();
	let stream = futures::stream::iter(parts).then(|(size, bytes, path)| async move {
		let head = futures::stream::once(async move {
			Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(&size.to_le_bytes()))
		});
		let body: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>> = match bytes {
			Some(b) => Box::pin(head.chain(futures::stream::once(async move {
				Ok(bytes::Bytes::from(b.as_ref().clone()))
			}))),
			None => match tokio::fs::File::open(&path).await {
				Ok(f) => {
					Box::pin(head.chain(tokio_util::io::ReaderStream::with_capacity(f, 1 << 20)))
				},
				Err(e) => Box::pin(futures::stream::once(async move { Err(e) })),
			},
		};
		body
	});
	let body = reqwest::Body::wrap_stream(stream.flatten());
	let r = http
		.post(url)
		.header("content-type", "application/octet-stream")
		.body(body)
		.send()
		.await?;
	let accepted: ItemsAccepted = answer("the items", r).await?;
	if accepted.digests.len() != items.len() {
		bail!("the verifier hashed {} items, {} were sent", accepted.digests.len(), items.len());
	}
	for (p, d) in items.iter().zip(&accepted.digests) {
		if p.row.digest != *d {
			bail!("the verifier hashed {} to {d:?}, this agent to {:?}: did the file change while it was sent?", p.row.path, p.row.digest);
		}
	}
	Ok(Received { items })
}
