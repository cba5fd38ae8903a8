//! Proof bundles of format 1 (SCALE `AttestationProof`, what `attest proof check` and the
//! server's `/v1/items/{digest}/proof` carry), starting from the vector of
//! `docs/test-vectors/proof.json`. Any input: no panic. An input that decodes: its encoding
//! is the input (one encoding per proof). One that checks for the vector's digest: whatever
//! signed record it carries is the vector's signer's, for the vector's channel and seq (the
//! anchor itself is checked against the chain, elsewhere).

#![no_main]

use attest_fuzz::{hash, proof_v1_vector, unhex};
use attest_primitives::{AttestationProof, Hash, ProvenItem};
use codec::{DecodeAll, Encode};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Valid {
	genesis: Hash,
	digest: Hash,
	proven: ProvenItem,
}

fn valid() -> &'static Valid {
	static V: OnceLock<Valid> = OnceLock::new();
	V.get_or_init(|| {
		let v = proof_v1_vector();
		let genesis = hash(&v["genesis"]);
		let proof = AttestationProof::decode_all(&mut &unhex(v["scale"].as_str().unwrap())[..])
			.expect("the vector decodes");
		let digest = attest_primitives::sha256(&3u64.to_le_bytes());
		let proven = proof.verify(&genesis, &digest).expect("the vector checks");
		Valid { genesis, digest, proven }
	})
}

fuzz_target!(|data: &[u8]| {
	let Ok(proof) = AttestationProof::decode_all(&mut &data[..]) else { return };
	assert_eq!(proof.encode(), data, "two encodings of one proof");
	let v = valid();
	let Ok(p) = proof.verify(&v.genesis, &v.digest) else { return };
	assert_eq!(p.digest, v.digest);
	if p.requester.is_some() || p.verifier.is_some() {
		// A signed record binds the channel and the seq.
		assert_eq!(p.seq, v.proven.seq, "{p:?}");
		assert_eq!(p.anchor.channel_id, v.proven.anchor.channel_id, "{p:?}");
	}
	if p.requester.is_some() {
		assert_eq!(p.requester, v.proven.requester, "{p:?}");
	}
	if p.verifier.is_some() {
		assert_eq!(p.verifier, v.proven.verifier, "{p:?}");
	}
});
