//! What the fuzz targets share: the test vectors of `docs/test-vectors/` as the valid inputs
//! whose statements an edited input may never change.

use attest_finality::TrustRoot;
use attest_primitives::Hash;
use serde_json::Value;

/// `0x` hex to bytes (the vectors are well formed).
pub fn unhex(s: &str) -> Vec<u8> {
	hex::decode(s.trim_start_matches("0x")).expect("hex in the vectors")
}

/// A 32-byte hash from `0x` hex.
pub fn hash(v: &Value) -> Hash {
	Hash(unhex(v.as_str().expect("hex string")).try_into().expect("32 bytes"))
}

/// The trust root of a format-2 vector case: genesis and set 0.
pub fn trust_root(v: &Value) -> TrustRoot {
	let authorities = v["authorities"]
		.as_array()
		.expect("authorities")
		.iter()
		.map(|a| {
			let id: [u8; 32] = unhex(a["id"].as_str().expect("id")).try_into().expect("32 bytes");
			(sp_core::ed25519::Public::from_raw(id).into(), a["weight"].as_u64().expect("weight"))
		})
		.collect();
	TrustRoot { genesis: hash(&v["genesis"]), authorities }
}

/// `docs/test-vectors/proof-v2.json`.
pub fn proof_v2_vectors() -> Value {
	serde_json::from_str(include_str!("../../docs/test-vectors/proof-v2.json")).expect("JSON")
}

/// `docs/test-vectors/proof.json`.
pub fn proof_v1_vector() -> Value {
	serde_json::from_str(include_str!("../../docs/test-vectors/proof.json")).expect("JSON")
}
