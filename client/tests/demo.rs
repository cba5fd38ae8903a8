//! `attest demo`, what `./x run` starts: its non-interactive form attests every sample file;
//! run again on the same data it continues (nothing attested twice), every sample passes
//! `attest verify` and the verify page (headless Chromium) reports it, a file dropped into the
//! inbox is attested, and Ctrl-C (SIGINT) leaves no process running; `kill -9` of the demo
//! takes its children down too; `--fresh` starts over.

use std::{
	io::{BufRead, BufReader},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::mpsc,
	time::{Duration, Instant},
};

fn attest() -> Command {
	Command::new(env!("CARGO_BIN_EXE_attest"))
}

fn demo(data: &Path, extra: &[&str]) -> Command {
	let mut c = attest();
	c.arg("demo")
		.arg("--data-dir")
		.arg(data)
		.arg("--samples")
		.arg(samples())
		.args(["--rpc-port", "0", "--server-port", "0", "--verifier-port", "0"])
		.args(extra);
	c
}

fn samples() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

fn sample_files() -> Vec<PathBuf> {
	let mut v: Vec<PathBuf> = std::fs::read_dir(samples())
		.expect("samples/")
		.map(|e| e.expect("entry").path())
		.filter(|p| p.is_file())
		.collect();
	v.sort();
	v
}

/// Pids of processes whose command line mentions `needle` (other than this test).
fn processes_with(needle: &str) -> Vec<(u32, String)> {
	let me = std::process::id();
	let mut out = Vec::new();
	for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
		let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
		if pid == me {
			continue;
		}
		let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else { continue };
		let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
		if cmd.contains(needle) {
			out.push((pid, cmd));
		}
	}
	out
}

fn wait_gone(needle: &str, within: Duration) -> Vec<(u32, String)> {
	let until = Instant::now() + within;
	loop {
		let left = processes_with(needle);
		if left.is_empty() || Instant::now() > until {
			return left;
		}
		std::thread::sleep(Duration::from_millis(200));
	}
}

/// A demo running interactively; its stdout lines come through `lines`.
struct Running {
	child: Child,
	lines: mpsc::Receiver<String>,
	seen: Vec<String>,
	err_log: PathBuf,
}

impl Running {
	fn start(data: &Path, err_log: PathBuf) -> Self {
		let err = std::fs::File::create(&err_log).expect("log");
		let mut child = demo(data, &[])
			.stdout(Stdio::piped())
			.stderr(err)
			.spawn()
			.expect("attest demo starts");
		let out = child.stdout.take().expect("stdout");
		let (tx, lines) = mpsc::channel();
		std::thread::spawn(move || {
			for l in BufReader::new(out).lines().map_while(Result::ok) {
				if tx.send(l).is_err() {
					break;
				}
			}
		});
		Running { child, lines, seen: Vec::new(), err_log }
	}

	/// The first stdout line containing `needle` (panics with the output after `within`).
	fn wait_for(&mut self, needle: &str, within: Duration) -> String {
		let until = Instant::now() + within;
		if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
			return l.clone();
		}
		while let Some(left) = until.checked_duration_since(Instant::now()) {
			match self.lines.recv_timeout(left) {
				Ok(l) => {
					self.seen.push(l.clone());
					if l.contains(needle) {
						return l;
					}
				},
				Err(_) => break,
			}
		}
		panic!(
			"no line with {needle:?} within {within:?}; stdout:\n{}\nstderr:\n{}",
			self.seen.join("\n"),
			std::fs::read_to_string(&self.err_log).unwrap_or_default()
		);
	}

	fn stderr(&self) -> String {
		std::fs::read_to_string(&self.err_log).unwrap_or_default()
	}
}

impl Drop for Running {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// The verify page in headless Chromium (server/tests/web's driver): its verdict as JSON.
fn page(url: &str, file: &Path, shot: &Path) -> serde_json::Value {
	let script =
		PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/tests/web/verify-page.mjs");
	let out = Command::new("node")
		.arg(&script)
		.arg(url)
		.arg(file)
		.arg(shot)
		.env("EXPECT_STATE", "verified")
		.output()
		.expect("node runs (`./x test` runs `npm ci` in server/tests/web)");
	assert!(
		out.status.success(),
		"verify page for {}: {}\n{}",
		file.display(),
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	);
	serde_json::from_slice(&out.stdout).expect("the driver prints JSON")
}

#[test]
fn demo_attests_the_samples_continues_and_stops_cleanly() {
	let t0 = Instant::now();
	let tmp = tempfile::tempdir().expect("temp dir");
	let data = tmp.path().join("demo");
	let needle = data.display().to_string();
	let files = sample_files();
	assert!(files.len() >= 5, "samples/ holds the demo's files");

	// 1. Non-interactive: attest, anchor, check every sample, stop.
	let out = demo(&data, &["--once"]).output().expect("attest demo --once runs");
	let (stdout, stderr) =
		(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
	assert!(out.status.success(), "demo --once failed:\n{stdout}\n{stderr}");
	assert!(stderr.contains(&format!("{} attested, 0 attested before", files.len())), "{stderr}");
	for f in &files {
		let name = f.file_name().unwrap_or_default().to_string_lossy();
		assert!(
			stdout.lines().any(|l| l.contains(&*name) && l.contains("bytes)")),
			"{name} is reported: {stdout}"
		);
	}
	assert_eq!(stdout.matches("anchored in block").count(), files.len(), "{stdout}");
	assert!(!stdout.contains("NOT ATTESTED"), "{stdout}");
	assert!(wait_gone(&needle, Duration::from_secs(10)).is_empty(), "--once stopped everything");
	let once_secs = t0.elapsed().as_secs_f64();

	// 2. Interactive, on the same data: it continues.
	let t1 = Instant::now();
	let mut run = Running::start(&data, tmp.path().join("run.err"));
	let page_line = run.wait_for("Verify page", Duration::from_secs(180));
	let page_url = page_line.split_whitespace().last().expect("a URL").to_string();
	let server = page_url.split("/?").next().expect("server URL").to_string();
	let node = page_url.split("node=").nth(1).expect("node URL").to_string();
	assert!(
		run.stderr().contains(&format!("0 attested, {} attested before", files.len())),
		"the second run attests nothing again: {}",
		run.stderr()
	);
	// Every sample passes `attest verify` run here, and the verify page reports it.
	let v = attest()
		.args(["--node", &node, "--server", &server, "verify"])
		.args(&files)
		.output()
		.expect("attest verify runs");
	assert!(
		v.status.success(),
		"attest verify: {}{}",
		String::from_utf8_lossy(&v.stdout),
		String::from_utf8_lossy(&v.stderr)
	);
	assert_eq!(String::from_utf8_lossy(&v.stdout).matches("ATTESTED ").count(), files.len());
	let shots = attest_testkit::target_dir().join("attest-demo");
	std::fs::create_dir_all(&shots).expect("screenshot dir");
	for f in &files {
		let name = f.file_name().unwrap_or_default().to_string_lossy().into_owned();
		let v = page(&page_url, f, &shots.join(format!("{name}.png")));
		let text = v["text"].as_str().unwrap_or_default();
		assert!(text.contains("confirmed by the node"), "{name}: {v}");
	}
	// A file dropped into the inbox (after the verifier moved to another port: the requester
	// finds it through its registration) is attested and anchored.
	let dropped = data.join("inbox").join("dropped.txt");
	std::fs::write(&dropped, format!("dropped at {:?}", std::time::SystemTime::now()))
		.expect("write");
	run.wait_for("dropped.txt (", Duration::from_secs(60));
	run.wait_for("anchored in block", Duration::from_secs(5));
	let page_run_secs = t1.elapsed().as_secs_f64();

	// Ctrl-C: every process stops.
	// SAFETY: a signal to our own child.
	unsafe { libc::kill(run.child.id() as i32, libc::SIGINT) };
	let until = Instant::now() + Duration::from_secs(60);
	let status = loop {
		if let Some(s) = run.child.try_wait().expect("wait") {
			break s;
		}
		assert!(Instant::now() < until, "the demo did not stop within 60 s of SIGINT");
		std::thread::sleep(Duration::from_millis(100));
	};
	assert!(run.stderr().contains("stopped. The data is in"), "{}", run.stderr());
	let left = wait_gone(&needle, Duration::from_secs(5));
	assert!(left.is_empty(), "processes left after Ctrl-C ({status}): {left:?}");
	drop(run);

	// 3. kill -9 of the demo: its children go down with it.
	let mut run = Running::start(&data, tmp.path().join("run3.err"));
	run.wait_for("Verify page", Duration::from_secs(180));
	let _ = run.child.kill();
	let _ = run.child.wait();
	let left = wait_gone(&needle, Duration::from_secs(30));
	assert!(left.is_empty(), "processes left after kill -9 of the demo: {left:?}");
	drop(run);

	// 4. --fresh starts over: a new chain, everything attested anew.
	let out = demo(&data, &["--once", "--fresh"]).output().expect("runs");
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "{stderr}");
	assert!(stderr.contains("--fresh: deleted"), "{stderr}");
	assert!(stderr.contains(&format!("{} attested, 0 attested before", files.len())), "{stderr}");
	assert!(!data.join("inbox/dropped.txt").exists(), "--fresh deleted the old data");

	// --fresh refuses to delete a directory that is not a demo's.
	let other = tmp.path().join("not-a-demo");
	std::fs::create_dir_all(&other).expect("dir");
	std::fs::write(other.join("precious"), b"keep me").expect("write");
	let out = demo(&other, &["--once", "--fresh"]).output().expect("runs");
	assert!(!out.status.success());
	assert!(String::from_utf8_lossy(&out.stderr).contains("not a demo data directory"));
	assert!(other.join("precious").exists());
	println!(
		"demo --once {once_secs:.1} s; second run with {} page checks and an inbox file {page_run_secs:.1} s; whole test {:.1} s",
		files.len(),
		t0.elapsed().as_secs_f64()
	);
}
