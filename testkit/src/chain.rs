//! Calls of pallet-attestation over JSON-RPC (subxt), with arguments SCALE-encoded by the
//! `attest-primitives` types themselves (no generated metadata types to keep in sync).

use codec::Encode;
use sp_core::{sr25519, Pair};
use sp_runtime::AccountId32;
use subxt::{
	ext::{scale_encode, scale_type_resolver::TypeResolver},
	transactions::StaticPayload,
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::{dev, Keypair};

/// One unit of the native token (12 decimals).
pub const UNIT: u128 = 1_000_000_000_000;

/// Call arguments already SCALE-encoded.
struct Raw(Vec<u8>);

impl scale_encode::EncodeAsFields for Raw {
	fn encode_as_fields_to<R: TypeResolver>(
		&self,
		_fields: &mut dyn scale_encode::FieldIter<'_, R::TypeId>,
		_types: &R,
		out: &mut Vec<u8>,
	) -> Result<(), scale_encode::Error> {
		out.extend_from_slice(&self.0);
		Ok(())
	}
}

/// The sr25519 pair of a dev account (`//Alice`, `//Bob`, ...).
pub fn pair(uri: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(uri, None).expect("dev key")
}

/// The account of a dev key.
pub fn account(uri: &str) -> AccountId32 {
	pair(uri).public().into()
}

/// The subxt signer of a dev account (`//Alice` to `//Ferdie`).
pub fn keypair(uri: &str) -> Keypair {
	match uri {
		"//Alice" => dev::alice(),
		"//Bob" => dev::bob(),
		"//Charlie" => dev::charlie(),
		"//Dave" => dev::dave(),
		"//Eve" => dev::eve(),
		"//Ferdie" => dev::ferdie(),
		other => panic!("{other} is not a dev account"),
	}
}

/// Names and field bytes of the `Attestation` events of an extrinsic.
pub type Events = Vec<(String, Vec<u8>)>;

/// Whether `events` has one named `name`.
pub fn has(events: &Events, name: &str) -> bool {
	events.iter().any(|(n, _)| n == name)
}

/// Submit `Attestation.<call>(args)` signed by `who`, wait until it is finalized and
/// succeeded, and return its `Attestation` events.
pub async fn submit(
	api: &OnlineClient<PolkadotConfig>,
	who: &Keypair,
	call: &str,
	args: impl Encode,
) -> anyhow::Result<Events> {
	let payload = StaticPayload::new("Attestation", call, Raw(args.encode()));
	let events = api
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch_default(&payload, who)
		.await?
		.wait_for_finalized_success()
		.await?;
	let mut out = Vec::new();
	for e in events.iter() {
		let e = e?;
		if e.pallet_name() == "Attestation" {
			out.push((e.event_name().to_string(), e.field_bytes().to_vec()));
		}
	}
	Ok(out)
}
