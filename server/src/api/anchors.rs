//! `/v1/anchors` (relayed by nodes' off-chain workers) and `/v1/channels/{channel}/anchors/{index}`.

use super::{body_bytes, parse_hash, parse_json, ApiResult, St};
use crate::{anchors, error::ApiError};
use attest_primitives::{schema, Anchor};
use attest_wire::{AnchorAccepted, AnchorOutcome};
use axum::{
	body::Bytes,
	extract::{rejection::BytesRejection, Path, State},
	http::{header, HeaderMap, StatusCode},
	response::IntoResponse,
	Json,
};
use codec::Decode;

/// Relay an anchor (off-chain workers)
///
/// Accepted only if finalized chain storage Attestation::Anchors(channel, index) holds
/// exactly this anchor. JSON, or SCALE with Content-Type application/octet-stream.
#[utoipa::path(post, path = "/v1/anchors", tag = "anchors",
	request_body(content(
		(Anchor = "application/json"),
		(schema::Binary = "application/octet-stream"),
	)),
	responses(
		(status = 201, description = "Accepted", body = AnchorAccepted),
		(status = 200, description = "Known", body = AnchorAccepted)
	))]
pub(super) async fn relay_anchor(
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
	let (status, outcome) = match outcome {
		anchors::Accepted::New => (StatusCode::CREATED, AnchorOutcome::Accepted),
		anchors::Accepted::Known => (StatusCode::OK, AnchorOutcome::Known),
	};
	Ok((status, Json(AnchorAccepted { outcome, anchor })))
}

/// An accepted anchor
#[utoipa::path(get, path = "/v1/channels/{channel}/anchors/{index}", tag = "anchors",
	params(
		("channel" = schema::Hash, Path, description = "Channel id"),
		("index" = u32, Path, description = "Anchor index"),
	),
	responses(
		(status = 200, description = "The anchor", body = Anchor)
	))]
pub(super) async fn get_anchor(
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
