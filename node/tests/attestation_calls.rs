//! Every call of pallet-attestation submitted from outside to a dev node over JSON-RPC
//! (subxt), with channel states signed off chain by `attest-primitives`.
//!
//! The node runs with `--sealing 250` (a block every 250 ms, each finalized at once), so
//! challenge periods and HTLC expiries pass in seconds.

use attest_primitives::{
	channel_id, payment_hash, signing::sign, BillKey, ChannelState, Hash, Htlc, ItemRange, LogHead,
};
use attest_testkit::{
	chain::{account, has, pair, submit, Events, UNIT},
	Node,
};
use codec::{Decode, Encode};
use sp_runtime::MultiSignature;
use std::time::Duration;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};

/// `MinChallengePeriod` of the runtime: one minute of 6 s blocks.
const PERIOD: u32 = 10;

struct Chain {
	api: OnlineClient<PolkadotConfig>,
	genesis: Hash,
}

impl Chain {
	async fn submit(&self, who: &Keypair, call: &str, args: impl Encode) -> anyhow::Result<Events> {
		submit(&self.api, who, call, args).await
	}

	/// Submit a call that must fail with the given pallet error.
	async fn submit_fails(
		&self,
		who: &Keypair,
		call: &str,
		args: impl Encode,
		error: &str,
	) -> anyhow::Result<()> {
		match self.submit(who, call, args).await {
			Ok(events) => {
				anyhow::bail!("{call} succeeded ({events:?}) but should fail with {error}")
			},
			Err(e) => {
				let text = format!("{e:?}");
				anyhow::ensure!(
					text.contains(error),
					"{call} failed with {text}, expected {error}"
				);
				Ok(())
			},
		}
	}

	async fn block(&self) -> anyhow::Result<u32> {
		Ok(self.api.at_current_block().await?.block_number() as u32)
	}

	async fn wait_for_block(&self, n: u32) -> anyhow::Result<()> {
		while self.block().await? < n {
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
		Ok(())
	}
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
		is_final: false,
	}
}

impl Chain {
	fn sign(&self, uri: &str, s: &ChannelState) -> MultiSignature {
		sign::sign_state(&pair(uri), &self.genesis, s)
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
	let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url()).await?;
	let genesis = Hash(api.genesis_hash().0);
	let chain = Chain { api, genesis };
	let (alice, bob, charlie) = (dev::alice(), dev::bob(), dev::charlie());

	// Registry.
	let ev = chain
		.submit(
			&bob,
			"register_verifier",
			(b"https://bob.example/v1".to_vec(), UNIT / 1000, PERIOD),
		)
		.await?;
	anyhow::ensure!(has(&ev, "VerifierRegistered"), "{ev:?}");
	chain
		.submit_fails(
			&bob,
			"register_verifier",
			(b"https://bob.example".to_vec(), 1u128, PERIOD),
			"AlreadyRegistered",
		)
		.await?;
	chain
		.submit_fails(
			&charlie,
			"register_verifier",
			(b"ftp://nope".to_vec(), 1u128, PERIOD),
			"InvalidEndpoint",
		)
		.await?;
	let ev = chain
		.submit(&bob, "update_verifier", (None::<Vec<u8>>, Some(UNIT / 500), None::<u32>))
		.await?;
	anyhow::ensure!(has(&ev, "VerifierUpdated"), "{ev:?}");

	// Channel 1: open, fund, checkpoint, cooperative close.
	let ev = chain
		.submit(&alice, "open_channel", (account("//Bob"), 10 * UNIT, PERIOD))
		.await?;
	anyhow::ensure!(has(&ev, "ChannelOpened"), "{ev:?}");
	let id = channel_id(&chain.genesis, &account("//Alice"), &account("//Bob"), 0);
	let opened = &ev.iter().find(|(n, _)| n == "ChannelOpened").unwrap().1;
	anyhow::ensure!(
		Hash::decode(&mut &opened[..])? == id,
		"channel id differs from the documented derivation"
	);
	let ev = chain.submit(&bob, "fund_channel", (id, UNIT)).await?;
	anyhow::ensure!(has(&ev, "ChannelFunded"), "{ev:?}");

	let s1 = state(id, 1, 10 * UNIT, UNIT, vec![], 3);
	let ev = chain
		.submit(
			&charlie,
			"checkpoint",
			(
				id,
				s1.clone(),
				chain.sign("//Alice", &s1),
				chain.sign("//Bob", &s1),
				consistency(0, 3),
			),
		)
		.await?;
	anyhow::ensure!(has(&ev, "Anchored") && has(&ev, "Checkpointed"), "{ev:?}");
	// Replayed, wrongly signed and non-contiguous states are refused.
	chain
		.submit_fails(
			&charlie,
			"checkpoint",
			(
				id,
				s1.clone(),
				chain.sign("//Alice", &s1),
				chain.sign("//Bob", &s1),
				consistency(0, 3),
			),
			"StaleState",
		)
		.await?;
	let s2 = state(id, 2, 9 * UNIT, 2 * UNIT, vec![], 5);
	let p2 = consistency(3, 5);
	chain
		.submit_fails(
			&charlie,
			"checkpoint",
			(id, s2.clone(), chain.sign("//Alice", &s2), chain.sign("//Charlie", &s2), p2.clone()),
			"BadSignature",
		)
		.await?;
	// A log that does not extend the anchored one (wrong proof).
	chain
		.submit_fails(
			&charlie,
			"checkpoint",
			(
				id,
				s2.clone(),
				chain.sign("//Alice", &s2),
				chain.sign("//Bob", &s2),
				consistency(2, 5),
			),
			"InconsistentLog",
		)
		.await?;
	// Only a final state closes cooperatively.
	chain
		.submit_fails(
			&alice,
			"close_cooperative",
			(id, s2.clone(), chain.sign("//Alice", &s2), chain.sign("//Bob", &s2), p2.clone()),
			"NotFinal",
		)
		.await?;
	let f2 = ChannelState { is_final: true, ..s2 };
	let ev = chain
		.submit(
			&alice,
			"close_cooperative",
			(id, f2.clone(), chain.sign("//Alice", &f2), chain.sign("//Bob", &f2), p2),
		)
		.await?;
	anyhow::ensure!(has(&ev, "ChannelClosed") && has(&ev, "Anchored"), "{ev:?}");

	// Channel 2: unilateral close with a stale state, challenge, settle, HTLC claim and refund.
	chain
		.submit(&alice, "open_channel", (account("//Bob"), 10 * UNIT, PERIOD))
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
			"close_unilateral",
			(id2, Some((old.clone(), chain.sign("//Bob", &old), consistency(0, 3)))),
		)
		.await?;
	anyhow::ensure!(has(&ev, "CloseStarted"), "{ev:?}");
	let ev = chain
		.submit(
			&charlie,
			"challenge",
			(
				id2,
				newer.clone(),
				chain.sign("//Alice", &newer),
				chain.sign("//Bob", &newer),
				consistency(0, 3),
			),
		)
		.await?;
	anyhow::ensure!(has(&ev, "Challenged"), "{ev:?}");
	// The verifier puts a bill key on chain during the close: that HTLC pays it at settlement.
	let revealed_key = BillKey([8; 32]);
	chain
		.submit_fails(&alice, "reveal_bill_key", (id2, revealed_key), "NotVerifier")
		.await?;
	let ev = chain.submit(&bob, "reveal_bill_key", (id2, claim_key)).await?;
	anyhow::ensure!(has(&ev, "BillKeyRevealed"), "{ev:?}");
	chain.submit_fails(&charlie, "settle", id2, "ChallengePeriodNotOver").await?;
	chain.wait_for_block(now + PERIOD + 3).await?;
	let ev = chain.submit(&charlie, "settle", id2).await?;
	anyhow::ensure!(has(&ev, "ChannelClosed") && has(&ev, "Anchored"), "{ev:?}");

	// The revealed HTLC was paid at settlement; the other one is left to claim or refund.
	chain
		.submit_fails(&bob, "claim_htlc", (id2, payment_hash(&claim_key), claim_key), "UnknownHtlc")
		.await?;
	chain
		.submit_fails(
			&bob,
			"claim_htlc",
			(id2, payment_hash(&refund_key), BillKey([7; 32])),
			"WrongBillKey",
		)
		.await?;
	chain
		.submit_fails(&alice, "refund_htlc", (id2, payment_hash(&refund_key)), "HtlcNotExpired")
		.await?;
	chain.wait_for_block(now + 2 * PERIOD + 11).await?;
	let ev = chain.submit(&alice, "refund_htlc", (id2, payment_hash(&refund_key))).await?;
	anyhow::ensure!(has(&ev, "HtlcRefunded"), "{ev:?}");

	// Channel 3: an HTLC claimed with its key after settlement.
	chain
		.submit(&alice, "open_channel", (account("//Bob"), 10 * UNIT, PERIOD))
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
			"close_unilateral",
			(id3, Some((s3.clone(), chain.sign("//Alice", &s3), consistency(0, 1)))),
		)
		.await?;
	chain.wait_for_block(now + PERIOD + 3).await?;
	chain.submit(&charlie, "settle", id3).await?;
	let ev = chain.submit(&charlie, "claim_htlc", (id3, payment_hash(&key3), key3)).await?;
	let claimed = &ev
		.iter()
		.find(|(n, _)| n == "HtlcClaimed")
		.ok_or_else(|| anyhow::anyhow!("{ev:?}"))?
		.1;
	let (_, _, revealed, amount, paid) =
		<(Hash, Hash, BillKey, u128, u128)>::decode(&mut &claimed[..])?;
	anyhow::ensure!(
		revealed == key3 && amount == UNIT && paid == UNIT,
		"the claim event reveals the key and pays"
	);
	chain
		.submit_fails(
			&bob,
			"claim_htlc",
			(id2, payment_hash(&refund_key), refund_key),
			"UnknownHtlc",
		)
		.await?;

	let ev = chain.submit(&bob, "unregister_verifier", ()).await?;
	anyhow::ensure!(has(&ev, "VerifierUnregistered"), "{ev:?}");
	Ok(())
}
