//! Submissions from one process with one key do not race for a nonce: `Chain::submit` signs
//! the next one only after the previous one is in a finalized block. Without that, two
//! concurrent submissions read the same account nonce and the pool rejects the second as a
//! replacement with no higher priority (a watchtower's challenge lost to its own checkpoint).

use attest_chain::{runtime, Chain, Key};

#[test]
fn concurrent_submissions_with_one_key_all_land() {
	let node = attest_testkit::Node::dev(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	rt.block_on(async {
		let chain = Chain::connect(&node.ws_url()).await.expect("connect");
		let alice = Key::from_suri("//Alice").expect("key");
		let before = chain.account_nonce(alice.public()).await.expect("nonce");
		let remarks: Vec<_> = (0u8..4)
			.map(|i| runtime::transactions().system().remark_with_event(vec![i; 8]))
			.collect();
		let results =
			futures::future::join_all(remarks.iter().map(|r| chain.submit(&alice, r))).await;
		for (i, r) in results.iter().enumerate() {
			assert!(r.is_ok(), "submission {i} failed: {:?}", r.as_ref().err());
		}
		assert_eq!(chain.account_nonce(alice.public()).await.expect("nonce"), before + 4);
	});
}
