//! `/v1/records/*`: the parties' signed records.

use super::{body_bytes, parse_hex_bytes, parse_json, ApiResult, St};
use crate::{
	error::ApiError,
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
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Batch {
	/// The records, stored in one transaction.
	pub records: Vec<Record>,
}

/// Answer to a batch: one result per record, in order.
#[derive(Serialize, Deserialize, Debug, Clone)]
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

pub(super) async fn submit_first(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let record: FirstRecord = parse_json(&body, "first record")?;
	Ok(answer(ingest::submit_one(&state, Record::First(record)).await?))
}

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

pub(super) async fn submit_batch(
	State(state): St,
	body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<BatchResult>> {
	let body = body_bytes(body, state.config.max_json_bytes)?;
	let batch: Batch = parse_json(&body, "batch")?;
	Ok(Json(BatchResult { results: ingest::submit_batch(&state, batch.records).await? }))
}
