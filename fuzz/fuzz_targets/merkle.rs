//! Merkle trees and proofs against a second implementation: RFC 6962's recursive
//! definitions (`MTH`, `PATH`, `PROOF`, section 2.1), written here from the RFC and nothing
//! else. The input chooses the leaves, a position, an older tree size and one edit; the
//! project's roots and proofs (three constructions: the incremental builder, the in-memory
//! tree and the recursive functions) must equal the reference's, verify, and stop verifying
//! once edited.

#![no_main]

use attest_primitives::{
	merkle::{self, ConsistencyProof, InclusionProof, MerkleBuilder, MerkleTree},
	Hash,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn sha(parts: &[&[u8]]) -> Hash {
	let mut h = Sha256::new();
	for p in parts {
		h.update(p);
	}
	Hash(h.finalize().into())
}

/// The largest power of two smaller than `n` (n > 1).
fn k_of(n: usize) -> usize {
	let mut k = 1;
	while k << 1 < n {
		k <<= 1;
	}
	k
}

/// `MTH(D[n])` over content digests (an entry is a 32-byte digest).
fn mth(d: &[Hash]) -> Hash {
	match d.len() {
		0 => sha(&[]),
		1 => sha(&[&[0], &d[0].0]),
		n => {
			let k = k_of(n);
			sha(&[&[1], &mth(&d[..k]).0, &mth(&d[k..]).0])
		},
	}
}

/// `PATH(m, D[n])`, bottom-up.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
	if d.len() <= 1 {
		return Vec::new();
	}
	let k = k_of(d.len());
	if m < k {
		let mut p = path(m, &d[..k]);
		p.push(mth(&d[k..]));
		p
	} else {
		let mut p = path(m - k, &d[k..]);
		p.push(mth(&d[..k]));
		p
	}
}

/// `SUBPROOF(m, D[n], b)`.
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
	let n = d.len();
	if m == n {
		return if b { Vec::new() } else { vec![mth(d)] };
	}
	let k = k_of(n);
	if m <= k {
		let mut p = subproof(m, &d[..k], b);
		p.push(mth(&d[k..]));
		p
	} else {
		let mut p = subproof(m - k, &d[k..], false);
		p.push(mth(&d[..k]));
		p
	}
}

fuzz_target!(|data: &[u8]| {
	// [n: 1 byte][m: 1][first: 1][edit: 2][leaf seed...]
	if data.len() < 5 {
		return;
	}
	let n = 1 + data[0] as usize % 70;
	let m = data[1] as usize % n;
	let first = 1 + data[2] as usize % n;
	let edit = u16::from_le_bytes([data[3], data[4]]) as usize;
	let seed = &data[5..];
	let digests: Vec<Hash> = (0..n)
		.map(|i| {
			let b = seed.get(i % seed.len().max(1)).copied().unwrap_or(0);
			sha(&[&(i as u64).to_le_bytes(), &[b]])
		})
		.collect();

	// Roots: three constructions and the reference.
	let root = mth(&digests);
	assert_eq!(merkle::root_of_digests(&digests), root);
	let tree = MerkleTree::from_digests(&digests);
	assert_eq!(tree.root(), root);
	let mut builder = MerkleBuilder::default();
	for d in &digests {
		builder.push_digest(d);
	}
	assert_eq!(builder.root(), root);
	let leaves: Vec<Hash> = digests.iter().map(merkle::digest_leaf_hash).collect();

	// Inclusion: both constructions equal PATH, verify, and fail once edited.
	let proof = tree.inclusion_proof(m as u64).expect("index below size");
	assert_eq!(proof.path, path(m, &digests));
	assert_eq!(merkle::inclusion_proof(&leaves, m as u64).expect("in range"), proof);
	assert!(proof.verify_digest(&digests[m], &root).is_ok());
	assert!(tree.inclusion_proof(n as u64).is_err());
	let mut bad = proof.clone();
	match edit % 5 {
		0 if !bad.path.is_empty() => {
			let i = edit / 5 % bad.path.len();
			bad.path[i].0[edit % 32] ^= 1 << (edit % 8);
		},
		1 => bad.leaf_index = (bad.leaf_index + 1 + (edit / 5) as u64 % n as u64) % n as u64,
		// (Not the tree size alone: RFC 9162 trusts the size with the root, as an anchor
		// names its log's size with its root; the proof bundle checks the size is the
		// anchor's.)
		2 if !bad.path.is_empty() => {
			let last = bad.path.len() - 1;
			bad.path.swap(0, last);
		},
		3 => {
			bad.path.push(digests[edit % n]);
		},
		_ if !bad.path.is_empty() => {
			bad.path.pop();
		},
		_ => bad.leaf_index = n as u64,
	}
	if bad != proof {
		// An edit that names another leaf with equal content is the same statement.
		let same_leaf = bad.tree_size == proof.tree_size
			&& bad.path == proof.path
			&& digests.get(bad.leaf_index as usize) == Some(&digests[m]);
		if !same_leaf {
			assert!(bad.verify_digest(&digests[m], &root).is_err(), "edited {proof:?} -> {bad:?}");
		}
	}
	let other = sha(&[b"not a leaf"]);
	assert!(proof.verify_digest(&other, &root).is_err());
	assert!(proof.verify_digest(&digests[m], &other).is_err());

	// Consistency: PROOF(first, D[n]) equals, verifies, fails once edited.
	let old_root = mth(&digests[..first]);
	let cproof = merkle::consistency_proof(&leaves, first as u64).expect("0 < first <= n");
	assert_eq!(cproof.path, subproof(first, &digests, true));
	assert!(cproof.verify(&old_root, &root).is_ok());
	let mut cbad: ConsistencyProof = cproof.clone();
	match edit % 4 {
		0 if !cbad.path.is_empty() => {
			let i = edit / 4 % cbad.path.len();
			cbad.path[i].0[edit % 32] ^= 1;
		},
		1 => cbad.first_size = (cbad.first_size % n as u64) + 1,
		2 if !cbad.path.is_empty() => {
			cbad.path.pop();
		},
		_ => cbad.path.push(old_root),
	}
	if cbad != cproof {
		// Another first size may be a true statement too: compare with the reference.
		let true_statement = cbad.path == subproof(cbad.first_size as usize, &digests, true)
			&& cbad.second_size == n as u64;
		let claimed_old = if (cbad.first_size as usize) <= n {
			mth(&digests[..cbad.first_size as usize])
		} else {
			old_root
		};
		if !true_statement {
			assert!(cbad.verify(&claimed_old, &root).is_err(), "edited {cproof:?} -> {cbad:?}");
			assert!(cbad.verify(&old_root, &root).is_err(), "edited {cproof:?} -> {cbad:?}");
		}
	}
	// Never a panic on any proof the input spells directly.
	let _ = InclusionProof { leaf_index: edit as u64, tree_size: n as u64, path: digests.clone() }
		.verify_digest(&digests[0], &root);
	let _ = ConsistencyProof { first_size: m as u64, second_size: first as u64, path: digests }
		.verify(&old_root, &root);
});
