//! Property tests: funds are conserved whatever calls are made, and over random honest
//! histories with a cheating (or honest) party, the newest state wins, revealed HTLCs pay
//! the verifier, every item is anchored once and nobody honest pays a penalty.

use super::*;
use crate::harness::{Model, Op};
use proptest::prelude::*;

// --- conservation over arbitrary calls ---------------------------------------------------

fn op() -> impl Strategy<Value = Op> {
	prop_oneof![
		(100u16..5_000).prop_map(Op::Open),
		(any::<u8>(), any::<bool>(), 1u16..2_000).prop_map(|(c, b, a)| Op::Fund(c, b, a)),
		(any::<u8>(), any::<u16>(), 0u8..3).prop_map(|(c, s, h)| Op::Checkpoint(c, s, h)),
		(any::<u8>(), any::<u16>(), 0u8..3).prop_map(|(c, s, n)| Op::CloseCoop(c, s, n)),
		(any::<u8>(), any::<bool>(), proptest::option::of((any::<u16>(), 0u8..3)))
			.prop_map(|(c, b, s)| Op::CloseUnilateral(c, b, s)),
		(any::<u8>(), any::<u16>(), 0u8..3).prop_map(|(c, s, h)| Op::Challenge(c, s, h)),
		(any::<u8>(), 0u8..3).prop_map(|(c, k)| Op::Reveal(c, k)),
		(1u8..30).prop_map(Op::Advance),
		any::<u8>().prop_map(Op::Settle),
		(any::<u8>(), 0u8..3).prop_map(|(c, k)| Op::Claim(c, k)),
		(any::<u8>(), 0u8..3).prop_map(|(c, k)| Op::Refund(c, k)),
	]
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

	/// Whatever happens, total issuance never changes and the channel holds always equal
	/// what open channels and claimable HTLCs owe; draining everything returns every unit.
	#[test]
	fn calls_conserve_funds(ops in proptest::collection::vec(op(), 1..40)) {
		new_test_ext().execute_with(|| {
			let issuance = Balances::total_issuance();
			let mut m = Model::default();
			for op in ops {
				let _ = m.apply(op);
				prop_assert_eq!(Balances::total_issuance(), issuance);
				prop_assert!(Attestation::do_try_state().is_ok());
			}
			// Drain: close everything with the on-chain state, settle, refund all HTLCs.
			prop_assert_eq!(m.drain(), Ok(()));
			prop_assert_eq!(Balances::total_issuance(), issuance);
			Ok(())
		})?;
	}
}

// --- the newest state wins -----------------------------------------------------------------

/// One step of an honest off-chain history: each makes the next state (nonce + 1).
#[derive(Clone, Debug)]
enum Step {
	/// A bill paid with a new HTLC over `items` new items, expiring `expiry` blocks after 3.
	AddHtlc { amount: u16, items: u8, expiry: u8 },
	/// A pending HTLC resolved into the verifier's balance (the bill key was revealed).
	Resolve(u8),
	/// A pending HTLC returned to the requester (expired, both agreed).
	Refund(u8),
	/// The requester pays the verifier directly.
	Pay(u16),
}

fn step() -> impl Strategy<Value = Step> {
	prop_oneof![
		(1u16..3_000, 1u8..5, 0u8..20).prop_map(|(amount, items, expiry)| Step::AddHtlc {
			amount,
			items,
			expiry
		}),
		any::<u8>().prop_map(Step::Resolve),
		any::<u8>().prop_map(Step::Refund),
		(1u16..2_000).prop_map(Step::Pay),
	]
}

/// Who cheats: closes with an old state and checkpoints old states first.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cheater {
	Nobody,
	Requester,
	Verifier,
}

#[derive(Clone, Debug)]
struct Scenario {
	steps: Vec<Step>,
	/// The history ends with a final state.
	finalize: bool,
	/// The verifier withheld its countersignature on the last state: the requester holds
	/// the one before.
	withheld: bool,
	cheater: Cheater,
	/// States checkpointed before the close (indexes into the cheater's, or anyone's, held
	/// states).
	checkpoints: Vec<u8>,
	/// Which held state a cheater closes with (past the end: `None`); for an honest close,
	/// which party closes.
	close_pick: u8,
	/// Blocks after the close at which the verifier reveals each key of its newest state.
	reveal_delays: Vec<u8>,
	/// Block within the challenge period at which the non-closer answers.
	answer_at: u8,
	/// After the close, at this many blocks after it (past the deadline too), both parties
	/// agree a final state by the agents' rule: the closer signs nothing after its close but a
	/// final state that names it (`Finality::EndsClose`), whose nonce follows the newest state
	/// either of them holds.
	agree_after_close: Option<u8>,
	/// The verifier's withheld countersignature reaches the requester late, after the close
	/// (before the parties agree a final state).
	late_countersignature: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
	(
		proptest::collection::vec(step(), 0..12),
		any::<bool>(),
		any::<bool>(),
		prop_oneof![Just(Cheater::Nobody), Just(Cheater::Requester), Just(Cheater::Verifier)],
		proptest::collection::vec(any::<u8>(), 0..3),
		any::<u8>(),
		proptest::collection::vec(0u8..25, MAX_HTLCS as usize),
		any::<u8>(),
		proptest::option::of(0u8..(PERIOD as u8 + 4)),
		any::<bool>(),
	)
		.prop_map(
			|(
				steps,
				finalize,
				withheld,
				cheater,
				checkpoints,
				close_pick,
				reveal_delays,
				answer_at,
				agree_after_close,
				late_countersignature,
			)| Scenario {
				steps,
				finalize,
				withheld,
				cheater,
				checkpoints,
				close_pick,
				reveal_delays,
				answer_at,
				agree_after_close,
				late_countersignature,
			},
		)
}

/// The states of an honest history from the opening state on, each one nonce above the last.
fn history(id: ChannelId, steps: &[Step], finalize: bool) -> Vec<ChannelState> {
	let mut states = vec![state(id, 0, DEPOSIT, 0, vec![], 0)];
	let mut key = 0u8;
	let mut next = |f: &dyn Fn(&mut ChannelState)| {
		let mut s = states.last().expect("opening state").clone();
		s.nonce += 1;
		f(&mut s);
		states.push(s);
	};
	for st in steps {
		match *st {
			Step::AddHtlc { amount, items, expiry } => {
				key += 1;
				let k = key;
				next(&|s: &mut ChannelState| {
					let amount = (amount as u128).min(s.requester_balance);
					if s.htlcs.len() as u32 >= MAX_HTLCS || amount == 0 {
						return;
					}
					s.requester_balance -= amount;
					let size = s.log.size;
					let h = htlc(k, amount, 3 + expiry as u32, range(size, items as u64));
					s.htlcs.try_push(h).expect("below MAX_HTLCS");
					s.log = log(size + items as u64);
				});
			},
			Step::Resolve(i) | Step::Refund(i) => {
				let to_verifier = matches!(st, Step::Resolve(_));
				next(&|s: &mut ChannelState| {
					if s.htlcs.is_empty() {
						return;
					}
					let h = s.htlcs.remove(i as usize % s.htlcs.len());
					if to_verifier {
						s.verifier_balance += h.amount;
					} else {
						s.requester_balance += h.amount;
					}
				});
			},
			Step::Pay(a) => next(&|s: &mut ChannelState| {
				let a = (a as u128).min(s.requester_balance);
				s.requester_balance -= a;
				s.verifier_balance += a;
			}),
		}
	}
	if finalize {
		next(&|s: &mut ChannelState| {
			for h in core::mem::take(&mut s.htlcs) {
				s.verifier_balance += h.amount;
			}
			s.finality = Finality::Final;
		});
	}
	states
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

	/// Whenever the party that did not close submits the newest state it holds within the
	/// challenge period, settlement pays exactly what that state says (plus the HTLCs whose
	/// key the verifier revealed by their expiry), every item of it is anchored exactly once,
	/// no party that followed the protocol pays a penalty, and funds are conserved.
	#[test]
	fn the_newest_state_wins(sc in scenario()) {
		new_test_ext().execute_with(|| {
			let issuance = Balances::total_issuance();
			let id = open(DEPOSIT);
			let states = history(id, &sc.steps, sc.finalize);
			let n = states.len() - 1;
			// The verifier countersigns last: it holds every state; the requester all but the
			// last one when it was withheld.
			let held_v = n + 1;
			let mut held_r = if sc.withheld && n > 0 { n } else { n + 1 };
			let held = |p: Cheater, held_r: usize| if p == Cheater::Requester { held_r } else { held_v };

			// Block 1: checkpoints of held (non-final) states, in nonce order.
			let by = if sc.cheater == Cheater::Nobody { Cheater::Verifier } else { sc.cheater };
			let mut picks: Vec<usize> = sc.checkpoints.iter().map(|c| *c as usize % held(by, held_r)).collect();
			picks.sort();
			for i in picks {
				let _ = checkpoint(id, &states[i]);
			}

			// Block 2: the close.
			run_to(2);
			let (closer, closer_key, other_key, honest_closer) = match sc.cheater {
				Cheater::Requester => (Cheater::Requester, ALICE, BOB, false),
				Cheater::Verifier => (Cheater::Verifier, BOB, ALICE, false),
				Cheater::Nobody if sc.close_pick % 2 == 0 => (Cheater::Requester, ALICE, BOB, true),
				Cheater::Nobody => (Cheater::Verifier, BOB, ALICE, true),
			};
			let non_closer_newest = &states[held(if closer == Cheater::Requester { Cheater::Verifier } else { Cheater::Requester }, held_r) - 1];
			let mut cooperative = false;
			if honest_closer {
				let newest = &states[held(closer, held_r) - 1];
				if newest.is_final() {
					prop_assert_eq!(close_coop(id, newest), Ok(()));
					cooperative = true;
				} else if newest.nonce > Channels::<Test>::get(id).map_or(0, |c| c.state.nonce) {
					prop_assert_eq!(close_with(closer_key, id, newest), Ok(()));
				} else {
					prop_assert_eq!(Attestation::close_unilateral(origin(closer_key), id, None), Ok(()));
				}
			} else {
				let pick = sc.close_pick as usize % (held(closer, held_r) + 1);
				let closed = states.get(pick).filter(|s| !s.is_final() && pick < held(closer, held_r)).map(|s| close_with(closer_key, id, s));
				if closed != Some(Ok(())) {
					prop_assert_eq!(Attestation::close_unilateral(origin(closer_key), id, None), Ok(()));
				}
			}

			// Nonce of the unilateral close, if there was one.
			let closed_nonce = Channels::<Test>::get(id).and_then(|c| match c.status {
				ChannelStatus::Closing { closed_nonce, .. } => Some(closed_nonce),
				ChannelStatus::Open => None,
			});
			// The verifier reveals the keys of its newest state's HTLCs, each at its own block.
			let newest_v = &states[held_v - 1];
			#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
			enum Ev { Reveal(usize), Answer, Agree }
			let mut events: Vec<(u64, Ev)> = newest_v
				.htlcs
				.iter()
				.enumerate()
				.map(|(i, _)| (2 + sc.reveal_delays[i] as u64, Ev::Reveal(i)))
				.collect();
			// The non-closer answers with its newest state within the period.
			events.push((2 + sc.answer_at as u64 % (PERIOD + 1), Ev::Answer));
			if let Some(after) = sc.agree_after_close {
				events.push((2 + after as u64, Ev::Agree));
			}
			events.sort();
			// The verifier's withheld countersignature reaches the requester after the close.
			if sc.late_countersignature {
				held_r = held_v;
			}
			let mut revealed: Vec<(Hash, u64)> = Vec::new();
			// A final state agreed during the close, and the nonce the chain held before it.
			let mut agreed: Option<(ChannelState, u64)> = None;
			for (block, what) in events {
				run_to(block);
				match what {
					Ev::Agree if !cooperative => {
						let Some((closed, party)) = Channels::<Test>::get(id).and_then(|c| match c.status {
							ChannelStatus::Closing { closed_nonce, closer, .. } => Some((closed_nonce, closer)),
							ChannelStatus::Open => None,
						}) else { continue };
						// The newest state either holds; a final one needs no agreeing.
						let base = &states[held_r.max(held_v) - 1];
						if base.is_final() {
							continue;
						}
						let mut f = base.clone();
						f.nonce += 1;
						for h in core::mem::take(&mut f.htlcs) {
							f.verifier_balance += h.amount;
						}
						f.finality = Finality::EndsClose { closer: party, closed_nonce: closed };
						// As the agents do: the non-closer first puts its newest state on chain
						// if the chain holds an older one (a stale close stays proven).
						let chain_nonce = Channels::<Test>::get(id).map_or(0, |c| c.state.nonce);
						let non_closer = if closer == Cheater::Requester { Cheater::Verifier } else { Cheater::Requester };
						let its_newest = &states[held(non_closer, held_r) - 1];
						if its_newest.nonce > chain_nonce && !its_newest.is_final() && block <= 2 + PERIOD {
							prop_assert_eq!(challenge(other_key, id, its_newest), Ok(()));
						}
						let before = Channels::<Test>::get(id).map_or(0, |c| c.state.nonce);
						let deadline_passed = block > 2 + PERIOD;
						let r = close_coop(id, &f);
						if deadline_passed {
							prop_assert_eq!(r, Err(Error::<Test>::ChallengePeriodOver.into()));
						} else {
							prop_assert_eq!(r, Ok(()));
							agreed = Some((f, before));
							cooperative = true;
						}
					},
					Ev::Agree => {},
					Ev::Reveal(i) if !cooperative => {
						let h = &newest_v.htlcs[i];
						let key = states.iter().flat_map(|s| s.htlcs.iter()).position(|x| x.payment_hash == h.payment_hash);
						prop_assert!(key.is_some());
						// The keys are `[k; 32]` with `ph(k) == payment_hash`.
						let k = (1..=u8::MAX).find(|k| ph(*k) == h.payment_hash).expect("a test key");
						// A key of an HTLC the chain's state holds is refused after its expiry
						// (it would pay nothing); otherwise it is recorded.
						let expired = Channels::<Test>::get(id).is_some_and(|c| {
							c.state.htlcs.iter().any(|x| x.payment_hash == h.payment_hash && block > x.expiry as u64)
						});
						let r = Attestation::reveal_bill_key(origin(BOB), id, BillKey([k; 32]));
						if expired {
							prop_assert_eq!(r, Err(Error::<Test>::HtlcExpired.into()));
						} else {
							prop_assert_eq!(r, Ok(()));
							revealed.push((h.payment_hash, block));
						}
					},
					Ev::Reveal(_) => {},
					Ev::Answer if !cooperative => {
						let chain_nonce = Channels::<Test>::get(id).map_or(u64::MAX, |c| c.state.nonce);
						if non_closer_newest.nonce > chain_nonce {
							if non_closer_newest.is_final() {
								prop_assert_eq!(close_coop(id, non_closer_newest), Ok(()));
								cooperative = true;
							} else {
								// The non-closer itself, or its watchtower.
								let by = if sc.answer_at % 2 == 0 { other_key } else { CHARLIE };
								prop_assert_eq!(challenge(by, id, non_closer_newest), Ok(()));
							}
						}
					},
					Ev::Answer => {},
				}
			}
			let final_state = Channels::<Test>::get(id).map(|c| c.state);
			if !cooperative {
				run_to(3 + PERIOD + 25);
				prop_assert_eq!(Attestation::settle(origin(CHARLIE), id).map(|_| ()).map_err(|e| e.error), Ok(()));
			}
			let (paid_r, paid_v, revealed_paid, pending, penalty) = closed_event();

			// The state the channel settled with: the newest state the non-closer holds (or a
			// newer one that the closer itself brought).
			let fin = final_state.unwrap_or_else(|| non_closer_newest.clone());
			let fin = match &agreed {
				Some((f, _)) => f.clone(),
				None if cooperative => states.iter().rev().find(|s| s.is_final()).cloned().unwrap_or(fin),
				None => fin,
			};
			prop_assert!(fin.nonce >= non_closer_newest.nonce);
			// No penalty for the honest closer; the rule otherwise.
			if honest_closer || closed_nonce.is_none() {
				prop_assert_eq!(penalty, 0);
			}
			if let Some(closed) = closed_nonce {
				let p = if closer == Cheater::Requester { Party::Requester } else { Party::Verifier };
				// A final state agreed after the close proves nothing; what the chain held before
				// it (the closing state or a challenge) still does.
				let evidence = agreed.as_ref().map_or(fin.nonce, |(_, before)| *before);
				let expected = if proves_stale(p, closed, evidence) {
					let base = if p == Party::Requester { fin.requester_balance } else { fin.verifier_balance };
					base / 10
				} else {
					0
				};
				prop_assert_eq!(penalty, expected);
			}
			let (mut r, mut v) = (fin.requester_balance, fin.verifier_balance);
			if closer == Cheater::Requester { r -= penalty; v += penalty } else { v -= penalty; r += penalty }
			// HTLCs pay the verifier iff their key was revealed by their expiry.
			let mut in_time = 0;
			for h in fin.htlcs.iter() {
				if revealed.iter().any(|(ph, b)| *ph == h.payment_hash && *b <= h.expiry as u64) {
					v += h.amount;
					in_time += h.amount;
				}
			}
			prop_assert_eq!(revealed_paid, in_time);
			prop_assert_eq!((paid_r, paid_v), (r, v));
			prop_assert_eq!(pending as usize, fin.htlcs.len() - fin.htlcs.iter().filter(|h| revealed.iter().any(|(ph, b)| *ph == h.payment_hash && *b <= h.expiry as u64)).count());
			// Late or unrevealed HTLCs are refunded (every expiry has passed).
			for (cid, hash, _) in ClaimableHtlcs::<Test>::iter().collect::<Vec<_>>() {
				prop_assert_eq!(Attestation::refund_htlc(origin(CHARLIE), cid, hash), Ok(()));
			}
			// Alice funded everything: she ends with all of it but what Bob was paid.
			prop_assert_eq!(free(ALICE), INITIAL_BALANCE - v);
			prop_assert_eq!(free(BOB), INITIAL_BALANCE - VERIFIER_DEPOSIT + v);
			prop_assert_eq!(channel_held(ALICE) + channel_held(BOB), 0);
			prop_assert_eq!(Balances::total_issuance(), issuance);

			// Every item of the final log is anchored exactly once, in order.
			let mut anchors: Vec<(u32, AnchorInfo)> = Anchors::<Test>::iter_prefix(id).collect();
			anchors.sort_by_key(|(i, _)| *i);
			let mut next = 0u64;
			for (_, a) in &anchors {
				prop_assert_eq!(a.first_seq, next);
				prop_assert!(a.log.size > a.first_seq);
				prop_assert_eq!(a.log, log(a.log.size));
				next = a.log.size;
			}
			prop_assert_eq!(next, fin.log.size);
			Ok(())
		})?;
	}
}
