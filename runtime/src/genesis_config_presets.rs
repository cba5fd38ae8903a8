//! Genesis presets: `dev` (one authority, Alice) and `local_testnet` (Alice, Bob, Charlie).
//! Both prefund Alice..Ferdie and make Alice the sudo key.

use crate::{AccountId, BalancesConfig, RuntimeGenesisConfig, SudoConfig, UNIT};
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
	authorities: Vec<(AuraId, GrandpaId, u64)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts.iter().cloned().map(|k| (k, ENDOWMENT)).collect::<Vec<_>>(),
		},
		aura: pallet_aura::GenesisConfig {
			authorities: authorities.iter().map(|(aura, _, _)| aura.clone()).collect::<Vec<_>>(),
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: authorities
				.iter()
				.map(|(_, grandpa, weight)| (grandpa.clone(), *weight))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
	})
}

fn authority(
	aura: Sr25519Keyring,
	grandpa: Ed25519Keyring,
	grandpa_weight: u64,
) -> (AuraId, GrandpaId, u64) {
	(aura.public().into(), grandpa.public().into(), grandpa_weight)
}

fn endowed() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// `dev`: one authority (Alice).
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice, 1)],
		endowed(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// `local_testnet`: three authorities (Alice, Bob, Charlie).
///
/// GRANDPA finalizes with votes of more than two thirds of the total weight. With three
/// equal voters that means all three, so a two-node walkthrough would never finalize.
/// Alice and Bob therefore vote with weight 2 and Charlie with 1 (total 5, threshold 4):
/// Alice and Bob together finalize; any single node, or Charlie with one other, does not.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice, 2),
			authority(Sr25519Keyring::Bob, Ed25519Keyring::Bob, 2),
			authority(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie, 1),
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
