//! The API against its own OpenAPI document, fuzzed by schemathesis over real HTTP (a dev
//! node and the server as processes): no request, valid or not, gets a 5xx; every answer's
//! status, content type and body match the document; requests that break the schema are
//! refused.
//!
//! Not checked: that every schema-valid request is accepted (`positive_data_acceptance`).
//! The server checks more than a JSON Schema can say (signatures, SS58 checksums, SCALE
//! bodies, channels and anchors on chain), so random schema-valid records are rightly
//! refused with 4xx.

mod common;

use common::{Node, Server};
use std::process::Command;

#[test]
fn api_matches_its_openapi_document() {
	let bin = attest_testkit::venv_tool("SCHEMATHESIS", "schemathesis");
	let node = Node::dev(&[]);
	let dir = tempfile::tempdir().expect("temp dir");
	let server = Server::start(&dir.path().join("data"), &node.ws_url(), &[]);
	let base = server.url();
	let out = Command::new(&bin)
		.arg("run")
		.arg(format!("{base}/v1/openapi.json"))
		.args(["--url", &base])
		.args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
		.args(["--max-examples", "100", "--seed", "1", "--workers", "2"])
		.current_dir(dir.path())
		.env("NO_COLOR", "1")
		.output()
		.expect("schemathesis runs");
	let report = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"schemathesis found failures:\n{report}\n{}\nserver log:\n{}",
		String::from_utf8_lossy(&out.stderr),
		server.log_tail(40)
	);
	// It did test every operation.
	assert!(report.contains("16 passed") || report.contains("Tested: 16"), "{report}");
}
