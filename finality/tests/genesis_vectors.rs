//! `docs/test-vectors/genesis.json`: small made-up raw chain specs with the trust root a checker
//! must compute from them (the genesis hash from the storage's trie root, state version 1, and
//! the GRANDPA authorities in it), as `attest proof check --chain-spec` does
//! (`TrustRoot::from_raw_spec`). The storage is shaped to reach every kind of trie node: a
//! branch with and without a value, values stored inline (32 bytes) and by hash (33 bytes and
//! more), partial keys longer than 63 nibbles (extra length bytes), an empty value.
//! `ATTEST_WRITE_VECTORS=1 cargo test -p attest-finality --test genesis_vectors` rewrites the
//! file; otherwise the committed file is checked. `tests/vectors/check.mjs` computes the same
//! trust roots in JavaScript (the verify page's `trustFromSpec`).

use attest_finality::{storage, TrustRoot};
use codec::Encode;
use serde_json::{json, Map, Value};
use sp_core::{crypto::ByteArray, Pair};

fn hex0x(b: impl AsRef<[u8]>) -> String {
	format!("0x{}", hex::encode(b))
}

fn authorities(names: &[&str]) -> Vec<u8> {
	names
		.iter()
		.map(|n| (sp_core::ed25519::Pair::from_string(n, None).unwrap().public().0, 1u64))
		.collect::<Vec<_>>()
		.encode()
}

fn spec(entries: &[(Vec<u8>, Vec<u8>)]) -> Value {
	let top: Map<String, Value> =
		entries.iter().map(|(k, v)| (hex0x(k), Value::String(hex0x(v)))).collect();
	json!({ "name": "made up", "genesis": { "raw": { "top": top, "childrenDefault": {} } } })
}

fn cases() -> Vec<(&'static str, Value)> {
	let auth = storage::grandpa_authorities_key();
	let long_a: Vec<u8> = (0..40).collect();
	let mut long_b = long_a.clone();
	long_b[36] = 0xff;
	vec![
		("only the authorities", spec(&[(auth.clone(), authorities(&["//Alice"]))])),
		(
			"every node shape",
			spec(&[
				(auth.clone(), authorities(&["//Alice", "//Bob", "//Charlie"])),
				(b":code".to_vec(), (0..5000u32).map(|i| (i * 7 % 251) as u8).collect()),
				(vec![0x01], vec![0x11; 32]),
				(vec![0x01, 0x02], vec![0x22; 33]),
				(vec![0x01, 0x03], vec![]),
				(long_a, vec![0x33; 3]),
				(long_b, vec![0x44; 40]),
			]),
		),
	]
}

fn trust_of(spec: &Value) -> Value {
	let t = TrustRoot::from_raw_spec(&serde_json::to_vec(spec).unwrap()).expect("a raw spec");
	json!({
		"genesis": hex0x(t.genesis),
		"authorities": t.authorities.iter().map(|(id, w)| json!({ "id": hex0x(id.as_slice()), "weight": w })).collect::<Vec<_>>(),
	})
}

#[test]
fn genesis_vectors_check() {
	let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
		.join("../docs/test-vectors/genesis.json");
	let fresh: Vec<Value> = cases()
		.into_iter()
		.map(|(name, spec)| json!({ "name": name, "expect": trust_of(&spec), "spec": spec }))
		.collect();
	let file = json!({
		"description": "Raw chain specs (made up, small) and the trust root a checker computes from each: genesis = BLAKE2-256 of the header {parent 0, number 0, state_root, extrinsics_root, digest []}, state_root = the trie root (sp-trie LayoutV1, state version 1) of genesis.raw.top, extrinsics_root = the empty trie's root; authorities = Grandpa::Authorities in that storage. docs/proof-format.md, 'What a reader trusts'.",
		"cases": fresh,
	});
	if std::env::var_os("ATTEST_WRITE_VECTORS").is_some() {
		std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
		return;
	}
	let committed: Value =
		serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
			panic!("{}: {e}; write it with ATTEST_WRITE_VECTORS=1", path.display())
		}))
		.unwrap();
	assert_eq!(committed, file, "{} is not what this code computes", path.display());
}
