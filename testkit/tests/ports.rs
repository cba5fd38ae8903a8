//! The harness's ports: a test must talk to its own node, never to another process that took
//! the port it asked for (CI once failed that way: a server waited a minute for a node "at"
//! a port another test's process held, which accepted connections and never answered).

use attest_testkit::{free_port, node_bin, node_ports_in_log, Node};
use std::{
	io::{Read, Write},
	net::{TcpListener, TcpStream},
	time::Duration,
};

/// What a JSON-RPC `system_chain` call over HTTP to `port` answers (empty when nothing does
/// within 5 s).
fn system_chain(port: u16) -> String {
	let body = r#"{"jsonrpc":"2.0","id":1,"method":"system_chain","params":[]}"#;
	let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
	let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
	let request = format!(
		"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
		 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
		body.len()
	);
	let mut answer = String::new();
	if s.write_all(request.as_bytes()).is_ok() {
		let _ = s.read_to_string(&mut answer);
	}
	answer
}

#[test]
fn free_ports_are_never_handed_out_twice() {
	let mut seen = std::collections::BTreeSet::new();
	for _ in 0..500 {
		let port = free_port();
		assert!(seen.insert(port), "port {port} handed out twice");
	}
}

#[test]
fn the_ports_a_node_prints_are_read_from_its_log() {
	let log = "2026-12-05 16:27:13 〽️ Prometheus exporter started at 127.0.0.1:42415    \n\
	           2026-12-05 16:27:13 Running JSON-RPC server: addr=127.0.0.1:45943,[::1]:38163    \n";
	assert_eq!(node_ports_in_log(log), (Some(45943), Some(42415)));
	// A restart appends: the last line counts.
	let again =
		format!("{log}2026-12-05 16:28:00 Running JSON-RPC server: addr=127.0.0.1:40001,\n");
	assert_eq!(node_ports_in_log(&again), (Some(40001), Some(42415)));
	assert_eq!(node_ports_in_log("Running JSON-RPC server: addr=\n"), (None, None));
	assert_eq!(node_ports_in_log(""), (None, None));
}

#[test]
fn a_node_whose_port_was_taken_is_found_where_it_listens() {
	let mut node = Node::spawn(&node_bin(), &["--dev"]);
	node.wait_for_rpc(Duration::from_secs(120));
	let first = node.rpc_port;
	assert!(system_chain(first).contains("Development"), "the node answers on {first}");
	// While the node restarts, another process takes its port: it accepts connections and
	// never answers, as a libp2p listener does to a JSON-RPC client.
	node.kill();
	let _squatter = TcpListener::bind(("127.0.0.1", first)).expect("the port is free now");
	node.restart();
	assert_ne!(node.rpc_port, first, "the node cannot listen on a port another process holds");
	assert!(
		system_chain(node.rpc_port).contains("Development"),
		"the node answers where the harness says it is"
	);
}
