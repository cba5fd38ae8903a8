//! Smoke test: a dev node starts, produces and finalizes blocks with Aura + GRANDPA, and
//! accepts a signed balance transfer submitted over JSON-RPC by subxt.

use attest_testkit::Node;
use codec::Decode;
use std::time::Duration;
use subxt::{dynamic, OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::dev;

const AMOUNT: u128 = 12_345_678_900;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_node_finalizes_and_accepts_a_transfer() -> anyhow::Result<()> {
	let mut node = Node::spawn(env!("CARGO_BIN_EXE_attest-node").as_ref(), &["--dev"]);
	node.wait_for_rpc(Duration::from_secs(120));
	let result = tokio::time::timeout(Duration::from_secs(180), run(&node)).await;
	match result {
		Ok(Ok(())) => Ok(()),
		Ok(Err(e)) => panic!("smoke test failed: {e:?}\nnode log:\n{}", node.log_tail(60)),
		Err(_) => panic!("smoke test timed out\nnode log:\n{}", node.log_tail(60)),
	}
}

async fn run(node: &Node) -> anyhow::Result<()> {
	let api = OnlineClient::<PolkadotConfig>::from_insecure_url(node.ws_url()).await?;

	// Finalized blocks: GRANDPA must finalize at least block 3.
	let mut finalized = api.stream_blocks().await?;
	loop {
		let block =
			finalized.next().await.ok_or_else(|| anyhow::anyhow!("block stream ended"))??;
		if block.number() >= 3 {
			break;
		}
	}

	// A signed transfer from Alice to Bob, watched until finalized.
	let bob = dev::bob();
	let tx = dynamic::transaction(
		"Balances",
		"transfer_keep_alive",
		(bob.public_key().to_address::<()>(), AMOUNT),
	);
	let events = api
		.at_current_block()
		.await?
		.transactions()
		.sign_and_submit_then_watch_default(&tx, &dev::alice())
		.await?
		.wait_for_finalized_success()
		.await?;

	let mut transfers = 0;
	for event in events.iter() {
		let event = event?;
		if event.pallet_name() == "Balances" && event.event_name() == "Transfer" {
			let (from, to, amount) =
				<([u8; 32], [u8; 32], u128)>::decode(&mut event.field_bytes())?;
			anyhow::ensure!(from == dev::alice().public_key().0, "Transfer from the wrong account");
			anyhow::ensure!(to == bob.public_key().0, "Transfer to the wrong account");
			anyhow::ensure!(amount == AMOUNT, "Transfer of {amount}, expected {AMOUNT}");
			transfers += 1;
		}
	}
	anyhow::ensure!(transfers == 1, "expected one Balances.Transfer event, saw {transfers}");
	Ok(())
}

/// `attest-node --help` tells operators that offchain indexing is always on (the relay of
/// anchors depends on it), as the README does.
#[test]
fn help_says_offchain_indexing_is_always_on() {
	let out = std::process::Command::new(env!("CARGO_BIN_EXE_attest-node"))
		.arg("--help")
		.output()
		.expect("attest-node runs");
	let text = String::from_utf8_lossy(&out.stdout);
	assert!(out.status.success(), "--help failed: {text}");
	assert!(text.contains("Offchain indexing is always on"), "--help does not say it:\n{text}");
}
