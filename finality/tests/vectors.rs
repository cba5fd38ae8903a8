//! `docs/test-vectors/proof-v2.json`: format-2 proofs an independent checker can use (the
//! trust root, valid proofs with what they prove and the parts a checker computes on the way,
//! tampered proofs with why they are refused). `ATTEST_WRITE_VECTORS=1 cargo test -p
//! attest-finality --test vectors` rewrites the file; otherwise every committed case is
//! checked again by this code (sr25519 record signatures are randomized, so the file is not
//! compared byte for byte with a fresh one). `tests/vectors/check.mjs` re-checks it in
//! JavaScript.

#[path = "../src/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use attest_finality::{storage, Finalized, ProofV2, TrustRoot};
use codec::{DecodeAll, Encode};
use fixture::*;
use serde_json::{json, Value};
use sp_core::{crypto::ByteArray, H256};

fn hex0x(b: impl AsRef<[u8]>) -> String {
	format!("0x{}", hex::encode(b))
}

fn unhex(v: &Value) -> Vec<u8> {
	hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn trust_json(t: &TrustRoot) -> Value {
	json!({
		"genesis": hex0x(t.genesis),
		"authorities": t.authorities.iter().map(|(id, w)| json!({"id": hex0x(id.as_slice()), "weight": w})).collect::<Vec<_>>(),
	})
}

fn expect(p: &ProofV2, trust: &TrustRoot, digest: &H256) -> Value {
	match p.verify(trust, digest) {
		Ok(v) => {
			let (set_id, justified) = match v.finalized {
				Finalized::Grandpa { set_id, justified } => (set_id, justified),
				Finalized::NotProven => panic!("vectors carry finality"),
			};
			json!({
				"valid": true, "seq": v.item.seq, "channelId": hex0x(p.item.anchor.channel_id),
				"blockNumber": p.item.anchor.block, "blockHash": hex0x(v.block_hash),
				"blockTimeMs": v.block_time_ms, "setId": set_id, "justified": justified,
				"requester": hex0x(&v.requester), "verifier": hex0x(&v.verifier),
			})
		},
		Err(e) => json!({"valid": false, "error": e.to_string()}),
	}
}

fn case(name: &str, f: &Fixture, p: &ProofV2) -> Value {
	let header = &p.chain.header;
	let j = &p.chain.finality.as_ref().unwrap().justification;
	let first = &j.commit.precommits[0];
	let payload = sp_consensus_grandpa::localized_payload(
		j.round,
		f.set_id,
		&finality_grandpa::Message::Precommit(first.precommit.clone()),
	);
	json!({
		"name": name,
		"trust": trust_json(&f.trust),
		"digest": hex0x(f.digest),
		"scale": hex0x(p.encode()),
		"parts": {
			"header": hex0x(header.encode()),
			"headerHash": hex0x(header.hash()),
			"stateRoot": hex0x(header.state_root),
			"anchorKey": hex0x(storage::anchor_key(&p.item.anchor.channel_id, p.item.anchor.index)),
			"timestampKey": hex0x(storage::timestamp_key()),
			"firstPrecommitPayload": hex0x(payload),
		},
		"expect": expect(p, &f.trust, &f.digest),
	})
}

fn vectors() -> Value {
	let mut cases = vec![];
	let plain = fixture_of(3, 0);
	cases.push(case("valid: 3 authorities, no set change", &plain, &plain.proof));
	let changed = fixture_of(3, 1);
	cases.push(case("valid: 3 authorities, one set change", &changed, &changed.proof));
	let ten = fixture_of(10, 2);
	cases.push(case("valid: 10 authorities, two set changes", &ten, &ten.proof));

	let edit = |name: &str, f: &Fixture, change: &dyn Fn(&mut ProofV2)| {
		let mut p = f.proof.clone();
		change(&mut p);
		case(name, f, &p)
	};
	let target = plain.proof.chain.finality.as_ref().unwrap().descendants[1].clone();
	cases.push(edit("refused: two of three precommits", &plain, &|p| {
		p.chain.finality.as_mut().unwrap().justification =
			justify(&target, 0, 21, &plain.signers[..2]);
	}));
	cases.push(edit("refused: a precommit by a key outside the set", &plain, &|p| {
		let mut s = plain.signers.clone();
		s[2] = keys(&["Mallory"]).remove(0);
		p.chain.finality.as_mut().unwrap().justification = justify(&target, 0, 21, &s);
	}));
	cases.push(edit("refused: signed for another set id", &plain, &|p| {
		p.chain.finality.as_mut().unwrap().justification = justify(&target, 1, 21, &plain.signers);
	}));
	cases.push(edit("refused: a broken header link", &plain, &|p| {
		p.chain.finality.as_mut().unwrap().descendants[0].parent_hash = H256::repeat_byte(0x42);
	}));
	cases.push(edit("refused: the set change dropped", &changed, &|p| {
		p.chain.finality.as_mut().unwrap().set_changes.clear();
	}));
	cases.push(edit("refused: the anchor's first_seq edited", &plain, &|p| {
		p.item.anchor.first_seq = 1;
	}));
	cases.push(edit("refused: the anchor's block edited", &plain, &|p| {
		p.item.anchor.block = 43;
	}));
	cases.push(edit("refused: another party claimed for the channel", &plain, &|p| {
		p.chain.channel.verifier = p.chain.channel.requester.clone();
	}));
	cases.push(edit("refused: a storage proof missing a node", &plain, &|p| {
		p.chain.storage_proof.truncate(1);
	}));
	json!({
		"context": "docs/proof-format.md, 'Format 2: ProofV2' and 'The checks, in order'. \
					Each case: the trust root (genesis hash and set 0), the proven digest, the \
					SCALE proof, parts a checker computes on the way (anchor header and its \
					BLAKE2-256 hash, storage keys, the payload of the final justification's \
					first precommit), and what the check gives. Made-up chains \
					(finality/src/fixture.rs): records signed by //Alice (requester) and //Bob \
					(verifier), sr25519; GRANDPA keys ed25519 //Alice, //Bob, //Charlie and \
					//Set{s}Validator{i}.",
		"cases": cases,
	})
}

#[test]
fn format_2_vectors_check() {
	let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
		.join("../docs/test-vectors/proof-v2.json");
	if std::env::var_os("ATTEST_WRITE_VECTORS").is_some() {
		std::fs::write(&path, serde_json::to_string_pretty(&vectors()).unwrap() + "\n").unwrap();
		return;
	}
	let committed: Value =
		serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
			panic!("{}: {e}; generate with ATTEST_WRITE_VECTORS=1", path.display())
		}))
		.unwrap();
	let cases = committed["cases"].as_array().unwrap();
	assert!(cases.len() >= 12, "{} cases", cases.len());
	for c in cases {
		let name = c["name"].as_str().unwrap();
		let trust = TrustRoot {
			genesis: H256::from_slice(&unhex(&c["trust"]["genesis"])),
			authorities: c["trust"]["authorities"]
				.as_array()
				.unwrap()
				.iter()
				.map(|a| {
					(
						sp_consensus_grandpa::AuthorityId::from_slice(&unhex(&a["id"])).unwrap(),
						a["weight"].as_u64().unwrap(),
					)
				})
				.collect(),
		};
		let digest = H256::from_slice(&unhex(&c["digest"]));
		let p = ProofV2::decode_all(&mut &unhex(&c["scale"])[..]).expect(name);
		assert_eq!(expect(&p, &trust, &digest), c["expect"], "{name}");
		assert_eq!(hex0x(p.chain.header.hash()), c["parts"]["headerHash"], "{name}");
		assert_eq!(c["expect"]["valid"], name.starts_with("valid"), "{name}");
	}
}
