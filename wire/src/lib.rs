//! # attest-wire
//!
//! The JSON the attestation server and the agents exchange, defined once: the server answers
//! with these types, the agents and the `attest` CLI read them, and the server's OpenAPI
//! document (`GET /v1/openapi.json`) is generated from their `ToSchema` derives.
//!
//! The protocol's own messages (records, claims, anchors, proofs) are
//! [`attest_primitives`]' types, whose byte and JSON forms `docs/protocol.md` specifies; this
//! crate adds the envelopes around them (batches, answers, item status, the proof endpoint's
//! answer and the exported proof file) and the error body every failure carries.

use attest_primitives::{
	channel::{ChannelId, ItemClaim, Party, Seq},
	schema, Anchor, AttestationProof, FirstRecord, Hash, SecondRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use attest_primitives::schema::Binary;

/// Header carrying the SCALE-encoded requester's record (hex) of a streamed upload
/// (`POST /v1/records/second/stream`).
pub const RECORD_HEADER: &str = "attest-record";

/// Most digests in one `POST /v1/items/claimants`.
pub const MAX_CLAIMANTS_LOOKUP: usize = 10_000;

/// A signed record, as the API takes it (`{"first": {...}}` or `{"second": {...}}`; the wire
/// names are published: `first` is the verifier's record, `second` the requester's).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Record {
	/// The verifier's record.
	First(FirstRecord),
	/// The requester's record.
	Second(SecondRecord),
}

impl Record {
	/// The party that signs this kind of record.
	pub fn party(&self) -> Party {
		match self {
			Record::First(_) => Party::Verifier,
			Record::Second(_) => Party::Requester,
		}
	}

	/// Channel of the record.
	pub fn channel_id(&self) -> ChannelId {
		match self {
			Record::First(r) => r.channel_id,
			Record::Second(r) => r.channel_id,
		}
	}

	/// What the record claims.
	pub fn claim(&self) -> &ItemClaim {
		match self {
			Record::First(r) => &r.claim,
			Record::Second(r) => &r.claim,
		}
	}

	/// Its wire name: `first` (the verifier's) or `second` (the requester's).
	pub fn kind(&self) -> &'static str {
		match self {
			Record::First(_) => "first",
			Record::Second(_) => "second",
		}
	}
}

/// Body of `POST /v1/records/batch`.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct Batch {
	/// The records, stored in one transaction.
	pub records: Vec<Record>,
}

/// What a record submission did.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmitOutcome {
	/// Stored now.
	Stored,
	/// The same record was stored before.
	AlreadyStored,
	/// The party signed another claim for this slot before; that one is kept.
	Conflict,
	/// Refused (see `error` and `message`).
	Rejected,
}

impl SubmitOutcome {
	/// Whether the record is stored (now or before).
	pub fn is_stored(self) -> bool {
		matches!(self, SubmitOutcome::Stored | SubmitOutcome::AlreadyStored)
	}

	/// Its wire name.
	pub fn as_str(self) -> &'static str {
		match self {
			SubmitOutcome::Stored => "stored",
			SubmitOutcome::AlreadyStored => "already_stored",
			SubmitOutcome::Conflict => "conflict",
			SubmitOutcome::Rejected => "rejected",
		}
	}
}

/// Answer to a record submission.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
	/// What the submission did.
	pub outcome: SubmitOutcome,
	/// Other `(channel, seq)` slots that claim the same digest (claims by other channels or
	/// at other positions: stored too, shown by `GET /v1/items/{digest}`).
	#[serde(default)]
	pub other_claims: u64,
	/// The other party's record of this slot claims this other digest. Both are kept; the
	/// channel's anchored log will decide, and the wrong one is then reported.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	#[schema(value_type = Option<schema::Hash>)]
	pub disputed: Option<Hash>,
	/// For `conflict` and `rejected`: the error code.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub error: Option<String>,
	/// For `conflict` and `rejected`: what was wrong.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub message: Option<String>,
}

/// Answer to a batch: one result per record, in order.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct BatchResult {
	/// Results.
	pub results: Vec<SubmitResult>,
}

/// Where a claim of a digest stands.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClaimState {
	/// Not yet anchored.
	Pending,
	/// In an anchored log of its channel.
	Anchored,
	/// The channel's anchored log holds another digest at this position: the records are
	/// wrong.
	Wrong,
}

/// A `(channel, seq)` slot claiming a digest.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatus {
	/// Channel of the item.
	#[schema(value_type = schema::Hash)]
	pub channel_id: ChannelId,
	/// Sequence number in the channel.
	#[schema(value_type = u64)]
	pub seq: Seq,
	/// Payment hash of the HTLC that paid for it.
	#[schema(value_type = schema::Hash)]
	pub payment_hash: Hash,
	/// Requester's account (hex).
	pub requester: Option<String>,
	/// Verifier's account (hex).
	pub verifier: Option<String>,
	/// Where the claim stands.
	pub status: ClaimState,
	/// When the verifier's record arrived (unix ms), if it claims this digest.
	#[serde(rename = "firstRecordAt")]
	pub verifier_record_at: Option<i64>,
	/// When the requester's record arrived (unix ms), if it claims this digest.
	#[serde(rename = "secondRecordAt")]
	pub requester_record_at: Option<i64>,
	/// Whether the data is stored and the channel's requester proved it holds it (so its
	/// parties may read it).
	pub has_data: bool,
	/// The anchor, once anchored.
	pub anchor: Option<Anchor>,
	/// The verifier's signed record.
	#[serde(rename = "firstRecord")]
	pub verifier_record: Option<FirstRecord>,
	/// The requester's signed record (data as a blob reference).
	#[serde(rename = "secondRecord")]
	pub requester_record: Option<SecondRecord>,
}

/// Everything known of a digest (one page of it): `GET /v1/items/{digest}`.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
	/// The digest.
	#[schema(value_type = schema::Hash)]
	pub digest: Hash,
	/// More than one `(channel, seq)` claims it.
	pub conflict: bool,
	/// The claims, the first attester first: anchored ones by the block of their anchor, then
	/// the others with data proven by the requester, then with both records; newest first
	/// within each.
	pub claims: Vec<ClaimStatus>,
	/// `offset` of the next page, when this one is full.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub next_offset: Option<u32>,
}

/// Body of `POST /v1/items/claimants`.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct ClaimantsQuery {
	/// Digests to look up (SHA-256, `0x` hex), 1 to 10,000.
	#[schema(value_type = Vec<schema::Hash>)]
	pub digests: Vec<Hash>,
}

/// A channel whose records claim a digest.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claimant {
	/// The channel.
	#[schema(value_type = schema::Hash)]
	pub channel_id: ChannelId,
	/// The first slot of the channel claiming the digest.
	#[schema(value_type = u64)]
	pub seq: Seq,
	/// Requester's account (hex), if the channel is known here.
	pub requester: Option<String>,
	/// Verifier's account (hex), if the channel is known here.
	pub verifier: Option<String>,
}

/// The channels claiming one digest.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DigestClaimants {
	/// The digest.
	#[schema(value_type = schema::Hash)]
	pub digest: Hash,
	/// Every channel with a record claiming it (any status: pending, anchored or wrong).
	pub claimants: Vec<Claimant>,
}

/// Answer of `POST /v1/items/claimants`.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct ClaimantsAnswer {
	/// The digests asked for that some record claims, in the order asked; digests no
	/// record claims are left out.
	pub items: Vec<DigestClaimants>,
}

/// The JSON answer of `GET /v1/items/{digest}/proof`: the proof's fields plus its SCALE
/// bytes (what a checker reads; the JSON must say the same, see [`decode_proof`]).
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProofResponse {
	/// Genesis hash of the chain.
	#[schema(value_type = schema::Hash)]
	pub genesis: Hash,
	/// The proof.
	#[serde(flatten)]
	pub proof: AttestationProof,
	/// SCALE encoding of `proof`, hex.
	pub scale: String,
}

/// An exported proof (`attest proof export`, read by `attest proof check`):
/// `docs/proof-format.md` ("The export file").
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProofFile {
	/// The format: 1 (absent) when `scale` is the bundle alone, checked against a node or
	/// trusted anchors; 2 when it is the bundle and the chain's evidence for its anchor
	/// (`attest_finality::ProofV2`), checked with the chain spec alone.
	#[serde(default = "version_1", skip_serializing_if = "is_version_1")]
	pub version: u8,
	/// Genesis hash of the chain.
	#[schema(value_type = schema::Hash)]
	pub genesis: Hash,
	/// Hash of the anchor's block.
	#[schema(value_type = schema::Hash)]
	pub block_hash: Hash,
	/// Time of that block, unix ms.
	pub block_time: u64,
	/// The proof as JSON (what a person reads; it must say what `scale` says).
	pub proof: AttestationProof,
	/// Its SCALE bytes, hex (what is checked).
	pub scale: String,
}

fn version_1() -> u8 {
	1
}

fn is_version_1(v: &u8) -> bool {
	*v == 1
}

/// Why a proof's `scale` field cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofDecodeError {
	/// Not hex.
	#[error("its scale field is not hex")]
	Hex,
	/// Not one SCALE `AttestationProof` with nothing after it.
	#[error("its SCALE bytes do not decode as one proof bundle (with nothing after it)")]
	Scale,
	/// Not format 1.
	#[error("it is a proof of format {0}, not 1")]
	Version(u8),
	/// The JSON says something else than the SCALE bytes.
	#[error("its JSON says other than its SCALE bytes (the JSON was edited?): re-export it")]
	JsonDiffers,
}

/// The proof in `scale` (hex of one SCALE [`AttestationProof`], nothing after it), which
/// must be the proof the JSON shows (`json`).
pub fn decode_proof(
	scale: &str,
	json: &AttestationProof,
) -> Result<AttestationProof, ProofDecodeError> {
	use codec::DecodeAll as _;
	let bytes = hex_decode(scale).ok_or(ProofDecodeError::Hex)?;
	let proof =
		AttestationProof::decode_all(&mut &bytes[..]).map_err(|_| ProofDecodeError::Scale)?;
	if &proof != json {
		return Err(ProofDecodeError::JsonDiffers);
	}
	Ok(proof)
}

/// `0x` hex of `bytes`.
pub fn hex0x(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

/// The bytes of hex text, `0x` optional.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
	hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()
}

impl ProofResponse {
	/// The answer for `proof` on the chain of `genesis`.
	pub fn new(genesis: Hash, proof: AttestationProof) -> Self {
		use codec::Encode as _;
		let scale = hex0x(&proof.encode());
		ProofResponse { genesis, proof, scale }
	}

	/// The proof its `scale` field holds, which the JSON must show too.
	pub fn decode(&self) -> Result<AttestationProof, ProofDecodeError> {
		decode_proof(&self.scale, &self.proof)
	}
}

impl ProofFile {
	/// The proof its `scale` field holds, which the JSON must show too (format 1; a
	/// format-2 file is read by `attest_finality`'s `ProofV2`).
	pub fn decode(&self) -> Result<AttestationProof, ProofDecodeError> {
		if self.version != 1 {
			return Err(ProofDecodeError::Version(self.version));
		}
		decode_proof(&self.scale, &self.proof)
	}
}

/// What relaying an anchor did.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnchorOutcome {
	/// New to this server.
	Accepted,
	/// Known already.
	Known,
}

/// Answer to a relayed anchor (`POST /v1/anchors`).
#[derive(Serialize, Deserialize, Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnchorAccepted {
	/// What relaying it did.
	pub outcome: AnchorOutcome,
	/// The anchor.
	pub anchor: Anchor,
}

/// Answer to a blob upload (`PUT /v1/blobs/{digest}`).
#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct BlobStored {
	/// SHA-256 of the bytes.
	#[schema(value_type = schema::Hash)]
	pub digest: Hash,
	/// Bytes received.
	pub size: u64,
}

/// Answer of `GET /v1/info`.
#[derive(Serialize, Deserialize, Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Info {
	/// Genesis hash of the chain whose records this server takes.
	#[schema(value_type = schema::Hash)]
	pub genesis: Hash,
	/// Server version.
	pub version: String,
	/// Largest blob, bytes.
	pub max_upload_bytes: u64,
	/// Largest JSON body, bytes.
	pub max_json_bytes: usize,
	/// Most records per batch.
	pub max_batch: usize,
	/// Node JSON-RPC URL suggested to readers (the verify page checks anchors against its
	/// finalized storage).
	pub node: String,
	/// The chain's GRANDPA authorities at genesis (set 0), as this server's node gives them:
	/// with `genesis`, the trust root a format-2 proof is checked against (the verify page's
	/// default; a reader who holds the chain spec checks these against it).
	#[serde(default)]
	pub genesis_authorities: Vec<Authority>,
}

/// A GRANDPA authority: its ed25519 key (`0x` hex) and weight.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Authority {
	/// The ed25519 public key, `0x` hex.
	pub id: String,
	/// Its voting weight.
	pub weight: u64,
}

/// The body of every error answer, of the attestation server and of the verifier service.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct ErrorBody {
	/// Stable code (`bad_request`, `bad_signature`, `unknown_channel`, `refused`, ...).
	pub error: String,
	/// What was wrong and what to do.
	pub message: String,
}

#[cfg(test)]
mod tests;
