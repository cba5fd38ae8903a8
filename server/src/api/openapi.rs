//! The OpenAPI document, generated from the handlers (`#[utoipa::path]`) and the types they
//! take and answer (`attest-wire` and `attest-primitives`, `#[derive(ToSchema)]`). The error
//! answers, all with the same body, are declared here once: each endpoint's statuses in
//! [`ERRORS`], each status's description in [`describe`].

use attest_wire::ErrorBody;
use utoipa::{
	openapi::{OpenApi, RefOr, ResponseBuilder},
	PartialSchema, ToSchema,
};

/// The error statuses of each endpoint, by operation id (the handler's name). Every error
/// answer is an [`ErrorBody`]; a handler missing here is a test failure.
pub const ERRORS: &[(&str, &[u16])] = &[
	("index", &[]),
	("proof_v2_js", &[]),
	("healthz", &[]),
	("metrics", &[]),
	("openapi", &[]),
	("info", &[]),
	("submit_first", &[400, 401, 403, 408, 409, 413, 422, 503]),
	("submit_second", &[400, 401, 403, 404, 408, 409, 413, 422, 503, 507]),
	("submit_second_stream", &[400, 401, 403, 409, 413, 422, 429, 503, 507]),
	("submit_batch", &[400, 408, 413, 503, 507]),
	("claimants", &[400, 408, 413]),
	("item_status", &[400, 404, 408]),
	("item_proof", &[400, 404, 408, 409]),
	("relay_anchor", &[400, 408, 413, 422, 503]),
	("get_anchor", &[400, 404, 408]),
	("put_blob", &[400, 401, 403, 404, 413, 422, 429, 503, 507]),
	("get_blob", &[400, 401, 403, 404, 422, 503]),
];

/// What an error status means on this API (its `error` code tells which case).
pub fn describe(status: u16) -> &'static str {
	match status {
		400 => "Malformed request",
		401 => "Missing or bad signature",
		403 => "Not the party this needs",
		404 => "Not found",
		408 => "Not completed in time",
		409 => "Conflict, or not ready",
		413 => "Too large",
		422 => "Unprocessable: unknown channel, digest mismatch, anchor not on chain",
		429 => "Too many uploads by this party",
		503 => "Chain unavailable, or too many uploads",
		507 => "The server's disk is full",
		_ => "Error",
	}
}

/// The document of the API served by `router`: its title and description, and the error
/// answers of [`ERRORS`] added to each operation.
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
	let error_body = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ErrorBody::name()));
	for item in doc.paths.paths.values_mut() {
		let operations = [
			&mut item.get,
			&mut item.put,
			&mut item.post,
			&mut item.delete,
			&mut item.patch,
			&mut item.head,
		];
		for op in operations.into_iter().flatten() {
			let id = op.operation_id.as_deref().unwrap_or_default();
			let statuses = ERRORS.iter().find(|(name, _)| *name == id).map_or(&[][..], |e| e.1);
			for status in statuses {
				let response = ResponseBuilder::new()
					.description(describe(*status))
					.content(
						"application/json",
						utoipa::openapi::ContentBuilder::new()
							.schema(Some(error_body.clone()))
							.build(),
					)
					.build();
				op.responses.responses.insert(status.to_string(), response.into());
			}
		}
	}
	let components = doc.components.get_or_insert_with(Default::default);
	components.schemas.insert(ErrorBody::name().into_owned(), ErrorBody::schema());
	doc
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Every endpoint declares its errors in [`ERRORS`], and [`ERRORS`] names only endpoints.
	#[test]
	fn every_endpoint_declares_its_errors_once() {
		let doc = super::super::openapi_document();
		let mut ids = Vec::new();
		for item in doc.paths.paths.values() {
			for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch, &item.head]
				.into_iter()
				.flatten()
			{
				ids.push(op.operation_id.clone().unwrap_or_default());
			}
		}
		ids.sort();
		let mut declared: Vec<String> = ERRORS.iter().map(|(n, _)| n.to_string()).collect();
		declared.sort();
		assert_eq!(ids, declared);
		// And the statuses show up in the document, with the error body.
		let json = doc.to_json().unwrap();
		let v: serde_json::Value = serde_json::from_str(&json).unwrap();
		let r = &v["paths"]["/v1/records/second/stream"]["post"]["responses"]["429"];
		assert_eq!(r["description"], "Too many uploads by this party");
		assert_eq!(
			r["content"]["application/json"]["schema"]["$ref"],
			"#/components/schemas/ErrorBody"
		);
		assert!(v["components"]["schemas"]["MultiSignature"]["oneOf"].is_array(), "{json}");
	}
}
