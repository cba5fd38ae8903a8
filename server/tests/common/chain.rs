//! Calls to the dev chain (subxt) and signed protocol messages for tests.

use attest_chain::{runtime, Key, Static};
use attest_primitives::{
	channel_id, signing::sign, ChannelState, DataRef, FirstRecord, Hash, ItemClaim, LogHead,
	SecondRecord,
};
pub use attest_testkit::chain::{account, pair, UNIT};
use codec::Encode;
use sp_runtime::MultiSignature;

/// A client of the dev chain.
pub struct Chain {
	chain: attest_chain::Chain,
	pub genesis: Hash,
	opened: std::sync::atomic::AtomicU64,
	registered: std::sync::Mutex<Vec<String>>,
}

impl Chain {
	pub async fn connect(url: &str) -> anyhow::Result<Self> {
		let chain = attest_chain::Chain::connect(url).await?;
		let genesis = chain.genesis();
		Ok(Chain { chain, genesis, opened: 0.into(), registered: Default::default() })
	}

	/// Submit `call` signed by `who`; wait until finalized.
	pub async fn submit<C: subxt::transactions::Payload>(
		&self,
		who: &str,
		call: C,
	) -> anyhow::Result<()> {
		self.chain.submit(&Key::from_suri(who)?, &call).await?;
		Ok(())
	}

	/// Open a channel (the `n`-th opened on this chain, counted by this client) from
	/// `requester` to `verifier`; returns its id.
	pub async fn open_channel(&self, requester: &str, verifier: &str) -> anyhow::Result<Hash> {
		let new = self.registered.lock().map(|r| !r.iter().any(|v| v == verifier)).unwrap_or(true);
		if new {
			let call = runtime::transactions().attestation().register_verifier(
				b"https://verifier.example/v1".to_vec(),
				UNIT / 1000,
				10,
			);
			self.submit(verifier, call).await?;
			if let Ok(mut r) = self.registered.lock() {
				r.push(verifier.to_string());
			}
		}
		let to = attest_chain::account(Key::from_suri(verifier)?.public());
		self.submit(
			requester,
			runtime::transactions().attestation().open_channel(to, 10 * UNIT, 10),
		)
		.await?;
		let n = self.opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
		Ok(channel_id(&self.genesis, &account(requester), &account(verifier), n))
	}

	/// Checkpoint state `nonce` of channel `id` whose log holds `digests` (every item of
	/// the channel so far), signed by both; `anchored` is the log size the chain anchored
	/// before (for the consistency proof). Returns the log head.
	pub async fn checkpoint(
		&self,
		id: Hash,
		nonce: u64,
		digests: &[Hash],
		anchored: u64,
		requester: &str,
		verifier: &str,
	) -> anyhow::Result<LogHead> {
		let log = LogHead::of_digests(digests);
		let state = ChannelState {
			channel_id: id,
			nonce,
			requester_balance: 10 * UNIT,
			verifier_balance: 0,
			htlcs: Default::default(),
			log,
			finality: attest_primitives::Finality::Open,
		};
		let proof = LogHead::consistency_path(digests, anchored)?;
		let sa: MultiSignature = sign::sign_state(&pair(requester), &self.genesis, &state);
		let sb: MultiSignature = sign::sign_state(&pair(verifier), &self.genesis, &state);
		let call = runtime::transactions().attestation().checkpoint(
			id,
			Static(state),
			Static(sa),
			Static(sb),
			runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(proof),
		);
		self.submit(requester, call).await?;
		Ok(log)
	}
}

/// Test data of item `i`.
pub fn data(tag: &str, i: u64) -> Vec<u8> {
	format!("{tag}: item {i} payload {}", "x".repeat((i % 7) as usize)).into_bytes()
}

pub fn claim(seq: u64, data: &[u8]) -> ItemClaim {
	ItemClaim { seq, digest: attest_primitives::sha256(data), payment_hash: Hash([seq as u8; 32]) }
}

pub fn first(genesis: &Hash, verifier: &str, id: Hash, claim: ItemClaim) -> FirstRecord {
	sign::first_record(&pair(verifier), genesis, id, claim)
}

pub fn second(
	genesis: &Hash,
	requester: &str,
	id: Hash,
	claim: ItemClaim,
	data: DataRef,
) -> SecondRecord {
	sign::second_record(&pair(requester), genesis, id, claim, data)
}

/// URL of a blob request of `kind` (`BlobRead`, `BlobWrite`) for `digest` in `channel`,
/// signed by `who`, valid for a minute.
pub fn blob_url(
	base: &str,
	genesis: &Hash,
	who: &str,
	kind: attest_primitives::signing::Kind,
	channel: Hash,
	digest: &Hash,
) -> String {
	let expires = attest_server::store::now_ms() as u64 + 60_000;
	blob_url_until(base, genesis, who, kind, channel, digest, expires)
}

/// [`blob_url`] with a given expiry (unix ms).
pub fn blob_url_until(
	base: &str,
	genesis: &Hash,
	who: &str,
	kind: attest_primitives::signing::Kind,
	channel: Hash,
	digest: &Hash,
	expires: u64,
) -> String {
	let sig = sign::sign(&pair(who), kind, genesis, &channel, &(*digest, expires));
	let signer: sp_runtime::MultiSigner = sp_core::Pair::public(&pair(who)).into();
	format!(
		"{base}/v1/blobs/{digest:?}?channel={channel:?}&expires={expires}&signer=0x{}&signature=0x{}",
		hex::encode(signer.encode()),
		hex::encode(sig.encode())
	)
}
