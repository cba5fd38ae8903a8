//! The verify page, `/v1/info`, `/v1/openapi.json`, `/healthz` and `/metrics`.

use super::St;
use attest_wire::Info;
use axum::{
	extract::State,
	http::{header, StatusCode},
	response::{Html, IntoResponse, Response},
	Json,
};
use std::time::Duration;

/// The verify page.
pub const INDEX_HTML: &str = include_str!("../../web/index.html");

/// Web page: drop a file, see who attested it and check its proof
#[utoipa::path(get, path = "/", tag = "service",
	responses((status = 200, description = "The verify page", body = String, content_type = "text/html")))]
pub(super) async fn index() -> Html<&'static str> {
	Html(INDEX_HTML)
}

/// This document
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service",
	responses((status = 200, description = "The OpenAPI document of this API", body = Object)))]
pub(super) async fn openapi() -> impl IntoResponse {
	static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
	let json = JSON.get_or_init(|| super::openapi_json().unwrap_or_default());
	([(header::CONTENT_TYPE, "application/json")], json.as_str())
}

/// Chain and limits
#[utoipa::path(get, path = "/v1/info", tag = "service",
	responses((status = 200, description = "OK", body = Info)))]
pub(super) async fn info(State(state): St) -> Json<Info> {
	Json(Info {
		genesis: state.genesis(),
		version: env!("CARGO_PKG_VERSION").into(),
		max_upload_bytes: state.config.max_upload_bytes,
		max_json_bytes: state.config.max_json_bytes,
		max_batch: state.config.max_batch,
		node: state
			.config
			.public_node_url
			.clone()
			.unwrap_or_else(|| state.config.chain_rpc.clone()),
		genesis_authorities: state
			.trust
			.authorities
			.iter()
			.map(|(id, weight)| attest_wire::Authority {
				id: attest_wire::hex0x(AsRef::<[u8]>::as_ref(id)),
				weight: *weight,
			})
			.collect(),
	})
}

/// The checker of format-2 proofs the verify page runs (`docs/proof-format.md`).
pub const PROOF_V2_JS: &str = include_str!("../../web/proof-v2.js");

/// The verify page's checker of proofs that stand alone (JavaScript module)
#[utoipa::path(get, path = "/proof-v2.js", tag = "service",
	responses((status = 200, description = "An ES module", body = String, content_type = "text/javascript")))]
pub(super) async fn proof_v2_js() -> impl IntoResponse {
	([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], PROOF_V2_JS)
}

/// Liveness and database check
#[utoipa::path(get, path = "/healthz", tag = "service",
	responses(
		(status = 200, description = "The database answers", body = Object),
		(status = 503, description = "The database does not answer", body = Object),
	))]
pub(super) async fn healthz(State(state): St) -> Response {
	let db = state.store.ping().await;
	let chain = tokio::time::timeout(Duration::from_secs(2), state.chain.finalized_number()).await;
	let chain = match chain {
		Ok(Ok(n)) => serde_json::json!({ "status": "ok", "finalized": n }),
		Ok(Err(e)) => serde_json::json!({ "status": "unreachable", "error": e.to_string() }),
		Err(_) => serde_json::json!({ "status": "unreachable", "error": "no answer within 2 s" }),
	};
	// Records and proofs need the database; without the chain, reads still work.
	let body = serde_json::json!({
		"status": if db.is_ok() { "ok" } else { "degraded" },
		"database": match &db { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
		"chain": chain,
		"genesis": state.genesis(),
	});
	let status = if db.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
	(status, Json(body)).into_response()
}

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "service",
	responses((status = 200, description = "Text exposition format", body = String, content_type = "text/plain")))]
pub(super) async fn metrics(State(state): St) -> Response {
	if let Ok(totals) = state.store.totals().await {
		for (g, v) in state.metrics.stored.iter().zip(totals) {
			g.set(v);
		}
	}
	([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
