//! The channel's messages as strangers send them: SCALE (what is signed and what the pallet
//! decodes) and JSON (the verifier's and the server's HTTP bodies). The first byte picks the
//! type. Any input: no panic. A SCALE input that decodes re-encodes to itself (one encoding
//! per message, so one signature per meaning); a JSON one that parses means the same after
//! a round trip; a record's signature check never panics.

#![no_main]

use attest_primitives::{
	AttestationRequest, Bill, ChannelState, Confirmation, FirstRecord, Hash, SecondRecord,
};
use codec::{DecodeAll, Encode};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

fn scale<T: DecodeAll + Encode>(data: &[u8]) -> Option<T> {
	let v = T::decode_all(&mut &data[..]).ok()?;
	assert_eq!(v.encode(), data, "two SCALE encodings of one message");
	Some(v)
}

fn json<T: DeserializeOwned + Serialize + PartialEq + Debug>(data: &[u8]) -> Option<T> {
	let v: T = serde_json::from_slice(data).ok()?;
	let again: T = serde_json::from_str(&serde_json::to_string(&v).expect("serializes"))
		.expect("its own JSON parses");
	assert_eq!(v, again, "a JSON round trip changed the message");
	Some(v)
}

fuzz_target!(|data: &[u8]| {
	let Some((&kind, rest)) = data.split_first() else { return };
	let genesis = Hash([0x6e; 32]);
	match kind % 12 {
		0 => drop(scale::<ChannelState>(rest)),
		1 => drop(scale::<Bill>(rest)),
		2 => drop(scale::<AttestationRequest>(rest)),
		3 => drop(scale::<Confirmation>(rest)),
		4 => {
			if let Some(r) = scale::<FirstRecord>(rest) {
				let _ = r.verify(&genesis);
			}
		},
		5 => {
			if let Some(r) = scale::<SecondRecord>(rest) {
				let _ = r.verify(&genesis);
			}
		},
		6 => drop(json::<ChannelState>(rest)),
		7 => drop(json::<Bill>(rest)),
		8 => drop(json::<AttestationRequest>(rest)),
		9 => drop(json::<Confirmation>(rest)),
		10 => {
			if let Some(attest_wire::Record::First(r)) = json::<attest_wire::Record>(rest) {
				let _ = r.verify(&genesis);
			}
		},
		_ => {
			if let Some(attest_wire::Record::Second(r)) = json::<attest_wire::Record>(rest) {
				let _ = r.verify(&genesis);
			}
		},
	}
});
