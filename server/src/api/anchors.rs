//! `/v1/anchors` (relayed by nodes' off-chain workers) and `/v1/channels/{channel}/anchors/{index}`.

use super::{body_bytes, parse_hash, parse_json, ApiResult, St};
use crate::{anchors, error::ApiError};
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
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AnchorAccepted {
	/// `accepted` (new) or `known`.
	pub outcome: String,
	/// The anchor.
	pub anchor: Anchor,
}

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
