//! `/v1/items/{digest}[/proof]`: what is known of a digest, and its proof;
//! `/v1/items/claimants`: who claims each of many digests.

use super::{ext, hex0x, parse_hash, ApiQuery, ApiResult, St};
use crate::{
	anchors,
	error::{ApiError, ErrorBody},
	store::Item,
	AppState,
};
use attest_primitives::{
	channel::{ChannelId, FirstRecord, SecondRecord, Seq},
	Anchor, AttestationProof, Hash,
};
use axum::{
	extract::{Path, State},
	http::{header, HeaderMap},
	response::{IntoResponse, Response},
	Json,
};
use codec::Encode;
use serde::{Deserialize, Serialize};

/// Where a slot claiming a digest stands.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatus {
	/// Channel of the item.
	#[schema(value_type = ext::Hash)]
	pub channel_id: ChannelId,
	/// Sequence number in the channel.
	#[schema(value_type = u64)]
	pub seq: Seq,
	/// Payment hash of the HTLC that paid for it.
	#[schema(value_type = ext::Hash)]
	pub payment_hash: Hash,
	/// Requester's account (hex).
	pub requester: Option<String>,
	/// Verifier's account (hex).
	pub verifier: Option<String>,
	/// `pending` (not yet anchored), `anchored`, or `wrong` (the channel's anchored log holds
	/// another digest at `seq`: these records are wrong).
	#[schema(pattern = "^(pending|anchored|wrong)$")]
	pub status: String,
	/// When the verifier's record arrived (unix ms), if it claims this digest.
	pub first_record_at: Option<i64>,
	/// When the requester's record arrived (unix ms), if it claims this digest.
	pub second_record_at: Option<i64>,
	/// Whether the data is stored and the channel's requester proved it holds it (so its
	/// parties may read it).
	pub has_data: bool,
	/// The anchor, once anchored.
	#[schema(value_type = Option<ext::Anchor>)]
	pub anchor: Option<Anchor>,
	/// The verifier's signed record.
	#[schema(value_type = Option<ext::FirstRecord>)]
	pub first_record: Option<FirstRecord>,
	/// The requester's signed record (data as a blob reference).
	#[schema(value_type = Option<ext::SecondRecord>)]
	pub second_record: Option<SecondRecord>,
}

/// Everything known of a digest (one page of it).
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
	/// The digest.
	#[schema(value_type = ext::Hash)]
	pub digest: Hash,
	/// More than one `(channel, seq)` claims it.
	pub conflict: bool,
	/// The claims, the first attester first: anchored ones by the block of their anchor, then
	/// the others with data proven by the requester, then with both records; newest first
	/// within each.
	pub claims: Vec<ClaimStatus>,
	/// `offset` of the next page, when this one is full.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub next_offset: Option<u32>,
}

/// Query of `GET /v1/items/{digest}`.
#[derive(Deserialize, Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
	/// Only claims of this channel.
	#[param(value_type = Option<ext::Hash>)]
	channel: Option<String>,
	/// Only claims at this position.
	#[param(value_type = Option<u64>)]
	seq: Option<Seq>,
	/// Claims per page, 1 to 100 (the default).
	#[param(minimum = 1, maximum = 100)]
	limit: Option<u32>,
	/// Claims to skip (at most 1,000,000).
	#[param(minimum = 0, maximum = 1_000_000)]
	offset: Option<u32>,
}

/// Most claims per page.
const PAGE: u32 = 100;
/// Largest `offset`.
const MAX_OFFSET: u32 = 1_000_000;

async fn claim_status(state: &AppState, item: Item) -> ApiResult<ClaimStatus> {
	let anchor = match (item.anchor, item.anchor_index) {
		(Some(a), _) => Some(a),
		(None, Some(i)) => state.store.anchor(&item.channel_id, i).await?.map(|a| a.anchor),
		(None, None) => None,
	};
	let parties = state.store.channel(&item.channel_id).await?;
	let status = match (anchor.is_some(), item.wrong) {
		(true, _) => "anchored",
		(false, true) => "wrong",
		(false, false) => "pending",
	};
	Ok(ClaimStatus {
		channel_id: item.channel_id,
		seq: item.claim.seq,
		payment_hash: item.claim.payment_hash,
		requester: parties.map(|p| hex0x(&p.requester)),
		verifier: parties.map(|p| hex0x(&p.verifier)),
		status: status.into(),
		first_record_at: item.first_at,
		second_record_at: item.second_at,
		has_data: item.possession && state.store.blob(&item.claim.digest).await?.is_some(),
		anchor,
		first_record: item.first,
		second_record: item.second,
	})
}

/// Records and status of a digest
///
/// The slots claiming the digest, the first attester first (anchored ones by the block of
/// their anchor, then data proven by the requester, then both records; newest first within
/// each), a page at a time.
#[utoipa::path(get, path = "/v1/items/{digest}", tag = "items",
	params(("digest" = ext::Hash, Path, description = "SHA-256 of the item's bytes"), ItemQuery),
	responses(
		(status = 200, description = "OK", body = ItemStatus),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 404, description = "Not found", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody)
	))]
pub(super) async fn item_status(
	State(state): St,
	Path(digest): Path<String>,
	ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult<Json<ItemStatus>> {
	let digest = parse_hash(&digest, "digest")?;
	let channel = q.channel.as_deref().map(|c| parse_hash(c, "channel")).transpose()?;
	let limit = q.limit.unwrap_or(PAGE);
	if !(1..=PAGE).contains(&limit) {
		return Err(ApiError::BadRequest(format!("limit must be 1 to {PAGE}, got {limit}")));
	}
	let offset = q.offset.unwrap_or(0);
	if offset > MAX_OFFSET {
		return Err(ApiError::BadRequest(format!(
			"offset must be at most {MAX_OFFSET}; narrow the search with channel and seq"
		)));
	}
	let items = state.store.claims(&digest, channel.as_ref(), q.seq, limit, offset).await?;
	if items.is_empty() && offset == 0 {
		return Err(ApiError::NotFound(format!("no record claims digest {digest:?}")));
	}
	let full = items.len() as u32 == limit;
	let mut claims = Vec::with_capacity(items.len());
	for item in items {
		claims.push(claim_status(&state, item).await?);
	}
	Ok(Json(ItemStatus {
		digest,
		conflict: claims.len() > 1 || offset > 0,
		claims,
		next_offset: full.then_some(offset.saturating_add(limit)),
	}))
}

/// Most digests in one `POST /v1/items/claimants`.
pub const MAX_CLAIMANTS_LOOKUP: usize = 10_000;

/// Body of `POST /v1/items/claimants`.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct ClaimantsQuery {
	/// Digests to look up (SHA-256, `0x` hex), 1 to 10,000.
	#[schema(value_type = Vec<ext::Hash>)]
	pub digests: Vec<Hash>,
}

/// A channel whose records claim a digest.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claimant {
	/// The channel.
	#[schema(value_type = ext::Hash)]
	pub channel_id: ChannelId,
	/// The first slot of the channel claiming the digest.
	#[schema(value_type = u64)]
	pub seq: Seq,
	/// Requester's account (hex), if the channel is known here.
	pub requester: Option<String>,
	/// Verifier's account (hex), if the channel is known here.
	pub verifier: Option<String>,
}

/// The channels claiming one digest.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestClaimants {
	/// The digest.
	#[schema(value_type = ext::Hash)]
	pub digest: Hash,
	/// Every channel with a record claiming it (any status: pending, anchored or wrong).
	pub claimants: Vec<Claimant>,
}

/// Answer of `POST /v1/items/claimants`.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct ClaimantsAnswer {
	/// The digests asked for that some record claims, in the order asked; digests no
	/// record claims are left out.
	pub items: Vec<DigestClaimants>,
}

/// Who claims each of many digests
///
/// For a verifier's rights policy (refuse data another requester attested already): one
/// request for a batch of items instead of one `GET /v1/items/{digest}` each. Records of any
/// status count; digests without a record are left out of the answer.
#[utoipa::path(post, path = "/v1/items/claimants", tag = "items",
	request_body(content = ClaimantsQuery, content_type = "application/json"),
	responses(
		(status = 200, description = "The claimed digests among those asked for", body = ClaimantsAnswer),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody),
		(status = 413, description = "Too large", body = ErrorBody)
	))]
pub(super) async fn claimants(
	State(state): St,
	body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ClaimantsAnswer>> {
	let body = super::body_bytes(body, state.config.max_json_bytes)?;
	let q: ClaimantsQuery = super::parse_json(&body, "claimants query")?;
	if q.digests.is_empty() || q.digests.len() > MAX_CLAIMANTS_LOOKUP {
		return Err(ApiError::BadRequest(format!(
			"digests: 1 to {MAX_CLAIMANTS_LOOKUP} per request, got {}; split the lookup",
			q.digests.len()
		)));
	}
	let mut found = state.store.claimants(&q.digests).await?;
	let mut items = Vec::new();
	for digest in q.digests {
		// A digest asked for twice is answered once.
		let Some(claims) = found.remove(&digest) else { continue };
		items.push(DigestClaimants {
			digest,
			claimants: claims
				.into_iter()
				.map(|(channel_id, seq, parties)| Claimant {
					channel_id,
					seq,
					requester: parties.map(|p| hex0x(&p.requester)),
					verifier: parties.map(|p| hex0x(&p.verifier)),
				})
				.collect(),
		});
	}
	Ok(Json(ClaimantsAnswer { items }))
}

/// The JSON answer of the proof endpoint: the proof plus its SCALE bytes.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProofResponse {
	/// Genesis hash of the chain.
	#[schema(value_type = ext::Hash)]
	pub genesis: Hash,
	/// The proof.
	#[serde(flatten)]
	#[schema(value_type = AttestationProofDoc)]
	pub proof: AttestationProof,
	/// SCALE encoding of `proof`, hex.
	pub scale: String,
}

/// The JSON form of [`AttestationProof`] (its fields are protocol types).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AttestationProofDoc {
	/// The anchor on chain.
	anchor: ext::Anchor,
	/// Inclusion of the item's digest under `anchor.log.root`.
	proof: ext::InclusionProof,
	/// The verifier's record claiming this digest, if any.
	first_record: Option<ext::FirstRecord>,
	/// The requester's record claiming this digest, if any.
	second_record: Option<ext::SecondRecord>,
}

/// Query of `GET /v1/items/{digest}/proof`.
#[derive(Deserialize, Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
	/// The claim of this channel.
	#[param(value_type = Option<ext::Hash>)]
	channel: Option<String>,
	/// The claim at this position.
	#[param(value_type = Option<u64>)]
	seq: Option<Seq>,
	/// `scale` for the SCALE bytes (also with `Accept: application/octet-stream`).
	format: Option<String>,
}

/// Inclusion proof of an anchored item
///
/// JSON, or SCALE AttestationProof with format=scale or Accept: application/octet-stream. 409
/// not_ready until the item is anchored, or when the anchored log says the claim is wrong.
#[utoipa::path(get, path = "/v1/items/{digest}/proof", tag = "items",
	params(("digest" = ext::Hash, Path, description = "SHA-256 of the item's bytes"), ProofQuery),
	responses(
		(status = 200, description = "The proof", content(
			(ProofResponse = "application/json"),
			(ext::Binary = "application/octet-stream"),
		)),
		(status = 400, description = "Malformed request", body = ErrorBody),
		(status = 404, description = "Not found", body = ErrorBody),
		(status = 408, description = "Not completed in time", body = ErrorBody),
		(status = 409, description = "Conflict, or not ready", body = ErrorBody)
	))]
pub(super) async fn item_proof(
	State(state): St,
	Path(digest): Path<String>,
	ApiQuery(q): ApiQuery<ProofQuery>,
	headers: HeaderMap,
) -> ApiResult<Response> {
	let digest = parse_hash(&digest, "digest")?;
	let channel = q.channel.as_deref().map(|c| parse_hash(c, "channel")).transpose()?;
	// Anchored claims come first, so one page always has one if there is any.
	let items = state.store.claims(&digest, channel.as_ref(), q.seq, 1, 0).await?;
	let Some(item) = items.into_iter().next() else {
		return Err(ApiError::NotFound(format!("no record claims digest {digest:?}")));
	};
	let Some(index) = item.anchor_index else {
		let why = if item.wrong {
			"the channel's anchored log holds another digest there: this claim is wrong"
		} else {
			"it is anchored after the channel's next checkpoint or close is finalized"
		};
		return Err(ApiError::NotReady(format!(
			"item {} of channel {:?} is not anchored with digest {digest:?}; {why}",
			item.claim.seq, item.channel_id
		)));
	};
	let anchor = match item.anchor {
		Some(a) => a,
		None => {
			state
				.store
				.anchor(&item.channel_id, index)
				.await?
				.ok_or_else(|| ApiError::Internal("anchor row missing".into()))?
				.anchor
		},
	};
	let tree = anchors::tree(&state, &anchor).await?.ok_or_else(|| {
		ApiError::Internal("the records of this anchored log no longer give its root".into())
	})?;
	let proof = tree
		.inclusion_proof(item.claim.seq)
		.map_err(|e| ApiError::Internal(e.to_string()))?;
	let proof =
		AttestationProof { anchor, proof, first_record: item.first, second_record: item.second };
	let scale = proof.encode();
	let wants_scale = q.format.as_deref() == Some("scale")
		|| headers
			.get(header::ACCEPT)
			.and_then(|v| v.to_str().ok())
			.is_some_and(|a| a.contains("application/octet-stream"));
	if wants_scale {
		return Ok(([(header::CONTENT_TYPE, "application/octet-stream")], scale).into_response());
	}
	Ok(Json(ProofResponse { genesis: state.genesis(), proof, scale: hex0x(&scale) })
		.into_response())
}
