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
fn dev_has_one_authority_and_local_three() {
	ext_from_preset(DEV_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 1);
		assert_eq!(Grandpa::grandpa_authorities().len(), 1);
	});
	ext_from_preset(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().len(), 3);
		let voters = Grandpa::grandpa_authorities();
		assert_eq!(voters.len(), 3);
		// Alice and Bob alone hold more than two thirds of the GRANDPA weight; no other pair
		// does, and no single voter does.
		let total: u64 = voters.iter().map(|(_, w)| w).sum();
		let supermajority = |w: u64| 3 * w > 2 * total;
		assert!(supermajority(voters[0].1 + voters[1].1));
		assert!(!supermajority(voters[0].1 + voters[2].1));
		assert!(!supermajority(voters[1].1 + voters[2].1));
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
