//! Taking records and data in, with no HTTP in sight: who may submit what, inline data,
//! batches, possession of data, and the bounds on uploads. The HTTP handlers in
//! [`crate::api`] parse requests and call these.

use crate::{
	blobs::{IngestError, UploadLimits},
	error::ApiError,
	store::{BatchData, Outcome, Parties, Submitted},
	AppState, UNKNOWN_CHANNEL_TTL,
};
use attest_primitives::{
	channel::{ChannelId, DataRef, SecondRecord},
	signing::account_of,
	Hash,
};
use attest_wire::{hex0x, Record, SubmitOutcome, SubmitResult};
use rayon::prelude::*;
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::Duration,
};

type ApiResult<T> = Result<T, ApiError>;

impl Submitted {
	/// The API's answer for this stored record.
	pub fn answer(&self) -> SubmitResult {
		let message = match &self.outcome {
			Outcome::Stored | Outcome::AlreadyStored => None,
			Outcome::Conflict(stored) => Some(format!(
				"you signed another claim for item {} of this channel before (digest {:?}, \
				 payment hash {:?}); the first one is kept",
				stored.seq, stored.digest, stored.payment_hash
			)),
		};
		SubmitResult {
			outcome: self.outcome.wire(),
			other_claims: self.other_claims,
			disputed: self.disputed,
			error: message.as_ref().map(|_| "conflict".to_string()),
			message,
		}
	}
}

/// The API's answer for a record refused with `e`.
fn rejected(e: &ApiError) -> SubmitResult {
	SubmitResult {
		outcome: SubmitOutcome::Rejected,
		other_claims: 0,
		disputed: None,
		error: Some(e.code().into()),
		message: Some(e.to_string()),
	}
}

impl AppState {
	/// Parties of `channel`: from memory, the database, or the chain (best block). A channel
	/// the chain does not know is remembered as unknown for [`UNKNOWN_CHANNEL_TTL`], so
	/// records naming it do not each cost a chain lookup.
	pub async fn parties(&self, channel: &ChannelId) -> ApiResult<Parties> {
		if let Some(p) = self.channels.read().ok().and_then(|c| c.get(channel).copied()) {
			return Ok(p);
		}
		let unknown = || {
			ApiError::UnknownChannel(format!(
				"channel {channel:?} is not open on the chain (genesis {:?}); open it with \
				 Attestation.open_channel first, or check the channel id",
				self.genesis()
			))
		};
		let recently_unknown = self
			.unknown_channels
			.lock()
			.ok()
			.and_then(|mut c| c.get(channel).copied())
			.is_some_and(|at| at.elapsed() < UNKNOWN_CHANNEL_TTL);
		if recently_unknown {
			return Err(unknown());
		}
		let parties = match self.store.channel(channel).await? {
			Some(p) => p,
			None => {
				self.metrics.chain_lookups.inc();
				let on_chain = self
					.chain
					.channel(channel)
					.await
					.map_err(|e| ApiError::ChainUnavailable(format!("{e}; retry later")))?;
				let Some(p) = on_chain else {
					if let Ok(mut c) = self.unknown_channels.lock() {
						c.put(*channel, std::time::Instant::now());
					}
					return Err(unknown());
				};
				self.store.put_channel(channel, &p).await?;
				p
			},
		};
		if let Ok(mut c) = self.channels.write() {
			c.insert(*channel, parties);
		}
		Ok(parties)
	}

	/// Learn a channel's parties without asking the chain (benchmarks, imports).
	pub async fn remember_channel(
		&self,
		id: ChannelId,
		parties: Parties,
	) -> Result<(), crate::store::StoreError> {
		self.store.put_channel(&id, &parties).await?;
		if let Ok(mut cache) = self.channels.write() {
			cache.insert(id, parties);
		}
		Ok(())
	}
}

/// Signatures checked in one batch verification (schnorrkel's `verify_batch`): large enough
/// that the batch's shared work pays, small enough that a bad record costs one small group of
/// single checks to find, and that a request's groups spread over the CPU pool's threads.
const SIGNATURE_GROUP: usize = 128;

/// The fewest signatures worth a batch verification (measured: one signature 94 us in a
/// batch of one, 63 us alone; 26 us each in a batch of 128).
const MIN_BATCH_VERIFY: usize = 4;

/// Check records against their channels' parties and their signatures (CPU only; call on
/// the CPU pool). One result per record, in order.
///
/// sr25519 signatures are checked in groups with batch verification; a group that fails is
/// checked again one by one so that the answer names the bad records. Other signature
/// schemes, and keys or signatures that do not decode, are checked one by one.
pub fn check_records(
	genesis: &Hash,
	records: &[Record],
	parties: &HashMap<ChannelId, Result<Parties, String>>,
) -> Vec<ApiResult<()>> {
	let party_checks: Vec<ApiResult<()>> = records
		.iter()
		.map(|record| match parties.get(&record.channel_id()) {
			Some(Ok(p)) => check_signer(record, p),
			Some(Err(msg)) => Err(ApiError::UnknownChannel(msg.clone())),
			None => Err(ApiError::Internal("channel not looked up".into())),
		})
		.collect();
	let to_check: Vec<usize> = (0..records.len()).filter(|&i| party_checks[i].is_ok()).collect();
	// Groups in parallel; rayon's collect keeps their order, which is `to_check`'s.
	let checked: Vec<Vec<ApiResult<()>>> = to_check
		.par_chunks(SIGNATURE_GROUP)
		.map(|group| {
			let group: Vec<&Record> = group.iter().map(|&i| &records[i]).collect();
			// Below a few signatures a batch verification costs more than single checks.
			if group.len() >= MIN_BATCH_VERIFY && batch_verified(genesis, &group) {
				group.iter().map(|_| Ok(())).collect()
			} else {
				group.iter().map(|r| check_signature(genesis, r)).collect()
			}
		})
		.collect();
	let mut results = party_checks;
	for (&i, result) in to_check.iter().zip(checked.into_iter().flatten()) {
		results[i] = result;
	}
	results
}

/// Whether every record of `group` has an sr25519 signature and the whole group verifies
/// as one batch. `false` also when some record is of another scheme or does not decode:
/// the caller then checks one by one.
fn batch_verified(genesis: &Hash, group: &[&Record]) -> bool {
	use attest_primitives::signing::{signing_payload, Kind};
	use sp_runtime::{MultiSignature, MultiSigner};
	let mut payloads = Vec::with_capacity(group.len());
	let mut signatures = Vec::with_capacity(group.len());
	let mut keys: Vec<schnorrkel::PublicKey> = Vec::with_capacity(group.len());
	// A group's records come from a few signers: each key is decompressed once (a point
	// decompression costs about as much as a third of a batch-verified signature).
	let mut decoded: Vec<([u8; 32], schnorrkel::PublicKey)> = Vec::new();
	for record in group {
		let (kind, signature, signer) = match record {
			Record::First(r) => (Kind::FirstRecord, &r.verifier_signature, &r.verifier),
			Record::Second(r) => (Kind::SecondRecord, &r.requester_signature, &r.requester),
		};
		let (MultiSignature::Sr25519(sig), MultiSigner::Sr25519(key)) = (signature, signer) else {
			return false;
		};
		let key = match decoded.iter().find(|(bytes, _)| *bytes == key.0) {
			Some((_, k)) => *k,
			None => {
				let Ok(k) = schnorrkel::PublicKey::from_bytes(key.as_ref()) else { return false };
				decoded.push((key.0, k));
				k
			},
		};
		let Ok(sig) = schnorrkel::Signature::from_bytes(&sig.0) else { return false };
		let r = record;
		payloads.push(signing_payload(kind, genesis, &r.channel_id(), r.claim()));
		signatures.push(sig);
		keys.push(key);
	}
	// The context sp-core's sr25519 signs and verifies under.
	let ctx = schnorrkel::signing_context(b"substrate");
	let transcripts = payloads.iter().map(|p| ctx.bytes(p));
	schnorrkel::verify_batch(transcripts, &signatures, &keys, true).is_ok()
}

/// Check a record against its channel's parties and its signature (CPU only).
pub fn check_record(genesis: &Hash, record: &Record, parties: &Parties) -> ApiResult<()> {
	check_signer(record, parties)?;
	check_signature(genesis, record)
}

fn check_signature(genesis: &Hash, record: &Record) -> ApiResult<()> {
	let verified = match record {
		Record::First(r) => r.verify(genesis),
		Record::Second(r) => r.verify(genesis),
	};
	verified.map_err(|e| ApiError::BadSignature(format!("{} record: {e}", record.kind())))
}

/// The record's seq is in range and its signer is the channel's party for its kind.
fn check_signer(record: &Record, parties: &Parties) -> ApiResult<()> {
	let (seq, signer, party, role) = match record {
		Record::First(r) => (r.claim.seq, account_of(&r.verifier), parties.verifier, "verifier"),
		Record::Second(r) => {
			(r.claim.seq, account_of(&r.requester), parties.requester, "requester")
		},
	};
	if seq > i64::MAX as u64 {
		return Err(ApiError::BadRequest(format!("seq {seq} is out of range (at most 2^63 - 1)")));
	}
	if <[u8; 32]>::from(signer.clone()) != party {
		return Err(ApiError::Forbidden(format!(
			"a {} record must be signed by the channel's {role} {}, not by {}",
			record.kind(),
			hex0x(&party),
			hex0x(signer.as_ref())
		)));
	}
	Ok(())
}

fn count(state: &AppState, record: &Record, result: &str) {
	state.metrics.records.with_label_values(&[record.kind(), result]).inc();
}

/// The error of a refused upload.
pub fn ingest_error(e: IngestError) -> ApiError {
	match e {
		IngestError::TooLarge { .. } => ApiError::TooLarge(format!("{e}; nothing was stored")),
		IngestError::Truncated { .. } => {
			ApiError::Truncated(format!("{e}; nothing was stored, send it again"))
		},
		IngestError::Mismatch { .. } => {
			ApiError::DigestMismatch(format!("{e}; nothing was stored"))
		},
		IngestError::Io(io) => io.into(),
	}
}

/// A second record with its data as a blob reference, and the inline bytes that came with
/// it (to check, and to store unless stored already).
type Split = (SecondRecord, Option<Vec<u8>>);

/// Split a second record into the record with its data as a blob reference and its inline
/// bytes. Too large inline data, a reference to another digest or to a blob not stored: an
/// error.
async fn split_inline(state: &AppState, mut r: SecondRecord) -> ApiResult<Split> {
	let digest = r.claim.digest;
	match std::mem::replace(&mut r.data, DataRef::Blob(digest)) {
		DataRef::Inline(bytes) => {
			let len = bytes.len();
			if len as u64 > state.config.max_upload_bytes {
				return Err(ApiError::TooLarge(format!(
					"data of {len} bytes exceeds the limit of {} bytes",
					state.config.max_upload_bytes
				)));
			}
			Ok((r, Some(bytes)))
		},
		DataRef::Blob(d) => {
			if d != digest {
				return Err(ApiError::DigestMismatch(format!(
					"the record points at blob {d:?} but claims digest {digest:?}"
				)));
			}
			if state.store.blob(&d).await?.is_none() {
				return Err(ApiError::NotFound(format!(
					"blob {d:?} is not stored; upload it with a signed PUT /v1/blobs/{d:?} \
					 (after the first record) or send the data with POST /v1/records/second/stream"
				)));
			}
			Ok((r, None))
		},
	}
}

/// Check inline data `(channel, digest, bytes)` and prepare it for the batch's transaction.
/// Every item's bytes are hashed (also when the server has them already: sending them
/// proves the requester holds them). Data of at most `--small-data-max` bytes goes into the
/// database with its record ([`BatchData::small`]); larger new data is written to the blob
/// store first, all together ([`crate::blobs::BlobStore::put_many`]), and only indexed in
/// the transaction. One result per item, in order.
async fn check_inline(
	state: &AppState,
	items: Vec<(ChannelId, Hash, Vec<u8>)>,
) -> ApiResult<(Vec<ApiResult<()>>, BatchData)> {
	let small_max = state.config.small_data_max;
	let is_small = |bytes: &[u8]| bytes.len() as u64 <= small_max;
	let large: Vec<Hash> =
		items.iter().filter(|(_, _, b)| !is_small(b)).map(|(_, d, _)| *d).collect();
	let stored = if large.is_empty() {
		Default::default()
	} else {
		state.store.blobs_stored(&large).await?
	};
	// Hashed here: small data, and large data stored already. New large data is hashed by
	// put_many as it is written.
	let hash_here: Vec<bool> =
		items.iter().map(|(_, d, b)| is_small(b) || stored.contains(d)).collect();
	let (items, checks) = crate::cpu(move || {
		let checks: Vec<Option<bool>> = items
			.par_iter()
			.zip(hash_here)
			.map(|((_, d, bytes), here)| here.then(|| attest_primitives::sha256(bytes) == *d))
			.collect();
		(items, checks)
	})
	.await;
	let mut results: Vec<ApiResult<()>> = Vec::with_capacity(items.len());
	let mut data = BatchData::default();
	let (mut new_blobs, mut new_positions) = (Vec::new(), Vec::new());
	for (i, ((channel, digest, bytes), check)) in items.into_iter().zip(checks).enumerate() {
		match check {
			Some(true) => {
				data.possession.push((channel, digest));
				if is_small(&bytes) {
					data.small.push((digest, bytes));
				}
				results.push(Ok(()));
			},
			Some(false) => results.push(Err(ApiError::DigestMismatch(format!(
				"the inline data does not hash to the claimed digest {digest:?}; nothing was stored"
			)))),
			None => {
				new_positions.push((i, channel));
				new_blobs.push((digest, bytes));
				results.push(Ok(()));
			},
		}
	}
	if !new_blobs.is_empty() {
		for ((i, channel), outcome) in
			new_positions.into_iter().zip(state.blobs.put_many(new_blobs).await)
		{
			match outcome {
				Ok(blob) => {
					data.possession.push((channel, blob.0));
					data.stored.push(blob);
				},
				Err(e) => results[i] = Err(ingest_error(e)),
			}
		}
	}
	Ok((results, data))
}

/// Check and store one record.
pub async fn submit_one(state: &AppState, record: Record) -> ApiResult<Submitted> {
	let r = submit_records(state, vec![record]).await?.pop();
	let submitted = r.ok_or_else(|| ApiError::Internal("no outcome".into()))??;
	if let Outcome::Conflict(_) = submitted.outcome {
		return Err(ApiError::Conflict(submitted.answer().message.unwrap_or_default()));
	}
	Ok(submitted)
}

/// Check and store a batch of records: one result per record, in order.
pub async fn submit_batch(state: &AppState, records: Vec<Record>) -> ApiResult<Vec<SubmitResult>> {
	Ok(submit_records(state, records)
		.await?
		.iter()
		.map(|r| match r {
			Ok(s) => s.answer(),
			Err(e) => rejected(e),
		})
		.collect())
}

/// Check and store records: one result per record, in order. Records are checked in
/// parallel (on the CPU pool), inline data is kept together, records go in one transaction.
async fn submit_records(
	state: &AppState,
	records: Vec<Record>,
) -> ApiResult<Vec<ApiResult<Submitted>>> {
	if records.len() > state.config.max_batch {
		return Err(ApiError::TooLarge(format!(
			"batch of {} records; at most {} per request",
			records.len(),
			state.config.max_batch
		)));
	}
	// Channels first (few distinct ones), then every signature in parallel.
	let mut parties: HashMap<ChannelId, Result<Parties, String>> = HashMap::new();
	for record in &records {
		let id = record.channel_id();
		if let std::collections::hash_map::Entry::Vacant(slot) = parties.entry(id) {
			let p = match state.parties(&id).await {
				Ok(p) => Ok(p),
				Err(e @ ApiError::UnknownChannel(_)) => Err(e.to_string()),
				Err(e) => return Err(e),
			};
			slot.insert(p);
		}
	}
	let genesis = state.genesis();
	let (records, checks) = crate::cpu(move || {
		let checks = check_records(&genesis, &records, &parties);
		(records, checks)
	})
	.await;
	let mut prepared: Vec<ApiResult<Record>> = Vec::with_capacity(records.len());
	// Inline data, checked and kept all together below: positions and (channel, digest, bytes).
	let (mut positions, mut inline) = (Vec::new(), Vec::new());
	for (i, (record, check)) in records.iter().zip(checks).enumerate() {
		prepared.push(match (check, record) {
			(Err(e), _) => Err(e),
			(Ok(()), Record::First(r)) => Ok(Record::First(r.clone())),
			(Ok(()), Record::Second(r)) => {
				split_inline(state, r.clone()).await.map(|(r, bytes)| {
					if let Some(bytes) = bytes {
						positions.push(i);
						inline.push((r.channel_id, r.claim.digest, bytes));
					}
					Record::Second(r)
				})
			},
		});
	}
	let mut data = BatchData::default();
	if !inline.is_empty() {
		let (checked, checked_data) = check_inline(state, inline).await?;
		data = checked_data;
		for (i, checked) in positions.into_iter().zip(checked) {
			if let Err(e) = checked {
				prepared[i] = Err(e);
			}
		}
	}
	let mut results: Vec<Option<ApiResult<Submitted>>> = (0..records.len()).map(|_| None).collect();
	let mut to_store = Vec::new();
	let mut stored_at = Vec::new();
	for (i, (record, prepared)) in records.iter().zip(prepared).enumerate() {
		match prepared {
			Ok(r) => {
				to_store.push(r);
				stored_at.push(i);
			},
			Err(e) => {
				count(state, record, "rejected");
				results[i] = Some(Err(e));
			},
		}
	}
	if !to_store.is_empty() {
		let (outcomes, new_bytes) = state.store.submit_with(&to_store, &data).await?;
		state.metrics.blob_bytes.inc_by(new_bytes);
		state.records_arrived.notify_one();
		for (i, submitted) in stored_at.into_iter().zip(outcomes) {
			if let Some(record) = records.get(i) {
				count(state, record, submitted.outcome.wire().as_str());
			}
			results[i] = Some(Ok(submitted));
		}
	}
	Ok(results
		.into_iter()
		.map(|r| r.unwrap_or_else(|| Err(ApiError::Internal("record lost".into()))))
		.collect())
}

/// Take the data of `digest` from an upload stream by the requester of `channel`: stored
/// when new, only hashed when stored already; either way the channel's requester has then
/// proven it holds the bytes. Returns the size and whether it was new.
pub async fn upload<S, E>(
	state: &AppState,
	channel: &ChannelId,
	digest: Hash,
	stream: S,
) -> ApiResult<(u64, bool)>
where
	S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
	E: std::fmt::Display,
{
	let limits = UploadLimits {
		max_bytes: state.config.max_upload_bytes,
		idle: Duration::from_secs(state.config.upload_idle_secs.max(1)),
		min_rate: state.config.upload_min_rate,
	};
	let stored = match state.store.blob_in_database(&digest).await? {
		Some(true) => true,
		Some(false) => state.blobs.contains(&digest).await?,
		None => false,
	};
	let result = state.blobs.ingest_with(Some(digest), stream, &limits, !stored).await;
	let (d, size) = match result {
		Err(e @ IngestError::Truncated { .. }) if e.to_string().contains("minimum") => {
			state.metrics.uploads_refused.with_label_values(&["too_slow"]).inc();
			return Err(ingest_error(e));
		},
		other => other.map_err(ingest_error)?,
	};
	let data = BatchData {
		stored: if stored { Vec::new() } else { vec![(d, size)] },
		possession: vec![(*channel, d)],
		..Default::default()
	};
	let new_bytes = state.store.put_data(&data).await?;
	state.metrics.blob_bytes.inc_by(new_bytes);
	Ok((size, !stored))
}

/// Uploads in progress, bounded in all and per party.
#[derive(Clone)]
pub struct Uploads {
	inner: Arc<UploadsInner>,
}

struct UploadsInner {
	total: Arc<tokio::sync::Semaphore>,
	max_total: usize,
	per_party: Mutex<HashMap<[u8; 32], usize>>,
	max_per_party: usize,
}

/// A place among the uploads in progress, given back when dropped.
pub struct UploadPermit {
	_total: tokio::sync::OwnedSemaphorePermit,
	party: [u8; 32],
	inner: Arc<UploadsInner>,
}

impl Drop for UploadPermit {
	fn drop(&mut self) {
		if let Ok(mut m) = self.inner.per_party.lock() {
			if let Some(n) = m.get_mut(&self.party) {
				*n = n.saturating_sub(1);
				if *n == 0 {
					m.remove(&self.party);
				}
			}
		}
	}
}

impl Uploads {
	/// At most `max_total` uploads at once, `max_per_party` of one party.
	pub fn new(max_total: usize, max_per_party: usize) -> Self {
		Uploads {
			inner: Arc::new(UploadsInner {
				total: Arc::new(tokio::sync::Semaphore::new(max_total.max(1))),
				max_total: max_total.max(1),
				per_party: Mutex::new(HashMap::new()),
				max_per_party: max_per_party.max(1),
			}),
		}
	}

	/// A place for an upload signed by `party`, or at once the error to answer.
	pub fn start(&self, state: &AppState, party: [u8; 32]) -> ApiResult<UploadPermit> {
		let inner = &self.inner;
		let mut m = inner
			.per_party
			.lock()
			.map_err(|_| ApiError::Internal("upload table poisoned".into()))?;
		if m.get(&party).copied().unwrap_or(0) >= inner.max_per_party {
			state.metrics.uploads_refused.with_label_values(&["party_busy"]).inc();
			return Err(ApiError::TooManyUploads(format!(
				"{} has {} uploads in progress, the most one party may have; wait for one to \
				 finish",
				hex0x(&party),
				inner.max_per_party
			)));
		}
		let Ok(total) = inner.total.clone().try_acquire_owned() else {
			state.metrics.uploads_refused.with_label_values(&["busy"]).inc();
			return Err(ApiError::Busy(format!(
				"the server has {} uploads in progress, its limit; retry in a few seconds",
				inner.max_total
			)));
		};
		// Counted only once both places are taken; the permit's drop gives both back.
		*m.entry(party).or_insert(0) += 1;
		Ok(UploadPermit { _total: total, party, inner: inner.clone() })
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use attest_primitives::{signing::sign, ItemClaim};
	use sp_core::Pair;

	fn account<P: Pair>(p: &P) -> [u8; 32]
	where
		P::Public: Into<sp_runtime::MultiSigner>,
	{
		account_of(&p.public().into()).into()
	}

	/// Batch verification gives the same answer as one-by-one checks, and names each bad
	/// record: a forged signature, a signature by another key, a record of the right signer
	/// over another claim, an ed25519 record, a channel nobody looked up.
	#[test]
	fn batch_checks_name_every_bad_record() {
		let genesis = Hash([7; 32]);
		let channel = Hash([1; 32]);
		let bob = sp_core::sr25519::Pair::from_string("//Bob", None).expect("bob");
		let eve = sp_core::sr25519::Pair::from_string("//Eve", None).expect("eve");
		let ed = sp_core::ed25519::Pair::from_string("//Bob", None).expect("ed");
		let claim = |seq: u64| ItemClaim {
			seq,
			digest: Hash([seq as u8; 32]),
			payment_hash: Hash([2; 32]),
		};
		let mut records: Vec<Record> = (0..600)
			.map(|s| Record::First(sign::first_record(&bob, &genesis, channel, claim(s))))
			.collect();
		let bad = [5usize, 130, 131, 599];
		if let Record::First(r) = &mut records[5] {
			r.verifier_signature = sp_runtime::MultiSignature::Sr25519(
				sp_core::sr25519::Signature::from_raw([0x11; 64]),
			);
		}
		if let Record::First(r) = &mut records[130] {
			r.verifier_signature =
				sign::first_record(&eve, &genesis, channel, claim(130)).verifier_signature;
		}
		if let Record::First(r) = &mut records[131] {
			r.claim.digest = Hash([0xee; 32]); // signed for another digest
		}
		if let Record::First(r) = &mut records[599] {
			r.channel_id = Hash([9; 32]); // no parties known
		}
		// An ed25519 verifier's record in another channel: checked one by one, valid.
		let ed_channel = Hash([3; 32]);
		records.push(Record::First(sign::first_record(&ed, &genesis, ed_channel, claim(0))));
		let mut parties = HashMap::new();
		parties.insert(channel, Ok(Parties { requester: [0; 32], verifier: account(&bob) }));
		parties.insert(ed_channel, Ok(Parties { requester: [0; 32], verifier: account(&ed) }));
		let results = check_records(&genesis, &records, &parties);
		assert_eq!(results.len(), records.len());
		for (i, r) in results.iter().enumerate() {
			match (bad.contains(&i), r) {
				(false, Ok(())) => {},
				(true, Err(ApiError::BadSignature(_))) if i != 599 => {},
				(true, Err(ApiError::Internal(_))) if i == 599 => {},
				(_, other) => panic!("record {i}: {other:?}"),
			}
		}
		// A group without bad records passes as a batch.
		assert!(batch_verified(&genesis, &records[200..328].iter().collect::<Vec<_>>()));
		assert!(!batch_verified(&genesis, &records[100..228].iter().collect::<Vec<_>>()));
	}
}
