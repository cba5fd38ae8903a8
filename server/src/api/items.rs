//! `/v1/items/{digest}[/proof]`: what is known of a digest, and its proof;
//! `/v1/items/claimants`: who claims each of many digests.

use super::{hex0x, parse_hash, ApiQuery, ApiResult, St};
use crate::{anchors, error::ApiError, store::Item, AppState};
use attest_primitives::{channel::Seq, schema, AttestationProof};
use attest_wire::{
	ClaimState, ClaimStatus, Claimant, ClaimantsAnswer, ClaimantsQuery, DigestClaimants,
	ItemStatus, ProofFile, ProofResponse, MAX_CLAIMANTS_LOOKUP,
};
use axum::{
	extract::{Path, State},
	http::{header, HeaderMap},
	response::{IntoResponse, Response},
	Json,
};
use codec::Encode;
use serde::Deserialize;

/// Query of `GET /v1/items/{digest}`.
#[derive(Deserialize, Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
	/// Only claims of this channel.
	#[param(value_type = Option<schema::Hash>)]
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
		(true, _) => ClaimState::Anchored,
		(false, true) => ClaimState::Wrong,
		(false, false) => ClaimState::Pending,
	};
	Ok(ClaimStatus {
		channel_id: item.channel_id,
		seq: item.claim.seq,
		payment_hash: item.claim.payment_hash,
		requester: parties.map(|p| hex0x(&p.requester)),
		verifier: parties.map(|p| hex0x(&p.verifier)),
		status,
		verifier_record_at: item.verifier_at,
		requester_record_at: item.requester_at,
		has_data: item.possession && state.store.blob(&item.claim.digest).await?.is_some(),
		anchor,
		verifier_record: item.verifier_record,
		requester_record: item.requester_record,
	})
}

/// Records and status of a digest
///
/// The slots claiming the digest, the first attester first (anchored ones by the block of
/// their anchor, then data proven by the requester, then both records; newest first within
/// each), a page at a time.
#[utoipa::path(get, path = "/v1/items/{digest}", tag = "items",
	params(("digest" = schema::Hash, Path, description = "SHA-256 of the item's bytes"), ItemQuery),
	responses(
		(status = 200, description = "OK", body = ItemStatus)
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

/// Who claims each of many digests
///
/// For a verifier's rights policy (refuse data another requester attested already): one
/// request for a batch of items instead of one `GET /v1/items/{digest}` each. Records of any
/// status count; digests without a record are left out of the answer.
#[utoipa::path(post, path = "/v1/items/claimants", tag = "items",
	request_body(content = ClaimantsQuery, content_type = "application/json"),
	responses(
		(status = 200, description = "The claimed digests among those asked for", body = ClaimantsAnswer)
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

/// Query of `GET /v1/items/{digest}/proof`.
#[derive(Deserialize, Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
	/// The claim of this channel.
	#[param(value_type = Option<schema::Hash>)]
	channel: Option<String>,
	/// The claim at this position.
	#[param(value_type = Option<u64>)]
	seq: Option<Seq>,
	/// `scale` for the SCALE bytes (also with `Accept: application/octet-stream`); `v2` for a
	/// proof that stands alone (`docs/proof-format.md`, format 2: the export file).
	format: Option<String>,
}

/// Inclusion proof of an anchored item
///
/// JSON, or SCALE AttestationProof with format=scale or Accept: application/octet-stream. 409
/// not_ready until the item is anchored, or when the anchored log says the claim is wrong.
#[utoipa::path(get, path = "/v1/items/{digest}/proof", tag = "items",
	params(("digest" = schema::Hash, Path, description = "SHA-256 of the item's bytes"), ProofQuery),
	responses(
		(status = 200, description = "The proof (format=v2: the export file)", content(
			(ProofResponse = "application/json"),
			(schema::Binary = "application/octet-stream"),
		))
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
	let proof = AttestationProof {
		anchor,
		proof,
		verifier_record: item.verifier_record,
		requester_record: item.requester_record,
	};
	if q.format.as_deref() == Some("v2") {
		let Some((block_hash, block_time, evidence)) =
			state.store.evidence(&anchor.channel_id, anchor.index).await?
		else {
			return Err(ApiError::NotReady(format!(
				"the chain's evidence for anchor {} of channel {:?} is not built yet (the \
				 server builds it from its node once the anchor is final): retry in a few \
				 seconds",
				anchor.index, anchor.channel_id
			)));
		};
		let mut scale = proof.encode();
		scale.extend_from_slice(&evidence);
		return Ok(Json(ProofFile {
			version: 2,
			genesis: state.genesis(),
			block_hash,
			block_time,
			proof,
			scale: hex0x(&scale),
		})
		.into_response());
	}
	let wants_scale = q.format.as_deref() == Some("scale")
		|| headers
			.get(header::ACCEPT)
			.and_then(|v| v.to_str().ok())
			.is_some_and(|a| a.contains("application/octet-stream"));
	if wants_scale {
		let scale = proof.encode();
		return Ok(([(header::CONTENT_TYPE, "application/octet-stream")], scale).into_response());
	}
	Ok(Json(ProofResponse::new(state.genesis(), proof)).into_response())
}
