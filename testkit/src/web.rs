//! The verify page in headless Chromium, as a reader uses it: `server/tests/web/verify-page.mjs`
//! (playwright-core and Debian's chromium; `./x test` runs `npm ci` in that folder) opens the
//! page, hands it a file, waits for the verdict and checks the screenshot.

use std::{path::Path, process::Command};

/// The page at `url` given `file` (`-` for none: the URL names the digest); the screenshot goes
/// to `shot`. `expect` is the verdict state the script requires (`verified`, `failed`,
/// `unknown`, `unconfirmed`); `tamper` makes the script play a lying server (`proof`: a flipped
/// path bit; `root`: a root and proof invented to agree; empty: none). The script's JSON line
/// `{state, text, claims, greenPixels, ...}`; panics when the script fails.
pub fn verify_page(
	url: &str,
	file: &Path,
	shot: &Path,
	expect: &str,
	tamper: &str,
) -> serde_json::Value {
	page(url, file, shot, expect, tamper, None)
}

/// [`verify_page`] with the reader giving the page the raw chain spec `spec` to trust.
pub fn verify_page_with_spec(
	url: &str,
	file: &Path,
	shot: &Path,
	expect: &str,
	spec: &Path,
) -> serde_json::Value {
	page(url, file, shot, expect, "", Some(spec))
}

fn page(
	url: &str,
	file: &Path,
	shot: &Path,
	expect: &str,
	tamper: &str,
	spec: Option<&Path>,
) -> serde_json::Value {
	let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/web/verify-page.mjs");
	let out = Command::new("node")
		.arg(&script)
		.arg(url)
		.arg(file)
		.arg(shot)
		.env("EXPECT_STATE", expect)
		.env("TAMPER_PROOF", if tamper == "proof" { "1" } else { "" })
		.env("TAMPER_ROOT", if tamper == "root" { "1" } else { "" })
		.env("SPEC", spec.map(|p| p.display().to_string()).unwrap_or_default())
		.output()
		.expect("node runs (install Node.js; `./x test` runs `npm ci` in server/tests/web)");
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(
		out.status.success(),
		"page check failed ({}):\nstdout: {stdout}\nstderr: {}",
		out.status,
		String::from_utf8_lossy(&out.stderr)
	);
	serde_json::from_str(stdout.trim()).expect("the script prints its verdict as JSON")
}
