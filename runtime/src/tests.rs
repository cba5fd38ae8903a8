//! Runtime-level tests: genesis presets build, metadata exposes the pallets clients use,
//! and the attestation pallet's calls dispatch through the real runtime configuration.

use super::*;
use frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::InspectHold, tokens::fungible::Inspect},
};
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::Sr25519Keyring;
use sp_runtime::traits::Dispatchable;

/// RFC 7386-style merge of a preset (a patch) onto the default genesis config, as the node
/// does when it builds a chain spec from a preset.
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
	match (base, patch) {
		(serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
			for (k, v) in p {
				merge(b.entry(k).or_insert(serde_json::Value::Null), v);
			}
		},
		(b, p) => *b = p,
	}
}

fn ext_from_preset(id: &str) -> sp_io::TestExternalities {
	let patch: serde_json::Value = serde_json::from_slice(
		&genesis_config_presets::get_preset(&id.into()).expect("preset exists"),
	)
	.expect("preset is JSON");
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("default config");
	merge(&mut config, patch);
	let json = serde_json::to_vec(&config).expect("JSON");
	let mut ext = sp_io::TestExternalities::new_empty();
	ext.execute_with(|| {
		frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(json)
			.expect("genesis builds");
	});
	ext
}

#[test]
fn presets_are_listed_and_build() {
	let names = genesis_config_presets::preset_names();
	assert_eq!(names.len(), 2);
	for id in [DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET] {
		ext_from_preset(id).execute_with(|| {
			for k in Sr25519Keyring::well_known() {
				assert_eq!(
					Balances::balance(&k.to_account_id()),
					genesis_config_presets::ENDOWMENT,
					"{k} is prefunded"
				);
			}
			assert_eq!(
				pallet_sudo::Key::<Runtime>::get(),
				Some(Sr25519Keyring::Alice.to_account_id())
			);
		});
	}
	assert!(genesis_config_presets::get_preset(&"nope".into()).is_none());
}

#[test]
fn dev_has_one_validator_and_local_two() {
	use frame_support::traits::GetStorageVersion;
	for (id, names) in [
		(DEV_RUNTIME_PRESET, vec![Sr25519Keyring::Alice]),
		(LOCAL_TESTNET_RUNTIME_PRESET, vec![Sr25519Keyring::Alice, Sr25519Keyring::Bob]),
	] {
		ext_from_preset(id).execute_with(|| {
			let accounts: Vec<AccountId> = names.iter().map(|k| k.to_account_id()).collect();
			assert_eq!(ValidatorSet::validators(), accounts);
			assert_eq!(pallet_session::Validators::<Runtime>::get(), accounts);
			// The session pallet's genesis handed their keys to Aura and GRANDPA, weight 1 each.
			let aura: Vec<_> = pallet_aura::Authorities::<Runtime>::get().into_inner();
			assert_eq!(aura, names.iter().map(|k| k.public().into()).collect::<Vec<_>>());
			let voters = Grandpa::grandpa_authorities();
			assert_eq!(voters.len(), names.len());
			assert!(voters.iter().all(|(_, w)| *w == 1));
			assert_eq!(ValidatorSet::on_chain_storage_version(), 1);
		});
	}
}

/// Blocks through the session pallet's and GRANDPA's hooks (Aura needs no slot digest here).
fn run_to(n: BlockNumber) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		Grandpa::on_finalize(System::block_number());
		System::set_block_number(System::block_number() + 1);
		Session::on_initialize(System::block_number());
	}
}

fn charlies_keys() -> SessionKeys {
	SessionKeys {
		aura: Sr25519Keyring::Charlie.public().into(),
		grandpa: sp_keyring::Ed25519Keyring::Charlie.public().into(),
	}
}

#[test]
fn a_validator_added_by_root_authors_and_votes_two_sessions_later() {
	ext_from_preset(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		System::set_block_number(1);
		let charlie = Sr25519Keyring::Charlie.to_account_id();
		// Keys set directly (the ownership proof is what pallet-session checks; its own tests
		// cover it): the runtime path is what is tested here.
		pallet_session::NextKeys::<Runtime>::insert(&charlie, charlies_keys());
		let add = RuntimeCall::ValidatorSet(pallet_validator_set::Call::add_validator {
			who: charlie.clone(),
		});
		// Not by a signed account, even a validator's.
		assert!(add
			.clone()
			.dispatch(RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id()))
			.is_err());
		let set_before = Grandpa::current_set_id();
		// Sessions with no change start no GRANDPA set.
		run_to(3 * SESSION_PERIOD + 1);
		assert_eq!(Grandpa::current_set_id(), set_before);
		assert_ok!(add.dispatch(RuntimeOrigin::root()));
		run_to(4 * SESSION_PERIOD + 1);
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 2);
		run_to(5 * SESSION_PERIOD + 1);
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 3);
		assert_eq!(Grandpa::grandpa_authorities().len(), 3);
		assert_eq!(Grandpa::current_set_id(), set_before + 1, "one change, one new set");
		run_to(8 * SESSION_PERIOD + 1);
		assert_eq!(Grandpa::current_set_id(), set_before + 1);
	});
}

#[test]
fn the_upgrade_makes_fixed_authorities_validators() {
	use frame_support::traits::OnRuntimeUpgrade;
	ext_from_preset(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		// As on a chain of spec_version 102: Aura and GRANDPA authorities, no sessions.
		let aura = pallet_aura::Authorities::<Runtime>::get();
		let voters = Grandpa::grandpa_authorities();
		let _ = pallet_session::NextKeys::<Runtime>::clear(u32::MAX, None);
		let _ = pallet_session::KeyOwner::<Runtime>::clear(u32::MAX, None);
		pallet_session::Validators::<Runtime>::kill();
		pallet_session::QueuedKeys::<Runtime>::kill();
		pallet_validator_set::Validators::<Runtime>::kill();
		Migrations::on_runtime_upgrade();
		let accounts =
			vec![Sr25519Keyring::Alice.to_account_id(), Sr25519Keyring::Bob.to_account_id()];
		assert_eq!(ValidatorSet::validators(), accounts);
		assert_eq!(pallet_session::Validators::<Runtime>::get(), accounts);
		for (i, who) in accounts.iter().enumerate() {
			let keys = pallet_session::NextKeys::<Runtime>::get(who).expect("keys");
			assert_eq!(keys.aura, aura[i]);
			assert_eq!(keys.grandpa, voters[i].0);
		}
		// Nothing changes at the next boundary: same Aura set, same GRANDPA set.
		System::set_block_number(1);
		let set = Grandpa::current_set_id();
		run_to(2 * SESSION_PERIOD + 1);
		assert_eq!(Grandpa::current_set_id(), set);
		assert_eq!(pallet_aura::Authorities::<Runtime>::get(), aura);
	});
}

#[test]
fn metadata_lists_attestation_pallet_and_its_calls() {
	let metadata = Runtime::metadata_ir();
	let names: Vec<&str> = metadata.pallets.iter().map(|p| p.name).collect();
	for expected in [
		"System",
		"Timestamp",
		"Aura",
		"Grandpa",
		"Balances",
		"TransactionPayment",
		"Sudo",
		"Attestation",
		"ValidatorSet",
		"Session",
	] {
		assert!(names.contains(&expected), "metadata lacks {expected}: {names:?}");
	}
	let attestation = metadata.pallets.iter().find(|p| p.name == "Attestation").unwrap();
	assert_eq!(attestation.index, 7);
	assert!(attestation.calls.is_some() && attestation.event.is_some());
	// Runtime API metadata is what subxt and polkadot.js read.
	let apis: Vec<&str> = metadata.apis.iter().map(|a| a.name).collect();
	for expected in [
		"Core",
		"Metadata",
		"AccountNonceApi",
		"TransactionPaymentApi",
		"GenesisBuilder",
		"OffchainWorkerApi",
		"SessionKeys",
	] {
		assert!(apis.contains(&expected), "runtime API {expected} missing: {apis:?}");
	}
}

#[test]
fn registry_calls_dispatch_through_runtime() {
	ext_from_preset(DEV_RUNTIME_PRESET).execute_with(|| {
		System::set_block_number(1);
		let bob = Sr25519Keyring::Bob.to_account_id();
		let free_before = Balances::balance(&bob);
		let call = RuntimeCall::Attestation(AttestationCall::register_verifier {
			endpoint: b"https://bob.example:8443".to_vec(),
			price: MILLI_UNIT,
			min_challenge_period: MINUTES,
		});
		assert_ok!(call.dispatch(RuntimeOrigin::signed(bob.clone())));
		let reason: RuntimeHoldReason = pallet_attestation::HoldReason::VerifierDeposit.into();
		assert_eq!(Balances::balance_on_hold(&reason, &bob), configs::VerifierDeposit::get());
		assert_eq!(Balances::balance(&bob), free_before - configs::VerifierDeposit::get());

		let again = RuntimeCall::Attestation(AttestationCall::register_verifier {
			endpoint: b"https://bob.example".to_vec(),
			price: 1,
			min_challenge_period: MINUTES,
		});
		assert_noop!(
			again.dispatch(RuntimeOrigin::signed(bob.clone())),
			pallet_attestation::Error::<Runtime>::AlreadyRegistered
		);

		let leave = RuntimeCall::Attestation(AttestationCall::unregister_verifier {});
		assert_ok!(leave.dispatch(RuntimeOrigin::signed(bob.clone())));
		assert_eq!(Balances::balance_on_hold(&reason, &bob), 0);
		assert_eq!(Balances::balance(&bob), free_before);
	});
}

#[test]
fn runtime_version_and_wasm_are_sane() {
	assert_eq!(VERSION.spec_name, "attest");
	#[cfg(feature = "std")]
	if let Some(wasm) = WASM_BINARY {
		// `\0asm` magic or zstd-compressed blob prefix.
		assert!(wasm.len() > 1024);
	}
}

#[test]
fn a_block_fits_over_a_thousand_cooperative_closes() {
	use frame_support::dispatch::DispatchClass;
	use pallet_attestation::WeightInfo;
	let weights = configs::RuntimeBlockWeights::get();
	let normal = weights.get(DispatchClass::Normal);
	let per_call = <Runtime as pallet_attestation::Config>::WeightInfo::close_cooperative()
		.saturating_add(normal.base_extrinsic);
	let max = normal.max_total.unwrap_or(weights.max_block).saturating_sub(weights.base_block);
	let fit = max.ref_time() / per_call.ref_time();
	println!(
		"close_cooperative: {} ps + base extrinsic {} ps; {fit} per block (normal class {} ps)",
		<Runtime as pallet_attestation::Config>::WeightInfo::close_cooperative().ref_time(),
		normal.base_extrinsic.ref_time(),
		max.ref_time()
	);
	assert!(fit >= 1_000, "only {fit} cooperative closes fit in a block");
}

/// Issue 11: fees must rise when blocks are full, so that filling blocks to censor a
/// channel's challenge for its whole challenge period costs more and more; and they never
/// fall below the base fee.
#[test]
fn fees_rise_with_full_blocks_and_never_fall_below_the_base() {
	use frame_support::dispatch::DispatchClass;
	use pallet_transaction_payment::Multiplier;
	use sp_runtime::traits::Convert;
	type Update = <Runtime as pallet_transaction_payment::Config>::FeeMultiplierUpdate;
	ext_from_preset(DEV_RUNTIME_PRESET).execute_with(|| {
		let weights = configs::RuntimeBlockWeights::get();
		let full = weights.get(DispatchClass::Normal).max_total.unwrap_or(weights.max_block);
		// A day of full blocks.
		System::set_block_consumed_resources(full, 0);
		let mut m = Multiplier::from_u32(1);
		for _ in 0..DAYS {
			m = Update::convert(m);
		}
		println!("fee multiplier after a day of full blocks: {m:?}");
		assert!(m > Multiplier::from_u32(2), "fees only rose to {m:?} after a day of full blocks");
		// Each full block raises the fee.
		let next = Update::convert(m);
		assert!(next > m);
		// Empty blocks bring it down, but never below 1.
		System::set_block_consumed_resources(frame_support::weights::Weight::zero(), 0);
		let mut low = m;
		for _ in 0..10 * DAYS {
			low = Update::convert(low);
		}
		assert_eq!(low, Multiplier::from_u32(1));
	});
}
