//! The messages between a requester and a verifier over HTTP (`docs/protocol.md`, "Agent
//! transport"). JSON with the protocol's conventions (`0x`-hex, balances as decimal strings,
//! camelCase); item data is a stream of frames.

use attest_primitives::{Bill, ChannelState, Hash};
use serde::{Deserialize, Serialize};
use sp_runtime::MultiSignature;

/// `GET /v1/info`: who the verifier is and what it takes.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifierInfo {
	/// The verifier's account (SS58).
	pub verifier: String,
	/// The verifier's public key (`0x`-hex, = the account id).
	pub public_key: String,
	/// Genesis hash of its chain.
	#[schema(value_type = String)]
	pub genesis: Hash,
	/// Price per item (decimal string, the registered price).
	pub price: String,
	/// Largest item it takes, in bytes.
	pub max_item_bytes: u64,
	/// Most items in one batch.
	pub max_batch_items: u32,
	/// Blocks between a bill and its expiry.
	pub bill_expiry_blocks: u32,
}

/// `POST /v1/channels/{channel}/items` answer: the digests of the items received, in order.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemsAccepted {
	/// SHA-256 of each item, in the order sent.
	#[schema(value_type = Vec<String>)]
	pub digests: Vec<Hash>,
}

/// `POST /v1/channels/{channel}/bills` body: bill these received items, in this order.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillRequest {
	/// Digests of items sent before, in log order.
	#[schema(value_type = Vec<String>)]
	pub digests: Vec<Hash>,
}

/// A bill and the verifier's signature on it (`attest/bill/v1`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedBill {
	/// The bill.
	#[schema(value_type = Object)]
	pub bill: Bill,
	/// Verifier's signature.
	#[schema(value_type = Object)]
	pub signature: MultiSignature,
}

/// `POST /v1/channels/{channel}/states` body: a state that adds no items (it resolves HTLCs
/// whose keys were revealed, or is the final state), signed by the requester.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateUpdate {
	/// The proposed state.
	#[schema(value_type = Object)]
	pub state: ChannelState,
	/// Requester's signature on it.
	#[schema(value_type = Object)]
	pub requester_signature: MultiSignature,
}

/// The verifier's countersignature of a state.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Countersignature {
	/// Nonce of the state.
	pub nonce: u64,
	/// Verifier's signature on it.
	#[schema(value_type = Object)]
	pub verifier_signature: MultiSignature,
}

/// `GET /v1/channels/{channel}`: the newest state both signed, with both signatures.
#[derive(Serialize, Deserialize, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedState {
	/// The state.
	#[schema(value_type = Object)]
	pub state: ChannelState,
	/// Requester's signature (absent for the opening state, which nobody signs).
	#[schema(value_type = Option<Object>)]
	pub requester_signature: Option<MultiSignature>,
	/// Verifier's signature.
	#[schema(value_type = Option<Object>)]
	pub verifier_signature: Option<MultiSignature>,
}

/// An error answer of the verifier service: the same body as the attestation server's.
pub use attest_wire::ErrorBody;

/// Frame header of the items stream: the item's length as u64 little-endian, then its bytes.
pub const FRAME_HEADER: usize = 8;
