//! `/v1/anchors` (relayed by nodes' off-chain workers) and `/v1/channels/{channel}/anchors/{index}`.

use super::{body_bytes, ext, parse_hash, parse_json, ApiResult, St};
use crate::{
	anchors,
	error::{ApiError, ErrorBody},
};
use attest_primitives::Anchor;
use axum::{
	body::Bytes,
	extract::{rejection::BytesRejection, Path, State},
	http::{header, HeaderMap, StatusCode},
	response::IntoResponse,
	Json,
};
use codec::Decode;
use serde::{Deserialize, Serialize};

/// Answer to a relayed anchor.
#[derive(Serialize, Deserialize, Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnchorAccepted {
	/// `accepted` (new) or `known`.
	pub outcome: String,
	/// The anchor.
	#[schema(value_type = ext::Anchor)]
	pub anchor: Anchor,
}

/// Relay an anchor (off-chain workers)
///
/// Accepted only if finalized chain storage Attestation::Anchors(channel, index) holds
/// exactly this anchor. JSON, or SCALE with Content-Type application/octet-stream.
#[utoipa::path(post, path = "/v1/anchors", tag = "anchors",
	request_body(content(
		(ext::Anchor = "application/json"),
		(ext::Binary = "application/octet-stream"),
	)),
	responses(
		(status = 201, description = "Accepted", body = AnchorAccepted),
		(status = 200, description = "Known", body = AnchorAccepted),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody),
		(status = 413, description = "Too large", body = ErrorBody),
		(status = 422, description = "Unprocessable: unknown channel, digest mismatch, anchor not on chain", body = ErrorBody),
		(status = 503, description = "Chain unavailable, or too many uploads", body = ErrorBody)
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
	let (status, word) = match outcome {
		anchors::Accepted::New => (StatusCode::CREATED, "accepted"),
		anchors::Accepted::Known => (StatusCode::OK, "known"),
	};
	Ok((status, Json(AnchorAccepted { outcome: word.into(), anchor })))
}

/// An accepted anchor
#[utoipa::path(get, path = "/v1/channels/{channel}/anchors/{index}", tag = "anchors",
	params(
		("channel" = ext::Hash, Path, description = "Channel id"),
		("index" = u32, Path, description = "Anchor index"),
	),
	responses(
		(status = 200, description = "The anchor", body = ext::Anchor),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 404, description = "Not found", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody)
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
