//! `/v1/blobs/{digest}`: the items' data. Both directions need a request signed by a party:
//! uploads by the requester of a channel that claims the digest, reads by a party of a
//! channel whose requester proved it holds the data.

use super::{hex0x, parse_hash, parse_hex_bytes, ApiResult, St};
use crate::{error::ApiError, ingest, store::now_ms, AppState};
use attest_primitives::{
	channel::ChannelId,
	schema,
	signing::{self, account_of, Kind},
	Hash,
};
use attest_wire::BlobStored;
use axum::{
	body::Body,
	extract::{rejection::QueryRejection, Path, Query, State},
	http::{header, HeaderMap, HeaderValue, StatusCode},
	response::{IntoResponse, Response},
	Json,
};
use codec::Decode;
use serde::{Deserialize, Serialize};

/// The query of a signed blob request: `?channel=&expires=&signer=&signature=`, the
/// signature of kind `attest/blob-read/v1` (reads) or `attest/blob-write/v1` (uploads) over
/// `(digest, expires)` (docs/server.md).
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
	/// The channel whose party signs.
	#[param(value_type = schema::Hash)]
	pub channel: String,
	/// Expiry, unix ms; at most --max-read-validity-secs ahead.
	pub expires: u64,
	/// 0x-hex SCALE MultiSigner.
	#[param(pattern = "^0x([0-9a-fA-F]{2})+$")]
	pub signer: String,
	/// 0x-hex SCALE MultiSignature over (kind tag, genesis, channel, (digest, expires)), kind
	/// attest/blob-write/v1 for uploads and attest/blob-read/v1 for reads.
	#[param(pattern = "^0x([0-9a-fA-F]{2})+$")]
	pub signature: String,
}

/// Check a signed request of `kind` for `digest`: the channel and the signer's account.
fn check_signed(
	state: &AppState,
	kind: Kind,
	digest: &Hash,
	q: Result<Query<SignedQuery>, QueryRejection>,
) -> ApiResult<(ChannelId, [u8; 32])> {
	// Not the derived rejection: a missing or malformed signature is a 401.
	let q = q.map(|q| q.0).map_err(|_| {
		ApiError::BadSignature(format!(
			"this needs a signed request: query parameters channel, expires (unix ms), signer, \
			 signature (kind {}); see docs/server.md",
			String::from_utf8_lossy(kind.tag())
		))
	})?;
	let channel = parse_hash(&q.channel, "channel")?;
	let signer = sp_runtime::MultiSigner::decode(&mut &parse_hex_bytes(&q.signer, "signer")?[..])
		.map_err(|_| {
		ApiError::BadRequest("signer must be a SCALE MultiSigner in hex".into())
	})?;
	let signature =
		sp_runtime::MultiSignature::decode(&mut &parse_hex_bytes(&q.signature, "signature")?[..])
			.map_err(|_| {
			ApiError::BadRequest("signature must be a SCALE MultiSignature in hex".into())
		})?;
	let now = now_ms().max(0) as u64;
	if q.expires < now {
		return Err(ApiError::BadSignature(format!(
			"the request expired at {} (now {now}); sign a new one",
			q.expires
		)));
	}
	let max = state.config.max_read_validity_secs.saturating_mul(1000);
	if q.expires > now.saturating_add(max) {
		return Err(ApiError::BadRequest(format!(
			"expires is more than {} s ahead; sign requests valid for at most that long",
			state.config.max_read_validity_secs
		)));
	}
	let account = account_of(&signer);
	signing::verify(kind, &state.genesis(), &channel, &(*digest, q.expires), &signature, &account)
		.map_err(|e| ApiError::BadSignature(format!("signed blob request: {e}")))?;
	Ok((channel, account.into()))
}

/// Upload the data of a claimed item (the channel's requester, signed request)
///
/// Signed by the requester of a channel some record of which claims digest. Streamed while
/// hashed; kept only if the bytes hash to digest. Data the server has already is checked the
/// same way and proves the channel's requester holds it (needed before its parties may read
/// it). At most --max-uploads at once (503 busy) and --max-uploads-per-party per signer (429
/// too_many_uploads); an upload slower than --upload-min-rate after --upload-idle-secs is
/// dropped (400 truncated).
#[utoipa::path(put, path = "/v1/blobs/{digest}", tag = "blobs",
	params(("digest" = schema::Hash, Path, description = "SHA-256 of the item's bytes"), SignedQuery),
	request_body(content = schema::Binary, content_type = "application/octet-stream"),
	responses(
		(status = 201, description = "Stored", body = BlobStored),
		(status = 200, description = "Stored already; the bytes were checked", body = BlobStored)
	))]
pub(super) async fn put_blob(
	State(state): St,
	Path(digest): Path<String>,
	q: Result<Query<SignedQuery>, QueryRejection>,
	headers: HeaderMap,
	body: Body,
) -> ApiResult<impl IntoResponse> {
	let digest = parse_hash(&digest, "digest")?;
	let (channel, who) = check_signed(&state, Kind::BlobWrite, &digest, q)?;
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
	let parties = state.parties(&channel).await?;
	if who != parties.requester {
		return Err(ApiError::Forbidden(format!(
			"only the channel's requester {} uploads its data, not {}",
			hex0x(&parties.requester),
			hex0x(&who)
		)));
	}
	if !state.store.claimed_in(&channel, &digest).await? {
		return Err(ApiError::NotFound(format!(
			"no record of channel {channel:?} claims digest {digest:?}; the data of an item is \
			 taken once a record of it is stored"
		)));
	}
	let _permit = state.uploads.start(&state, who)?;
	let (size, new) = ingest::upload(&state, &channel, digest, body.into_data_stream()).await?;
	let status = if new { StatusCode::CREATED } else { StatusCode::OK };
	Ok((status, Json(BlobStored { digest, size })))
}

/// Read an item's data (signed request)
///
/// Only for the requester or the verifier of a channel whose requester proved it holds the
/// data (uploaded it); 403 otherwise.
#[utoipa::path(get, path = "/v1/blobs/{digest}", tag = "blobs",
	params(("digest" = schema::Hash, Path, description = "SHA-256 of the item's bytes"), SignedQuery),
	responses(
		(status = 200, description = "The bytes", body = schema::Binary, content_type = "application/octet-stream")
	))]
pub(super) async fn get_blob(
	State(state): St,
	Path(digest): Path<String>,
	q: Result<Query<SignedQuery>, QueryRejection>,
) -> ApiResult<Response> {
	let digest = parse_hash(&digest, "digest")?;
	let (channel, who) = check_signed(&state, Kind::BlobRead, &digest, q)?;
	let parties = state.parties(&channel).await?;
	if who != parties.requester && who != parties.verifier {
		return Err(ApiError::Forbidden(
			"only the requester or the verifier of the channel may read its data".into(),
		));
	}
	if !state.store.has_possession(&channel, &digest).await? {
		return Err(ApiError::Forbidden(format!(
			"the requester of channel {channel:?} has not shown that it holds the data of \
			 {digest:?}: it uploads it (PUT /v1/blobs/{digest:?} signed, a second record with \
			 the data inline, or POST /v1/records/second/stream), also when the server has it"
		)));
	}
	let Some((size, small)) = state.store.blob_data(&digest).await? else {
		return Err(ApiError::NotFound(format!("the data of {digest:?} is not stored")));
	};
	let body = match small {
		Some(bytes) => Body::from(bytes),
		None => Body::from_stream(state.blobs.read(&digest).await?),
	};
	let mut r = Response::new(body);
	r.headers_mut()
		.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
	r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
	Ok(r)
}
