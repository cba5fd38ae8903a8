//! Proofs that stand alone (format 2: SCALE `ProofV2`, checked with the chain spec alone),
//! starting from the cases of `docs/test-vectors/proof-v2.json`. Any input: no panic. An
//! input that checks against one of the valid cases' trust roots and digests, final by
//! GRANDPA, proves exactly what that case proves: the same item, channel parties, block,
//! time and finality (only the bundle's optional signed records may be left out).

#![no_main]

use attest_finality::{Finalized, ProofV2, Proven, TrustRoot};
use attest_fuzz::{hash, proof_v2_vectors, trust_root, unhex};
use attest_primitives::Hash;
use codec::{DecodeAll, Encode};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn valid() -> &'static Vec<(TrustRoot, Hash, Proven)> {
	static V: OnceLock<Vec<(TrustRoot, Hash, Proven)>> = OnceLock::new();
	V.get_or_init(|| {
		proof_v2_vectors()["cases"]
			.as_array()
			.expect("cases")
			.iter()
			.filter(|c| c["expect"]["valid"] == true)
			.map(|c| {
				let trust = trust_root(&c["trust"]);
				let digest = hash(&c["digest"]);
				let proof = ProofV2::decode_all(&mut &unhex(c["scale"].as_str().unwrap())[..])
					.expect("the vector decodes");
				let proven = proof.verify(&trust, &digest).expect("a valid case checks");
				(trust, digest, proven)
			})
			.collect()
	})
}

fuzz_target!(|data: &[u8]| {
	let Ok(proof) = ProofV2::decode_all(&mut &data[..]) else { return };
	assert_eq!(proof.encode(), data, "two encodings of one proof");
	let cases = valid();
	for (trust, digest, _) in cases {
		let Ok(p) = proof.verify(trust, digest) else { continue };
		if p.finalized == Finalized::NotProven {
			// Nothing proves it: a checker with the chain spec alone refuses it.
			continue;
		}
		// The vectors' made-up chains share their genesis and first set, so a proof of one
		// checks against another's trust root too: it must prove what one of them proves.
		let same = cases.iter().any(|(_, _, original)| {
			let mut q = p.clone();
			q.item.requester = q.item.requester.or(original.item.requester.clone());
			q.item.verifier = q.item.verifier.or(original.item.verifier.clone());
			&q == original
		});
		assert!(same, "an edited proof proves something no valid proof does: {p:?}");
	}
});
