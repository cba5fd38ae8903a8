//! Merkle trees as in RFC 6962 §2.1 (and RFC 9162 §2.1), with SHA-256.
//!
//! - Leaf hash: `SHA-256(0x00 || entry)`; node hash: `SHA-256(0x01 || left || right)`.
//! - `MTH({}) = SHA-256("")`; for `n > 1` entries, `k` is the largest power of two smaller
//!   than `n` and `MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`.
//! - An entry of an attestation range is the 32-byte SHA-256 content digest of one data item,
//!   so the leaf hash of item `d` is `SHA-256(0x00 || d)`.
//!
//! Names follow the RFC: [`root`] is `MTH`, [`inclusion_proof`] is `PATH(m, D[n])`,
//! [`consistency_proof`] is `PROOF(m, D[n])`. Verification follows the algorithms of
//! RFC 9162 §2.1.3.2 and §2.1.4.2, which check the proof length exactly.
//!
//! Everything is pure and transport-free: proofs are plain data with SCALE and JSON
//! encodings, specified in `docs/proof-format.md`.

use crate::Hash;
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;
use sha2::{Digest as _, Sha256};

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
pub const NODE_PREFIX: u8 = 0x01;
/// Deepest possible tree: sizes are `u64`.
pub const MAX_DEPTH: usize = 64;
/// Most hashes in a consistency proof between trees of at most `2^64 - 1` leaves: one sibling
/// per level below the root (at most 64) plus the root of the older tree's last subtree.
pub const MAX_CONSISTENCY_PATH: u32 = MAX_DEPTH as u32 + 1;

/// Why a proof was refused or could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
	/// The leaf index is not below the tree size.
	#[error("leaf index {index} is out of range for a tree of {size} leaves")]
	IndexOutOfRange { index: u64, size: u64 },
	/// A consistency proof needs `0 < first <= second`.
	#[error("invalid tree sizes for a consistency proof: first {first}, second {second} (need 0 < first <= second)")]
	InvalidSizes { first: u64, second: u64 },
	/// The proof has too many or too few hashes for the claimed sizes.
	#[error("the proof has the wrong number of hashes for its tree sizes")]
	WrongProofLength,
	/// The proof's hashes do not lead to the expected root.
	#[error("the proof does not lead to the expected root hash")]
	RootMismatch,
}

/// `MTH({})`: the root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
	Hash(Sha256::digest([]).into())
}

/// Leaf hash of an entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
	let mut h = Sha256::new();
	h.update([LEAF_PREFIX]);
	h.update(entry);
	Hash(h.finalize().into())
}

/// Leaf hash of a 32-byte content digest (the entries of an attestation range).
#[inline]
pub fn digest_leaf_hash(digest: &Hash) -> Hash {
	let mut buf = [0u8; 33];
	buf[0] = LEAF_PREFIX;
	buf[1..].copy_from_slice(digest.as_bytes());
	Hash(Sha256::digest(buf).into())
}

/// Interior node hash: `SHA-256(0x01 || left || right)`.
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
	let mut buf = [0u8; 65];
	buf[0] = NODE_PREFIX;
	buf[1..33].copy_from_slice(left.as_bytes());
	buf[33..].copy_from_slice(right.as_bytes());
	Hash(Sha256::digest(buf).into())
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
	debug_assert!(n >= 2);
	1u64 << (63 - (n - 1).leading_zeros())
}

/// Compare two hashes without an early exit.
fn hashes_equal(a: &Hash, b: &Hash) -> bool {
	a.as_bytes().iter().zip(b.as_bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `MTH(D[n])` of the given leaf hashes.
pub fn root_of_leaf_hashes(leaf_hashes: &[Hash]) -> Hash {
	let mut b = MerkleBuilder::new();
	for h in leaf_hashes {
		b.push_leaf_hash(*h);
	}
	b.root()
}

/// `MTH(D[n])` of 32-byte content digests (each is one entry).
pub fn root_of_digests(digests: &[Hash]) -> Hash {
	let mut b = MerkleBuilder::new();
	for d in digests {
		b.push_digest(d);
	}
	b.root()
}

/// `MTH(D[n])` of arbitrary entries.
pub fn root<E: AsRef<[u8]>>(entries: &[E]) -> Hash {
	let mut b = MerkleBuilder::new();
	for e in entries {
		b.push_leaf_hash(leaf_hash(e.as_ref()));
	}
	b.root()
}

/// Incremental Merkle tree builder: appends leaves one at a time and keeps only the roots of
/// the perfect subtrees that make up the tree so far (at most 64 hashes), so a range of 10^8
/// items needs no more memory than a range of 10.
///
/// Invariant: `stack[0..len]` holds the roots of perfect subtrees whose sizes are the set bits
/// of `size`, largest (leftmost) first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleBuilder {
	size: u64,
	len: usize,
	stack: [Hash; MAX_DEPTH],
}

impl Default for MerkleBuilder {
	fn default() -> Self {
		Self::new()
	}
}

impl MerkleBuilder {
	/// An empty tree.
	pub const fn new() -> Self {
		Self { size: 0, len: 0, stack: [Hash::zero(); MAX_DEPTH] }
	}

	/// Number of leaves appended.
	pub fn size(&self) -> u64 {
		self.size
	}

	/// Append a content digest as the next entry.
	pub fn push_digest(&mut self, digest: &Hash) {
		self.push_leaf_hash(digest_leaf_hash(digest));
	}

	/// Append an already computed leaf hash.
	pub fn push_leaf_hash(&mut self, leaf: Hash) {
		let mut node = leaf;
		let mut size = self.size;
		// Each trailing one bit of `size` is a perfect subtree of the same size as `node`:
		// merge them, right to left.
		while size & 1 == 1 {
			self.len -= 1;
			node = node_hash(&self.stack[self.len], &node);
			size >>= 1;
		}
		self.stack[self.len] = node;
		self.len += 1;
		self.size += 1;
	}

	/// `MTH` of the leaves appended so far.
	pub fn root(&self) -> Hash {
		let mut subtrees = self.stack[..self.len].iter().rev();
		match subtrees.next() {
			None => empty_root(),
			Some(last) => subtrees.fold(*last, |acc, left| node_hash(left, &acc)),
		}
	}
}

/// A proof that a leaf is at `leaf_index` in a tree of `tree_size` leaves: `PATH(m, D[n])`,
/// sibling hashes from the leaf upward.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct InclusionProof {
	/// Zero-based position of the leaf.
	pub leaf_index: u64,
	/// Number of leaves in the tree.
	pub tree_size: u64,
	/// Audit path, bottom-up.
	#[cfg_attr(feature = "schema", schema(value_type = Vec<crate::schema::Hash>))]
	pub path: Vec<Hash>,
}

/// A proof that the tree of `first_size` leaves is a prefix of the tree of `second_size`
/// leaves: `PROOF(m, D[n])`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct ConsistencyProof {
	/// Size of the older tree.
	pub first_size: u64,
	/// Size of the newer tree.
	pub second_size: u64,
	/// Consistency path.
	pub path: Vec<Hash>,
}

/// `MTH` of `leaves` (leaf hashes); recursive helper for proof construction.
fn mth(leaves: &[Hash]) -> Hash {
	root_of_leaf_hashes(leaves)
}

/// `PATH(m, D[n])` over leaf hashes: O(n) hashing, O(log n) proof.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<InclusionProof, MerkleError> {
	let size = leaves.len() as u64;
	if index >= size {
		return Err(MerkleError::IndexOutOfRange { index, size });
	}
	let mut path = Vec::new();
	let (mut lo, mut hi, mut m) = (0usize, leaves.len(), index);
	// Walk down from the root, recording the sibling subtree at each split; the path is
	// bottom-up, so reverse at the end.
	while hi - lo > 1 {
		let k = split_point((hi - lo) as u64);
		if m < k {
			path.push(mth(&leaves[lo + k as usize..hi]));
			hi = lo + k as usize;
		} else {
			path.push(mth(&leaves[lo..lo + k as usize]));
			lo += k as usize;
			m -= k;
		}
	}
	path.reverse();
	Ok(InclusionProof { leaf_index: index, tree_size: size, path })
}

/// `PROOF(m, D[n])` over leaf hashes, for `0 < m <= n` (empty when `m == n`).
pub fn consistency_proof(
	leaves: &[Hash],
	first_size: u64,
) -> Result<ConsistencyProof, MerkleError> {
	let second_size = leaves.len() as u64;
	if first_size == 0 || first_size > second_size {
		return Err(MerkleError::InvalidSizes { first: first_size, second: second_size });
	}
	let mut path = Vec::new();
	// SUBPROOF(m, D[lo:hi], b), unrolled; siblings are pushed top-down and reversed at the end.
	let (mut lo, mut hi, mut m, mut complete) = (0usize, leaves.len(), first_size, true);
	loop {
		let n = (hi - lo) as u64;
		if m == n {
			if !complete {
				path.push(mth(&leaves[lo..hi]));
			}
			break;
		}
		let k = split_point(n);
		if m <= k {
			path.push(mth(&leaves[lo + k as usize..hi]));
			hi = lo + k as usize;
		} else {
			path.push(mth(&leaves[lo..lo + k as usize]));
			lo += k as usize;
			m -= k;
			complete = false;
		}
	}
	path.reverse();
	Ok(ConsistencyProof { first_size, second_size, path })
}

/// A whole tree kept in memory, level by level, for O(log n) inclusion proofs.
///
/// Level 0 holds the leaf hashes; a node without a right sibling is carried up unchanged,
/// which yields exactly the RFC 6962 tree.
#[derive(Clone, Debug)]
pub struct MerkleTree {
	levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
	/// Build from leaf hashes.
	pub fn from_leaf_hashes(leaves: Vec<Hash>) -> Self {
		let mut levels = alloc::vec![leaves];
		while let Some(last) = levels.last() {
			if last.len() <= 1 {
				break;
			}
			let pairs = last.chunks_exact(2);
			let carried = pairs.remainder().first().copied();
			let next: Vec<Hash> = pairs.map(|p| node_hash(&p[0], &p[1])).chain(carried).collect();
			levels.push(next);
		}
		Self { levels }
	}

	/// Build from content digests.
	pub fn from_digests(digests: &[Hash]) -> Self {
		Self::from_leaf_hashes(digests.iter().map(digest_leaf_hash).collect())
	}

	/// Number of leaves.
	pub fn size(&self) -> u64 {
		self.levels.first().map_or(0, |l| l.len() as u64)
	}

	/// `MTH` of the tree.
	pub fn root(&self) -> Hash {
		match self.levels.last() {
			Some(top) if top.len() == 1 => top[0],
			_ => empty_root(),
		}
	}

	/// `PATH(index, D[n])` in O(log n).
	pub fn inclusion_proof(&self, index: u64) -> Result<InclusionProof, MerkleError> {
		let size = self.size();
		if index >= size {
			return Err(MerkleError::IndexOutOfRange { index, size });
		}
		let mut path = Vec::new();
		let mut i = index as usize;
		for level in &self.levels[..self.levels.len() - 1] {
			let sibling = i ^ 1;
			if sibling < level.len() {
				path.push(level[sibling]);
			}
			i >>= 1;
		}
		Ok(InclusionProof { leaf_index: index, tree_size: size, path })
	}
}

impl InclusionProof {
	/// The root this proof leads to from `leaf` (a leaf hash), checking the path length
	/// exactly (RFC 9162 §2.1.3.2).
	pub fn root_from_leaf_hash(&self, leaf: &Hash) -> Result<Hash, MerkleError> {
		if self.leaf_index >= self.tree_size {
			return Err(MerkleError::IndexOutOfRange {
				index: self.leaf_index,
				size: self.tree_size,
			});
		}
		let (mut fnode, mut snode) = (self.leaf_index, self.tree_size - 1);
		let mut r = *leaf;
		for p in &self.path {
			if snode == 0 {
				return Err(MerkleError::WrongProofLength);
			}
			if fnode & 1 == 1 || fnode == snode {
				r = node_hash(p, &r);
				while fnode & 1 == 0 && fnode != 0 {
					fnode >>= 1;
					snode >>= 1;
				}
			} else {
				r = node_hash(&r, p);
			}
			fnode >>= 1;
			snode >>= 1;
		}
		if snode != 0 {
			return Err(MerkleError::WrongProofLength);
		}
		Ok(r)
	}

	/// Check that `leaf` (a leaf hash) is at `leaf_index` of the tree with root `root`.
	pub fn verify_leaf_hash(&self, leaf: &Hash, root: &Hash) -> Result<(), MerkleError> {
		let computed = self.root_from_leaf_hash(leaf)?;
		if hashes_equal(&computed, root) {
			Ok(())
		} else {
			Err(MerkleError::RootMismatch)
		}
	}

	/// Check that the content digest `digest` is at `leaf_index` of the tree with root `root`.
	pub fn verify_digest(&self, digest: &Hash, root: &Hash) -> Result<(), MerkleError> {
		self.verify_leaf_hash(&digest_leaf_hash(digest), root)
	}
}

impl ConsistencyProof {
	/// Check that `first_root` (of `first_size` leaves) and `second_root` (of `second_size`
	/// leaves) are consistent (RFC 9162 §2.1.4.2).
	pub fn verify(&self, first_root: &Hash, second_root: &Hash) -> Result<(), MerkleError> {
		let (first, second) = (self.first_size, self.second_size);
		if first == second {
			if first == 0 {
				return Err(MerkleError::InvalidSizes { first, second });
			}
			if !self.path.is_empty() {
				return Err(MerkleError::WrongProofLength);
			}
			return if hashes_equal(first_root, second_root) {
				Ok(())
			} else {
				Err(MerkleError::RootMismatch)
			};
		}
		let (fr, sr) = self.implied_roots(first_root)?;
		if hashes_equal(&fr, first_root) && hashes_equal(&sr, second_root) {
			Ok(())
		} else {
			Err(MerkleError::RootMismatch)
		}
	}

	/// The roots of the first and second tree that this proof leads to, for
	/// `0 < first_size < second_size` (RFC 9162 §2.1.4.2 without the final comparison).
	/// `first_root` is used only where the algorithm takes it as given: when `first_size` is
	/// a power of two, the first tree is a complete subtree of the second. Verifiers use
	/// [`ConsistencyProof::verify`]; this is for building proofs of any size without the
	/// leaves (the pallet's worst-case benchmarks).
	pub fn implied_roots(&self, first_root: &Hash) -> Result<(Hash, Hash), MerkleError> {
		let (first, second) = (self.first_size, self.second_size);
		if first == 0 || first >= second {
			return Err(MerkleError::InvalidSizes { first, second });
		}
		// If `first` is a power of two, the first tree is a complete subtree of the second and
		// its root is the proof's implicit first element.
		let mut path = self.path.iter();
		let seed = if first.is_power_of_two() {
			*first_root
		} else {
			*path.next().ok_or(MerkleError::WrongProofLength)?
		};
		let (mut fnode, mut snode) = (first - 1, second - 1);
		while fnode & 1 == 1 {
			fnode >>= 1;
			snode >>= 1;
		}
		let (mut fr, mut sr) = (seed, seed);
		for c in path {
			if snode == 0 {
				return Err(MerkleError::WrongProofLength);
			}
			if fnode & 1 == 1 || fnode == snode {
				fr = node_hash(c, &fr);
				sr = node_hash(c, &sr);
				while fnode & 1 == 0 && fnode != 0 {
					fnode >>= 1;
					snode >>= 1;
				}
			} else {
				sr = node_hash(&sr, c);
			}
			fnode >>= 1;
			snode >>= 1;
		}
		if snode != 0 {
			return Err(MerkleError::WrongProofLength);
		}
		Ok((fr, sr))
	}
}

#[cfg(test)]
mod tests;
