//! The channel rules both agents apply, without I/O: what the next state must be, and the
//! checks each party makes before it signs (`docs/protocol.md`, "What each party checks").
//!
//! Both parties compute the state a batch leads to with [`next_state`] and compare it with
//! what they were given, so any change the rules do not allow (a balance moved, an HTLC
//! dropped or altered, a log not extended by exactly the billed items, a wrong nonce) is
//! refused with an error that names the field.

use attest_primitives::{
	channel::{Balance, BlockNumber, ChannelId, PendingHtlcs},
	signing::{verify_signable, verify_state},
	Bill, ChannelState, Finality, Hash, Htlc, ItemRange, LogHead,
};
use sp_runtime::{AccountId32, MultiSignature};

/// A message broke the protocol; the text says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
	/// A signature does not verify.
	#[error("bad signature on the {0}: not made by the channel's {1} for this chain and channel")]
	BadSignature(&'static str, &'static str),
	/// A state differs from the one the rules give.
	#[error("the {what} of state {nonce} is not what the protocol gives: expected {expected}, got {got}")]
	StateMismatch {
		/// The state's nonce.
		nonce: u64,
		/// Which field.
		what: &'static str,
		/// What the rules give.
		expected: String,
		/// What was proposed.
		got: String,
	},
	/// A bill does not bill the items sent, at the right place, price or expiry.
	#[error("bill refused: {0}")]
	BadBill(String),
	/// A revealed bill key does not hash to the payment hash.
	#[error("the bill key does not hash to the payment hash {0:?}")]
	WrongBillKey(Hash),
	/// The arithmetic overflowed or a balance would go negative.
	#[error("the requester's balance {balance} cannot pay {amount}: top up the channel (attest channel fund)")]
	InsufficientBalance {
		/// Requester balance.
		balance: Balance,
		/// Amount to pay.
		amount: Balance,
	},
	/// More HTLCs than a state can hold.
	#[error("a state holds at most 32 pending HTLCs")]
	TooManyHtlcs,
	/// The channel's state is final: nothing more is signed.
	#[error("the channel's state {0} is final: nothing more is signed for it")]
	Final(u64),
}

/// What a batch changes in the newest state both signed.
#[derive(Debug, Clone, Default)]
pub struct Transition<'a> {
	/// HTLCs resolved into the verifier's balance (their keys were revealed).
	pub resolve: &'a [Hash],
	/// The bill of the new items, and the log after them.
	pub bill: Option<(&'a Bill, LogHead)>,
	/// Whether (and how) the state is final (a final one has no bill and nothing pending).
	pub finality: Finality,
}

/// The state that follows `latest` (the newest state both signed) under `t`.
pub fn next_state(latest: &ChannelState, t: &Transition) -> Result<ChannelState, ProtocolError> {
	if latest.is_final() {
		return Err(ProtocolError::Final(latest.nonce));
	}
	let mut htlcs: Vec<Htlc> = Vec::with_capacity(latest.htlcs.len() + 1);
	let mut verifier_balance = latest.verifier_balance;
	for h in latest.htlcs.iter() {
		if t.resolve.contains(&h.payment_hash) {
			verifier_balance = verifier_balance.checked_add(h.amount).ok_or(
				ProtocolError::InsufficientBalance { balance: verifier_balance, amount: h.amount },
			)?;
		} else {
			htlcs.push(*h);
		}
	}
	let mut requester_balance = latest.requester_balance;
	let mut log = latest.log;
	if let Some((bill, new_log)) = t.bill {
		requester_balance = requester_balance.checked_sub(bill.amount).ok_or(
			ProtocolError::InsufficientBalance { balance: requester_balance, amount: bill.amount },
		)?;
		htlcs.push(Htlc {
			payment_hash: bill.payment_hash,
			amount: bill.amount,
			expiry: bill.expiry,
			items: bill.items,
		});
		log = new_log;
	}
	if t.finality != Finality::Open && !htlcs.is_empty() {
		return Err(ProtocolError::StateMismatch {
			nonce: latest.nonce + 1,
			what: "pending HTLCs of a final state",
			expected: "none".into(),
			got: htlcs.len().to_string(),
		});
	}
	Ok(ChannelState {
		channel_id: latest.channel_id,
		nonce: latest.nonce + 1,
		requester_balance,
		verifier_balance,
		htlcs: PendingHtlcs::try_from(htlcs).map_err(|_| ProtocolError::TooManyHtlcs)?,
		log,
		finality: t.finality,
	})
}

/// `proposed` is exactly the state `t` gives from `latest`; else which field differs.
pub fn check_transition(
	latest: &ChannelState,
	proposed: &ChannelState,
	t: &Transition,
) -> Result<(), ProtocolError> {
	let expected = next_state(latest, t)?;
	let nonce = proposed.nonce;
	let diff = |what: &'static str, e: String, g: String| {
		Err(ProtocolError::StateMismatch { nonce, what, expected: e, got: g })
	};
	if proposed.channel_id != expected.channel_id {
		return diff(
			"channel",
			format!("{:?}", expected.channel_id),
			format!("{:?}", proposed.channel_id),
		);
	}
	if proposed.nonce != expected.nonce {
		return diff("nonce", expected.nonce.to_string(), proposed.nonce.to_string());
	}
	if proposed.requester_balance != expected.requester_balance {
		return diff(
			"requester balance",
			expected.requester_balance.to_string(),
			proposed.requester_balance.to_string(),
		);
	}
	if proposed.verifier_balance != expected.verifier_balance {
		return diff(
			"verifier balance",
			expected.verifier_balance.to_string(),
			proposed.verifier_balance.to_string(),
		);
	}
	if proposed.htlcs != expected.htlcs {
		return diff("HTLCs", format!("{:?}", expected.htlcs), format!("{:?}", proposed.htlcs));
	}
	if proposed.log != expected.log {
		return diff(
			"log",
			format!("{} items, root {:?}", expected.log.size, expected.log.root),
			format!("{} items, root {:?}", proposed.log.size, proposed.log.root),
		);
	}
	if proposed.finality != expected.finality {
		return diff(
			"finality",
			format!("{:?}", expected.finality),
			format!("{:?}", proposed.finality),
		);
	}
	Ok(())
}

/// The HTLCs `proposed` holds that `latest` does not (what it adds: one, for the state of an
/// attestation request).
pub fn added_by<'a>(latest: &ChannelState, proposed: &'a ChannelState) -> Vec<&'a Htlc> {
	proposed
		.htlcs
		.iter()
		.filter(|h| !latest.htlcs.iter().any(|o| o.payment_hash == h.payment_hash))
		.collect()
}

/// The HTLCs of `latest` that `proposed` no longer holds (what it resolves).
pub fn resolved_by(latest: &ChannelState, proposed: &ChannelState) -> Vec<Hash> {
	latest
		.htlcs
		.iter()
		.filter(|h| !proposed.htlcs.iter().any(|p| p.payment_hash == h.payment_hash))
		.map(|h| h.payment_hash)
		.collect()
}

/// What the requester accepts in a bill.
#[derive(Debug, Clone, Copy)]
pub struct BillTerms {
	/// Price per item (the verifier's registered price).
	pub price: Balance,
	/// The best block now.
	pub now: BlockNumber,
	/// The expiry must be at least this many blocks away (time to resolve or refund).
	pub min_expiry: BlockNumber,
	/// And at most this many (how long the amount may stay locked).
	pub max_expiry: BlockNumber,
}

/// Requester: check a signed bill for `digests` at the end of the log of `latest`.
pub fn check_bill(
	genesis: &Hash,
	channel: &ChannelId,
	verifier: &AccountId32,
	(bill, signature): (&Bill, &MultiSignature),
	latest: &ChannelState,
	digests: &[Hash],
	terms: &BillTerms,
) -> Result<(), ProtocolError> {
	verify_signable(genesis, channel, bill, signature, verifier)
		.map_err(|_| ProtocolError::BadSignature("bill", "verifier"))?;
	let expected = ItemRange::of_digests(latest.log.size, digests);
	if bill.items != expected {
		return Err(ProtocolError::BadBill(format!(
			"it bills items {}..+{} with root {:?}; the batch is {}..+{} with root {:?}",
			bill.items.first_seq,
			bill.items.count,
			bill.items.root,
			expected.first_seq,
			expected.count,
			expected.root
		)));
	}
	let amount = terms.price.checked_mul(digests.len() as Balance);
	if Some(bill.amount) != amount {
		return Err(ProtocolError::BadBill(format!(
			"amount {} is not {} items at the registered price {}",
			bill.amount,
			digests.len(),
			terms.price
		)));
	}
	let lo = terms.now.saturating_add(terms.min_expiry);
	let hi = terms.now.saturating_add(terms.max_expiry);
	if bill.expiry < lo || bill.expiry > hi {
		return Err(ProtocolError::BadBill(format!(
			"expiry {} is outside blocks {lo}..={hi} (now {})",
			bill.expiry, terms.now
		)));
	}
	if latest.htlcs.iter().any(|h| h.payment_hash == bill.payment_hash) {
		return Err(ProtocolError::BadBill(format!(
			"payment hash {:?} is already pending: a replayed bill",
			bill.payment_hash
		)));
	}
	Ok(())
}

/// Check `signature` by `signer` on `state`, naming `who` on failure.
pub fn check_state_signature(
	genesis: &Hash,
	state: &ChannelState,
	signature: &MultiSignature,
	signer: &AccountId32,
	who: &'static str,
) -> Result<(), ProtocolError> {
	verify_state(genesis, state, signature, signer)
		.map_err(|_| ProtocolError::BadSignature("state", who))
}

#[cfg(test)]
mod tests {
	use super::*;
	use attest_primitives::{payment_hash, sha256, BillKey};

	fn opening(deposit: Balance) -> ChannelState {
		ChannelState {
			channel_id: Hash([7; 32]),
			nonce: 0,
			requester_balance: deposit,
			verifier_balance: 0,
			htlcs: Default::default(),
			log: LogHead::empty(),
			finality: Finality::Open,
		}
	}

	fn bill(first: u64, digests: &[Hash], key: u8) -> Bill {
		Bill {
			items: ItemRange::of_digests(first, digests),
			amount: 10 * digests.len() as Balance,
			payment_hash: payment_hash(&BillKey([key; 32])),
			expiry: 100,
		}
	}

	#[test]
	fn a_batch_then_its_resolution_moves_the_price_to_the_verifier() {
		let s0 = opening(1_000);
		let d: Vec<Hash> = (0u8..3).map(|i| sha256(&[i])).collect();
		let b = bill(0, &d, 1);
		let t = Transition { bill: Some((&b, LogHead::of_digests(&d))), ..Default::default() };
		let s1 = next_state(&s0, &t).unwrap();
		assert_eq!((s1.nonce, s1.requester_balance, s1.htlcs.len()), (1, 970, 1));
		assert_eq!(s1.total(), Some(1_000));
		check_transition(&s0, &s1, &t).unwrap();
		let t2 = Transition { resolve: &[b.payment_hash], ..Default::default() };
		let s2 = next_state(&s1, &t2).unwrap();
		assert_eq!((s2.verifier_balance, s2.htlcs.len(), s2.log), (30, 0, s1.log));
		let fin = next_state(&s2, &Transition { finality: Finality::Final, ..Default::default() })
			.unwrap();
		assert!(fin.is_final());
		assert_eq!(next_state(&fin, &Transition::default()), Err(ProtocolError::Final(3)));
	}

	#[test]
	fn every_altered_field_is_named() {
		let s0 = opening(1_000);
		let d = [sha256(b"a")];
		let b = bill(0, &d, 1);
		let t = Transition { bill: Some((&b, LogHead::of_digests(&d))), ..Default::default() };
		let good = next_state(&s0, &t).unwrap();
		type Alter = Box<dyn Fn(&mut ChannelState)>;
		let cases: Vec<(&str, Alter)> = vec![
			("nonce", Box::new(|s| s.nonce += 1)),
			("requester balance", Box::new(|s| s.requester_balance += 1)),
			("verifier balance", Box::new(|s| s.verifier_balance += 1)),
			("HTLCs", Box::new(|s| s.htlcs[0].expiry += 1)),
			("log", Box::new(|s| s.log.size += 1)),
			("finality", Box::new(|s| s.finality = Finality::Final)),
			("channel", Box::new(|s| s.channel_id = Hash([1; 32]))),
		];
		for (what, alter) in cases {
			let mut bad = good.clone();
			alter(&mut bad);
			match check_transition(&s0, &bad, &t) {
				Err(ProtocolError::StateMismatch { what: w, .. }) => assert_eq!(w, what),
				other => panic!("{what}: {other:?}"),
			}
		}
	}

	#[test]
	fn a_final_state_needs_every_htlc_resolved() {
		let s0 = opening(1_000);
		let d = [sha256(b"a")];
		let b = bill(0, &d, 1);
		let s1 = next_state(
			&s0,
			&Transition { bill: Some((&b, LogHead::of_digests(&d))), ..Default::default() },
		)
		.unwrap();
		assert!(next_state(&s1, &Transition { finality: Finality::Final, ..Default::default() })
			.is_err());
	}

	#[test]
	fn overspending_is_refused() {
		let s0 = opening(5);
		let d = [sha256(b"a")];
		let b = bill(0, &d, 1);
		let t = Transition { bill: Some((&b, LogHead::of_digests(&d))), ..Default::default() };
		assert!(matches!(next_state(&s0, &t), Err(ProtocolError::InsufficientBalance { .. })));
	}

	#[test]
	fn bills_that_do_not_bill_the_batch_are_refused() {
		use attest_primitives::signing::{sign::sign, Kind};
		use sp_core::Pair;
		let genesis = Hash([1; 32]);
		let s0 = opening(1_000);
		let verifier = sp_core::sr25519::Pair::from_string("//Bob", None).unwrap();
		let other = sp_core::sr25519::Pair::from_string("//Eve", None).unwrap();
		let d: Vec<Hash> = (0u8..4).map(|i| sha256(&[i])).collect();
		let terms = BillTerms { price: 10, now: 50, min_expiry: 20, max_expiry: 100 };
		let good = bill(0, &d, 1);
		let check = |b: &Bill, signer: &sp_core::sr25519::Pair, latest: &ChannelState| {
			let sig: MultiSignature = sign(signer, Kind::Bill, &genesis, &s0.channel_id, b);
			check_bill(
				&genesis,
				&s0.channel_id,
				&verifier.public().into(),
				(b, &sig),
				latest,
				&d,
				&terms,
			)
		};
		check(&good, &verifier, &s0).unwrap();
		let refused = |r: Result<(), ProtocolError>, what: &str| match r {
			Err(e) => assert!(e.to_string().contains(what), "{e} should name {what}"),
			Ok(()) => panic!("accepted a bill with a wrong {what}"),
		};
		refused(check(&good, &other, &s0), "bad signature on the bill");
		refused(check(&Bill { amount: 41, ..good }, &verifier, &s0), "amount");
		refused(check(&Bill { expiry: 60, ..good }, &verifier, &s0), "expiry");
		refused(check(&Bill { expiry: 151, ..good }, &verifier, &s0), "expiry");
		refused(check(&bill(1, &d, 1), &verifier, &s0), "bills items 1");
		refused(check(&bill(0, &d[..3], 1), &verifier, &s0), "root");
		// A bill signed for another channel does not verify in this one.
		let sig: MultiSignature = sign(&verifier, Kind::Bill, &genesis, &Hash([9; 32]), &good);
		refused(
			check_bill(
				&genesis,
				&s0.channel_id,
				&verifier.public().into(),
				(&good, &sig),
				&s0,
				&d,
				&terms,
			),
			"bad signature",
		);
		// A bill replayed after it was used: its payment hash is pending in the newest state.
		let s1 = next_state(
			&s0,
			&Transition { bill: Some((&good, LogHead::of_digests(&d))), ..Default::default() },
		)
		.unwrap();
		let replay = Bill { items: ItemRange::of_digests(4, &d), ..good };
		let sig: MultiSignature = sign(&verifier, Kind::Bill, &genesis, &s0.channel_id, &replay);
		refused(
			check_bill(
				&genesis,
				&s0.channel_id,
				&verifier.public().into(),
				(&replay, &sig),
				&s1,
				&d,
				&terms,
			),
			"replayed bill",
		);
	}
}
