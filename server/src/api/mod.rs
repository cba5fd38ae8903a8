//! HTTP API (`/v1`), the verify page (`/`), `/healthz` and `/metrics`: request parsing and
//! answers, one module per resource. What records and data may go in is decided in
//! [`crate::ingest`], which knows no HTTP.

mod anchors;
mod blobs;
mod items;
mod openapi;
mod records;
mod service;

pub use attest_primitives::AttestationProof;
pub use attest_wire::{
	AnchorAccepted, Batch, BatchResult, BlobStored, ClaimState, ClaimStatus, ErrorBody, Info,
	ItemStatus, ProofResponse, Record, SubmitOutcome, SubmitResult, RECORD_HEADER,
};
pub use blobs::SignedQuery;
pub use service::INDEX_HTML;

use crate::{error::ApiError, AppState};
use attest_primitives::Hash;
use axum::{
	body::Bytes,
	extract::{rejection::BytesRejection, MatchedPath, Request, State},
	http::{header, StatusCode},
	middleware::{self, Next},
	response::{IntoResponse, Response},
	Router,
};
use std::{sync::Arc, time::Duration};
use utoipa_axum::{router::OpenApiRouter, routes};

type St = State<Arc<AppState>>;
type ApiResult<T> = Result<T, ApiError>;

/// Every endpoint with its OpenAPI description: those with bounded bodies and time, and the
/// streaming ones (blob transfers), limited by size, rate and count instead.
fn routes(json_limit: usize, timeout: Duration) -> OpenApiRouter<Arc<AppState>> {
	let bounded = OpenApiRouter::new()
		.routes(routes!(service::index))
		.routes(routes!(service::proof_v2_js))
		.routes(routes!(service::healthz))
		.routes(routes!(service::metrics))
		.routes(routes!(service::openapi))
		.routes(routes!(service::info))
		.routes(routes!(records::submit_first))
		.routes(routes!(records::submit_second))
		.routes(routes!(records::submit_batch))
		.routes(routes!(items::claimants))
		.routes(routes!(items::item_status))
		.routes(routes!(items::item_proof))
		.routes(routes!(anchors::relay_anchor))
		.routes(routes!(anchors::get_anchor))
		.layer(axum::extract::DefaultBodyLimit::max(json_limit))
		.layer(tower_http::timeout::TimeoutLayer::with_status_code(
			StatusCode::REQUEST_TIMEOUT,
			timeout,
		));
	let streaming = OpenApiRouter::new()
		.routes(routes!(blobs::put_blob, blobs::get_blob))
		.routes(routes!(records::submit_second_stream))
		.layer(axum::extract::DefaultBodyLimit::disable());
	bounded.merge(streaming)
}

/// The OpenAPI document of the API, generated from the code.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
	let (_, doc) = routes(0, Duration::ZERO).split_for_parts();
	openapi::finish(doc)
}

/// [`openapi_document`] as JSON.
pub fn openapi_json() -> Result<String, serde_json::Error> {
	openapi_document().to_pretty_json()
}

/// Build the router.
pub fn router(state: Arc<AppState>) -> Router {
	let timeout = Duration::from_secs(state.config.request_timeout_secs);
	let (router, _) = routes(state.config.max_json_bytes, timeout).split_for_parts();
	router
		.fallback(not_found)
		.method_not_allowed_fallback(method_not_allowed)
		.layer(middleware::map_response(explain_timeout))
		.layer(middleware::from_fn_with_state(state.clone(), observe))
		.layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
		.layer(tower_http::trace::TraceLayer::new_for_http())
		.with_state(state)
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
	tracing::error!("a request handler panicked");
	ApiError::Internal("the server failed on this request; it is logged, retry later".into())
		.into_response()
}

/// `TimeoutLayer` answers a bare 408; every error here is a JSON body.
async fn explain_timeout(r: Response) -> Response {
	if r.status() == StatusCode::REQUEST_TIMEOUT && !r.headers().contains_key(header::CONTENT_TYPE)
	{
		return ApiError::Timeout(
			"request not completed within --request-timeout-secs; send smaller batches".into(),
		)
		.into_response();
	}
	r
}

/// `Query<T>` whose rejection answers `400 bad_request` with the error body.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<axum::extract::rejection::QueryRejection> for ApiError {
	fn from(e: axum::extract::rejection::QueryRejection) -> Self {
		ApiError::BadRequest(format!("bad query parameters: {}", e.body_text()))
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

async fn method_not_allowed() -> ApiError {
	ApiError::MethodNotAllowed("method not allowed on this endpoint; see /v1/openapi.json".into())
}

/// Parse `0x`-prefixed (or bare) 64-digit hex.
pub fn parse_hash(s: &str, what: &str) -> ApiResult<Hash> {
	attest_primitives::parse_hash(s).ok_or_else(|| {
		ApiError::BadRequest(format!("{what} must be 32 bytes as 64 hex digits (0x...), got {s:?}"))
	})
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

use attest_wire::hex0x;
