//! Signatures bind kind, chain, channel and message (DESIGN invariant 4: no replay).

use attest_primitives::{
	signing::{self, sign, Kind},
	*,
};
use proptest::prelude::*;
use sp_core::{ecdsa, ed25519, sr25519, Pair};
use sp_runtime::{traits::IdentifyAccount, AccountId32, MultiSignature, MultiSigner};

fn state(channel: u8, nonce: u64, requester: u128, verifier: u128) -> ChannelState {
	ChannelState {
		channel_id: Hash::repeat_byte(channel),
		nonce,
		requester_balance: requester,
		verifier_balance: verifier,
		htlcs: vec![Htlc {
			payment_hash: payment_hash(&BillKey([9; 32])),
			amount: 5,
			expiry: 100,
			items: ItemRange::of_digests(0, &[sha256(b"item")]),
		}]
		.try_into()
		.unwrap(),
		log: LogHead::of_digests(&[sha256(b"item")]),
		finality: attest_primitives::Finality::Open,
	}
}

fn account<P: Pair>(pair: &P) -> AccountId32
where
	P::Public: Into<MultiSigner>,
{
	pair.public().into().into_account()
}

/// Every way to change what was signed must invalidate the signature.
fn check_binding<P>(pair: P)
where
	P: Pair,
	P::Signature: Into<MultiSignature>,
	P::Public: Into<MultiSigner>,
{
	let genesis = Hash::repeat_byte(0xAA);
	let who = account(&pair);
	let s = state(1, 7, 100, 0);
	let sig = sign::sign_state(&pair, &genesis, &s);
	assert_eq!(signing::verify_state(&genesis, &s, &sig, &who), Ok(()));

	// Another chain.
	assert!(signing::verify_state(&Hash::repeat_byte(0xAB), &s, &sig, &who).is_err());
	// Another channel (the id inside the state and in the payload prefix).
	let mut other = s.clone();
	other.channel_id = Hash::repeat_byte(2);
	assert!(signing::verify_state(&genesis, &other, &sig, &who).is_err());
	assert!(signing::verify(Kind::State, &genesis, &Hash::repeat_byte(2), &s, &sig, &who).is_err());
	// Another nonce.
	let mut other = s.clone();
	other.nonce += 1;
	assert!(signing::verify_state(&genesis, &other, &sig, &who).is_err());
	// Another balance split.
	let mut other = s.clone();
	other.requester_balance -= 1;
	other.verifier_balance += 1;
	assert!(signing::verify_state(&genesis, &other, &sig, &who).is_err());
	// Another kind with the same message bytes.
	for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::State) {
		assert!(
			signing::verify(kind, &genesis, &s.channel_id, &s, &sig, &who).is_err(),
			"{kind:?}"
		);
	}
	// Another signer.
	let stranger = sr25519::Pair::from_string("//Stranger", None).unwrap();
	assert!(signing::verify_state(&genesis, &s, &sig, &account(&stranger)).is_err());
}

#[test]
fn sr25519_ed25519_and_ecdsa_signatures_bind_everything() {
	check_binding(sr25519::Pair::from_string("//Alice", None).unwrap());
	check_binding(ed25519::Pair::from_string("//Alice", None).unwrap());
	check_binding(ecdsa::Pair::from_string("//Alice", None).unwrap());
}

#[test]
fn records_verify_and_reject_swaps() {
	let genesis = Hash::repeat_byte(1);
	let channel = Hash::repeat_byte(3);
	let verifier = sr25519::Pair::from_string("//Bob", None).unwrap();
	let requester = ed25519::Pair::from_string("//Alice", None).unwrap();
	let claim = ItemClaim { seq: 4, digest: sha256(b"hello"), payment_hash: Hash::repeat_byte(5) };
	let first = sign::first_record(&verifier, &genesis, channel, claim);
	let second = sign::second_record(
		&requester,
		&genesis,
		channel,
		claim,
		DataRef::Inline(b"hello".to_vec()),
	);
	first.verify(&genesis).unwrap();
	second.verify(&genesis).unwrap();
	assert!(first.verify(&Hash::repeat_byte(2)).is_err());

	// A first-record signature is not a second-record signature, even by the same key.
	let verifier_as_requester = SecondRecord {
		channel_id: channel,
		claim,
		data: DataRef::Blob(claim.digest),
		requester_signature: first.verifier_signature.clone(),
		requester: first.verifier.clone(),
	};
	assert!(verifier_as_requester.verify(&genesis).is_err());

	// A record replayed under another sequence number or channel fails.
	let mut moved = first.clone();
	moved.claim.seq = 5;
	assert!(moved.verify(&genesis).is_err());
	let mut moved = first.clone();
	moved.channel_id = Hash::repeat_byte(4);
	assert!(moved.verify(&genesis).is_err());
	// Someone else's key with the verifier's signature.
	let mut stolen = first.clone();
	stolen.verifier = sr25519::Pair::from_string("//Eve", None).unwrap().public().into();
	assert!(stolen.verify(&genesis).is_err());
}

#[test]
fn channel_ids_do_not_collide_across_inputs() {
	let g = Hash::repeat_byte(0);
	let (a, b) = (AccountId32::new([1; 32]), AccountId32::new([2; 32]));
	let ids = [
		channel_id(&g, &a, &b, 0),
		channel_id(&g, &a, &b, 1),
		channel_id(&g, &b, &a, 0),
		channel_id(&Hash::repeat_byte(1), &a, &b, 0),
	];
	for i in 0..ids.len() {
		for j in i + 1..ids.len() {
			assert_ne!(ids[i], ids[j]);
		}
	}
}

#[test]
fn state_total_detects_overflow() {
	let mut s = state(1, 1, u128::MAX - 5, 5);
	assert_eq!(s.total(), None);
	s.requester_balance = 10;
	assert_eq!(s.total(), Some(20));
}

#[test]
fn json_uses_hex_and_decimal_strings() {
	let s = state(1, 2, 1_000_000_000_000_000_000_000_000, 3);
	let json = serde_json::to_value(&s).unwrap();
	assert_eq!(json["requesterBalance"], "1000000000000000000000000");
	assert_eq!(json["channelId"], format!("0x{}", "01".repeat(32)));
	assert_eq!(serde_json::from_value::<ChannelState>(json).unwrap(), s);
	let key = BillKey([0xab; 32]);
	let json = serde_json::to_string(&key).unwrap();
	assert_eq!(json, format!("\"0x{}\"", "ab".repeat(32)));
	assert_eq!(serde_json::from_str::<BillKey>(&json).unwrap(), key);
	assert!(serde_json::from_str::<BillKey>("\"0x1234\"").is_err());
	// The bill key never shows in debug output.
	assert_eq!(format!("{key:?}"), "BillKey(..)");
}

#[test]
fn inline_data_is_hex_in_json_and_arrays_are_read_too() {
	let data = DataRef::Inline(vec![0x00, 0x7f, 0xff]);
	let json = serde_json::to_string(&data).unwrap();
	assert_eq!(json, r#"{"inline":"0x007fff"}"#);
	let forms = [r#"{"inline":"0x007fff"}"#, r#"{"inline":"007FFF"}"#, r#"{"inline":[0,127,255]}"#];
	for form in forms {
		assert_eq!(serde_json::from_str::<DataRef>(form).unwrap(), data, "{form}");
	}
	let empty = DataRef::Inline(Vec::new());
	assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"inline":"0x"}"#);
	assert_eq!(serde_json::from_str::<DataRef>(r#"{"inline":"0x"}"#).unwrap(), empty);
	let bad_forms =
		[r#"{"inline":"0x123"}"#, r#"{"inline":"0xzz"}"#, r#"{"inline":[256]}"#, r#"{"inline":7}"#];
	for bad in bad_forms {
		assert!(serde_json::from_str::<DataRef>(bad).is_err(), "{bad} accepted");
	}
	// Every byte value, both ways, as the hex crate writes it.
	let all: Vec<u8> = (0..=255u8).cycle().take(1024 + 1).collect();
	let json = serde_json::to_string(&DataRef::Inline(all.clone())).unwrap();
	assert_eq!(json, format!(r#"{{"inline":"0x{}"}}"#, hex::encode(&all)));
	assert_eq!(serde_json::from_str::<DataRef>(&json).unwrap(), DataRef::Inline(all));
	let blob = DataRef::Blob(Hash([0x11; 32]));
	let json = serde_json::to_string(&blob).unwrap();
	assert_eq!(json, format!(r#"{{"blob":"0x{}"}}"#, "11".repeat(32)));
	assert_eq!(serde_json::from_str::<DataRef>(&json).unwrap(), blob);
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

	/// For random states and random tampering, a signature never verifies under another
	/// domain tag, genesis hash, channel id or nonce.
	#[test]
	fn signatures_never_transfer(
		seed in any::<[u8; 32]>(),
		genesis in any::<[u8; 32]>(),
		other_genesis in any::<[u8; 32]>(),
		channel in any::<[u8; 32]>(),
		other_channel in any::<[u8; 32]>(),
		nonce in any::<u64>(),
		other_nonce in any::<u64>(),
		kind_index in 1usize..5,
	) {
		let pair = sr25519::Pair::from_seed(&seed);
		let who = account(&pair);
		let genesis = Hash(genesis);
		let mut s = state(0, nonce, 10, 20);
		s.channel_id = Hash(channel);
		let sig = sign::sign_state(&pair, &genesis, &s);
		prop_assert!(signing::verify_state(&genesis, &s, &sig, &who).is_ok());
		if other_genesis != genesis.0 {
			prop_assert!(signing::verify_state(&Hash(other_genesis), &s, &sig, &who).is_err());
		}
		if other_channel != channel {
			let mut t = s.clone();
			t.channel_id = Hash(other_channel);
			prop_assert!(signing::verify_state(&genesis, &t, &sig, &who).is_err());
		}
		if other_nonce != nonce {
			let mut t = s.clone();
			t.nonce = other_nonce;
			prop_assert!(signing::verify_state(&genesis, &t, &sig, &who).is_err());
		}
		let kind = Kind::ALL[kind_index];
		prop_assert!(signing::verify(kind, &genesis, &s.channel_id, &s, &sig, &who).is_err());
	}
}
