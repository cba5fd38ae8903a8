//! The verifier service's OpenAPI document, generated from its handlers.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
	info(
		title = "Attest verifier",
		description = "The verifier agent's API (docs/protocol.md, \"Agent transport\")."
	),
	paths(
		crate::verifier::channel_state,
		crate::verifier::items,
		crate::verifier::bills,
		crate::verifier::requests,
		crate::verifier::states
	),
	components(schemas(
		crate::transport::VerifierInfo,
		crate::transport::ItemsAccepted,
		crate::transport::BillRequest,
		crate::transport::SignedBill,
		crate::transport::StateUpdate,
		crate::transport::Countersignature,
		crate::transport::SignedState,
		crate::transport::ErrorBody
	))
)]
struct Doc;

/// The document as JSON.
pub fn document() -> String {
	Doc::openapi().to_pretty_json().unwrap_or_default()
}
