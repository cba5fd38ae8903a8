//! Domain-separated signing payloads.
//!
//! Every signed payload is the SCALE encoding of the tuple
//! `(kind_tag: Vec<u8>, genesis_hash: [u8; 32], channel_id: [u8; 32], message)`, where the
//! tag names the message kind and version (`"attest/state/v2"`, ...). The signature is over
//! those bytes as they are (sr25519 and ed25519 sign them directly; ecdsa signs their
//! `blake2_256`, as `sp_runtime::MultiSignature` does). So a signature made for one kind,
//! chain or channel never verifies for another; within a channel, states carry a nonce, and
//! records their item's sequence number.

use crate::{channel::*, Hash};
use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::{
	traits::{IdentifyAccount, Verify},
	AccountId32, MultiSignature, MultiSigner,
};

/// Message kinds and their domain tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
	/// A [`ChannelState`], signed by both parties.
	State,
	/// A [`Bill`], signed by the verifier.
	Bill,
	/// An [`ItemClaim`] in a [`FirstRecord`], signed by the verifier.
	FirstRecord,
	/// An [`ItemClaim`] in a [`SecondRecord`], signed by the requester.
	SecondRecord,
	/// A request to read a blob from the attestation server: the blob's digest and an
	/// expiry time, signed by the requester or the verifier of the item.
	BlobRead,
	/// A request to upload a blob to the attestation server: the blob's digest and an expiry
	/// time, signed by the requester of a channel that claims the digest. Same message as
	/// [`Kind::BlobRead`].
	BlobWrite,
	/// A call to a verifier service about a channel (`POST /v1/channels/{channel}/...`): an
	/// expiry time (`u64`, unix ms), signed by the channel's requester. The verifier refuses
	/// calls without it before reading their bodies.
	VerifierCall,
}

impl Kind {
	/// The domain tag of this kind.
	pub const fn tag(self) -> &'static [u8] {
		match self {
			Kind::State => b"attest/state/v2",
			Kind::Bill => b"attest/bill/v1",
			Kind::FirstRecord => b"attest/record1/v1",
			Kind::SecondRecord => b"attest/record2/v1",
			Kind::BlobRead => b"attest/blob-read/v1",
			Kind::BlobWrite => b"attest/blob-write/v1",
			Kind::VerifierCall => b"attest/verifier-call/v1",
		}
	}

	/// Every kind.
	pub const ALL: [Kind; 7] = [
		Kind::State,
		Kind::Bill,
		Kind::FirstRecord,
		Kind::SecondRecord,
		Kind::BlobRead,
		Kind::BlobWrite,
		Kind::VerifierCall,
	];
}

/// A message with a fixed kind.
pub trait Signable: Encode {
	/// The kind this message is signed as.
	const KIND: Kind;
}

impl Signable for ChannelState {
	const KIND: Kind = Kind::State;
}

impl Signable for Bill {
	const KIND: Kind = Kind::Bill;
}

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
	/// The signature does not match the payload and signer.
	#[error(
		"bad signature: it was not made by this key over this kind, chain, channel and message"
	)]
	BadSignature,
	/// A record's signature is of another scheme than the key it names (say an sr25519
	/// signature beside an ed25519 key with the same 32 bytes): the account would match, the
	/// key would not.
	#[error(
		"the signature is {signature} but the record names an {signer} key: a record must name \
		 the key that signed it"
	)]
	SchemeMismatch {
		/// The signature's scheme.
		signature: &'static str,
		/// The named key's scheme.
		signer: &'static str,
	},
}

/// The scheme of a signature (`ed25519`, `sr25519`, `ecdsa`, `eth`).
pub fn signature_scheme(s: &MultiSignature) -> &'static str {
	match s {
		MultiSignature::Ed25519(_) => "ed25519",
		MultiSignature::Sr25519(_) => "sr25519",
		MultiSignature::Ecdsa(_) => "ecdsa",
		MultiSignature::Eth(_) => "eth",
	}
}

/// The scheme of a key (as [`signature_scheme`]).
pub fn signer_scheme(s: &MultiSigner) -> &'static str {
	match s {
		MultiSigner::Ed25519(_) => "ed25519",
		MultiSigner::Sr25519(_) => "sr25519",
		MultiSigner::Ecdsa(_) => "ecdsa",
		MultiSigner::Eth(_) => "eth",
	}
}

/// The signature and the key it is checked against are of one scheme.
fn same_scheme(signature: &MultiSignature, signer: &MultiSigner) -> Result<(), SigningError> {
	let (a, b) = (signature_scheme(signature), signer_scheme(signer));
	if a == b {
		Ok(())
	} else {
		Err(SigningError::SchemeMismatch { signature: a, signer: b })
	}
}

/// The bytes that are signed for `message` of `kind` in `channel_id` on the chain whose
/// genesis block hash is `genesis_hash`.
pub fn signing_payload<M: Encode + ?Sized>(
	kind: Kind,
	genesis_hash: &Hash,
	channel_id: &ChannelId,
	message: &M,
) -> Vec<u8> {
	(kind.tag(), genesis_hash, channel_id, message).encode()
}

/// Check `signature` by `signer` over `message` of `kind`.
pub fn verify<M: Encode + ?Sized>(
	kind: Kind,
	genesis_hash: &Hash,
	channel_id: &ChannelId,
	message: &M,
	signature: &MultiSignature,
	signer: &AccountId32,
) -> Result<(), SigningError> {
	let payload = signing_payload(kind, genesis_hash, channel_id, message);
	if signature.verify(payload.as_slice(), signer) {
		Ok(())
	} else {
		Err(SigningError::BadSignature)
	}
}

/// Check a signature on a [`Signable`] message.
pub fn verify_signable<M: Signable>(
	genesis_hash: &Hash,
	channel_id: &ChannelId,
	message: &M,
	signature: &MultiSignature,
	signer: &AccountId32,
) -> Result<(), SigningError> {
	verify(M::KIND, genesis_hash, channel_id, message, signature, signer)
}

/// Check a state signature: the channel id comes from the state itself.
pub fn verify_state(
	genesis_hash: &Hash,
	state: &ChannelState,
	signature: &MultiSignature,
	signer: &AccountId32,
) -> Result<(), SigningError> {
	verify_signable(genesis_hash, &state.channel_id, state, signature, signer)
}

impl FirstRecord {
	/// Check the verifier's signature on the claim.
	pub fn verify(&self, genesis_hash: &Hash) -> Result<(), SigningError> {
		same_scheme(&self.verifier_signature, &self.verifier)?;
		verify(
			Kind::FirstRecord,
			genesis_hash,
			&self.channel_id,
			&self.claim,
			&self.verifier_signature,
			&self.verifier.clone().into_account(),
		)
	}
}

impl SecondRecord {
	/// Check the requester's signature on the claim (not the data: the server checks that
	/// the data hashes to `claim.digest`).
	pub fn verify(&self, genesis_hash: &Hash) -> Result<(), SigningError> {
		same_scheme(&self.requester_signature, &self.requester)?;
		verify(
			Kind::SecondRecord,
			genesis_hash,
			&self.channel_id,
			&self.claim,
			&self.requester_signature,
			&self.requester.clone().into_account(),
		)
	}
}

/// Account of a public key.
pub fn account_of(signer: &MultiSigner) -> AccountId32 {
	signer.clone().into_account()
}

/// Signing with key pairs (off chain).
#[cfg(feature = "std")]
pub mod sign {
	use super::*;
	use sp_core::Pair;

	/// Sign `message` of `kind` with `pair`.
	pub fn sign<P, M>(
		pair: &P,
		kind: Kind,
		genesis_hash: &Hash,
		channel_id: &ChannelId,
		message: &M,
	) -> MultiSignature
	where
		P: Pair,
		P::Signature: Into<MultiSignature>,
		M: Encode + ?Sized,
	{
		pair.sign(&signing_payload(kind, genesis_hash, channel_id, message)).into()
	}

	/// Sign a channel state.
	pub fn sign_state<P>(pair: &P, genesis_hash: &Hash, state: &ChannelState) -> MultiSignature
	where
		P: Pair,
		P::Signature: Into<MultiSignature>,
	{
		sign(pair, Kind::State, genesis_hash, &state.channel_id, state)
	}

	/// A verifier's signed first record.
	pub fn first_record<P>(
		pair: &P,
		genesis_hash: &Hash,
		channel_id: ChannelId,
		claim: ItemClaim,
	) -> FirstRecord
	where
		P: Pair,
		P::Signature: Into<MultiSignature>,
		P::Public: Into<MultiSigner>,
	{
		FirstRecord {
			channel_id,
			claim,
			verifier_signature: sign(pair, Kind::FirstRecord, genesis_hash, &channel_id, &claim),
			verifier: pair.public().into(),
		}
	}

	/// A requester's signed second record.
	pub fn second_record<P>(
		pair: &P,
		genesis_hash: &Hash,
		channel_id: ChannelId,
		claim: ItemClaim,
		data: DataRef,
	) -> SecondRecord
	where
		P: Pair,
		P::Signature: Into<MultiSignature>,
		P::Public: Into<MultiSigner>,
	{
		SecondRecord {
			channel_id,
			claim,
			data,
			requester_signature: sign(pair, Kind::SecondRecord, genesis_hash, &channel_id, &claim),
			requester: pair.public().into(),
		}
	}
}
