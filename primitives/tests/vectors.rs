//! The test vectors in `docs/test-vectors/` are what this code produces.
//!
//! `ATTEST_WRITE_VECTORS=1 cargo test -p attest-primitives --test vectors` rewrites them;
//! otherwise the committed files are compared with a fresh computation (sr25519 signatures are
//! randomized, so for those the committed signature is verified instead of compared).
//! `tests/vectors/check.mjs` re-checks the same files with an independent JavaScript
//! implementation.

use attest_primitives::{
	merkle::{self, MerkleTree},
	signing::{self, sign, Kind},
	*,
};
use codec::Encode;
use serde_json::{json, Value};
use sp_core::{ecdsa, ed25519, sr25519, Pair};
use sp_runtime::{traits::IdentifyAccount, MultiSignature, MultiSigner};
use std::path::PathBuf;

fn hex0x(bytes: impl AsRef<[u8]>) -> String {
	format!("0x{}", hex::encode(bytes))
}

fn dir() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/test-vectors")
}

/// Digest of item `i` in the Merkle vectors: `SHA-256(u64_le(i))`.
fn item_digest(i: u64) -> Hash {
	sha256(&i.to_le_bytes())
}

fn merkle_vectors() -> Value {
	let mut small = Vec::new();
	for n in 0u64..=17 {
		let ds: Vec<Hash> = (0..n).map(item_digest).collect();
		let tree = MerkleTree::from_digests(&ds);
		let leaves: Vec<Hash> = ds.iter().map(merkle::digest_leaf_hash).collect();
		let inclusion: Vec<Value> = (0..n)
			.map(|i| {
				let p = tree.inclusion_proof(i).unwrap();
				json!({ "leafIndex": i, "path": p.path })
			})
			.collect();
		let consistency: Vec<Value> = (1..=n)
			.map(|m| {
				let p = merkle::consistency_proof(&leaves, m).unwrap();
				json!({ "firstSize": m, "firstRoot": merkle::root_of_digests(&ds[..m as usize]), "path": p.path })
			})
			.collect();
		small.push(json!({
			"treeSize": n,
			"digests": ds,
			"root": tree.root(),
			"inclusion": inclusion,
			"consistency": consistency,
		}));
	}
	let mut large = Vec::new();
	for n in [1000u64, 4096, 65_537, 1_000_000] {
		let ds: Vec<Hash> = (0..n).map(item_digest).collect();
		let tree = MerkleTree::from_digests(&ds);
		let picks = [0, 1, n / 3, n / 2, n - 2, n - 1];
		let inclusion: Vec<Value> = picks
			.iter()
			.map(|&i| {
				let p = tree.inclusion_proof(i).unwrap();
				json!({ "leafIndex": i, "digest": ds[i as usize], "path": p.path })
			})
			.collect();
		let leaves: Vec<Hash> = ds.iter().map(merkle::digest_leaf_hash).collect();
		let consistency: Vec<Value> = [1, n / 2 + 1, n - 1]
			.iter()
			.map(|&m| {
				let p = merkle::consistency_proof(&leaves, m).unwrap();
				json!({ "firstSize": m, "firstRoot": merkle::root_of_digests(&ds[..m as usize]), "path": p.path })
			})
			.collect();
		large.push(json!({ "treeSize": n, "root": tree.root(), "inclusion": inclusion, "consistency": consistency }));
	}
	json!({
		"description": "RFC 6962 Merkle trees over SHA-256 content digests. Item i's digest is SHA-256 of the 8-byte little-endian encoding of i; its leaf hash is SHA-256(0x00 || digest); interior nodes are SHA-256(0x01 || left || right). Paths are bottom-up (RFC 6962 PATH and PROOF). See docs/proof-format.md.",
		"itemDigest": "sha256(u64_le(i))",
		"small": small,
		"large": large,
	})
}

type SignFn = Box<dyn Fn(&[u8]) -> MultiSignature>;

struct Signer {
	scheme: &'static str,
	uri: &'static str,
	public: MultiSigner,
	sign: SignFn,
}

fn signers() -> Vec<Signer> {
	let sr = sr25519::Pair::from_string("//Alice", None).unwrap();
	let ed = ed25519::Pair::from_string("//Bob", None).unwrap();
	let ec = ecdsa::Pair::from_string("//Charlie", None).unwrap();
	vec![
		Signer {
			scheme: "sr25519",
			uri: "//Alice",
			public: sr.public().into(),
			sign: Box::new(move |m| sr.sign(m).into()),
		},
		Signer {
			scheme: "ed25519",
			uri: "//Bob",
			public: ed.public().into(),
			sign: Box::new(move |m| ed.sign(m).into()),
		},
		Signer {
			scheme: "ecdsa",
			uri: "//Charlie",
			public: ec.public().into(),
			sign: Box::new(move |m| ec.sign(m).into()),
		},
	]
}

fn public_bytes(s: &MultiSigner) -> Vec<u8> {
	match s {
		MultiSigner::Sr25519(p) => p.0.to_vec(),
		MultiSigner::Ed25519(p) => p.0.to_vec(),
		MultiSigner::Ecdsa(p) => p.0.to_vec(),
		MultiSigner::Eth(p) => p.0.to_vec(),
	}
}

fn raw_signature(s: &MultiSignature) -> Vec<u8> {
	match s {
		MultiSignature::Sr25519(x) => x.0.to_vec(),
		MultiSignature::Ed25519(x) => x.0.to_vec(),
		MultiSignature::Ecdsa(x) => x.0.to_vec(),
		MultiSignature::Eth(x) => x.0.to_vec(),
	}
}

fn sample_state() -> ChannelState {
	let items = ItemRange::of_digests(40, &[sha256(b"hello world\n"), sha256(b"second item")]);
	ChannelState {
		channel_id: channel_id(&genesis(), &[0xd4u8; 32], &[0x8eu8; 32], 0),
		nonce: 7,
		requester_balance: 9_000_000_000_000,
		verifier_balance: 990_000_000_000,
		htlcs: vec![Htlc {
			payment_hash: payment_hash(&BillKey([0x42; 32])),
			amount: 10_000_000_000,
			expiry: 1_200,
			items,
		}]
		.try_into()
		.unwrap(),
		// The channel's log: 40 earlier items (`SHA-256(u64_le(i))`) and the two billed ones.
		log: LogHead::of_digests(
			&(0..40u64)
				.map(item_digest)
				.chain([sha256(b"hello world\n"), sha256(b"second item")])
				.collect::<Vec<_>>(),
		),
		finality: Finality::Open,
	}
}

fn genesis() -> Hash {
	Hash::repeat_byte(0x1a)
}

fn signing_vectors() -> Value {
	let state = sample_state();
	let channel = state.channel_id;
	let bill = Bill {
		items: state.htlcs[0].items,
		amount: 10_000_000_000,
		payment_hash: state.htlcs[0].payment_hash,
		expiry: 1_200,
	};
	let claim =
		ItemClaim { seq: 40, digest: sha256(b"hello world\n"), payment_hash: bill.payment_hash };
	// The last state of the channel: the HTLC resolved into the verifier's balance, final.
	let final_state = ChannelState {
		nonce: state.nonce + 1,
		verifier_balance: state.verifier_balance + state.htlcs[0].amount,
		htlcs: Default::default(),
		finality: Finality::Final,
		..state.clone()
	};
	// The same last state agreed while the verifier's unilateral close with state 7 is pending:
	// it names that close (`Finality::EndsClose`).
	let ends_close = ChannelState {
		finality: Finality::EndsClose { closer: Party::Verifier, closed_nonce: state.nonce },
		..final_state.clone()
	};
	let blob_read = (claim.digest, 1_790_000_000_000u64);
	// (label, kind, message type, who signs it in the protocol, message JSON, SCALE)
	type Message = (&'static str, Kind, &'static str, &'static str, Value, Vec<u8>);
	let messages: Vec<Message> = vec![
		(
			"open",
			Kind::State,
			"ChannelState",
			"requester and verifier",
			serde_json::to_value(&state).unwrap(),
			state.encode(),
		),
		(
			"final",
			Kind::State,
			"ChannelState",
			"requester and verifier",
			serde_json::to_value(&final_state).unwrap(),
			final_state.encode(),
		),
		(
			"ends-close",
			Kind::State,
			"ChannelState",
			"requester and verifier",
			serde_json::to_value(&ends_close).unwrap(),
			ends_close.encode(),
		),
		(
			"",
			Kind::BlobRead,
			"BlobRead",
			"requester or verifier of the item",
			json!({"digest": claim.digest, "expiresAtUnixMs": 1_790_000_000_000u64}),
			blob_read.encode(),
		),
		(
			"",
			Kind::BlobWrite,
			"BlobWrite",
			"requester",
			json!({"digest": claim.digest, "expiresAtUnixMs": 1_790_000_000_000u64}),
			blob_read.encode(),
		),
		(
			"",
			Kind::VerifierCall,
			"VerifierCall",
			"requester",
			json!({"expiresAtUnixMs": 1_790_000_000_000u64}),
			1_790_000_000_000u64.encode(),
		),
		("", Kind::Bill, "Bill", "verifier", serde_json::to_value(bill).unwrap(), bill.encode()),
		(
			"",
			Kind::FirstRecord,
			"ItemClaim",
			"verifier",
			serde_json::to_value(claim).unwrap(),
			claim.encode(),
		),
		(
			"",
			Kind::SecondRecord,
			"ItemClaim",
			"requester",
			serde_json::to_value(claim).unwrap(),
			claim.encode(),
		),
	];
	let mut out = Vec::new();
	for signer in signers() {
		for (label, kind, ty, signed_by, message, scale) in &messages {
			// The tuple's SCALE is the concatenation of its fields' SCALE.
			let payload = signing::signing_payload(*kind, &genesis(), &channel, &RawScale(scale));
			assert_eq!(
				payload,
				[(kind.tag(), genesis(), channel).encode(), scale.clone()].concat()
			);
			let sig = (signer.sign)(&payload);
			assert!(signing::verify(
				*kind,
				&genesis(),
				&channel,
				&RawScale(scale),
				&sig,
				&signer.public.clone().into_account()
			)
			.is_ok());
			let tag = String::from_utf8_lossy(kind.tag());
			let name = match *label {
				"" => format!("{tag}/{}", signer.scheme),
				l => format!("{tag}/{l}/{}", signer.scheme),
			};
			out.push(json!({
				"name": name,
				"kind": tag,
				"signedBy": signed_by,
				"genesisHash": genesis(),
				"channelId": channel,
				"messageType": ty,
				"message": message,
				"messageScale": hex0x(scale),
				"payload": hex0x(&payload),
				"scheme": signer.scheme,
				"secretUri": signer.uri,
				"publicKey": hex0x(public_bytes(&signer.public)),
				"accountId": hex0x(signer.public.clone().into_account()),
				"signature": hex0x(raw_signature(&sig)),
				"multiSignature": hex0x(sig.encode()),
			}));
		}
	}
	// Channel ids: blake2_256(SCALE(("attest/channel-id/v1", genesis, requester, verifier, open_nonce))).
	let mut ids = Vec::new();
	for (requester, verifier, open_nonce) in [
		([0xd4u8; 32], [0x8eu8; 32], 0u64),
		([0xd4; 32], [0x8e; 32], 1),
		([0x8e; 32], [0xd4; 32], 0),
		([0x01; 32], [0x02; 32], 1_000_000_007),
	] {
		let (r, v) =
			(sp_runtime::AccountId32::new(requester), sp_runtime::AccountId32::new(verifier));
		let preimage = (b"attest/channel-id/v1".as_slice(), genesis(), &r, &v, open_nonce).encode();
		ids.push(json!({
			"genesisHash": genesis(),
			"requester": hex0x(requester),
			"verifier": hex0x(verifier),
			"openNonce": open_nonce,
			"preimage": hex0x(&preimage),
			"channelId": channel_id(&genesis(), &r, &v, open_nonce),
		}));
	}
	json!({
		"description": "Signing payloads: SCALE((kind_tag: Vec<u8>, genesis_hash: [u8;32], channel_id: [u8;32], message)). sr25519 and ed25519 sign the payload bytes; ecdsa signs blake2_256(payload). multiSignature is the SCALE-encoded sp_runtime::MultiSignature (0x00 ed25519, 0x01 sr25519, 0x02 ecdsa). BlobRead and BlobWrite messages are the tuple (digest: [u8;32], expires_at_unix_ms: u64); a VerifierCall message is expires_at_unix_ms: u64 alone. Every message is signed by each of three test keys (secretUri) so that each scheme is covered; signedBy says which party signs that kind in the protocol. The test keys are not the parties of the sample channel (its id derives from requester 0xd4...d4 and verifier 0x8e...8e, the first channelIds entry), so these vectors check encodings and signatures, not who may sign. context gives what the messages are built from: the bill key behind paymentHash, the bytes of the billed items, and the digests of the log. channelIds: the on-chain derivation of channel ids (openNonce = the pallet's ChannelCount before the open). u64 fields are JSON numbers; readers must parse them exactly (above 2^53 a JavaScript number loses precision). See docs/protocol.md.",
		"context": {
			"billKey": hex0x([0x42u8; 32]),
			"paymentHash": payment_hash(&BillKey([0x42; 32])),
			"billedItems": [
				{ "seq": 40, "bytesUtf8": "hello world\n", "digest": sha256(b"hello world\n") },
				{ "seq": 41, "bytesUtf8": "second item", "digest": sha256(b"second item") },
			],
			"billedItemsRoot": state.htlcs[0].items.root,
			"logDigests": "items 0..40: sha256(u64_le(i)) (as in merkle.json); items 40 and 41: the billed items",
			"log": state.log,
			"channelIdPreimage": { "genesisHash": genesis(), "requester": hex0x([0xd4u8; 32]), "verifier": hex0x([0x8eu8; 32]), "openNonce": 0 },
		},
		"vectors": out,
		"channelIds": ids,
	})
}

/// Already SCALE-encoded bytes, encoded as themselves.
struct RawScale<'a>(&'a [u8]);
impl Encode for RawScale<'_> {
	fn encode_to<T: codec::Output + ?Sized>(&self, dest: &mut T) {
		dest.write(self.0)
	}
}

fn check_or_write(name: &str, fresh: Value, compare: impl Fn(&Value, &Value)) {
	let path = dir().join(name);
	if std::env::var_os("ATTEST_WRITE_VECTORS").is_some() {
		std::fs::create_dir_all(dir()).unwrap();
		std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
		return;
	}
	let committed: Value =
		serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
			panic!("{}: {e}; generate with ATTEST_WRITE_VECTORS=1", path.display())
		}))
		.unwrap();
	compare(&committed, &fresh);
}

#[test]
fn merkle_vectors_match_the_code() {
	check_or_write("merkle.json", merkle_vectors(), |committed, fresh| {
		assert_eq!(committed, fresh, "docs/test-vectors/merkle.json is stale");
	});
}

#[test]
fn signing_vectors_match_the_code() {
	check_or_write("signing.json", signing_vectors(), |committed, fresh| {
		assert_eq!(committed["channelIds"], fresh["channelIds"], "channel-id vectors differ");
		assert_eq!(committed["context"], fresh["context"], "the vectors' context differs");
		let (c, f) =
			(committed["vectors"].as_array().unwrap(), fresh["vectors"].as_array().unwrap());
		assert_eq!(c.len(), f.len());
		let names: std::collections::HashSet<&str> =
			c.iter().map(|v| v["name"].as_str().unwrap()).collect();
		assert_eq!(names.len(), c.len(), "vector names are unique");
		for (c, f) in c.iter().zip(f) {
			for field in [
				"name",
				"kind",
				"signedBy",
				"genesisHash",
				"channelId",
				"message",
				"messageScale",
				"payload",
				"publicKey",
				"accountId",
			] {
				assert_eq!(c[field], f[field], "{}: {field} differs", c["name"]);
			}
			if c["scheme"] != "sr25519" {
				assert_eq!(
					c["signature"], f["signature"],
					"{}: deterministic signature differs",
					c["name"]
				);
			}
			// The committed signature verifies over the committed payload.
			let sig_bytes =
				hex::decode(c["multiSignature"].as_str().unwrap().trim_start_matches("0x"))
					.unwrap();
			let sig = <MultiSignature as codec::Decode>::decode(&mut &sig_bytes[..]).unwrap();
			let payload =
				hex::decode(c["payload"].as_str().unwrap().trim_start_matches("0x")).unwrap();
			let account =
				hex::decode(c["accountId"].as_str().unwrap().trim_start_matches("0x")).unwrap();
			let account = sp_runtime::AccountId32::new(account.try_into().unwrap());
			assert!(
				sp_runtime::traits::Verify::verify(&sig, &payload[..], &account),
				"{}",
				c["name"]
			);
		}
	});
}

#[test]
fn sign_helpers_produce_the_documented_payload() {
	let pair = ed25519::Pair::from_string("//Bob", None).unwrap();
	let state = sample_state();
	let sig = sign::sign_state(&pair, &genesis(), &state);
	let payload =
		[(Kind::State.tag(), genesis(), state.channel_id).encode(), state.encode()].concat();
	assert_eq!(MultiSignature::from(pair.sign(&payload)), sig);
}
