//! A node that lies to `attest verify` (issue 27): an RPC proxy between `attest` and a real
//! node rewrites what the node answers, as a dishonest node operator (or anyone on the path of
//! a plain `ws://` connection) would. The attestation server is honest. `verify` must refuse
//! the file, naming what differs, when the proxy forges the anchored root, or the anchor's
//! block, in the storage value it returns; and with `--chain-spec` it asks no node, so the
//! same proxy cannot touch the verdict.
//!
//! The proxy passes the WebSocket handshake through (without compression, so it can read the
//! frames), copies the client's frames to the node unchanged and rewrites the text of the
//! node's frames. Every case asserts that the proxy did rewrite something, so that a refusal is
//! the forgery's and not an accident.

mod common;

use attest_chain::Chain;
use codec::Encode;
use common::*;
use std::{
	net::SocketAddr,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::{TcpListener, TcpStream},
};

/// What the proxy replaces in the node's answers (lowercase hex, no `0x`), and how many
/// answers it changed.
struct Forgery {
	replace: Vec<(String, String)>,
	hits: AtomicUsize,
}

/// Read an HTTP head (up to the blank line) from `s`.
async fn read_head(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
	let mut head = Vec::new();
	let mut b = [0u8; 1];
	while !head.ends_with(b"\r\n\r\n") {
		if s.read(&mut b).await? == 0 {
			return Err(std::io::ErrorKind::UnexpectedEof.into());
		}
		head.push(b[0]);
	}
	Ok(head)
}

/// One client connection through the proxy.
async fn relay(
	mut client: TcpStream,
	node: SocketAddr,
	forgery: Arc<Forgery>,
) -> std::io::Result<()> {
	let head = String::from_utf8_lossy(&read_head(&mut client).await?).into_owned();
	// No permessage-deflate: the node's frames must be readable text.
	let head: String = head
		.split_inclusive("\r\n")
		.filter(|l| !l.to_ascii_lowercase().starts_with("sec-websocket-extensions"))
		.collect();
	let mut upstream = TcpStream::connect(node).await?;
	upstream.write_all(head.as_bytes()).await?;
	let answer = read_head(&mut upstream).await?;
	client.write_all(&answer).await?;
	let (mut cr, mut cw) = client.into_split();
	let (mut ur, mut uw) = upstream.into_split();
	tokio::spawn(async move {
		let _ = tokio::io::copy(&mut cr, &mut uw).await;
	});
	loop {
		// A server's frame: FIN/opcode, length (7, 16 or 64 bits), unmasked payload.
		let mut h = [0u8; 2];
		ur.read_exact(&mut h).await?;
		let len = match h[1] & 0x7f {
			126 => ur.read_u16().await? as u64,
			127 => ur.read_u64().await?,
			n => n as u64,
		};
		let mask = if h[1] & 0x80 != 0 {
			let mut m = [0u8; 4];
			ur.read_exact(&mut m).await?;
			Some(m)
		} else {
			None
		};
		let mut payload = vec![0u8; len as usize];
		ur.read_exact(&mut payload).await?;
		if let Some(m) = mask {
			payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= m[i % 4]);
		}
		// A whole text frame: the forgery.
		if h[0] == 0x81 {
			if let Ok(text) = String::from_utf8(payload.clone()) {
				let mut forged = text.clone();
				for (from, to) in &forgery.replace {
					forged = forged.replace(from.as_str(), to);
				}
				if forged != text {
					forgery.hits.fetch_add(1, Ordering::SeqCst);
					payload = forged.into_bytes();
				}
			}
		}
		let mut out = vec![h[0]];
		match payload.len() {
			n if n < 126 => out.push(n as u8),
			n if n <= u16::MAX as usize => {
				out.push(126);
				out.extend_from_slice(&(n as u16).to_be_bytes());
			},
			n => {
				out.push(127);
				out.extend_from_slice(&(n as u64).to_be_bytes());
			},
		}
		out.extend_from_slice(&payload);
		cw.write_all(&out).await?;
	}
}

/// A proxy to `node` on a free loopback port; its `ws://` URL.
fn start_proxy(rt: &tokio::runtime::Runtime, node: SocketAddr, forgery: Arc<Forgery>) -> String {
	let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("proxy port");
	let url = format!("ws://{}", listener.local_addr().expect("addr"));
	rt.spawn(async move {
		while let Ok((c, _)) = listener.accept().await {
			tokio::spawn(relay(c, node, forgery.clone()));
		}
	});
	url
}

#[test]
fn a_node_that_forges_the_anchor_is_refused_by_verify() {
	let started = std::time::Instant::now();
	// Aura + GRANDPA (6 s blocks), so that the chain-spec check has finality to check.
	let mut node = attest_testkit::Node::spawn(&attest_testkit::node_bin(), &["--dev"]);
	node.wait_for_rpc(std::time::Duration::from_secs(120));
	let sys = System::start_on(node, &[]);
	let rt = tokio::runtime::Runtime::new().expect("runtime");
	let chain = rt.block_on(Chain::connect(&sys.node.ws_url())).expect("chain");
	let channel = sys.open("//Alice", "alice", "10");
	let file = sys.dir.path().join("deed.pdf");
	std::fs::write(&file, bytes(27, 30_000)).unwrap();
	let file = file.to_str().unwrap().to_string();
	sys.attest_ok("//Alice", "alice", &["submit", "--channel", &channel, &file]);
	sys.attest_ok("//Alice", "alice", &["channel", "checkpoint", &channel]);
	// Through the real node: attested.
	sys.attest_ok("//Alice", "alice", &["verify", &file]);
	let id = attest_primitives::Hash(
		hex::decode(channel.trim_start_matches("0x")).unwrap().try_into().unwrap(),
	);
	let (anchor, _) = rt
		.block_on(chain.finalized_anchor(&id, 0))
		.expect("node")
		.expect("anchor 0 final");
	// The storage value as the node returns it (the pallet's AnchorInfo).
	let value = hex::encode((anchor.first_seq, anchor.log, anchor.block).encode());
	let root = hex::encode(anchor.log.root.0);
	let mut other_root = anchor.log.root.0;
	other_root[0] ^= 0x55;
	let moved = hex::encode((anchor.first_seq, anchor.log, anchor.block + 1).encode());
	let node: SocketAddr = format!("127.0.0.1:{}", sys.node.rpc_port).parse().unwrap();

	let cases = [
		("root", vec![(root.clone(), hex::encode(other_root))], "another root"),
		("block", vec![(value.clone(), moved)], "another block"),
	];
	for (what, replace, expect) in cases {
		let forgery = Arc::new(Forgery { replace, hits: 0.into() });
		let proxy = start_proxy(&rt, node, forgery.clone());
		let out = std::process::Command::new(attest_bin())
			.args(["--node", &proxy, "--server", &sys.server_url, "verify", "--wait", "5", &file])
			.output()
			.expect("attest runs");
		let text = String::from_utf8_lossy(&out.stdout).into_owned()
			+ &String::from_utf8_lossy(&out.stderr);
		assert!(forgery.hits.load(Ordering::SeqCst) > 0, "the proxy forged no answer ({what})");
		assert_eq!(out.status.code(), Some(1), "a forged {what} is refused: {text}");
		assert!(text.contains("NOT ATTESTED") && text.contains(expect), "{what}: {text}");
		eprintln!("forged {what}: refused: {}", text.trim());
	}

	// With the chain spec, the node is never asked: the same forging proxy changes nothing.
	let spec = sys.dir.path().join("dev.json");
	let out = std::process::Command::new(attest_testkit::node_bin())
		.args(["export-chain-spec", "--chain", "dev", "--raw", "--output"])
		.arg(&spec)
		.output()
		.expect("attest-node runs");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	let forgery =
		Arc::new(Forgery { replace: vec![(root, hex::encode(other_root))], hits: 0.into() });
	let proxy = start_proxy(&rt, node, forgery.clone());
	let out = std::process::Command::new(attest_bin())
		.args(["--node", &proxy, "--server", &sys.server_url, "verify", "--chain-spec"])
		.arg(&spec)
		.arg(&file)
		.output()
		.expect("attest runs");
	let text =
		String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
	assert_eq!(forgery.hits.load(Ordering::SeqCst), 0, "verify --chain-spec asked the node");
	assert_eq!(out.status.code(), Some(0), "verify --chain-spec: {text}");
	assert!(text.starts_with("ATTESTED"), "{text}");
	eprintln!("verify --chain-spec beside a forging node: {}", text.lines().next().unwrap_or(""));
	eprintln!("forging node: {} s", started.elapsed().as_secs());
}
