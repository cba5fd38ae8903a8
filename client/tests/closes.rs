//! Closing with the real agents as processes, in every order of a unilateral close and a
//! cooperative one (issue 25): nobody who follows the agents' rule pays the stale-close
//! penalty, and a requester trying to make the verifier agent sign something that would cost it
//! the penalty is refused, naming why (`docs/protocol.md`, "Closing, and what may be signed
//! after a close").

mod common;

use attest_chain::Chain;
use attest_client::transport::{SignedState, StateUpdate};
use attest_primitives::{signing::Kind, ChannelState, Finality, Hash, Party};
use common::*;

const DEPOSIT_ATT: &str = "10";
const DEPOSIT: u128 = 10_000_000_000_000;
/// Long enough for the second party to answer on a dev node sealing every 250 ms (50 s).
const PERIOD: u32 = 200;

fn parse_hash(s: &str) -> Hash {
	let b = hex::decode(s.trim_start_matches("0x")).expect("hex");
	Hash(b.try_into().expect("32 bytes"))
}

/// Attest `n` files as `who` in channel `id`.
fn attest_files(sys: &System, who: &str, db: &str, id: &str, seed: u64, n: u64) {
	let dir = sys.dir.path().join(format!("{db}-files"));
	std::fs::create_dir_all(&dir).expect("dir");
	for i in 0..n {
		std::fs::write(dir.join(format!("f{i}.bin")), bytes(seed + i, 300 + i as usize))
			.expect("write");
	}
	sys.attest_ok(who, db, &["submit", "--channel", id, dir.to_str().expect("utf-8")]);
}

/// `attest --json channel close` as the requester: the `ChannelClosed` figures.
fn close_cooperatively(sys: &System, who: &str, db: &str, id: &str) -> (u128, u128, u128) {
	let out = sys.attest_ok(who, db, &["--json", "channel", "close", id]);
	let v: serde_json::Value = serde_json::from_str(out.trim()).expect("close JSON");
	let n = |f: &str| v[f].as_str().expect(f).parse::<u128>().expect("amount");
	(n("requesterPaid"), n("verifierPaid"), n("staleClosePenalty"))
}

/// The verifier closes alone with its newest state, then the requester runs `attest channel
/// close`: both agree a final state naming the verifier's close; it settles at once, paying
/// what that state says, with no penalty. Before issue 25 the verifier paid 10%.
#[test]
fn verifier_closes_alone_then_the_requester_closes() {
	let sys = System::start(&[]);
	let id = sys.open_with_period("//Alice", "alice", DEPOSIT_ATT, PERIOD);
	attest_files(&sys, "//Alice", "alice", &id, 100, 5);
	let out = sys.attest_ok("//Bob", "verifier", &["channel", "close", "--unilateral", &id]);
	assert!(out.contains("started closing"), "{out}");
	// The verifier's own close again is a retry, not a second close.
	sys.attest_ok("//Bob", "verifier", &["channel", "close", "--unilateral", &id]);
	let (r, v, penalty) = close_cooperatively(&sys, "//Alice", "alice", &id);
	assert_eq!((r, v, penalty), (DEPOSIT - 5 * PRICE, 5 * PRICE, 0));
}

/// The mirrored order: the requester closes alone, then cooperates. After its own close its
/// agent refuses to attest more (it would sign a state newer than its close).
#[test]
fn requester_closes_alone_then_closes_cooperatively() {
	let sys = System::start(&[]);
	let id = sys.open_with_period("//Alice", "alice", DEPOSIT_ATT, PERIOD);
	attest_files(&sys, "//Alice", "alice", &id, 200, 3);
	sys.attest_ok("//Alice", "alice", &["channel", "close", "--unilateral", &id]);
	let dir = sys.dir.path().join("more");
	std::fs::create_dir_all(&dir).expect("dir");
	std::fs::write(dir.join("late.bin"), bytes(999, 500)).expect("write");
	let out = sys.attest("//Alice", "alice", &["submit", "--channel", &id, dir.to_str().unwrap()]);
	let err = String::from_utf8_lossy(&out.stderr);
	assert!(
		!out.status.success() && err.contains("closed channel") && err.contains("alone with state"),
		"submit after the requester's own close: {err}"
	);
	let (r, v, penalty) = close_cooperatively(&sys, "//Alice", "alice", &id);
	assert_eq!((r, v, penalty), (DEPOSIT - 3 * PRICE, 3 * PRICE, 0));
}

/// After the verifier's close, a requester talking to the verifier service directly tries to
/// get a signature that would prove the close stale: a state without items, a plain final
/// state, final states naming another close, a new attestation. Each is refused with the
/// reason; the channel then closes with no penalty and the verifier paid in full.
#[test]
fn a_requester_cannot_make_the_verifier_agent_pay_a_penalty() {
	let sys = System::start(&[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let genesis = chain.genesis();
	let dave = attest_chain::Key::from_suri("//Dave").expect("key");
	let id_text = sys.open_with_period("//Dave", "dave", DEPOSIT_ATT, PERIOD);
	let id = parse_hash(&id_text);
	attest_files(&sys, "//Dave", "dave", &id_text, 300, 4);
	sys.attest_ok("//Bob", "verifier", &["channel", "close", "--unilateral", &id_text]);
	let calls = calls_of(&sys, &dave, genesis, id);
	let url = calls.url.clone();
	let http = reqwest::blocking::Client::new();
	let latest: SignedState = http.get(&url).send().expect("state").json().expect("JSON");
	let n = latest.state.nonce;
	let update = |state: &ChannelState| {
		let body = StateUpdate {
			state: state.clone(),
			requester_signature: dave.sign(Kind::State, &genesis, &id, state),
		};
		let r = http.post(calls.to("/states")).json(&body).send().expect("state");
		(r.status().as_u16(), r.text().unwrap_or_default())
	};
	let next = |finality: Finality| ChannelState { nonce: n + 1, finality, ..latest.state.clone() };
	// A state without items (it would be newer than the close and carry the verifier's
	// signature): 409, the verifier closed.
	let (status, body) = update(&next(Finality::Open));
	assert!(
		status == 409 && body.contains("closed channel") && body.contains("endsClose"),
		"{body}"
	);
	// A plain final state: it would prove the close stale too.
	let (status, body) = update(&next(Finality::Final));
	assert!(status == 422 && body.contains("must name that close"), "{body}");
	// Final states naming a close that is not the pending one.
	for (closer, nonce) in
		[(Party::Verifier, n - 1), (Party::Requester, n), (Party::Verifier, n + 1)]
	{
		let (status, body) = update(&next(Finality::EndsClose { closer, closed_nonce: nonce }));
		assert!(
			status == 422 && body.contains("but the chain shows"),
			"{closer:?} {nonce}: {body}"
		);
	}
	// A new attestation request.
	let mut items = Vec::new();
	let data = bytes(77, 100);
	items.extend_from_slice(&(data.len() as u64).to_le_bytes());
	items.extend_from_slice(&data);
	let r = http.post(calls.to("/items")).body(items).send().expect("items");
	assert!(r.status().is_success(), "items are still received");
	// Nothing newer than the close carries the verifier's signature: the newest state it
	// holds is the one it closed with.
	let held: SignedState = http.get(&url).send().expect("state").json().expect("JSON");
	assert_eq!(held.state, latest.state);
	// The honest close names the verifier's close: no penalty, the verifier paid in full.
	let (r, v, penalty) = close_cooperatively(&sys, "//Dave", "dave", &id_text);
	assert_eq!((r, v, penalty), (DEPOSIT - 4 * PRICE, 4 * PRICE, 0));
}
