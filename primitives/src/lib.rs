//! # attest-primitives
//!
//! The protocol core shared by the runtime, the attestation server and the client agents:
//! what is signed, what is proven, and how, byte for byte.
//!
//! - [`channel`]: channel state, HTLCs, bills, attestation requests, confirmations, records,
//!   anchors.
//! - [`signing`]: domain-separated signing payloads over `MultiSignature`.
//! - [`merkle`]: RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256: roots, inclusion and
//!   consistency proofs, and an incremental builder with O(log n) memory.
//! - [`proof`]: the proof bundle of one attested item and its check.
//! - [`digest`] (std): streaming SHA-256 content digests of files of any size.
//! - [`schema`] (feature `schema`): OpenAPI schemas of the JSON forms, for the server's API
//!   document.
//!
//! Everything here is `no_std` (with `alloc`) so the runtime can use it; the `std` feature adds
//! serde (JSON with `0x`-hex byte strings), signing with key pairs, and file digests.
//!
//! The byte formats are specified in `docs/protocol.md` and `docs/proof-format.md`, with test
//! vectors in `docs/test-vectors/`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod channel;
#[cfg(feature = "std")]
pub mod digest;
pub mod merkle;
pub mod proof;
#[cfg(feature = "schema")]
pub mod schema;
pub mod signing;

pub use channel::*;
pub use merkle::{ConsistencyProof, InclusionProof, MerkleBuilder, MerkleError};
pub use proof::{AttestationProof, ProofError, ProvenItem};
pub use signing::{Signable, SigningError};

/// A 32-byte hash: SHA-256 content digests, Merkle roots, payment hashes, channel ids.
pub use sp_core::H256 as Hash;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
	use sha2::Digest as _;
	Hash(sha2::Sha256::digest(data).into())
}

/// The payment hash that locks an HTLC: `sha256(bill_key)`.
pub fn payment_hash(bill_key: &BillKey) -> Hash {
	sha256(&bill_key.0)
}
