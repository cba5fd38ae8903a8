use super::*;
use attest_primitives::{InclusionProof, LogHead};
use codec::Encode;
use serde_json::json;

fn h(b: u8) -> Hash {
	Hash::repeat_byte(b)
}

fn proof() -> AttestationProof {
	AttestationProof {
		anchor: Anchor {
			channel_id: h(1),
			index: 0,
			first_seq: 0,
			log: LogHead { size: 2, root: h(2) },
			block: 7,
		},
		proof: InclusionProof { leaf_index: 1, tree_size: 2, path: vec![h(3)] },
		verifier_record: None,
		requester_record: None,
	}
}

#[test]
fn the_published_words_are_kept() {
	let r = SubmitResult {
		outcome: SubmitOutcome::AlreadyStored,
		other_claims: 0,
		disputed: None,
		error: None,
		message: None,
	};
	assert_eq!(
		serde_json::to_value(&r).unwrap(),
		json!({"outcome": "already_stored", "otherClaims": 0})
	);
	for o in [
		SubmitOutcome::Stored,
		SubmitOutcome::AlreadyStored,
		SubmitOutcome::Conflict,
		SubmitOutcome::Rejected,
	] {
		assert_eq!(serde_json::to_value(o).unwrap(), json!(o.as_str()));
	}
	assert_eq!(serde_json::to_value(ClaimState::Anchored).unwrap(), json!("anchored"));
	assert_eq!(serde_json::to_value(AnchorOutcome::Known).unwrap(), json!("known"));
	// A word the server does not send is refused, not read as something else.
	assert!(serde_json::from_value::<SubmitOutcome>(json!("Stored")).is_err());
}

#[test]
fn a_proof_answer_flattens_the_proof_and_decodes_its_scale() {
	let answer = ProofResponse::new(h(9), proof());
	let v = serde_json::to_value(&answer).unwrap();
	assert_eq!(v["genesis"], json!(format!("{:?}", h(9))));
	assert_eq!(v["anchor"]["block"], json!(7));
	assert_eq!(v["proof"]["leafIndex"], json!(1));
	assert_eq!(v["scale"], json!(hex0x(&proof().encode())));
	let back: ProofResponse = serde_json::from_value(v).unwrap();
	assert_eq!(back.decode(), Ok(proof()));
}

#[test]
fn a_proof_whose_json_or_scale_was_edited_is_refused() {
	let good = ProofResponse::new(h(9), proof());
	// The JSON edited alone, field by field.
	let mut edited = good.clone();
	edited.proof.anchor.block = 8;
	assert_eq!(edited.decode(), Err(ProofDecodeError::JsonDiffers));
	let mut edited = good.clone();
	edited.proof.proof.path[0] = h(4);
	assert_eq!(edited.decode(), Err(ProofDecodeError::JsonDiffers));
	let mut edited = good.clone();
	edited.proof.anchor.log.root = h(5);
	assert_eq!(edited.decode(), Err(ProofDecodeError::JsonDiffers));
	// Bytes after the bundle, a cut bundle, no hex.
	let mut edited = good.clone();
	edited.scale.push_str("00");
	assert_eq!(edited.decode(), Err(ProofDecodeError::Scale));
	let mut edited = good.clone();
	edited.scale.truncate(edited.scale.len() - 2);
	assert_eq!(edited.decode(), Err(ProofDecodeError::Scale));
	let mut edited = good;
	edited.scale = "0xzz".into();
	assert_eq!(edited.decode(), Err(ProofDecodeError::Hex));
}

#[test]
fn a_record_says_which_party_signs_it() {
	let v = json!({"first": {
		"channelId": format!("{:?}", h(1)),
		"claim": {"seq": 3, "digest": format!("{:?}", h(2)), "paymentHash": format!("{:?}", h(3))},
		"verifierSignature": {"Sr25519": "00".repeat(64)},
		"verifier": {"Sr25519": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"},
	}});
	let r: Record = serde_json::from_value(v).unwrap();
	assert_eq!(
		(r.party(), r.kind(), r.claim().seq, r.channel_id()),
		(Party::Verifier, "first", 3, h(1))
	);
}
