//! A requester that hangs up while the verifier handles its attestation request: the HTTP
//! server drops the request's future wherever it had reached. Here the router's future is
//! dropped after 1, 2, 3, ... polls (every `.await` it can stop at), then after 0, 20, 40, ...
//! µs, each sweep until the request completes first. Whatever the point, the request sent again
//! is answered, and the next batch is accepted: the verifier never keeps a state in its database
//! that its in-memory view of the channel does not follow, nor a database connection left inside
//! a transaction (both seen before requests ran to completion as tasks of their own).

mod common;

use attest_chain::{Chain, Key};
use attest_client::{
	protocol::{next_state, Transition},
	server_api::Server,
	store::Store,
	transport::{ItemsAccepted, SignedBill, SignedState},
	verifier::{Config, Policy, Service},
};
use attest_primitives::{
	payment_hash, signing::Kind, AttestationRequest, Confirmation, Hash, LogHead, MerkleBuilder,
};
use attest_testkit::cut::Cut;
use axum::{body::Body, http::Request, Router};
use common::*;
use std::time::Duration;
use tower::ServiceExt;

fn req(method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
	Request::builder()
		.method(method)
		.uri(uri)
		.header("content-type", "application/json")
		.body(Body::from(body))
		.expect("request")
}

/// Call the router to the end; the status and body.
async fn call(router: &Router, method: &str, uri: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
	let r = router.clone().oneshot(req(method, uri, body)).await.expect("infallible");
	let status = r.status().as_u16();
	let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.expect("body");
	(status, body.to_vec())
}

async fn ok<T: serde::de::DeserializeOwned>(
	router: &Router,
	method: &str,
	uri: &str,
	body: Vec<u8>,
) -> T {
	let (status, body) = call(router, method, uri, body).await;
	assert_eq!(status, 200, "{method} {uri}: {}", String::from_utf8_lossy(&body));
	serde_json::from_slice(&body).expect("JSON")
}

/// Dave's side of the channel, talking to the in-process verifier's router.
struct Dave {
	router: Router,
	key: Key,
	genesis: Hash,
	base: String,
	id: Hash,
	log: MerkleBuilder,
	seed: u64,
}

impl Dave {
	/// `{base}{tail}`, signed as Dave's agent signs its calls.
	fn signed(&self, tail: &str) -> String {
		attest_client::verifier::Calls::new("", &self.key, self.genesis, self.id).to(tail)
	}

	/// One batch of two items whose attestation request is cut at `cut`, then sent again in
	/// full. Whether the cut came before the request completed.
	async fn batch(&mut self, cut: Cut) -> bool {
		let (router, base) = (&self.router, &self.base);
		let items = [bytes(self.seed, 300), bytes(self.seed + 1, 7)];
		self.seed += 2;
		let mut body = Vec::new();
		for i in &items {
			body.extend_from_slice(&(i.len() as u64).to_le_bytes());
			body.extend_from_slice(i);
		}
		let acc: ItemsAccepted = ok(router, "POST", &self.signed("/items"), body).await;
		let bill_body =
			serde_json::to_vec(&serde_json::json!({ "digests": acc.digests })).expect("JSON");
		let signed: SignedBill = ok(router, "POST", &self.signed("/bills"), bill_body).await;
		let latest: SignedState = ok(router, "GET", base, vec![]).await;
		let mut log = self.log.clone();
		acc.digests.iter().for_each(|d| log.push_digest(d));
		// Every HTLC of the newest state is resolved (its key came with its confirmation).
		let resolve: Vec<Hash> = latest.state.htlcs.iter().map(|h| h.payment_hash).collect();
		let head = LogHead { size: log.size(), root: log.root() };
		let state = next_state(
			&latest.state,
			&Transition {
				resolve: &resolve,
				bill: Some((&signed.bill, head)),
				finality: attest_primitives::Finality::Open,
			},
		)
		.expect("next state");
		let request = serde_json::to_vec(&AttestationRequest {
			requester_signature: self.key.sign(
				Kind::State,
				&self.genesis,
				&state.channel_id,
				&state,
			),
			state: state.clone(),
			digests: acc.digests.clone(),
		})
		.expect("JSON");
		let uri = self.signed("/requests");
		let call = router.clone().oneshot(req("POST", &uri, request.clone()));
		let answered = cut.apply(call).await;
		// Sent again (what the requester does when it resumes): answered, with the key.
		let c: Confirmation = ok(router, "POST", &uri, request).await;
		assert_eq!(c.nonce, state.nonce, "after a cut {cut:?}");
		assert_eq!(payment_hash(&c.bill_key), signed.bill.payment_hash, "after a cut {cut:?}");
		self.log = log;
		match answered {
			None => true,
			Some(r) => {
				assert_eq!(r.expect("infallible").status().as_u16(), 200, "uncut {cut:?}");
				false
			},
		}
	}
}

#[test]
fn a_request_cut_off_at_any_point_is_answered_again_and_the_channel_goes_on() {
	let sys = System::start(&[]);
	let id = sys.open("//Dave", "dave", "100");
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	rt.block_on(async {
		let chain = Chain::connect(&sys.node.ws_url()).await.expect("chain");
		// The verifier (//Bob, registered by the system) in this process, with a database of
		// its own: it meets Dave's channel first here.
		let service = Service::new(Config {
			key: Key::from_suri("//Bob").expect("key"),
			chain: chain.clone(),
			store: Store::open(&sys.dir.path().join("in-process-verifier.db")).await.expect("db"),
			server: Server::new(&sys.server_url),
			policy: Policy {
				max_item_bytes: 1 << 20,
				max_batch_items: 100,
				types: vec![],
				refuse_claimed: true,
				command: None,
			},
			bill_expiry_blocks: 1000,
		})
		.await
		.expect("service");
		let mut dave = Dave {
			router: service.router(),
			key: Key::from_suri("//Dave").expect("key"),
			genesis: chain.genesis(),
			base: format!("/v1/channels/{id}"),
			id: attest_primitives::parse_hash(&id).expect("channel id"),
			log: MerkleBuilder::new(),
			seed: 1,
		};
		let mut cuts = (0, 0);
		for n in 1.. {
			if !dave.batch(Cut::Polls(n)).await {
				break;
			}
			cuts.0 += 1;
		}
		for k in 0.. {
			if !dave.batch(Cut::After(Duration::from_micros(20 * k))).await {
				break;
			}
			cuts.1 += 1;
		}
		assert!(cuts.1 >= 5, "the request was cut at {} points in time only", cuts.1);
		// What the verifier holds is what both signed last.
		let latest: SignedState = ok(&dave.router, "GET", &dave.base, vec![]).await;
		assert_eq!(latest.state.log.size, dave.log.size());
		assert_eq!(latest.state.log.root, dave.log.root());
		eprintln!(
			"requests cut after {} poll counts and at {} times; each answered again",
			cuts.0, cuts.1
		);
	});
}
