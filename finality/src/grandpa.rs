//! GRANDPA finality checked with no node: a justification's precommits against an authority
//! set, and a block's finality from the genesis set through the set changes since.
//!
//! The checks follow what a light client makes (and what `sc-consensus-grandpa` makes when it
//! imports a justification), written here on the Apache-2.0 building blocks
//! `finality-grandpa` (the commit's supermajority and ghost) and `sp-consensus-grandpa` (the
//! signed payload), with two strictnesses more: a precommit by a key outside the set or a
//! second precommit by one voter refuses the justification (a node drops them and counts the
//! rest; a proof that carries them was not made by a node).

use std::collections::{HashMap, HashSet};

use codec::{Decode, Encode};
use sp_consensus_grandpa::{AuthorityId, AuthorityList, ConsensusLog, SetId, GRANDPA_ENGINE_ID};
use sp_core::{ed25519, Pair as _, H256};
use sp_runtime::generic::OpaqueDigestItemId;

use crate::Header;

/// A GRANDPA justification of this chain's blocks.
pub type Justification = sp_consensus_grandpa::GrandpaJustification<Header>;

/// The authorities that finalize blocks for a while: the genesis set (id 0) until the first
/// change, then each scheduled change's next set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthoritySet {
	/// 0 at genesis, one more at each change.
	pub set_id: SetId,
	/// Keys and weights.
	pub authorities: AuthorityList,
}

/// The last block of a set: its header (which schedules the next set, with no delay) and the
/// justification by which the ending set finalized it. What warp sync fetches.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SetChange {
	/// The block that schedules the change.
	pub header: Header,
	/// Its finality, signed by the set that ends with it.
	pub justification: Justification,
}

/// What makes a block final, from genesis: the set changes before it, the headers from the
/// block to the block a justification finalizes, and that justification.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct FinalityProof {
	/// Every set change from genesis to the set that signed `justification`, oldest first.
	pub set_changes: Vec<SetChange>,
	/// The headers after the proven block up to the justified one, oldest first (empty when
	/// the justification is of the proven block itself).
	pub descendants: Vec<Header>,
	/// A justification of the last of `descendants` (or of the proven block).
	pub justification: Justification,
}

/// Why a justification does not finalize its target for a set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JustificationError {
	/// The set has no authority or a zero weight.
	#[error("the authority set is empty")]
	EmptySet,
	/// No precommit.
	#[error("it carries no precommit")]
	NoPrecommits,
	/// A precommit by a key outside the set.
	#[error("precommit {0} is signed by {1}, which is not in the authority set")]
	Outsider(usize, String),
	/// Two precommits by one voter.
	#[error("voter {0} precommits twice")]
	Duplicate(String),
	/// A signature that does not verify for the round and set id.
	#[error("precommit {index} by {voter} has a bad signature for round {round} of set {set_id}")]
	BadSignature {
		/// Position in the commit.
		index: usize,
		/// The voter.
		voter: String,
		/// The justification's round.
		round: u64,
		/// The set id checked against.
		set_id: SetId,
	},
	/// A precommit's target is not linked to the commit's by the carried headers.
	#[error("precommit {0} is for a block the justification's headers do not link to its target")]
	Ancestry(usize),
	/// Headers carried that no precommit needs.
	#[error("it carries headers no precommit needs")]
	UnusedHeaders,
	/// The precommits do not add up to more than two thirds of the set's weight for the target.
	#[error("its precommits do not reach more than 2/3 of the set's weight for its target")]
	NotSupermajority,
}

/// Why a block is not proven final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
	/// A set change's justification does not check.
	#[error("set change {index} (block {block}, set {set_id}): {why}")]
	SetChange {
		/// Position among the set changes.
		index: usize,
		/// Its block number.
		block: u32,
		/// The set that should have signed it.
		set_id: SetId,
		/// What failed.
		why: JustificationError,
	},
	/// A set change's justification is of another block than its header.
	#[error("set change {0}: its justification is of another block than its header")]
	ChangeTarget(usize),
	/// A set change's header schedules no change.
	#[error("set change {0}: its header schedules no authority-set change")]
	NoChange(usize),
	/// A change with a delay or a forced change (not what this chain's runtime schedules).
	#[error(
		"block {0} schedules a forced or delayed authority-set change, which proofs do not follow"
	)]
	Unsupported(u32),
	/// The set changes are not in block order.
	#[error("set change {0} is not after the one before it")]
	ChangesOutOfOrder(usize),
	/// A header does not have the one before it as parent.
	#[error("header {number} does not follow the header before it (broken link)")]
	BrokenLink {
		/// Its number.
		number: u32,
	},
	/// The justification is of another block than the last header.
	#[error("the justification is of block {got}, the headers end at block {expected}")]
	Target {
		/// The block the headers lead to.
		expected: u32,
		/// The justification's target.
		got: u32,
	},
	/// The proven block lies before the last set change.
	#[error(
		"block {block} is not after the last set change (block {change}): another set finalized it"
	)]
	BeforeChange {
		/// The proven block.
		block: u32,
		/// The last change's block.
		change: u32,
	},
	/// A header between the proven block and the justified one ends the set.
	#[error("block {0}, between the proven block and the justified one, changes the authority set: the justification is by the wrong set")]
	ChangeBetween(u32),
	/// The final justification does not check.
	#[error("the justification (set {set_id}): {why}")]
	Justification {
		/// The set checked against.
		set_id: SetId,
		/// What failed.
		why: JustificationError,
	},
}

/// The ancestry a justification carries, by hash.
struct Ancestry<'a>(HashMap<H256, &'a Header>);

impl finality_grandpa::Chain<H256, u32> for Ancestry<'_> {
	fn ancestry(&self, base: H256, block: H256) -> Result<Vec<H256>, finality_grandpa::Error> {
		let mut route = Vec::new();
		let mut at = block;
		while at != base {
			let header = self.0.get(&at).ok_or(finality_grandpa::Error::NotDescendent)?;
			at = header.parent_hash;
			route.push(at);
			if route.len() > self.0.len() {
				return Err(finality_grandpa::Error::NotDescendent);
			}
		}
		route.pop();
		Ok(route)
	}
}

fn short(id: &AuthorityId) -> String {
	let bytes: &[u8] = id.as_ref();
	format!("0x{}", hex::encode(bytes))
}

/// Check that `j` finalizes its target for `set`: every precommit is by a distinct member of
/// the set and signed for `j.round` and `set.set_id`; every precommit's target descends from
/// the commit's through the carried headers, and no header is carried that none needs; the
/// precommits reach more than two thirds of the set's weight on the target.
pub fn verify_justification(
	j: &Justification,
	set: &AuthoritySet,
) -> Result<(), JustificationError> {
	let voters = finality_grandpa::voter_set::VoterSet::new(set.authorities.iter().cloned())
		.ok_or(JustificationError::EmptySet)?;
	let precommits = &j.commit.precommits;
	if precommits.is_empty() {
		return Err(JustificationError::NoPrecommits);
	}
	let mut seen = HashSet::new();
	let mut buf = Vec::new();
	for (index, signed) in precommits.iter().enumerate() {
		if !voters.contains(&signed.id) {
			return Err(JustificationError::Outsider(index, short(&signed.id)));
		}
		if !seen.insert(signed.id.clone()) {
			return Err(JustificationError::Duplicate(short(&signed.id)));
		}
		sp_consensus_grandpa::localized_payload_with_buffer(
			j.round,
			set.set_id,
			&finality_grandpa::Message::Precommit(signed.precommit.clone()),
			&mut buf,
		);
		let public: ed25519::Public = signed.id.clone().into();
		let signature: ed25519::Signature = signed.signature.clone().into();
		if !ed25519::Pair::verify(&signature, &buf, &public) {
			return Err(JustificationError::BadSignature {
				index,
				voter: short(&signed.id),
				round: j.round,
				set_id: set.set_id,
			});
		}
	}
	let ancestry = Ancestry(j.votes_ancestries.iter().map(|h| (h.hash(), h)).collect());
	if ancestry.0.len() != j.votes_ancestries.len() {
		return Err(JustificationError::UnusedHeaders);
	}
	let target = j.commit.target_hash;
	let mut used = HashSet::new();
	for (index, signed) in precommits.iter().enumerate() {
		if signed.precommit.target_hash == target {
			continue;
		}
		let route =
			finality_grandpa::Chain::ancestry(&ancestry, target, signed.precommit.target_hash)
				.map_err(|_| JustificationError::Ancestry(index))?;
		used.insert(signed.precommit.target_hash);
		used.extend(route);
	}
	if used.len() != ancestry.0.len() || !ancestry.0.keys().all(|h| used.contains(h)) {
		return Err(JustificationError::UnusedHeaders);
	}
	match finality_grandpa::validate_commit(&j.commit, &voters, &ancestry) {
		Ok(result) if result.is_valid() => Ok(()),
		_ => Err(JustificationError::NotSupermajority),
	}
}

/// The authority set a header hands over to, if it schedules a change: `Ok(None)` for no
/// change, an error for a forced change or one with a delay.
pub fn scheduled_change(header: &Header) -> Result<Option<AuthorityList>, FinalityError> {
	let id = OpaqueDigestItemId::Consensus(&GRANDPA_ENGINE_ID);
	let mut next = None;
	for log in header.digest.logs() {
		let Some(log) = log.try_to::<ConsensusLog<u32>>(id) else { continue };
		match log {
			// The earliest scheduled change of a block is the one that counts.
			ConsensusLog::ScheduledChange(change) if change.delay == 0 && next.is_none() => {
				next = Some(change.next_authorities);
			},
			ConsensusLog::ScheduledChange(change) if change.delay == 0 => {},
			ConsensusLog::ScheduledChange(_) | ConsensusLog::ForcedChange(..) => {
				return Err(FinalityError::Unsupported(header.number));
			},
			_ => {},
		}
	}
	Ok(next)
}

/// The hash and number of a justification's target.
fn target(j: &Justification) -> (H256, u32) {
	(j.commit.target_hash, j.commit.target_number)
}

impl FinalityProof {
	/// Check that `block` is final, starting from the `genesis` set: each set change is
	/// justified by the set before it and names the next; the descendants link `block` to the
	/// justified block with no set change before the last of them; the justification is by the
	/// set the changes lead to. Returns that set.
	///
	/// What this rests on (as for any light client): each set's authorities, beyond two thirds
	/// of its weight, never signed a block after their set ended.
	pub fn verify(
		&self,
		genesis: &AuthoritySet,
		block: &Header,
	) -> Result<AuthoritySet, FinalityError> {
		let mut set = genesis.clone();
		let mut last_change = None::<u32>;
		for (index, change) in self.set_changes.iter().enumerate() {
			let number = change.header.number;
			if last_change.is_some_and(|n| number <= n) {
				return Err(FinalityError::ChangesOutOfOrder(index));
			}
			verify_justification(&change.justification, &set).map_err(|why| {
				FinalityError::SetChange { index, block: number, set_id: set.set_id, why }
			})?;
			if target(&change.justification) != (change.header.hash(), number) {
				return Err(FinalityError::ChangeTarget(index));
			}
			let next = scheduled_change(&change.header)?.ok_or(FinalityError::NoChange(index))?;
			set = AuthoritySet { set_id: set.set_id + 1, authorities: next };
			last_change = Some(number);
		}
		if let Some(change) = last_change {
			if block.number <= change {
				return Err(FinalityError::BeforeChange { block: block.number, change });
			}
		}
		// The proven block, then its descendants: each the child of the one before; none but
		// the justified (last) one may end the set.
		let mut previous = block;
		for header in &self.descendants {
			if scheduled_change(previous)?.is_some() {
				return Err(FinalityError::ChangeBetween(previous.number));
			}
			if header.parent_hash != previous.hash() || header.number != previous.number + 1 {
				return Err(FinalityError::BrokenLink { number: header.number });
			}
			previous = header;
		}
		let (hash, number) = target(&self.justification);
		if (hash, number) != (previous.hash(), previous.number) {
			return Err(FinalityError::Target { expected: previous.number, got: number });
		}
		scheduled_change(previous)?;
		verify_justification(&self.justification, &set)
			.map_err(|why| FinalityError::Justification { set_id: set.set_id, why })?;
		Ok(set)
	}
}
