//! What the runtime's migrations need to know of this chain.

use crate::{AccountId, Runtime, SessionKeys};
use alloc::vec::Vec;
use frame_support::traits::Get;
use sp_core::sr25519;

/// The authorities of a chain made before sessions (spec_version 102 and earlier), as the
/// validators that [`pallet_validator_set::migrations::v1`] makes of them: Aura's and GRANDPA's
/// lists paired by position (the `dev` and `local` presets and the specs docs/operators.md
/// builds list each validator's two keys at the same position), each validator's account being
/// its Aura key (an sr25519 public key is an account id). The GRANDPA weights are not kept: a
/// set handed over by the session pallet gives every validator weight 1.
///
/// Empty (the migration then writes nothing and logs why) if the two lists differ in length.
pub struct FixedAuthorities;

impl Get<Vec<(AccountId, SessionKeys)>> for FixedAuthorities {
	fn get() -> Vec<(AccountId, SessionKeys)> {
		let aura = pallet_aura::Authorities::<Runtime>::get();
		let grandpa = pallet_grandpa::Pallet::<Runtime>::grandpa_authorities();
		if aura.len() != grandpa.len() {
			log::error!(
				target: "runtime::validator-set",
				"{} Aura authorities but {} GRANDPA authorities: cannot pair them into validators",
				aura.len(),
				grandpa.len()
			);
			return Vec::new();
		}
		aura.into_iter()
			.zip(grandpa)
			.map(|(aura, (grandpa, _weight))| {
				let account = AccountId::from(sr25519::Public::from(aura.clone()));
				(account, SessionKeys { aura, grandpa })
			})
			.collect()
	}
}
