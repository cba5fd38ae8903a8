//! OpenAPI schemas (feature `schema`) of the JSON forms of the protocol types, for the
//! attestation server's generated API document and anyone who generates a client from it.
//!
//! The records, claims, anchors and proofs derive `utoipa::ToSchema` next to their serde
//! derives, so a schema cannot drift from the JSON it describes. The types that come from
//! Substrate (`H256`, `MultiSignature`, `MultiSigner`) and the byte strings serialized by hand
//! get their schemas here, each written once and referenced by name.

use alloc::borrow::Cow;
use utoipa::{
	openapi::{
		schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Type},
		RefOr, Schema,
	},
	PartialSchema, ToSchema,
};

fn hex_string(pattern: &str, description: &str) -> ObjectBuilder {
	ObjectBuilder::new()
		.schema_type(Type::String)
		.pattern(Some(pattern))
		.description(Some(description))
}

/// An object with exactly one property `key` holding `value`: serde's form of an enum variant.
fn variant(key: &str, value: impl Into<RefOr<Schema>>) -> ObjectBuilder {
	ObjectBuilder::new()
		.property(key, value)
		.required(key)
		.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

/// Defines a schema stand-in: a type whose only purpose is its schema, under its own name.
macro_rules! stand_in {
	($(#[$doc:meta])* $name:ident => $schema:expr) => {
		$(#[$doc])*
		pub struct $name;
		impl PartialSchema for $name {
			fn schema() -> RefOr<Schema> {
				$schema.into()
			}
		}
		impl ToSchema for $name {
			fn name() -> Cow<'static, str> {
				Cow::Borrowed(stringify!($name))
			}
		}
	};
}

stand_in!(
	/// A 32-byte hash ([`crate::Hash`]): digests, roots, channel ids, payment hashes.
	Hash => hex_string("^0x[0-9a-fA-F]{64}$", "32 bytes, 0x-prefixed hex")
);

stand_in!(
	/// `sp_runtime::MultiSignature` as it serializes: `{"Sr25519": "<hex>"}` and so on.
	MultiSignature => OneOfBuilder::new()
		.description(Some(
			"A signature by scheme, as sp-runtime's MultiSignature serializes it, e.g. \
			 {\"Sr25519\": \"7865dc...\"}",
		))
		.item(variant("Sr25519", hex_string("^(0x)?[0-9a-fA-F]{128}$", "64-byte signature, hex (0x optional)")))
		.item(variant("Ed25519", hex_string("^(0x)?[0-9a-fA-F]{128}$", "64-byte signature, hex (0x optional)")))
		.item(variant(
			"Ecdsa",
			hex_string("^(0x)?[0-9a-fA-F]{130}$", "65-byte recoverable signature, hex (0x optional)"),
		))
);

fn ss58() -> ObjectBuilder {
	hex_string("^[1-9A-HJ-NP-Za-km-z]{46,52}$", "public key in SS58")
}

stand_in!(
	/// `sp_runtime::MultiSigner` as it serializes: `{"Sr25519": "<SS58>"}` and so on.
	MultiSigner => OneOfBuilder::new()
		.description(Some(
			"A public key by scheme, in SS58 (as sp-runtime's MultiSigner serializes it), e.g. \
			 {\"Sr25519\": \"5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty\"}",
		))
		.item(variant("Sr25519", ss58()))
		.item(variant("Ed25519", ss58()))
		.item(variant("Ecdsa", ss58()))
);

stand_in!(
	/// Raw bytes of a request or answer body (`application/octet-stream`).
	Binary => ObjectBuilder::new()
		.schema_type(Type::String)
		.format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
			utoipa::openapi::KnownFormat::Binary,
		)))
);

/// Bytes as `0x`-hex, or (read only) a JSON array of byte values.
fn hex_bytes() -> OneOfBuilder {
	OneOfBuilder::new()
		.description(Some("0x-hex (a JSON array of byte values is also read)"))
		.item(
			ObjectBuilder::new()
				.schema_type(Type::String)
				.pattern(Some("^(0x)?([0-9a-fA-F]{2})*$")),
		)
		.item(
			ArrayBuilder::new().items(
				ObjectBuilder::new()
					.schema_type(Type::Integer)
					.minimum(Some(0))
					.maximum(Some(255)),
			),
		)
}

impl PartialSchema for crate::DataRef {
	fn schema() -> RefOr<Schema> {
		OneOfBuilder::new()
			.description(Some(
				"The item's bytes inline (counted in the server's --max-json-bytes) or the digest \
				 of a blob uploaded with PUT /v1/blobs/{digest}",
			))
			.item(variant("inline", hex_bytes()))
			.item(variant("blob", RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Hash"))))
			.into()
	}
}

impl ToSchema for crate::DataRef {
	fn name() -> Cow<'static, str> {
		Cow::Borrowed("DataRef")
	}

	fn schemas(schemas: &mut alloc::vec::Vec<(alloc::string::String, RefOr<Schema>)>) {
		schemas.push((Hash::name().into_owned(), Hash::schema()));
	}
}
