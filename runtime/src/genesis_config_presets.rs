//! Genesis presets: `dev` (one validator, Alice) and `local_testnet` (Alice and Bob).
//! Both prefund Alice..Ferdie and make Alice the sudo key.
//!
//! Validators are given as session keys (`session.keys`: account, validator id, keys) and as
//! the validator set (`validatorSet.initialValidators`); the session pallet's genesis hands
//! their keys to Aura and GRANDPA, so `aura` and `grandpa` have no authorities of their own in
//! the genesis. Every validator votes in GRANDPA with weight 1.

use crate::{
	AccountId, BalancesConfig, RuntimeGenesisConfig, SessionConfig, SessionKeys, SudoConfig,
	ValidatorSetConfig, UNIT,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// What every well-known development account starts with.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

fn testnet_genesis(
	validators: Vec<(AccountId, AuraId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts.iter().cloned().map(|k| (k, ENDOWMENT)).collect::<Vec<_>>(),
		},
		validator_set: ValidatorSetConfig {
			initial_validators: validators
				.iter()
				.map(|(who, _, _)| who.clone())
				.collect::<Vec<_>>(),
		},
		session: SessionConfig {
			keys: validators
				.iter()
				.map(|(who, aura, grandpa)| {
					(
						who.clone(),
						who.clone(),
						SessionKeys { aura: aura.clone(), grandpa: grandpa.clone() },
					)
				})
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
	})
}

/// A validator of the well-known development keys: its account is its sr25519 key (also its
/// Aura key), its GRANDPA key the ed25519 key of the same name.
fn validator(aura: Sr25519Keyring, grandpa: Ed25519Keyring) -> (AccountId, AuraId, GrandpaId) {
	(aura.to_account_id(), aura.public().into(), grandpa.public().into())
}

fn endowed() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// `dev`: one validator (Alice).
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		endowed(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `local_testnet`: two validators (Alice and Bob).
///
/// GRANDPA finalizes with votes of more than two thirds of the validators: both of two, all of
/// three, three of four. Two validators make the smallest network that finalizes with every
/// node up; others join through the session pallet (docs/operators.md), and from four
/// validators on one may be down without stalling finality.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			validator(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			validator(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		endowed(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The preset with the given id, as JSON.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The ids of the presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
