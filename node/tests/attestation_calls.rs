//! Every call of pallet-attestation submitted from outside to a dev node over JSON-RPC
//! (subxt), with channel states signed off chain by `attest-primitives`.
//!
//! The node runs with `--sealing 250` (a block every 250 ms, each finalized at once), so
//! challenge periods and HTLC expiries pass in seconds.

use attest_chain::{
	runtime::{self, runtime_types::bounded_collections::bounded_vec::BoundedVec},
	AttestationEvent, ChainError, Key, Static, UNIT,
};
use attest_primitives::{
	channel_id, payment_hash, signing::sign, BillKey, ChannelState, Hash, Htlc, ItemRange, LogHead,
};
use attest_testkit::Node;
use sp_runtime::MultiSignature;
use std::time::Duration;
use subxt::transactions::Payload;

/// `MinChallengePeriod` of the runtime: one minute of 6 s blocks.
const PERIOD: u32 = 10;

struct Chain {
	chain: attest_chain::Chain,
	genesis: Hash,
}

/// The calls of pallet-attestation, typed from the runtime's metadata.
fn calls() -> runtime::attestation::calls::api::TransactionApi {
	runtime::transactions().attestation()
}

/// The variant names of `events`.
fn names(events: &[AttestationEvent]) -> Vec<String> {
	events
		.iter()
		.map(|e| format!("{e:?}").split([' ', '{', '(']).next().unwrap_or_default().to_string())
		.collect()
}

fn has(events: &[AttestationEvent], name: &str) -> bool {
	names(events).iter().any(|n| n == name)
}

impl Chain {
	async fn submit<C: Payload>(
		&self,
		who: &Key,
		call: C,
	) -> anyhow::Result<Vec<AttestationEvent>> {
		Ok(self.chain.submit(who, &call).await?.events)
	}

	/// Submit a call that must fail with the given pallet error.
	async fn submit_fails<C: Payload>(
		&self,
		who: &Key,
		call: C,
		error: &str,
	) -> anyhow::Result<()> {
		match self.chain.submit(who, &call).await {
			Ok(inc) => anyhow::bail!(
				"the call succeeded ({:?}) but should fail with {error}",
				names(&inc.events)
			),
			Err(e @ ChainError::Dispatch { .. }) => {
				anyhow::ensure!(
					e.dispatch_error() == Some(error),
					"failed with {e}, expected {error}"
				);
				Ok(())
			},
			Err(e) => anyhow::bail!("failed with {e}, expected the pallet error {error}"),
		}
	}

	async fn block(&self) -> anyhow::Result<u32> {
		Ok(self.chain.best_number().await?)
	}

	async fn wait_for_block(&self, n: u32) -> anyhow::Result<()> {
		while self.block().await? < n {
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		Ok(())
	}
}

fn account(uri: &str) -> sp_runtime::AccountId32 {
	Key::from_suri(uri).expect("dev key").account()
}

fn who(uri: &str) -> subxt::utils::AccountId32 {
	attest_chain::account(Key::from_suri(uri).expect("dev key").public())
}

fn sig(s: MultiSignature) -> Static<MultiSignature> {
	Static(s)
}

fn proof(p: Vec<Hash>) -> BoundedVec<Hash> {
	BoundedVec(p)
}

fn digests(first: u64, n: u64) -> Vec<Hash> {
	(first..first + n)
		.map(|i| attest_primitives::sha256(format!("item {i}").as_bytes()))
		.collect()
}

fn range(first: u64, n: u64) -> ItemRange {
	ItemRange::of_digests(first, &digests(first, n))
}

/// The head of the channel log of the first `n` test items.
fn log(n: u64) -> LogHead {
	LogHead::of_digests(&digests(0, n))
}

/// `PROOF(from, D[to])` over the test items (empty from the empty log).
fn consistency(from: u64, to: u64) -> Vec<Hash> {
	LogHead::consistency_path(&digests(0, to), from).expect("valid sizes")
}

/// A state whose log holds the first `items` test items.
fn state(id: Hash, nonce: u64, r: u128, v: u128, htlcs: Vec<Htlc>, items: u64) -> ChannelState {
	ChannelState {
		channel_id: id,
		nonce,
		requester_balance: r,
		verifier_balance: v,
		htlcs: htlcs.try_into().expect("few HTLCs"),
		log: log(items),
		finality: attest_primitives::Finality::Open,
	}
}

impl Chain {
	fn sign(&self, uri: &str, s: &ChannelState) -> Static<MultiSignature> {
		sig(sign::sign_state(Key::from_suri(uri).expect("dev key").pair(), &self.genesis, s))
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_works_through_rpc() -> anyhow::Result<()> {
	let mut node =
		Node::spawn(env!("CARGO_BIN_EXE_attest-node").as_ref(), &["--dev", "--sealing", "250"]);
	node.wait_for_rpc(Duration::from_secs(120));
	match tokio::time::timeout(Duration::from_secs(240), run(&node)).await {
		Ok(Ok(())) => Ok(()),
		Ok(Err(e)) => panic!("{e:?}\nnode log:\n{}", node.log_tail(60)),
		Err(_) => panic!("timed out\nnode log:\n{}", node.log_tail(60)),
	}
}

async fn run(node: &Node) -> anyhow::Result<()> {
	let inner = attest_chain::Chain::connect(&node.ws_url()).await?;
	let genesis = inner.genesis();
	let chain = Chain { chain: inner, genesis };
	let key = |uri: &str| Key::from_suri(uri).expect("dev key");
	let (alice, bob, charlie) = (key("//Alice"), key("//Bob"), key("//Charlie"));

	// Registry.
	let ev = chain
		.submit(
			&bob,
			calls().register_verifier(b"https://bob.example/v1".to_vec(), UNIT / 1000, PERIOD),
		)
		.await?;
	anyhow::ensure!(has(&ev, "VerifierRegistered"), "{:?}", names(&ev));
	chain
		.submit_fails(
			&bob,
			calls().register_verifier(b"https://bob.example".to_vec(), 1u128, PERIOD),
			"AlreadyRegistered",
		)
		.await?;
	chain
		.submit_fails(
			&charlie,
			calls().register_verifier(b"ftp://nope".to_vec(), 1u128, PERIOD),
			"InvalidEndpoint",
		)
		.await?;
	let ev = chain
		.submit(&bob, calls().update_verifier(None::<Vec<u8>>, Some(UNIT / 500), None::<u32>))
		.await?;
	anyhow::ensure!(has(&ev, "VerifierUpdated"), "{:?}", names(&ev));

	// Channel 1: open, fund, checkpoint, cooperative close.
	let ev = chain
		.submit(&alice, calls().open_channel(who("//Bob"), 10 * UNIT, PERIOD))
		.await?;
	anyhow::ensure!(has(&ev, "ChannelOpened"), "{:?}", names(&ev));
	let id = channel_id(&chain.genesis, &account("//Alice"), &account("//Bob"), 0);
	let opened = ev.iter().find_map(|e| match e {
		AttestationEvent::ChannelOpened { channel_id, .. } => Some(*channel_id),
		_ => None,
	});
	anyhow::ensure!(opened == Some(id), "channel id differs from the documented derivation");
	let ev = chain.submit(&bob, calls().fund_channel(id, UNIT)).await?;
	anyhow::ensure!(has(&ev, "ChannelFunded"), "{:?}", names(&ev));

	let s1 = state(id, 1, 10 * UNIT, UNIT, vec![], 3);
	let ev = chain
		.submit(
			&charlie,
			calls().checkpoint(
				id,
				Static(s1.clone()),
				chain.sign("//Alice", &s1),
				chain.sign("//Bob", &s1),
				proof(consistency(0, 3)),
			),
		)
		.await?;
	anyhow::ensure!(has(&ev, "Anchored") && has(&ev, "Checkpointed"), "{:?}", names(&ev));
	// Replayed, wrongly signed and non-contiguous states are refused.
	chain
		.submit_fails(
			&charlie,
			calls().checkpoint(
				id,
				Static(s1.clone()),
				chain.sign("//Alice", &s1),
				chain.sign("//Bob", &s1),
				proof(consistency(0, 3)),
			),
			"StaleState",
		)
		.await?;
	let s2 = state(id, 2, 9 * UNIT, 2 * UNIT, vec![], 5);
	let p2 = consistency(3, 5);
	chain
		.submit_fails(
			&charlie,
			calls().checkpoint(
				id,
				Static(s2.clone()),
				chain.sign("//Alice", &s2),
				chain.sign("//Charlie", &s2),
				proof(p2.clone()),
			),
			"BadSignature",
		)
		.await?;
	// A log that does not extend the anchored one (wrong proof).
	chain
		.submit_fails(
			&charlie,
			calls().checkpoint(
				id,
				Static(s2.clone()),
				chain.sign("//Alice", &s2),
				chain.sign("//Bob", &s2),
				proof(consistency(2, 5)),
			),
			"InconsistentLog",
		)
		.await?;
	// Only a final state closes cooperatively.
	chain
		.submit_fails(
			&alice,
			calls().close_cooperative(
				id,
				Static(s2.clone()),
				chain.sign("//Alice", &s2),
				chain.sign("//Bob", &s2),
				proof(p2.clone()),
			),
			"NotFinal",
		)
		.await?;
	let f2 = ChannelState { finality: attest_primitives::Finality::Final, ..s2 };
	let ev = chain
		.submit(
			&alice,
			calls().close_cooperative(
				id,
				Static(f2.clone()),
				chain.sign("//Alice", &f2),
				chain.sign("//Bob", &f2),
				proof(p2),
			),
		)
		.await?;
	anyhow::ensure!(has(&ev, "ChannelClosed") && has(&ev, "Anchored"), "{:?}", names(&ev));

	// Channel 2: unilateral close with a stale state, challenge, settle, HTLC claim and refund.
	chain
		.submit(&alice, calls().open_channel(who("//Bob"), 10 * UNIT, PERIOD))
		.await?;
	let id2 = channel_id(&chain.genesis, &account("//Alice"), &account("//Bob"), 1);
	let now = chain.block().await?;
	let (claim_key, refund_key) = (BillKey([5; 32]), BillKey([6; 32]));
	let htlcs = vec![
		Htlc {
			payment_hash: payment_hash(&claim_key),
			amount: UNIT,
			expiry: now + 1_000,
			items: range(0, 2),
		},
		Htlc {
			payment_hash: payment_hash(&refund_key),
			amount: UNIT,
			expiry: now + 2 * PERIOD + 10,
			items: range(2, 1),
		},
	];
	let old = state(id2, 1, 8 * UNIT, 0, htlcs.clone(), 3);
	let newer = state(id2, 3, 7 * UNIT, UNIT, htlcs, 3);
	let ev = chain
		.submit(
			&alice,
			calls().close_unilateral(
				id2,
				Some((Static(old.clone()), chain.sign("//Bob", &old), proof(consistency(0, 3)))),
			),
		)
		.await?;
	anyhow::ensure!(has(&ev, "CloseStarted"), "{:?}", names(&ev));
	let ev = chain
		.submit(
			&charlie,
			calls().challenge(
				id2,
				Static(newer.clone()),
				chain.sign("//Alice", &newer),
				chain.sign("//Bob", &newer),
				proof(consistency(0, 3)),
			),
		)
		.await?;
	anyhow::ensure!(has(&ev, "Challenged"), "{:?}", names(&ev));
	// The verifier puts a bill key on chain during the close: that HTLC pays it at settlement.
	let revealed_key = BillKey([8; 32]);
	chain
		.submit_fails(&alice, calls().reveal_bill_key(id2, Static(revealed_key)), "NotVerifier")
		.await?;
	let ev = chain.submit(&bob, calls().reveal_bill_key(id2, Static(claim_key))).await?;
	anyhow::ensure!(has(&ev, "BillKeyRevealed"), "{:?}", names(&ev));
	chain
		.submit_fails(&charlie, calls().settle(id2), "ChallengePeriodNotOver")
		.await?;
	chain.wait_for_block(now + PERIOD + 3).await?;
	let ev = chain.submit(&charlie, calls().settle(id2)).await?;
	anyhow::ensure!(has(&ev, "ChannelClosed") && has(&ev, "Anchored"), "{:?}", names(&ev));

	// The revealed HTLC was paid at settlement; the other one is left to claim or refund.
	chain
		.submit_fails(
			&bob,
			calls().claim_htlc(id2, payment_hash(&claim_key), Static(claim_key)),
			"UnknownHtlc",
		)
		.await?;
	chain
		.submit_fails(
			&bob,
			calls().claim_htlc(id2, payment_hash(&refund_key), Static(BillKey([7; 32]))),
			"WrongBillKey",
		)
		.await?;
	chain
		.submit_fails(&alice, calls().refund_htlc(id2, payment_hash(&refund_key)), "HtlcNotExpired")
		.await?;
	chain.wait_for_block(now + 2 * PERIOD + 11).await?;
	let ev = chain
		.submit(&alice, calls().refund_htlc(id2, payment_hash(&refund_key)))
		.await?;
	anyhow::ensure!(has(&ev, "HtlcRefunded"), "{:?}", names(&ev));

	// Channel 3: an HTLC claimed with its key after settlement.
	chain
		.submit(&alice, calls().open_channel(who("//Bob"), 10 * UNIT, PERIOD))
		.await?;
	let id3 = channel_id(&chain.genesis, &account("//Alice"), &account("//Bob"), 2);
	let now = chain.block().await?;
	let key3 = BillKey([9; 32]);
	let h3 = Htlc {
		payment_hash: payment_hash(&key3),
		amount: UNIT,
		expiry: now + 1_000,
		items: range(0, 1),
	};
	let s3 = state(id3, 1, 9 * UNIT, 0, vec![h3], 1);
	chain
		.submit(
			&bob,
			calls().close_unilateral(
				id3,
				Some((Static(s3.clone()), chain.sign("//Alice", &s3), proof(consistency(0, 1)))),
			),
		)
		.await?;
	chain.wait_for_block(now + PERIOD + 3).await?;
	chain.submit(&charlie, calls().settle(id3)).await?;
	let ev = chain
		.submit(&charlie, calls().claim_htlc(id3, payment_hash(&key3), Static(key3)))
		.await?;
	let (revealed, amount, paid) = ev
		.iter()
		.find_map(|e| match e {
			AttestationEvent::HtlcClaimed { bill_key, amount, paid, .. } => {
				Some((bill_key.0, *amount, *paid))
			},
			_ => None,
		})
		.ok_or_else(|| anyhow::anyhow!("{ev:?}"))?;
	anyhow::ensure!(
		revealed == key3 && amount == UNIT && paid == UNIT,
		"the claim event reveals the key and pays"
	);
	chain
		.submit_fails(
			&bob,
			calls().claim_htlc(id2, payment_hash(&refund_key), Static(refund_key)),
			"UnknownHtlc",
		)
		.await?;

	let ev = chain.submit(&bob, calls().unregister_verifier()).await?;
	anyhow::ensure!(has(&ev, "VerifierUnregistered"), "{:?}", names(&ev));
	Ok(())
}
