fn main() {
	#[cfg(feature = "std")]
	{
		substrate_wasm_builder::WasmBuilder::build_using_defaults();
		// A second wasm, the same runtime with the next `spec_version` (feature
		// `upgrade-test`), for the runtime-upgrade test: written to
		// `<target>/<profile>/wbuild/attest-runtime/upgrade_test.compact.compressed.wasm`, not
		// included in any binary.
		substrate_wasm_builder::WasmBuilder::init_with_defaults()
			.set_file_name("upgrade_test")
			.enable_feature("upgrade-test")
			.build();
	}
}
