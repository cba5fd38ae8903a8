//! `/v1/records/*`: the parties' signed records.

use super::{body_bytes, parse_hex_bytes, parse_json, ApiResult, St};
use crate::{
	error::ApiError,
	ingest,
	store::{Outcome, Submitted},
	AppState,
};
use attest_primitives::{
	channel::{DataRef, FirstRecord, SecondRecord},
	schema,
};
use attest_wire::{Batch, BatchResult, Record, SubmitResult, RECORD_HEADER};
use axum::{
	body::{Body, Bytes},
	extract::{rejection::BytesRejection, State},
	http::{HeaderMap, StatusCode},
	response::IntoResponse,
	Json,
};
use codec::Decode;

fn answer(s: Submitted) -> (StatusCode, Json<SubmitResult>) {
	let status = if s.outcome == Outcome::Stored { StatusCode::CREATED } else { StatusCode::OK };
	(status, Json(s.answer()))
}

/// One record as a JSON body, `what` to name it in errors.
async fn submit_json<T: serde::de::DeserializeOwned>(
	state: &AppState,
	body: Result<Bytes, BytesRejection>,
	what: &str,
	record: fn(T) -> Record,
) -> ApiResult<(StatusCode, Json<SubmitResult>)> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let r: T = parse_json(&body, what)?;
	Ok(answer(ingest::submit_one(state, record(r)).await?))
}

/// Submit a verifier's first record
///
/// The signer must be the channel's verifier on chain; the signature (kind
/// attest/record1/v1) is checked. Idempotent: the same claim again answers 200
/// already_stored. Another claim by the verifier for the same (channel, seq) is 409; the
/// requester's record of the slot is never in the way (`disputed` reports a difference).
#[utoipa::path(post, path = "/v1/records/first", tag = "records",
	request_body(content = FirstRecord, content_type = "application/json"),
	responses(
		(status = 201, description = "Stored", body = SubmitResult),
		(status = 200, description = "Already stored", body = SubmitResult)
	))]
pub(super) async fn submit_first(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	submit_json(&state, body, "first record", Record::First).await
}

/// Submit a requester's second record with inline data or a blob reference
///
/// The signer must be the channel's requester. Inline data must hash to claim.digest (and
/// proves the requester holds it); a blob reference must name a stored blob equal to
/// claim.digest.
#[utoipa::path(post, path = "/v1/records/second", tag = "records",
	request_body(content = SecondRecord, content_type = "application/json"),
	responses(
		(status = 201, description = "Stored", body = SubmitResult),
		(status = 200, description = "Already stored", body = SubmitResult)
	))]
pub(super) async fn submit_second(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	submit_json(&state, body, "second record", Record::Second).await
}

/// Submit a second record and stream its data in the same request
///
/// The record (hex SCALE SecondRecord, data = Blob(digest)) is in header attest-record; its
/// signature authenticates the upload before any byte is taken. Bounded like blob uploads.
#[utoipa::path(post, path = "/v1/records/second/stream", tag = "records",
	params(("attest-record" = String, Header, description = "0x-hex SCALE SecondRecord, data = Blob(claim.digest)", pattern = "^0x([0-9a-fA-F]{2})+$")),
	request_body(content = schema::Binary, content_type = "application/octet-stream"),
	responses(
		(status = 201, description = "Stored", body = SubmitResult),
		(status = 200, description = "Already stored", body = SubmitResult)
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
		(status = 200, description = "One result per record, in order", body = BatchResult)
	))]
pub(super) async fn submit_batch(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<BatchResult>> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let batch: Batch = parse_json(&body, "batch")?;
	Ok(Json(BatchResult { results: ingest::submit_batch(&state, batch.records).await? }))
}
