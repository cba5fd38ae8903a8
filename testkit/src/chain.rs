//! Dev accounts for tests. Calls of pallet-attestation go through `attest-chain`'s typed calls
//! (generated from the runtime's metadata), never through hand-encoded payloads.

use sp_core::{sr25519, Pair};
use sp_runtime::AccountId32;

/// One unit of the native token (12 decimals).
pub const UNIT: u128 = 1_000_000_000_000;

/// The sr25519 pair of a dev account (`//Alice`, `//Bob`, ...).
pub fn pair(uri: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(uri, None).expect("dev key")
}

/// The account of a dev key.
pub fn account(uri: &str) -> AccountId32 {
	pair(uri).public().into()
}
