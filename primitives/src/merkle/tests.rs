//! Known-answer tests from the RFC 6962 reference implementations, and property tests.
//!
//! The 8-entry reference tree, its roots for sizes 0..=8 and the proofs below are the ones
//! used by certificate-transparency's `merkle_tree_test.cc` and transparency-dev/merkle
//! (`testonly/constants.go`, `proof/verify_test.go`).

use super::*;
use alloc::vec;
use proptest::prelude::*;

fn h(s: &str) -> Hash {
	let mut out = [0u8; 32];
	hex::decode_to_slice(s, &mut out).unwrap();
	Hash(out)
}

fn reference_entries() -> Vec<Vec<u8>> {
	[
		"",
		"00",
		"10",
		"2021",
		"3031",
		"40414243",
		"5051525354555657",
		"606162636465666768696a6b6c6d6e6f",
	]
	.iter()
	.map(|s| hex::decode(s).unwrap())
	.collect()
}

fn reference_leaves() -> Vec<Hash> {
	reference_entries().iter().map(|e| leaf_hash(e)).collect()
}

const REFERENCE_ROOTS: [&str; 9] = [
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn reference_roots_for_every_size() {
	let entries = reference_entries();
	let leaves = reference_leaves();
	for n in 0..=8 {
		let expected = h(REFERENCE_ROOTS[n]);
		assert_eq!(root(&entries[..n]), expected, "MTH of {n} entries");
		assert_eq!(root_of_leaf_hashes(&leaves[..n]), expected);
		assert_eq!(MerkleTree::from_leaf_hashes(leaves[..n].to_vec()).root(), expected);
	}
	assert_eq!(empty_root(), h(REFERENCE_ROOTS[0]));
}

#[test]
fn reference_inclusion_proofs() {
	let leaves = reference_leaves();
	let cases: [(u64, u64, &[&str]); 5] = [
		(0, 1, &[]),
		(
			0,
			8,
			&[
				"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
				"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
				"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
			],
		),
		(
			5,
			8,
			&[
				"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
				"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
				"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
			],
		),
		(2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
		(
			1,
			5,
			&[
				"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
				"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
				"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			],
		),
	];
	for (index, size, path) in cases {
		let expected: Vec<Hash> = path.iter().map(|s| h(s)).collect();
		let tree = &leaves[..size as usize];
		let proof = inclusion_proof(tree, index).unwrap();
		assert_eq!(proof.path, expected, "PATH({index}, D[{size}])");
		assert_eq!(
			MerkleTree::from_leaf_hashes(tree.to_vec()).inclusion_proof(index).unwrap(),
			proof
		);
		let root = h(REFERENCE_ROOTS[size as usize]);
		proof.verify_leaf_hash(&leaves[index as usize], &root).unwrap();
	}
}

#[test]
fn reference_consistency_proofs() {
	let leaves = reference_leaves();
	let cases: [(u64, u64, &[&str]); 5] = [
		(1, 1, &[]),
		(
			1,
			8,
			&[
				"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
				"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
				"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
			],
		),
		(
			6,
			8,
			&[
				"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
				"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
				"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
			],
		),
		(
			2,
			5,
			&[
				"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
				"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			],
		),
		(
			2,
			8,
			&[
				"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
				"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
			],
		),
	];
	for (m, n, path) in cases {
		let expected: Vec<Hash> = path.iter().map(|s| h(s)).collect();
		let proof = consistency_proof(&leaves[..n as usize], m).unwrap();
		assert_eq!(proof.path, expected, "PROOF({m}, D[{n}])");
		proof
			.verify(&h(REFERENCE_ROOTS[m as usize]), &h(REFERENCE_ROOTS[n as usize]))
			.unwrap();
	}
}

#[test]
fn bad_arguments_are_errors_not_panics() {
	let leaves = reference_leaves();
	assert_eq!(
		inclusion_proof(&leaves, 8),
		Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
	);
	assert!(inclusion_proof(&[], 0).is_err());
	assert!(MerkleTree::from_leaf_hashes(vec![]).inclusion_proof(0).is_err());
	assert_eq!(
		consistency_proof(&leaves, 0),
		Err(MerkleError::InvalidSizes { first: 0, second: 8 })
	);
	assert!(consistency_proof(&leaves[..3], 4).is_err());
	let root = root_of_leaf_hashes(&leaves);
	// A proof claiming an index beyond its size.
	let bogus = InclusionProof { leaf_index: 9, tree_size: 8, path: vec![] };
	assert!(bogus.verify_leaf_hash(&leaves[0], &root).is_err());
	// Size 0.
	let empty = InclusionProof { leaf_index: 0, tree_size: 0, path: vec![] };
	assert!(empty.verify_leaf_hash(&leaves[0], &empty_root()).is_err());
	// A consistency proof between equal sizes must be empty.
	let c = ConsistencyProof { first_size: 8, second_size: 8, path: vec![root] };
	assert_eq!(c.verify(&root, &root), Err(MerkleError::WrongProofLength));
	let c = ConsistencyProof { first_size: 8, second_size: 8, path: vec![] };
	assert_eq!(c.verify(&root, &leaves[0]), Err(MerkleError::RootMismatch));
}

#[test]
fn proof_lengths_are_checked_exactly() {
	let leaves = reference_leaves();
	let root = root_of_leaf_hashes(&leaves);
	let proof = inclusion_proof(&leaves, 3).unwrap();
	let mut longer = proof.clone();
	longer.path.push(root);
	assert_eq!(longer.verify_leaf_hash(&leaves[3], &root), Err(MerkleError::WrongProofLength));
	let mut shorter = proof.clone();
	shorter.path.pop();
	assert_eq!(shorter.verify_leaf_hash(&leaves[3], &root), Err(MerkleError::WrongProofLength));
}

#[test]
fn builder_matches_recursive_definition() {
	fn mth_recursive(leaves: &[Hash]) -> Hash {
		match leaves.len() {
			0 => empty_root(),
			1 => leaves[0],
			n => {
				let k = split_point(n as u64) as usize;
				node_hash(&mth_recursive(&leaves[..k]), &mth_recursive(&leaves[k..]))
			},
		}
	}
	let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_le_bytes())).collect();
	let mut b = MerkleBuilder::new();
	for (n, leaf) in leaves.iter().enumerate() {
		assert_eq!(b.root(), mth_recursive(&leaves[..n]));
		b.push_leaf_hash(*leaf);
	}
	assert_eq!(b.size(), 300);
}

#[test]
fn split_point_is_rfc6962s() {
	for (n, k) in
		[(2u64, 1u64), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512), (1 << 40, 1 << 39)]
	{
		assert_eq!(split_point(n), k, "n = {n}");
	}
}

fn leaves_of(n: usize, salt: u64) -> Vec<Hash> {
	(0..n as u64)
		.map(|i| leaf_hash(&(i ^ salt.rotate_left(17)).to_le_bytes()))
		.collect()
}

fn flip(h: &Hash, byte: usize, bit: u8) -> Hash {
	let mut out = *h;
	out.0[byte % 32] ^= 1 << (bit % 8);
	out
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

	/// Every leaf's proof verifies; flipping any bit of the leaf, any proof hash or the root
	/// makes it fail.
	#[test]
	fn inclusion_proofs_verify_and_flips_fail(
		n in 1usize..=1000,
		salt in any::<u64>(),
		byte in 0usize..32,
		bit in 0u8..8,
	) {
		let leaves = leaves_of(n, salt);
		let tree = MerkleTree::from_leaf_hashes(leaves.clone());
		let root = tree.root();
		prop_assert_eq!(root, root_of_leaf_hashes(&leaves));
		for (i, leaf) in leaves.iter().enumerate() {
			let proof = tree.inclusion_proof(i as u64).unwrap();
			prop_assert!(proof.verify_leaf_hash(leaf, &root).is_ok());
			prop_assert!(proof.verify_leaf_hash(&flip(leaf, byte, bit), &root).is_err());
			prop_assert!(proof.verify_leaf_hash(leaf, &flip(&root, byte, bit)).is_err());
			for j in 0..proof.path.len() {
				let mut bad = proof.clone();
				bad.path[j] = flip(&bad.path[j], byte, bit);
				prop_assert!(bad.verify_leaf_hash(leaf, &root).is_err());
			}
			// The proof is not valid for any other index.
			if n > 1 {
				let mut moved = proof.clone();
				moved.leaf_index = (proof.leaf_index + 1) % n as u64;
				prop_assert!(moved.verify_leaf_hash(leaf, &root).is_err());
			}
		}
	}

	/// The O(n) recursive PATH and the stored-tree path agree.
	#[test]
	fn recursive_and_tree_paths_agree(n in 1usize..=200, salt in any::<u64>()) {
		let leaves = leaves_of(n, salt);
		let tree = MerkleTree::from_leaf_hashes(leaves.clone());
		for i in 0..n as u64 {
			prop_assert_eq!(inclusion_proof(&leaves, i).unwrap(), tree.inclusion_proof(i).unwrap());
		}
	}

	/// SCALE and JSON round-trip.
	#[test]
	fn proofs_round_trip(n in 1usize..=64, salt in any::<u64>()) {
		let leaves = leaves_of(n, salt);
		let p = inclusion_proof(&leaves, salt % n as u64).unwrap();
		prop_assert_eq!(InclusionProof::decode(&mut &p.encode()[..]).unwrap(), p.clone());
		let json = serde_json::to_string(&p).unwrap();
		prop_assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), p);
	}
}

/// Consistency proofs verify for every 0 < m <= n <= 256, and fail when tampered with.
#[test]
fn consistency_proofs_for_all_sizes_up_to_256() {
	let leaves = leaves_of(256, 7);
	let mut roots = vec![empty_root()];
	let mut b = MerkleBuilder::new();
	for leaf in &leaves {
		b.push_leaf_hash(*leaf);
		roots.push(b.root());
	}
	for n in 1..=256u64 {
		for m in 1..=n {
			let proof = consistency_proof(&leaves[..n as usize], m).unwrap();
			assert_eq!(proof.verify(&roots[m as usize], &roots[n as usize]), Ok(()), "m={m} n={n}");
			if m < n {
				// A wrong old root, a wrong new root, or a tampered path fails.
				assert!(proof.verify(&roots[m as usize - 1], &roots[n as usize]).is_err());
				assert!(proof.verify(&roots[m as usize], &roots[n as usize - 1]).is_err());
				if let Some(first) = proof.path.first() {
					let mut bad = proof.clone();
					bad.path[0] = flip(first, (m + n) as usize, (m % 8) as u8);
					assert!(bad.verify(&roots[m as usize], &roots[n as usize]).is_err());
				}
			}
		}
	}
}
