//! Built-in chain specifications: `dev` and `local`.

use attest_runtime::WASM_BINARY;
use sc_service::ChainType;

/// Chain spec of Attest chain (genesis from the runtime's presets).
pub type ChainSpec = sc_service::GenericChainSpec;

fn properties() -> sc_chain_spec::Properties {
	let mut p = sc_chain_spec::Properties::new();
	p.insert("tokenSymbol".into(), "ATT".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime wasm is not in this binary: it was built with SKIP_WASM_BUILD; rebuild \
		 without it"
			.to_string()
	})
}

/// `--dev`: one validator (Alice), Alice..Ferdie prefunded, Alice is sudo.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Attest Development")
		.with_id("attest_dev")
		.with_protocol_id("attest-dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// `--chain local`: validators Alice and Bob; Alice..Ferdie prefunded.
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("Attest Local Testnet")
		.with_id("attest_local")
		.with_protocol_id("attest-local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
