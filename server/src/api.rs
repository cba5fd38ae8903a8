//! HTTP API (`/v1`), the verify page (`/`), `/healthz` and `/metrics`.

use crate::{
	anchors,
	blobs::IngestError,
	error::ApiError,
	store::{Item, Outcome, Parties, Record},
	AppState,
};
use attest_primitives::{
	channel::{ChannelId, DataRef, FirstRecord, SecondRecord, Seq},
	signing::{self, account_of, Kind},
	Anchor, Hash, InclusionProof,
};
use axum::{
	body::{Body, Bytes},
	extract::{rejection::BytesRejection, MatchedPath, Path, RawQuery, Request, State},
	http::{header, HeaderMap, HeaderValue, StatusCode},
	middleware::{self, Next},
	response::{Html, IntoResponse, Response},
	routing::{get, post, put},
	Json, Router,
};
use codec::{Decode, Encode};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, sync::Arc, time::Duration};

type St = State<Arc<AppState>>;
type ApiResult<T> = Result<T, ApiError>;

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");
/// The verify page.
pub const INDEX_HTML: &str = include_str!("../web/index.html");

/// Build the router.
pub fn router(state: Arc<AppState>) -> Router {
	let timeout = Duration::from_secs(state.config.request_timeout_secs);
	let json_limit = state.config.max_json_bytes;
	// Everything but blob transfers: bounded body, bounded time.
	let bounded = Router::new()
		.route("/", get(index))
		.route("/healthz", get(healthz))
		.route("/metrics", get(metrics))
		.route("/v1/openapi.json", get(openapi))
		.route("/v1/info", get(info))
		.route("/v1/records/first", post(submit_first))
		.route("/v1/records/second", post(submit_second))
		.route("/v1/records/batch", post(submit_batch))
		.route("/v1/items/{digest}", get(item_status))
		.route("/v1/items/{digest}/proof", get(item_proof))
		.route("/v1/anchors", post(relay_anchor))
		.route("/v1/channels/{channel}/anchors/{index}", get(get_anchor))
		.layer(axum::extract::DefaultBodyLimit::max(json_limit))
		.layer(middleware::from_fn_with_state(timeout, time_limit));
	// Blob transfers are streamed: limited by size and by an idle timeout instead.
	let streaming = Router::new()
		.route("/v1/blobs/{digest}", put(put_blob).get(get_blob))
		.route("/v1/records/second/stream", post(submit_second_stream))
		.layer(axum::extract::DefaultBodyLimit::disable());
	bounded
		.merge(streaming)
		.fallback(not_found)
		.method_not_allowed_fallback(method_not_allowed)
		.layer(middleware::from_fn_with_state(state.clone(), observe))
		.with_state(state)
}

async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
	match tokio::time::timeout(limit, next.run(req)).await {
		Ok(r) => r,
		Err(_) => {
			let mut r = ApiError::BadRequest(format!(
				"request not completed within {} s; send smaller batches",
				limit.as_secs()
			))
			.into_response();
			*r.status_mut() = StatusCode::REQUEST_TIMEOUT;
			r
		},
	}
}

async fn observe(State(state): St, req: Request, next: Next) -> Response {
	let start = std::time::Instant::now();
	let method = req.method().clone();
	let route = req
		.extensions()
		.get::<MatchedPath>()
		.map(|p| p.as_str().to_string())
		.unwrap_or_else(|| "unmatched".into());
	let response = next.run(req).await;
	state
		.metrics
		.latency
		.with_label_values(&[method.as_str(), &route, response.status().as_str()])
		.observe(start.elapsed().as_secs_f64());
	response
}

async fn not_found() -> ApiError {
	ApiError::NotFound("no such endpoint; see /v1/openapi.json".into())
}

async fn method_not_allowed() -> Response {
	let mut r =
		ApiError::BadRequest("method not allowed on this endpoint; see /v1/openapi.json".into())
			.into_response();
	*r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
	r
}

// ---------------------------------------------------------------------------------------
// Parsing helpers

/// Parse `0x`-prefixed (or bare) 64-digit hex.
pub fn parse_hash(s: &str, what: &str) -> ApiResult<Hash> {
	let hex = s.strip_prefix("0x").unwrap_or(s);
	let mut out = [0u8; 32];
	hex::decode_to_slice(hex, &mut out).map_err(|_| {
		ApiError::BadRequest(format!("{what} must be 32 bytes as 64 hex digits (0x...), got {s:?}"))
	})?;
	Ok(Hash(out))
}

fn parse_hex_bytes(s: &str, what: &str) -> ApiResult<Vec<u8>> {
	hex::decode(s.strip_prefix("0x").unwrap_or(s))
		.map_err(|_| ApiError::BadRequest(format!("{what} must be hex (0x...)")))
}

fn body_bytes(body: Result<Bytes, BytesRejection>, limit: usize) -> ApiResult<Bytes> {
	body.map_err(|e| match e {
		BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
			ApiError::TooLarge(format!(
				"request body larger than {limit} bytes; upload data with PUT /v1/blobs/{{digest}} \
				 and send smaller batches"
			))
		},
		other => ApiError::Truncated(format!("could not read the request body: {other}")),
	})
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<T> {
	serde_json::from_slice(bytes)
		.map_err(|e| ApiError::BadRequest(format!("invalid {what} JSON: {e}")))
}

fn query_map(q: Option<String>) -> HashMap<String, String> {
	q.map(|q| {
		q.split('&')
			.filter_map(|kv| {
				let (k, v) = kv.split_once('=')?;
				Some((k.to_string(), v.to_string()))
			})
			.collect()
	})
	.unwrap_or_default()
}

fn hex0x(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

// ---------------------------------------------------------------------------------------
// Records

/// Answer to a record submission.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
	/// `stored`, `already_stored`, `conflict` or `rejected`.
	pub outcome: String,
	/// Other `(channel, seq)` slots that claim the same digest (earlier or later claims by
	/// others: a conflict to look at, never overwritten).
	#[serde(default)]
	pub other_claims: u64,
	/// For `conflict` and `rejected`: the error code.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub error: Option<String>,
	/// For `conflict` and `rejected`: what was wrong.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub message: Option<String>,
}

/// One record of a batch.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub enum BatchRecord {
	/// A verifier's record.
	First(FirstRecord),
	/// A requester's record (data by reference to an uploaded blob, or inline).
	Second(SecondRecord),
}

/// A batch submission.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Batch {
	/// The records, stored in one transaction.
	pub records: Vec<BatchRecord>,
}

/// Answer to a batch: one result per record, in order.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct BatchResult {
	/// Results.
	pub results: Vec<SubmitResult>,
}

impl AppState {
	/// Parties of `channel`: from memory, the database, or the chain (best block).
	pub async fn parties(&self, channel: &ChannelId) -> ApiResult<Parties> {
		if let Some(p) = self.channels.read().ok().and_then(|c| c.get(channel).copied()) {
			return Ok(p);
		}
		let parties = match self.store.channel(channel).await? {
			Some(p) => p,
			None => {
				let on_chain = self
					.chain
					.channel(channel)
					.await
					.map_err(|e| ApiError::ChainUnavailable(format!("{e}; retry later")))?;
				let Some(p) = on_chain else {
					return Err(ApiError::UnknownChannel(format!(
						"channel {channel:?} is not open on the chain (genesis {:?}); open it with \
						 Attestation.open_channel first, or check the channel id",
						self.genesis()
					)));
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
}

impl BatchRecord {
	/// Channel of the record.
	pub fn channel_id(&self) -> ChannelId {
		match self {
			BatchRecord::First(r) => r.channel_id,
			BatchRecord::Second(r) => r.channel_id,
		}
	}

	/// `first` or `second`.
	pub fn kind(&self) -> &'static str {
		match self {
			BatchRecord::First(_) => "first",
			BatchRecord::Second(_) => "second",
		}
	}
}

/// Check a record against its channel's parties and its signature (CPU only).
fn check_record(genesis: &Hash, record: &BatchRecord, parties: &Parties) -> ApiResult<()> {
	let (seq, signer, party, role) = match record {
		BatchRecord::First(r) => {
			(r.claim.seq, account_of(&r.verifier), parties.verifier, "verifier")
		},
		BatchRecord::Second(r) => {
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
	let verified = match record {
		BatchRecord::First(r) => r.verify(genesis),
		BatchRecord::Second(r) => r.verify(genesis),
	};
	verified.map_err(|e| ApiError::BadSignature(format!("{} record: {e}", record.kind())))
}

fn result_of(outcome: &Outcome, others: u64) -> SubmitResult {
	match outcome {
		Outcome::Stored => SubmitResult {
			outcome: "stored".into(),
			other_claims: others,
			error: None,
			message: None,
		},
		Outcome::AlreadyStored => SubmitResult {
			outcome: "already_stored".into(),
			other_claims: others,
			error: None,
			message: None,
		},
		Outcome::Conflict(stored) => SubmitResult {
			outcome: "conflict".into(),
			other_claims: others,
			error: Some("conflict".into()),
			message: Some(format!(
				"item {} of this channel is already claimed with digest {:?} and payment hash {:?}; \
				 the stored claim is kept",
				stored.seq, stored.digest, stored.payment_hash
			)),
		},
	}
}

fn rejected(e: &ApiError) -> SubmitResult {
	SubmitResult {
		outcome: "rejected".into(),
		other_claims: 0,
		error: Some(e.code().into()),
		message: Some(e.to_string()),
	}
}

fn count(state: &AppState, record: &BatchRecord, result: &str) {
	state.metrics.records.with_label_values(&[record.kind(), result]).inc();
}

/// Make a second record's data a blob reference: inline data is checked and stored; a
/// referenced blob must be stored and be the claimed digest.
async fn settle_data(state: &AppState, r: SecondRecord) -> ApiResult<SecondRecord> {
	let (r, inline) = take_inline(state, r).await?;
	if let Some(bytes) = inline {
		let stored = store_inline(state, vec![(r.claim.digest, bytes)]).await?;
		stored
			.into_iter()
			.next()
			.unwrap_or_else(|| Err(ApiError::Internal("no outcome".into())))?;
	}
	Ok(r)
}

/// Split a second record into the record with its data as a blob reference and the inline
/// bytes still to store (none when the data was a reference, or is stored already). Too
/// large inline data, a reference to another digest or to a blob not stored: an error.
async fn take_inline(
	state: &AppState,
	mut r: SecondRecord,
) -> ApiResult<(SecondRecord, Option<Vec<u8>>)> {
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
			let needed = state.store.blob(&digest).await?.is_none();
			Ok((r, needed.then_some(bytes)))
		},
		DataRef::Blob(d) => {
			if d != digest {
				return Err(ApiError::DigestMismatch(format!(
					"the record points at blob {d:?} but claims digest {digest:?}"
				)));
			}
			if state.store.blob(&d).await?.is_none() {
				return Err(ApiError::NotFound(format!(
					"blob {d:?} is not stored; upload it with PUT /v1/blobs/{d:?} (after the first \
					 record) or send the data with POST /v1/records/second/stream"
				)));
			}
			Ok((r, None))
		},
	}
}

/// Store inline data (digest, bytes) as blobs, all together ([`crate::blobs::BlobStore::put_many`])
/// and indexed in one transaction. One result per item, in order.
async fn store_inline(
	state: &AppState,
	items: Vec<(Hash, Vec<u8>)>,
) -> ApiResult<Vec<ApiResult<()>>> {
	let mut stored = Vec::new();
	let mut results = Vec::with_capacity(items.len());
	for outcome in state.blobs.put_many(items).await {
		match outcome {
			Ok(blob) => {
				stored.push(blob);
				results.push(Ok(()));
			},
			Err(e) => results.push(Err(ingest_error(e))),
		}
	}
	state.store.put_blobs(&stored).await?;
	stored.sort_unstable_by_key(|(d, _)| d.0);
	stored.dedup_by_key(|(d, _)| d.0);
	state.metrics.blob_bytes.inc_by(stored.iter().map(|(_, size)| size).sum());
	Ok(results)
}

fn ingest_error(e: IngestError) -> ApiError {
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

/// Check and store one record; the answer's status says what happened.
async fn submit_one(
	state: &AppState,
	record: BatchRecord,
) -> ApiResult<(StatusCode, Json<SubmitResult>)> {
	let channel = record.channel_id();
	let checked = async {
		let parties = state.parties(&channel).await?;
		check_record(&state.genesis(), &record, &parties)?;
		Ok::<_, ApiError>(())
	}
	.await;
	if let Err(e) = checked {
		count(state, &record, "rejected");
		return Err(e);
	}
	let to_store = match record.clone() {
		BatchRecord::First(r) => Record::First(r),
		BatchRecord::Second(r) => Record::Second(settle_data(state, r).await?),
	};
	let stored = state.store.submit(std::slice::from_ref(&to_store)).await?;
	let (outcome, others) = stored
		.into_iter()
		.next()
		.ok_or_else(|| ApiError::Internal("no outcome".into()))?;
	let result = result_of(&outcome, others);
	count(state, &record, &result.outcome);
	match outcome {
		Outcome::Stored => Ok((StatusCode::CREATED, Json(result))),
		Outcome::AlreadyStored => Ok((StatusCode::OK, Json(result))),
		Outcome::Conflict(_) => Err(ApiError::Conflict(result.message.unwrap_or_default())),
	}
}

async fn submit_first(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let record: FirstRecord = parse_json(&body, "first record")?;
	submit_one(&state, BatchRecord::First(record)).await
}

async fn submit_second(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let record: SecondRecord = parse_json(&body, "second record")?;
	submit_one(&state, BatchRecord::Second(record)).await
}

/// Header carrying the SCALE-encoded second record (hex) of a streamed upload.
pub const RECORD_HEADER: &str = "attest-record";

async fn submit_second_stream(
	State(state): St,
	headers: HeaderMap,
	body: Body,
) -> ApiResult<impl IntoResponse> {
	let raw = headers.get(RECORD_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(|| {
		ApiError::BadRequest(format!(
			"missing header {RECORD_HEADER}: the hex SCALE encoding of the SecondRecord, its \
				 data a blob reference to the digest"
		))
	})?;
	let bytes = parse_hex_bytes(raw, RECORD_HEADER)?;
	let record = SecondRecord::decode(&mut &bytes[..]).map_err(|e| {
		ApiError::BadRequest(format!("{RECORD_HEADER} is not a SCALE SecondRecord: {e}"))
	})?;
	let record = BatchRecord::Second(record);
	let BatchRecord::Second(r) = &record else { unreachable!() };
	// Check who sends before taking any data.
	let parties = state
		.parties(&r.channel_id)
		.await
		.inspect_err(|_| count(&state, &record, "rejected"))?;
	check_record(&state.genesis(), &record, &parties)
		.inspect_err(|_| count(&state, &record, "rejected"))?;
	let digest = r.claim.digest;
	ingest(&state, digest, body).await?;
	let BatchRecord::Second(mut r) = record else { unreachable!() };
	r.data = DataRef::Blob(digest);
	submit_one(&state, BatchRecord::Second(r)).await
}

async fn submit_batch(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<BatchResult>> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let batch: Batch = parse_json(&body, "batch")?;
	if batch.records.len() > state.config.max_batch {
		return Err(ApiError::TooLarge(format!(
			"batch of {} records; at most {} per request",
			batch.records.len(),
			state.config.max_batch
		)));
	}
	// Channels first (few distinct ones), then every signature in parallel.
	let mut parties: HashMap<ChannelId, Result<Parties, String>> = HashMap::new();
	for record in &batch.records {
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
	let records = batch.records;
	let (records, checks) = tokio::task::spawn_blocking(move || {
		let checks: Vec<ApiResult<()>> = records
			.par_iter()
			.map(|record| {
				let id = record.channel_id();
				match parties.get(&id) {
					Some(Ok(p)) => check_record(&genesis, record, p),
					Some(Err(msg)) => Err(ApiError::UnknownChannel(msg.clone())),
					None => Err(ApiError::Internal("channel not looked up".into())),
				}
			})
			.collect();
		(records, checks)
	})
	.await
	.map_err(|e| ApiError::Internal(e.to_string()))?;
	let mut prepared: Vec<ApiResult<Record>> = Vec::with_capacity(records.len());
	// Inline data not stored yet, stored all together below: positions and (digest, bytes).
	let (mut positions, mut inline) = (Vec::new(), Vec::new());
	for (i, (record, check)) in records.iter().zip(checks).enumerate() {
		prepared.push(match (check, record) {
			(Err(e), _) => Err(e),
			(Ok(()), BatchRecord::First(r)) => Ok(Record::First(r.clone())),
			(Ok(()), BatchRecord::Second(r)) => {
				take_inline(&state, r.clone()).await.map(|(r, bytes)| {
					if let Some(bytes) = bytes {
						positions.push(i);
						inline.push((r.claim.digest, bytes));
					}
					Record::Second(r)
				})
			},
		});
	}
	if !inline.is_empty() {
		for (i, stored) in positions.into_iter().zip(store_inline(&state, inline).await?) {
			if let Err(e) = stored {
				prepared[i] = Err(e);
			}
		}
	}
	let mut results: Vec<Option<SubmitResult>> = vec![None; records.len()];
	let mut to_store = Vec::new();
	let mut positions = Vec::new();
	for (i, (record, prepared)) in records.iter().zip(prepared).enumerate() {
		match prepared {
			Ok(r) => {
				to_store.push(r);
				positions.push(i);
			},
			Err(e) => {
				count(&state, record, "rejected");
				results[i] = Some(rejected(&e));
			},
		}
	}
	let outcomes = state.store.submit(&to_store).await?;
	for (i, (outcome, others)) in positions.into_iter().zip(outcomes) {
		let r = result_of(&outcome, others);
		if let Some(record) = records.get(i) {
			count(&state, record, &r.outcome);
		}
		results[i] = Some(r);
	}
	Ok(Json(BatchResult {
		results: results
			.into_iter()
			.map(|r| r.unwrap_or_else(|| rejected(&ApiError::Internal("lost".into()))))
			.collect(),
	}))
}

// ---------------------------------------------------------------------------------------
// Blobs

async fn ingest(state: &AppState, digest: Hash, body: Body) -> ApiResult<(StatusCode, u64)> {
	if let Some(size) = state.store.blob(&digest).await? {
		if state.blobs.contains(&digest).await? {
			return Ok((StatusCode::OK, size));
		}
	}
	let stream = body.into_data_stream();
	let (d, size) = state
		.blobs
		.ingest(
			Some(digest),
			stream,
			state.config.max_upload_bytes,
			Duration::from_secs(state.config.upload_idle_secs.max(1)),
		)
		.await
		.map_err(ingest_error)?;
	state.store.put_blob(&d, size).await?;
	state.metrics.blob_bytes.inc_by(size);
	Ok((StatusCode::CREATED, size))
}

/// Answer to a blob upload.
#[derive(Serialize, Deserialize, Debug)]
pub struct BlobStored {
	/// SHA-256 of the bytes.
	pub digest: Hash,
	/// Bytes stored.
	pub size: u64,
}

async fn put_blob(
	State(state): St,
	Path(digest): Path<String>,
	headers: HeaderMap,
	body: Body,
) -> ApiResult<impl IntoResponse> {
	let digest = parse_hash(&digest, "digest")?;
	if let Some(len) = headers
		.get(header::CONTENT_LENGTH)
		.and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
	{
		if len > state.config.max_upload_bytes {
			return Err(ApiError::TooLarge(format!(
				"upload of {len} bytes exceeds the limit of {} bytes",
				state.config.max_upload_bytes
			)));
		}
	}
	if !state.store.digest_claimed(&digest).await? {
		return Err(ApiError::NotFound(format!(
			"no record claims digest {digest:?}; the data of an item is taken once its verifier's \
			 first record is stored"
		)));
	}
	let (status, size) = ingest(&state, digest, body).await?;
	Ok((status, Json(BlobStored { digest, size })))
}

async fn get_blob(
	State(state): St,
	Path(digest): Path<String>,
	RawQuery(q): RawQuery,
) -> ApiResult<Response> {
	let digest = parse_hash(&digest, "digest")?;
	let q = query_map(q);
	let need = |k: &str| {
		q.get(k).cloned().ok_or_else(|| {
			ApiError::BadSignature(format!(
				"reading data needs a signed request: query parameters channel, expires, signer, \
				 signature (missing {k}); see docs/server.md"
			))
		})
	};
	let channel = parse_hash(&need("channel")?, "channel")?;
	let expires: u64 = need("expires")?
		.parse()
		.map_err(|_| ApiError::BadRequest("expires must be unix time in milliseconds".into()))?;
	let signer =
		sp_runtime::MultiSigner::decode(&mut &parse_hex_bytes(&need("signer")?, "signer")?[..])
			.map_err(|_| {
				ApiError::BadRequest("signer must be a SCALE MultiSigner in hex".into())
			})?;
	let signature = sp_runtime_sig(&need("signature")?)?;
	let now = crate::store::now_ms().max(0) as u64;
	if expires < now {
		return Err(ApiError::BadSignature(format!(
			"the read request expired at {expires} (now {now}); sign a new one"
		)));
	}
	let max = state.config.max_read_validity_secs.saturating_mul(1000);
	if expires > now.saturating_add(max) {
		return Err(ApiError::BadRequest(format!(
			"expires is more than {} s ahead; sign requests valid for at most that long",
			state.config.max_read_validity_secs
		)));
	}
	let account = account_of(&signer);
	signing::verify(
		Kind::BlobRead,
		&state.genesis(),
		&channel,
		&(digest, expires),
		&signature,
		&account,
	)
	.map_err(|e| ApiError::BadSignature(format!("blob read request: {e}")))?;
	let items = state.store.items_in_channel(&channel, &digest).await?;
	if items.is_empty() {
		return Err(ApiError::NotFound(format!(
			"channel {channel:?} has no item with digest {digest:?}"
		)));
	}
	let parties = state.parties(&channel).await?;
	let who: [u8; 32] = account.into();
	if who != parties.requester && who != parties.verifier {
		return Err(ApiError::Forbidden(
			"only the requester or the verifier of an item may read its data".into(),
		));
	}
	let Some(size) = state.store.blob(&digest).await? else {
		return Err(ApiError::NotFound(format!("the data of {digest:?} has not been uploaded")));
	};
	let body = Body::from_stream(state.blobs.read(&digest).await?);
	let mut r = Response::new(body);
	r.headers_mut()
		.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
	r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
	Ok(r)
}

fn sp_runtime_sig(s: &str) -> ApiResult<sp_runtime::MultiSignature> {
	let bytes = parse_hex_bytes(s, "signature")?;
	sp_runtime::MultiSignature::decode(&mut &bytes[..])
		.map_err(|_| ApiError::BadRequest("signature must be a SCALE MultiSignature in hex".into()))
}

// ---------------------------------------------------------------------------------------
// Items and proofs

/// Where an item is anchored.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatus {
	/// Channel of the item.
	pub channel_id: ChannelId,
	/// Sequence number in the channel.
	pub seq: Seq,
	/// Payment hash of the HTLC that paid for it.
	pub payment_hash: Hash,
	/// Requester's account (hex).
	pub requester: Option<String>,
	/// Verifier's account (hex).
	pub verifier: Option<String>,
	/// `pending` (not yet anchored) or `anchored`.
	pub status: String,
	/// When the verifier's record arrived (unix ms).
	pub first_record_at: Option<i64>,
	/// When the requester's record arrived (unix ms).
	pub second_record_at: Option<i64>,
	/// Whether the data is stored.
	pub has_data: bool,
	/// The anchor, once anchored.
	pub anchor: Option<Anchor>,
	/// The verifier's signed record.
	pub first_record: Option<FirstRecord>,
	/// The requester's signed record (data as a blob reference).
	pub second_record: Option<SecondRecord>,
}

/// Everything known of a digest.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
	/// The digest.
	pub digest: Hash,
	/// More than one `(channel, seq)` claims it.
	pub conflict: bool,
	/// The claims, oldest first.
	pub claims: Vec<ClaimStatus>,
}

async fn claim_status(state: &AppState, item: Item) -> ApiResult<ClaimStatus> {
	let anchor = match item.anchor_index {
		Some(i) => state.store.anchor(&item.channel_id, i).await?.map(|a| a.anchor),
		None => None,
	};
	let parties = state.store.channel(&item.channel_id).await?;
	Ok(ClaimStatus {
		channel_id: item.channel_id,
		seq: item.claim.seq,
		payment_hash: item.claim.payment_hash,
		requester: parties.map(|p| hex0x(&p.requester)),
		verifier: parties.map(|p| hex0x(&p.verifier)),
		status: if anchor.is_some() { "anchored" } else { "pending" }.into(),
		first_record_at: item.first_at,
		second_record_at: item.second_at,
		has_data: item.second.is_some() && state.store.blob(&item.claim.digest).await?.is_some(),
		anchor,
		first_record: item.first,
		second_record: item.second,
	})
}

async fn item_status(State(state): St, Path(digest): Path<String>) -> ApiResult<Json<ItemStatus>> {
	let digest = parse_hash(&digest, "digest")?;
	let items = state.store.items_by_digest(&digest).await?;
	if items.is_empty() {
		return Err(ApiError::NotFound(format!("no record claims digest {digest:?}")));
	}
	let mut claims = Vec::with_capacity(items.len());
	for item in items {
		claims.push(claim_status(&state, item).await?);
	}
	Ok(Json(ItemStatus { digest, conflict: claims.len() > 1, claims }))
}

/// A complete proof of one item (SCALE: the fields in this order).
#[derive(Serialize, Deserialize, Encode, Decode, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AttestationProof {
	/// The anchor on chain (checked against finalized storage).
	pub anchor: Anchor,
	/// Inclusion of the item's digest under `anchor.log.root`: `PATH(seq, D[anchor.log.size])`,
	/// the leaf index is the item's `seq`.
	pub proof: InclusionProof,
	/// The verifier's signed record (its claim holds the digest and seq).
	pub first_record: FirstRecord,
	/// The requester's signed record, data as a blob reference.
	pub second_record: Option<SecondRecord>,
}

/// The JSON answer of the proof endpoint: the proof plus its SCALE bytes.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProofResponse {
	/// Genesis hash of the chain.
	pub genesis: Hash,
	/// The proof.
	#[serde(flatten)]
	pub proof: AttestationProof,
	/// SCALE encoding of `proof`, hex.
	pub scale: String,
}

async fn item_proof(
	State(state): St,
	Path(digest): Path<String>,
	RawQuery(q): RawQuery,
	headers: HeaderMap,
) -> ApiResult<Response> {
	let digest = parse_hash(&digest, "digest")?;
	let q = query_map(q);
	let mut items = state.store.items_by_digest(&digest).await?;
	if let Some(c) = q.get("channel") {
		let c = parse_hash(c, "channel")?;
		items.retain(|i| i.channel_id == c);
	}
	if let Some(s) = q.get("seq") {
		let s: u64 = s.parse().map_err(|_| ApiError::BadRequest("seq must be a number".into()))?;
		items.retain(|i| i.claim.seq == s);
	}
	let Some(item) = items.iter().find(|i| i.anchor_index.is_some()).or(items.first()).cloned()
	else {
		return Err(ApiError::NotFound(format!("no record claims digest {digest:?}")));
	};
	let Some(index) = item.anchor_index else {
		return Err(ApiError::NotReady(format!(
			"item {} of channel {:?} is not anchored yet; it is after the channel's next checkpoint \
			 or close is finalized",
			item.claim.seq, item.channel_id
		)));
	};
	let Some(first_record) = item.first.clone() else {
		return Err(ApiError::NotReady("the verifier's record of this item is not stored".into()));
	};
	let anchor = state
		.store
		.anchor(&item.channel_id, index)
		.await?
		.ok_or_else(|| ApiError::Internal("anchor row missing".into()))?
		.anchor;
	let tree = anchors::tree(&state, &anchor).await?.ok_or_else(|| {
		ApiError::NotReady(
			"the records of this anchored log are not all stored here, or do not give the \
			 anchored root"
				.into(),
		)
	})?;
	let leaf = item.claim.seq;
	let proof = tree.inclusion_proof(leaf).map_err(|e| ApiError::Internal(e.to_string()))?;
	let proof = AttestationProof { anchor, proof, first_record, second_record: item.second };
	let scale = proof.encode();
	let wants_scale = q.get("format").map(|f| f == "scale").unwrap_or(false)
		|| headers
			.get(header::ACCEPT)
			.and_then(|v| v.to_str().ok())
			.map(|a| a.contains("application/octet-stream"))
			.unwrap_or(false);
	if wants_scale {
		return Ok(([(header::CONTENT_TYPE, "application/octet-stream")], scale).into_response());
	}
	Ok(Json(ProofResponse { genesis: state.genesis(), proof, scale: hex0x(&scale) })
		.into_response())
}

// ---------------------------------------------------------------------------------------
// Anchors

/// Answer to a relayed anchor.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AnchorAccepted {
	/// `accepted` (new) or `known`.
	pub outcome: String,
	/// The anchor.
	pub anchor: Anchor,
}

async fn relay_anchor(
	State(state): St,
	headers: HeaderMap,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let scale = headers
		.get(header::CONTENT_TYPE)
		.and_then(|v| v.to_str().ok())
		.map(|c| c.starts_with("application/octet-stream"))
		.unwrap_or(false);
	let anchor: Anchor = if scale {
		Anchor::decode(&mut &body[..])
			.map_err(|e| ApiError::BadRequest(format!("body is not a SCALE Anchor: {e}")))?
	} else {
		parse_json(&body, "anchor")?
	};
	let outcome = anchors::accept(&state, &anchor, "relay").await?;
	let (status, word) = match outcome {
		anchors::Accepted::New => (StatusCode::CREATED, "accepted"),
		anchors::Accepted::Known => (StatusCode::OK, "known"),
	};
	Ok((status, Json(AnchorAccepted { outcome: word.into(), anchor })))
}

async fn get_anchor(
	State(state): St,
	Path((channel, index)): Path<(String, String)>,
) -> ApiResult<Json<Anchor>> {
	let channel = parse_hash(&channel, "channel")?;
	let index: u32 = index
		.parse()
		.map_err(|_| ApiError::BadRequest("index must be a number".into()))?;
	state
		.store
		.anchor(&channel, index)
		.await?
		.map(|a| Json(a.anchor))
		.ok_or_else(|| {
			ApiError::NotFound(format!("no accepted anchor {index} of channel {channel:?}"))
		})
}

// ---------------------------------------------------------------------------------------
// Service endpoints

async fn index() -> Html<&'static str> {
	Html(INDEX_HTML)
}

async fn openapi() -> impl IntoResponse {
	([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Answer of `/v1/info`.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Info {
	/// Genesis hash of the chain whose records this server takes.
	pub genesis: Hash,
	/// Server version.
	pub version: String,
	/// Largest blob, bytes.
	pub max_upload_bytes: u64,
	/// Largest JSON body, bytes.
	pub max_json_bytes: usize,
	/// Most records per batch.
	pub max_batch: usize,
}

async fn info(State(state): St) -> Json<Info> {
	Json(Info {
		genesis: state.genesis(),
		version: env!("CARGO_PKG_VERSION").into(),
		max_upload_bytes: state.config.max_upload_bytes,
		max_json_bytes: state.config.max_json_bytes,
		max_batch: state.config.max_batch,
	})
}

async fn healthz(State(state): St) -> Response {
	let db = state.store.ping().await;
	let chain = tokio::time::timeout(Duration::from_secs(2), state.chain.finalized_number()).await;
	let chain = match chain {
		Ok(Ok(n)) => serde_json::json!({ "status": "ok", "finalized": n }),
		Ok(Err(e)) => serde_json::json!({ "status": "unreachable", "error": e.to_string() }),
		Err(_) => serde_json::json!({ "status": "unreachable", "error": "no answer within 2 s" }),
	};
	// Records and proofs need the database; without the chain, reads still work.
	let body = serde_json::json!({
		"status": if db.is_ok() { "ok" } else { "degraded" },
		"database": match &db { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
		"chain": chain,
		"genesis": state.genesis(),
	});
	let status = if db.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
	(status, Json(body)).into_response()
}

async fn metrics(State(state): St) -> Response {
	if let Ok(totals) = state.store.totals().await {
		for (g, v) in state.metrics.stored.iter().zip(totals) {
			g.set(v);
		}
	}
	([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
