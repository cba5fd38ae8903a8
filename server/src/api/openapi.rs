//! The OpenAPI document, generated from the handlers (`#[utoipa::path]`) and the answer types
//! (`#[derive(ToSchema)]`). The protocol's own types (records, claims, anchors, proofs,
//! hashes, signatures), whose JSON forms `docs/protocol.md` specifies and `attest-primitives`
//! implements, are described once in `protocol-schemas.json` and referenced by name.

use utoipa::{
	openapi::{OpenApi, RefOr, Schema},
	PartialSchema, ToSchema,
};

/// The JSON schemas of the protocol types, by name.
const PROTOCOL_SCHEMAS: &str = include_str!("protocol-schemas.json");

fn protocol_schemas() -> Vec<(String, RefOr<Schema>)> {
	let all: serde_json::Map<String, serde_json::Value> =
		serde_json::from_str(PROTOCOL_SCHEMAS).unwrap_or_default();
	all.into_iter()
		.filter_map(|(name, v)| Some((name, serde_json::from_value(v).ok()?)))
		.collect()
}

/// Schema stand-ins for the protocol types: each is a reference to the component of its
/// name, and brings every protocol schema into the document.
pub mod ext {
	use super::*;

	macro_rules! external {
		($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
			$(#[$doc])*
			pub struct $name;
			impl PartialSchema for $name {
				fn schema() -> RefOr<Schema> {
					RefOr::Ref(utoipa::openapi::Ref::from_schema_name(stringify!($name)))
				}
			}
			impl ToSchema for $name {
				fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
					schemas.extend(protocol_schemas());
				}
			}
		)*};
	}

	external!(
		/// A 32-byte hash, `0x` hex.
		Hash,
		/// `attest_primitives::FirstRecord`.
		FirstRecord,
		/// `attest_primitives::SecondRecord`.
		SecondRecord,
		/// `attest_primitives::Anchor`.
		Anchor,
		/// `attest_primitives::InclusionProof`.
		InclusionProof,
		/// Raw bytes (`application/octet-stream`).
		Binary,
	);
}

/// The document of the API served by `router`, with its title and description.
pub fn finish(mut doc: OpenApi) -> OpenApi {
	doc.info.title = "Attest chain attestation server".into();
	doc.info.version = env!("CARGO_PKG_VERSION").into();
	doc.info.description = Some(
		"Stores the verifier's and requester's signed records of attested items and the items' \
		 data, checks anchors against finalized chain storage, and proves any item: file -> \
		 SHA-256 -> records -> RFC 6962 inclusion proof -> root anchored on chain. Byte formats: \
		 docs/protocol.md and docs/proof-format.md. Every error is a JSON body {error, message}."
			.into(),
	);
	doc.info.license = None;
	doc.info.contact = None;
	let components = doc.components.get_or_insert_with(Default::default);
	for (name, schema) in protocol_schemas() {
		components.schemas.insert(name, schema);
	}
	doc
}
