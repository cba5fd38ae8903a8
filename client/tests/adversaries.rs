//! What a dishonest requester (or a stranger) tries against the verifier service and the
//! chain, with real processes: each attempt is refused with an error that names what was wrong,
//! or meets the documented outcome.

mod common;

use attest_chain::{runtime, Chain, Key, Static};
use attest_client::{
	protocol::{next_state, Transition},
	store::{BillStage, Store},
	transport::{ItemsAccepted, SignedBill, SignedState},
};
use attest_primitives::{
	signing::Kind, AttestationRequest, Bill, BillKey, ChannelState, Hash, LogHead, MerkleBuilder,
};
use common::*;

fn parse_hash(s: &str) -> Hash {
	let b = hex::decode(s.trim_start_matches("0x")).expect("hex");
	Hash(b.try_into().expect("32 bytes"))
}

/// Send `items` to the verifier and get a bill, as a requester would.
fn bill_for(
	http: &reqwest::blocking::Client,
	calls: &Calls,
	items: &[Vec<u8>],
) -> (Vec<Hash>, SignedBill) {
	let mut body = Vec::new();
	for i in items {
		body.extend_from_slice(&(i.len() as u64).to_le_bytes());
		body.extend_from_slice(i);
	}
	let r = http.post(calls.to("/items")).body(body).send().expect("items");
	assert!(r.status().is_success(), "items: {}", r.text().unwrap_or_default());
	let acc: ItemsAccepted = r.json().expect("digests");
	let r = http
		.post(calls.to("/bills"))
		.json(&serde_json::json!({ "digests": acc.digests }))
		.send()
		.expect("bill");
	assert!(r.status().is_success(), "bill: {}", r.text().unwrap_or_default());
	(acc.digests, r.json().expect("bill JSON"))
}

fn request(
	http: &reqwest::blocking::Client,
	calls: &Calls,
	req: &AttestationRequest,
) -> (u16, String) {
	let r = http.post(calls.to("/requests")).json(req).send().expect("request");
	(r.status().as_u16(), r.text().unwrap_or_default())
}

/// A system with Dave's channel (10 ATT) to the verifier //Bob, and Dave's signed calls.
struct DaveChannel {
	sys: System,
	rt: tokio::runtime::Runtime,
	chain: Chain,
	genesis: Hash,
	dave: Key,
	id: Hash,
	calls: Calls,
}

fn dave_channel() -> DaveChannel {
	let sys = System::start(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let genesis = chain.genesis();
	let dave = Key::from_suri("//Dave").expect("key");
	let id = parse_hash(&sys.open("//Dave", "dave", "10"));
	let calls = calls_of(&sys, &dave, genesis, id);
	DaveChannel { sys, rt, chain, genesis, dave, id, calls }
}

#[test]
fn dishonest_requesters_are_refused() {
	let sys = System::start(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let genesis = chain.genesis();

	// A digest attested by another requester is refused by the verifier's policy.
	sys.open("//Alice", "alice", "10");
	let dir = sys.dir.path().join("alice");
	std::fs::create_dir_all(&dir).expect("dir");
	std::fs::write(dir.join("photo.bin"), bytes(1, 5000)).expect("write");
	sys.attest_ok("//Alice", "alice", &["submit", dir.to_str().expect("utf-8")]);
	sys.open("//Charlie", "charlie", "10");
	let out = sys.attest(
		"//Charlie",
		"charlie",
		&["submit", dir.join("photo.bin").to_str().expect("utf-8")],
	);
	let err = String::from_utf8_lossy(&out.stderr);
	assert!(!out.status.success() && err.contains("attested by another requester"), "{err}");

	// Dave talks to the verifier directly.
	let dave = Key::from_suri("//Dave").expect("key");
	let id = parse_hash(&sys.open("//Dave", "dave", "10"));
	let calls = calls_of(&sys, &dave, genesis, id);
	let url = calls.url.clone();
	let http = reqwest::blocking::Client::new();
	let latest: SignedState = http.get(&url).send().expect("state").json().expect("JSON");
	let (digests, signed) = bill_for(&http, &calls, &[bytes(10, 100), bytes(11, 200)]);
	// A bill for data never sent here: a digest nobody sent, and Alice's photo (received in
	// her channel, not in Dave's): refused, naming how many.
	let alice_photo = attest_primitives::sha256(&bytes(1, 5000));
	for asked in [vec![digests[0], Hash([0xee; 32])], vec![alice_photo, digests[1]]] {
		let r = http
			.post(calls.to("/bills"))
			.json(&serde_json::json!({ "digests": asked }))
			.send()
			.expect("bill");
		let (status, body) = (r.status().as_u16(), r.text().unwrap_or_default());
		assert!(status == 422 && body.contains("1 of the digests were not sent"), "{body}");
	}
	let log = LogHead::of_digests(&digests);
	let honest = next_state(
		&latest.state,
		&Transition { bill: Some((&signed.bill, log)), ..Default::default() },
	)
	.expect("state");
	let req = |state: &ChannelState, key: &Key| AttestationRequest {
		state: state.clone(),
		digests: digests.clone(),
		requester_signature: key.sign(Kind::State, &genesis, &id, state),
	};

	// An altered balance, an altered log, a wrong nonce: refused, naming the field.
	for (what, alter) in [
		(
			"requester balance",
			Box::new(|s: &mut ChannelState| s.requester_balance += 1)
				as Box<dyn Fn(&mut ChannelState)>,
		),
		("log", Box::new(|s: &mut ChannelState| s.log.root = Hash([9; 32]))),
		("HTLCs", Box::new(|s: &mut ChannelState| s.htlcs[0].amount -= 1)),
	] {
		let mut bad = honest.clone();
		alter(&mut bad);
		let (status, body) = request(&http, &calls, &req(&bad, &dave));
		assert_eq!(status, 422, "{what}: {body}");
		assert!(body.contains(what), "{what}: {body}");
	}
	// Signed by someone else.
	let eve = Key::from_suri("//Eve").expect("key");
	let (status, body) = request(&http, &calls, &req(&honest, &eve));
	assert!(status == 422 && body.contains("bad signature"), "{body}");
	// A bill the verifier never issued.
	let invented =
		Bill { payment_hash: attest_primitives::payment_hash(&BillKey([3; 32])), ..signed.bill };
	let forged = next_state(
		&latest.state,
		&Transition { bill: Some((&invented, log)), ..Default::default() },
	)
	.expect("state");
	let (status, body) = request(&http, &calls, &req(&forged, &dave));
	assert!(status == 422 && body.contains("no bill with payment hash"), "{body}");

	// The honest request is confirmed; sent again it gets the same answer (a retry); a
	// different state with the same nonce is refused.
	let (status, body) = request(&http, &calls, &req(&honest, &dave));
	assert_eq!(status, 200, "{body}");
	let conf: attest_primitives::Confirmation = serde_json::from_str(&body).expect("confirmation");
	assert_eq!(attest_primitives::payment_hash(&conf.bill_key), signed.bill.payment_hash);
	let (status, _) = request(&http, &calls, &req(&honest, &dave));
	assert_eq!(status, 200, "a retried request is answered again");
	let mut other = honest.clone();
	other.requester_balance -= 1;
	other.verifier_balance += 1;
	let (status, body) = request(&http, &calls, &req(&other, &dave));
	assert!(status == 409 && body.contains("stale"), "{body}");
	// The used bill cannot pay for a second batch.
	let s1: SignedState = http.get(&url).send().expect("state").json().expect("JSON");
	let mut log2 = MerkleBuilder::new();
	for d in digests.iter().chain(digests.iter()) {
		log2.push_digest(d);
	}
	let replayed =
		Bill { items: attest_primitives::ItemRange::of_digests(2, &digests), ..signed.bill };
	let again = next_state(
		&s1.state,
		&Transition {
			resolve: &[signed.bill.payment_hash],
			bill: Some((&replayed, LogHead { size: 4, root: log2.root() })),
			..Default::default()
		},
	);
	if let Ok(again) = again {
		let (status, body) = request(&http, &calls, &req(&again, &dave));
		assert_eq!(status, 422, "{body}");
	}

	// Dave resolves the HTLC (state 2, both sign); sending state 2 again is a retry, an
	// altered state 2 is refused.
	let s2 = next_state(
		&s1.state,
		&Transition { resolve: &[signed.bill.payment_hash], ..Default::default() },
	)
	.expect("state 2");
	let update = |state: &ChannelState| {
		let body = attest_client::transport::StateUpdate {
			state: state.clone(),
			requester_signature: dave.sign(Kind::State, &genesis, &id, state),
		};
		let r = http.post(calls.to("/states")).json(&body).send().expect("state");
		(r.status().as_u16(), r.text().unwrap_or_default())
	};
	assert_eq!(update(&s2).0, 200);
	assert_eq!(update(&s2).0, 200, "a retry");
	let mut taken = s2.clone();
	taken.verifier_balance -= 1;
	taken.requester_balance += 1;
	let (status, body) = update(&taken);
	assert!(status == 409, "{body}");
	let newest: SignedState = http.get(&url).send().expect("state").json().expect("JSON");
	assert_eq!(newest.state.nonce, 2);

	// A stale close: Dave closes with the opening state (nonce 0). The verifier's watchtower
	// challenges with its newest state (which proves the close stale, docs/pallet.md) and
	// settles after the challenge period.
	let nothing: Option<(Static<ChannelState>, Static<sp_runtime::MultiSignature>, _)> = None;
	rt.block_on(
		chain.submit(&dave, &runtime::transactions().attestation().close_unilateral(id, nothing)),
	)
	.expect("close with the opening state");
	let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
	loop {
		let c = rt.block_on(chain.channel(&id)).expect("channel");
		match c {
			Some(c) if c.state.0.nonce == newest.state.nonce => break,
			None => panic!("settled before the watchtower challenged"),
			_ => {},
		}
		assert!(std::time::Instant::now() < deadline, "the watchtower did not challenge");
		std::thread::sleep(std::time::Duration::from_millis(250));
	}
	loop {
		if rt.block_on(chain.channel(&id)).expect("channel").is_none() {
			break;
		}
		assert!(std::time::Instant::now() < deadline, "the watchtower did not settle");
		std::thread::sleep(std::time::Duration::from_millis(250));
	}
}

/// The requester learns the bill key (the confirmation) but never signs the state that pays
/// the verifier, and closes with the state holding the HTLC. The verifier's watchtower lets the
/// close settle and claims the HTLC on chain with the key before it expires.
#[test]
fn a_requester_that_keeps_the_key_still_pays() {
	let DaveChannel { sys: _sys, rt, chain, genesis, dave, id, calls } = dave_channel();
	let url = calls.url.clone();
	let http = reqwest::blocking::Client::new();
	let latest: SignedState = http.get(&url).send().expect("state").json().expect("JSON");
	let (digests, signed) =
		bill_for(&http, &calls, &[bytes(20, 100), bytes(21, 200), bytes(22, 300)]);
	let state = next_state(
		&latest.state,
		&Transition {
			bill: Some((&signed.bill, LogHead::of_digests(&digests))),
			..Default::default()
		},
	)
	.expect("state");
	let sig = dave.sign(Kind::State, &genesis, &id, &state);
	let req = AttestationRequest { state: state.clone(), digests, requester_signature: sig };
	let (status, body) = request(&http, &calls, &req);
	assert_eq!(status, 200, "{body}");
	let conf: attest_primitives::Confirmation = serde_json::from_str(&body).expect("confirmation");
	// Dave closes with state 1 (the verifier's signature on it) and never resolves the HTLC.
	let close = runtime::transactions().attestation().close_unilateral(
		id,
		Some((
			Static(state.clone()),
			Static(conf.verifier_signature.clone()),
			runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(vec![]),
		)),
	);
	rt.block_on(chain.submit(&dave, &close)).expect("close");
	let ph = signed.bill.payment_hash;
	let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
	// Settled (by the watchtower), then the HTLC is claimable until the verifier claims it.
	loop {
		let open = rt.block_on(chain.channel(&id)).expect("channel").is_some();
		let claimable = rt.block_on(chain.claimable_htlc(&id, &ph)).expect("htlc").is_some();
		if !open && !claimable {
			break;
		}
		assert!(
			std::time::Instant::now() < deadline,
			"not settled and claimed (open {open}, claimable {claimable})"
		);
		std::thread::sleep(std::time::Duration::from_millis(250));
	}
	// Claimed, not refunded: the expiry is far (600 blocks) and the verifier's bill status says so.
	let now = rt.block_on(chain.best_number()).expect("best");
	assert!(now < signed.bill.expiry, "resolved before expiry");
}

/// The verifier withholds the bill key (it closes with the state holding the HTLC and never
/// reveals or claims): after the challenge period the requester's watchtower settles, and after
/// the HTLC's expiry it refunds the amount to the requester.
#[test]
fn a_withheld_key_is_refunded_after_expiry() {
	let sys = System::start(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let genesis = chain.genesis();
	let (dave, bob) =
		(Key::from_suri("//Dave").expect("key"), Key::from_suri("//Bob").expect("key"));
	let id = parse_hash(&sys.open("//Dave", "dave", "10"));
	// State 1, signed by both, adds an HTLC whose key only the verifier knows.
	let store = rt.block_on(Store::open(&sys.dir.path().join("dave.db"))).expect("db");
	let row = rt.block_on(store.channel(&id)).expect("row");
	let digests = [attest_primitives::sha256(b"withheld")];
	let now = rt.block_on(chain.best_number()).expect("best");
	let bill = Bill {
		items: attest_primitives::ItemRange::of_digests(0, &digests),
		amount: PRICE,
		payment_hash: attest_primitives::payment_hash(&BillKey([42; 32])),
		expiry: now + 40,
	};
	let s1 = next_state(
		&row.state,
		&Transition { bill: Some((&bill, LogHead::of_digests(&digests))), ..Default::default() },
	)
	.expect("state 1");
	let (rs, vs) =
		(dave.sign(Kind::State, &genesis, &id, &s1), bob.sign(Kind::State, &genesis, &id, &s1));
	rt.block_on(async {
		store.will_sign(&s1).await.expect("will sign");
		store
			.put_bill(&id, &bill, None, None, &digests, BillStage::Pending)
			.await
			.expect("bill");
		store.set_latest(&s1, &rs, &vs, &digests, None).await.expect("latest");
	});
	// The verifier closes with state 1 and withholds the key.
	let close = runtime::transactions().attestation().close_unilateral(
		id,
		Some((
			Static(s1.clone()),
			Static(rs),
			runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(vec![]),
		)),
	);
	rt.block_on(chain.submit(&bob, &close)).expect("close");
	let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
	let mut refunded = false;
	while std::time::Instant::now() < deadline {
		let out = sys.attest("//Dave", "dave", &["--json", "watch", "--once"]);
		let text = String::from_utf8_lossy(&out.stdout).to_string();
		if text.contains(&format!("{:?}", bill.payment_hash)) && text.contains("\"refunded\":[\"0x")
		{
			refunded = true;
			break;
		}
		std::thread::sleep(std::time::Duration::from_millis(500));
	}
	assert!(refunded, "the requester's watchtower refunded the HTLC after its expiry");
	assert!(rt.block_on(chain.best_number()).expect("best") > bill.expiry);
	assert!(rt
		.block_on(chain.claimable_htlc(&id, &bill.payment_hash))
		.expect("htlc")
		.is_none());
}

/// The verifier closes on an older state while the requester holds a newer one, and the
/// requester only runs `attest submit` (no `attest watch`): the watchtower inside `submit`
/// challenges the close with the newer state. Here the submission fails (the channel is
/// closing) and `submit` watches once more before it exits.
#[test]
fn a_submitting_requester_challenges_a_stale_close() {
	let sys = System::start(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let genesis = chain.genesis();
	let (dave, bob) =
		(Key::from_suri("//Dave").expect("key"), Key::from_suri("//Bob").expect("key"));
	let id = parse_hash(&sys.open("//Dave", "dave", "10"));
	// State 1, signed by both, held by the requester.
	let store = rt.block_on(Store::open(&sys.dir.path().join("dave.db"))).expect("db");
	let row = rt.block_on(store.channel(&id)).expect("row");
	let digests = [attest_primitives::sha256(b"newer")];
	let now = rt.block_on(chain.best_number()).expect("best");
	let bill = Bill {
		items: attest_primitives::ItemRange::of_digests(0, &digests),
		amount: PRICE,
		payment_hash: attest_primitives::payment_hash(&BillKey([43; 32])),
		expiry: now + 200,
	};
	let s1 = next_state(
		&row.state,
		&Transition { bill: Some((&bill, LogHead::of_digests(&digests))), ..Default::default() },
	)
	.expect("state 1");
	let (rs, vs) =
		(dave.sign(Kind::State, &genesis, &id, &s1), bob.sign(Kind::State, &genesis, &id, &s1));
	rt.block_on(async {
		store.will_sign(&s1).await.expect("will sign");
		store
			.put_bill(&id, &bill, None, None, &digests, BillStage::Pending)
			.await
			.expect("bill");
		store.set_latest(&s1, &rs, &vs, &digests, None).await.expect("latest");
	});
	drop(store);
	// The verifier closes with the opening state.
	let nothing: Option<(Static<ChannelState>, Static<sp_runtime::MultiSignature>, _)> = None;
	rt.block_on(
		chain.submit(&bob, &runtime::transactions().attestation().close_unilateral(id, nothing)),
	)
	.expect("close with the opening state");
	let file = sys.dir.path().join("more.bin");
	std::fs::write(&file, b"one more item").expect("file");
	let out = sys.attest(
		"//Dave",
		"dave",
		&[
			"submit",
			file.to_str().expect("utf-8"),
			"--channel",
			&format!("{id:?}"),
			"--watch-every",
			"1",
		],
	);
	let c = rt.block_on(chain.channel(&id)).expect("channel").expect("still closing");
	assert_eq!(
		c.state.0.nonce,
		1,
		"the close was not challenged with the newer state; submit said:\n{}\n{}",
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	);
}

/// A stranger calling the verifier service about someone's channel: refused before the body
/// is read (a call must be signed by the channel's requester, `attest/verifier-call/v1`); a
/// signature by another key, an expired one and one valid too long are refused, naming why;
/// an address that keeps failing is answered 429 for channels the verifier does not know
/// (which would cost it a chain lookup each), while the requester's own calls about its known
/// channel go on.
#[test]
fn strangers_are_refused_before_the_verifier_reads_their_bodies() {
	use std::io::{Read, Write};
	let DaveChannel { sys, genesis, dave, id, calls, .. } = dave_channel();
	let http = reqwest::blocking::Client::new();
	let frame = |data: &[u8]| [&(data.len() as u64).to_le_bytes()[..], data].concat();
	let post = |url: String| {
		let r = http.post(url).body(frame(b"a stranger's bytes")).send().expect("verifier");
		(r.status().as_u16(), r.text().unwrap_or_default())
	};
	// The requester's own call.
	let (status, body) = post(calls.to("/items"));
	assert_eq!(status, 200, "{body}");
	// No signature.
	let (status, body) = post(format!("{}/items", calls.url));
	assert!(status == 401 && body.contains("must be signed by its requester"), "{body}");
	// Signed by Eve, not the channel's requester.
	let eve = Key::from_suri("//Eve").expect("key");
	let (status, body) = post(calls_of(&sys, &eve, genesis, id).to("/items"));
	assert!(status == 401 && body.contains("not signed by the channel's requester"), "{body}");
	// Dave's own signature, made for his channel, on Charlie's channel with the same verifier.
	let charlie = parse_hash(&sys.open("//Charlie", "charlie", "10"));
	let signed_for_dave = calls.to("/items");
	let query = signed_for_dave.split_once('?').expect("query").1;
	let (status, body) =
		post(format!("{}/v1/channels/{charlie:?}/items?{query}", sys.verifier_url));
	assert!(status == 401 && body.contains("not signed by the channel's requester"), "{body}");
	// Expired, and valid for too long.
	let now = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.expect("time")
		.as_millis() as u64;
	let signed_until = |expires: u64| {
		let sig = dave.sign(Kind::VerifierCall, &genesis, &id, &expires);
		format!(
			"{}/items?expires={expires}&signature={}",
			calls.url,
			attest_wire::hex0x(&codec::Encode::encode(&sig))
		)
	};
	let (status, body) = post(signed_until(now - 1_000));
	assert!(status == 401 && body.contains("expired"), "{body}");
	let (status, body) = post(signed_until(now + 3_600_000));
	assert!(status == 400 && body.contains("ahead"), "{body}");
	// Refused before the body is read: a stranger announces a gigabyte and sends 16 bytes;
	// the answer comes at once (the verifier never waits for the rest).
	let port: u16 = sys.verifier_url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
	let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
	tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
	write!(
		tcp,
		"POST /v1/channels/{id:?}/items HTTP/1.1\r\nHost: verifier\r\nContent-Type: \
		 application/octet-stream\r\nContent-Length: 1000000000\r\n\r\n0123456789abcdef"
	)
	.expect("send");
	let t = std::time::Instant::now();
	let mut answer = [0u8; 12];
	tcp.read_exact(&mut answer).expect("an answer before the body");
	assert_eq!(&answer, b"HTTP/1.1 401", "{}", String::from_utf8_lossy(&answer));
	eprintln!("a gigabyte announced, unsigned: 401 after {:?}", t.elapsed());
	// An address that keeps failing: channels the verifier does not know are refused at once.
	for i in 0..attest_client::verifier::MAX_REFUSED_PER_MINUTE {
		let stranger = format!("{}/v1/channels/{:?}/items", sys.verifier_url, Hash([i as u8; 32]));
		assert_eq!(post(stranger).0, 401);
	}
	let unknown = Hash([0xab; 32]);
	let (status, body) = post(calls_of(&sys, &eve, genesis, unknown).to("/items"));
	assert!(status == 429 && body.contains("too_many_refused"), "{body}");
	// The requester's calls about its channel, which the verifier knows, go on.
	let (status, body) = post(calls.to("/items"));
	assert_eq!(status, 200, "{body}");
}
