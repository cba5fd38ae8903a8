//! The exported proof file (`attest proof export`: JSON a person reads, with the SCALE bytes
//! that are checked), as `attest proof check` and the verify page read it. Any input: no
//! panic. A file whose SCALE is taken is one whose JSON says exactly what its SCALE says.

#![no_main]

use attest_wire::ProofFile;
use codec::Encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
	let Ok(file) = serde_json::from_slice::<ProofFile>(data) else { return };
	let Ok(proof) = file.decode() else { return };
	assert_eq!(proof, file.proof, "the JSON shown differs from the SCALE checked");
	assert_eq!(
		attest_wire::hex0x(&proof.encode()).trim_start_matches("0x"),
		file.scale.trim_start_matches("0x").to_lowercase(),
		"the SCALE is one encoding"
	);
});
