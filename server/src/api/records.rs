//! `/v1/records/*`: the parties' signed records.

use super::ext;
use super::{body_bytes, parse_hex_bytes, parse_json, ApiResult, St};
use crate::{
	error::{ApiError, ErrorBody},
	ingest::{self, SubmitResult},
	store::{Outcome, Record, Submitted},
};
use attest_primitives::channel::{DataRef, FirstRecord, SecondRecord};
use axum::{
	body::{Body, Bytes},
	extract::{rejection::BytesRejection, State},
	http::{HeaderMap, StatusCode},
	response::IntoResponse,
	Json,
};
use codec::Decode;
use serde::{Deserialize, Serialize};

/// A batch submission.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct Batch {
	/// The records, stored in one transaction.
	#[schema(value_type = Vec<RecordDoc>)]
	pub records: Vec<Record>,
}

/// The JSON form of a [`Record`]: `{"first": FirstRecord}` or `{"second": SecondRecord}`.
#[derive(utoipa::ToSchema)]
#[schema(as = Record, rename_all = "camelCase")]
#[allow(dead_code)]
pub enum RecordDoc {
	/// The verifier's record.
	First(ext::FirstRecord),
	/// The requester's record.
	Second(ext::SecondRecord),
}

/// Answer to a batch: one result per record, in order.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct BatchResult {
	/// Results.
	pub results: Vec<SubmitResult>,
}

/// Header carrying the SCALE-encoded second record (hex) of a streamed upload.
pub const RECORD_HEADER: &str = "attest-record";

fn answer(s: Submitted) -> (StatusCode, Json<SubmitResult>) {
	let status = if s.outcome == Outcome::Stored { StatusCode::CREATED } else { StatusCode::OK };
	(status, Json(SubmitResult::of(&s)))
}

/// Submit a verifier's first record
///
/// The signer must be the channel's verifier on chain; the signature (kind
/// attest/record1/v1) is checked. Idempotent: the same claim again answers 200
/// already_stored. Another claim by the verifier for the same (channel, seq) is 409; the
/// requester's record of the slot is never in the way (`disputed` reports a difference).
#[utoipa::path(post, path = "/v1/records/first", tag = "records",
	request_body(content = ext::FirstRecord, content_type = "application/json"),
	responses(
		(status = 201, description = "Stored", body = SubmitResult),
		(status = 200, description = "Already stored", body = SubmitResult),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 401, description = "Missing or bad signature", body = ErrorBody),
		(status = 403, description = "Not the party this needs", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody),
		(status = 409, description = "Conflict, or not ready", body = ErrorBody),
		(status = 413, description = "Too large", body = ErrorBody),
		(status = 422, description = "Unprocessable: unknown channel, digest mismatch, anchor not on chain", body = ErrorBody),
		(status = 503, description = "Chain unavailable, or too many uploads", body = ErrorBody)
	))]
pub(super) async fn submit_first(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let record: FirstRecord = parse_json(&body, "first record")?;
	Ok(answer(ingest::submit_one(&state, Record::First(record)).await?))
}

/// Submit a requester's second record with inline data or a blob reference
///
/// The signer must be the channel's requester. Inline data must hash to claim.digest (and
/// proves the requester holds it); a blob reference must name a stored blob equal to
/// claim.digest.
#[utoipa::path(post, path = "/v1/records/second", tag = "records",
	request_body(content = ext::SecondRecord, content_type = "application/json"),
	responses(
		(status = 201, description = "Stored", body = SubmitResult),
		(status = 200, description = "Already stored", body = SubmitResult),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 401, description = "Missing or bad signature", body = ErrorBody),
		(status = 403, description = "Not the party this needs", body = ErrorBody),
		(status = 404, description = "Not found", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody),
		(status = 409, description = "Conflict, or not ready", body = ErrorBody),
		(status = 413, description = "Too large", body = ErrorBody),
		(status = 422, description = "Unprocessable: unknown channel, digest mismatch, anchor not on chain", body = ErrorBody),
		(status = 503, description = "Chain unavailable, or too many uploads", body = ErrorBody),
		(status = 507, description = "The server's disk is full", body = ErrorBody)
	))]
pub(super) async fn submit_second(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let record: SecondRecord = parse_json(&body, "second record")?;
	Ok(answer(ingest::submit_one(&state, Record::Second(record)).await?))
}

/// A second record in a header, its data as the body: the record's signature authenticates
/// the upload (before any data is taken), the data proves the requester holds it.
/// Submit a second record and stream its data in the same request
///
/// The record (hex SCALE SecondRecord, data = Blob(digest)) is in header attest-record; its
/// signature authenticates the upload before any byte is taken. Bounded like blob uploads.
#[utoipa::path(post, path = "/v1/records/second/stream", tag = "records",
	params(("attest-record" = String, Header, description = "0x-hex SCALE SecondRecord, data = Blob(claim.digest)", pattern = "^0x([0-9a-fA-F]{2})+$")),
	request_body(content = ext::Binary, content_type = "application/octet-stream"),
	responses(
		(status = 201, description = "Stored", body = SubmitResult),
		(status = 200, description = "Already stored", body = SubmitResult),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 401, description = "Missing or bad signature", body = ErrorBody),
		(status = 403, description = "Not the party this needs", body = ErrorBody),
		(status = 409, description = "Conflict, or not ready", body = ErrorBody),
		(status = 413, description = "Too large", body = ErrorBody),
		(status = 422, description = "Unprocessable: unknown channel, digest mismatch, anchor not on chain", body = ErrorBody),
		(status = 429, description = "Too many uploads by this party", body = ErrorBody),
		(status = 503, description = "Chain unavailable, or too many uploads", body = ErrorBody),
		(status = 507, description = "The server's disk is full", body = ErrorBody)
	))]
pub(super) async fn submit_second_stream(
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
	let mut r = SecondRecord::decode(&mut &bytes[..]).map_err(|e| {
		ApiError::BadRequest(format!("{RECORD_HEADER} is not a SCALE SecondRecord: {e}"))
	})?;
	let digest = r.claim.digest;
	if r.data != DataRef::Blob(digest) {
		return Err(ApiError::BadRequest(format!(
			"the record in {RECORD_HEADER} must refer to its data as blob {digest:?}; the data is \
			 the body"
		)));
	}
	// Check who sends before taking any data.
	let parties = state.parties(&r.channel_id).await?;
	let record = Record::Second(r.clone());
	ingest::check_record(&state.genesis(), &record, &parties)?;
	let _permit = state.uploads.start(&state, parties.requester)?;
	ingest::upload(&state, &r.channel_id, digest, body.into_data_stream()).await?;
	r.data = DataRef::Blob(digest);
	Ok(answer(ingest::submit_one(&state, Record::Second(r)).await?))
}

/// Submit many records in one transaction
///
/// Signatures are checked in parallel; each record gets its own result (stored,
/// already_stored, conflict, rejected).
#[utoipa::path(post, path = "/v1/records/batch", tag = "records",
	request_body(content = Batch, content_type = "application/json"),
	responses(
		(status = 200, description = "One result per record, in order", body = BatchResult),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody),
		(status = 413, description = "Too large", body = ErrorBody),
		(status = 503, description = "Chain unavailable, or too many uploads", body = ErrorBody),
		(status = 507, description = "The server's disk is full", body = ErrorBody)
	))]
pub(super) async fn submit_batch(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<BatchResult>> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let batch: Batch = parse_json(&body, "batch")?;
	Ok(Json(BatchResult { results: ingest::submit_batch(&state, batch.records).await? }))
}
