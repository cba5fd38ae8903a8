//! docs/usage.md, run word for word: every command in its `sh` and `console` blocks, in
//! order, in one bash shell started in a folder holding a copy of `samples/` (as the
//! repository's root does), with the binaries this build made on `PATH` through the page's
//! own `export PATH=...` line. The page's ports (9944, 8080, 8090) are replaced by free ones
//! and the dev node is given free RPC, P2P and Prometheus ports; nothing else is changed. Every
//! command must end with status 0 (the page shows failures with `; echo "exit $?"`), and
//! where the page shows output, the output must be the same, line for line, once numbers,
//! hex and rates are masked (they differ on each chain).

use attest_testkit::{free_port, target_dir};
use std::{
	io::Read,
	os::unix::process::CommandExt,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// A command of the page and the output it shows.
#[derive(Debug)]
struct Step {
	command: String,
	shown: Vec<String>,
}

/// The commands of `md`'s `sh` and `console` blocks (`$ ` lines in console blocks; the
/// lines after one are its output).
fn steps(md: &str) -> Vec<Step> {
	let mut out: Vec<Step> = Vec::new();
	let mut block: Option<&str> = None;
	for line in md.lines() {
		if let Some(fence) = line.strip_prefix("```") {
			block = match block {
				None => Some(if fence == "sh" || fence == "console" { fence } else { "other" }),
				Some(_) => None,
			};
			continue;
		}
		match block {
			Some("sh") if !line.trim().is_empty() && !line.starts_with('#') => {
				out.push(Step { command: line.to_string(), shown: Vec::new() })
			},
			Some("console") => match line.strip_prefix("$ ") {
				Some(c) => out.push(Step { command: c.to_string(), shown: Vec::new() }),
				None => {
					if let Some(last) = out.last_mut() {
						last.shown.push(line.to_string());
					}
				},
			},
			_ => {},
		}
	}
	out
}

/// `line` with what differs from run to run masked: `0x` hex (also abbreviated `0x12…ab`)
/// as `0x#`, digit runs (with decimals) as `#`, rate units as `B/s`.
fn masked(line: &str) -> String {
	// Exit statuses are what the page is about: compared as they are.
	if line.trim().strip_prefix("exit ").is_some_and(|n| n.parse::<u8>().is_ok()) {
		return line.trim().to_string();
	}
	let mut out = String::new();
	let chars: Vec<char> = line.trim_end().chars().collect();
	let mut i = 0;
	while i < chars.len() {
		let c = chars[i];
		if c == '0' && chars.get(i + 1) == Some(&'x') {
			i += 2;
			while i < chars.len() && (chars[i].is_ascii_hexdigit() || chars[i] == '…') {
				i += 1;
			}
			out.push_str("0x#");
		} else if c.is_ascii_digit() {
			while i < chars.len()
				&& (chars[i].is_ascii_digit()
					|| (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
			{
				i += 1;
			}
			out.push('#');
		} else {
			out.push(c);
			i += 1;
		}
	}
	out.replace("# kB/s", "# B/s")
		.replace("# MB/s", "# B/s")
		.replace("# GB/s", "# B/s")
}

/// The bash process group: killed with everything the page started in the background.
struct Shell(Child);

impl Drop for Shell {
	fn drop(&mut self) {
		let group = format!("-{}", self.0.id());
		let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).status();
		let _ = self.0.wait();
	}
}

fn repo() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path) {
	std::fs::create_dir_all(to).expect("dir");
	for e in std::fs::read_dir(from).expect("samples").flatten() {
		if e.path().is_file() {
			std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
		}
	}
}

#[test]
fn usage_md_runs_word_for_word() {
	let md = std::fs::read_to_string(repo().join("docs/usage.md")).expect("docs/usage.md");
	let steps = steps(&md);
	assert!(steps.len() > 20, "the page's commands: {steps:#?}");
	let (rpc, server, verifier) = (free_port(), free_port(), free_port());
	let (p2p, prometheus) = (free_port(), free_port());
	let local = |c: &str| {
		c.replace("9944", &rpc.to_string())
			.replace("8080", &server.to_string())
			.replace("8090", &verifier.to_string())
			.replace(
				"attest-node --dev",
				&format!(
					"attest-node --dev --rpc-port {rpc} --port {p2p} --prometheus-port {prometheus}"
				),
			)
	};
	let mut script = String::from("cd \"$1\"\n");
	for (i, s) in steps.iter().enumerate() {
		script.push_str(&format!(
			"printf '\\n@@@ step {i}\\n'\n{{ {}\n}} 2>&1\nprintf '\\n@@@ exit %d\\n' $?\n",
			local(&s.command)
		));
	}
	let work = tempfile::tempdir().expect("dir");
	copy_dir(&repo().join("samples"), &work.path().join("samples"));
	let script_path = work.path().join("usage.sh");
	std::fs::write(&script_path, script).expect("script");
	let log_path = work.path().join("output.log");
	let log = std::fs::File::create(&log_path).expect("log");
	let release = target_dir();
	let mut cmd = Command::new("bash");
	cmd.arg(&script_path)
		.arg(work.path())
		.env("CARGO_TARGET_DIR", release.parent().expect("target/<profile>"))
		.stdin(Stdio::null())
		.stdout(log.try_clone().expect("log"))
		.stderr(log)
		.process_group(0);
	for var in ["ATTEST_NODE", "ATTEST_SERVER", "ATTEST_SURI", "ATTEST_DB", "ATTEST_TIMEOUT"] {
		cmd.env_remove(var);
	}
	let started = Instant::now();
	let mut shell = Shell(cmd.spawn().expect("bash"));
	let deadline = started + Duration::from_secs(600);
	loop {
		if shell.0.try_wait().expect("wait").is_some() {
			break;
		}
		assert!(
			Instant::now() < deadline,
			"the page's commands did not finish in 10 min:\n{}",
			std::fs::read_to_string(&log_path).unwrap_or_default()
		);
		std::thread::sleep(Duration::from_millis(200));
	}
	let mut output = String::new();
	std::fs::File::open(&log_path)
		.expect("log")
		.read_to_string(&mut output)
		.expect("UTF-8");
	let node_log = std::fs::read_to_string(work.path().join("session/node.log"))
		.map(|l| l.lines().rev().take(15).collect::<Vec<_>>().join("\n"))
		.unwrap_or_default();
	drop(shell);

	// Each step's output and exit status; every difference is reported, with the whole run
	// (what to paste into the page when its output changed on purpose).
	let mut transcript = String::new();
	let mut wrong = Vec::new();
	for (i, step) in steps.iter().enumerate() {
		let start = format!("@@@ step {i}\n");
		let Some(from) = output.find(&start) else {
			wrong.push(format!("`{}` (step {i}) never ran", step.command));
			break;
		};
		let rest = &output[from + start.len()..];
		let end = rest.find("\n@@@ exit ").unwrap_or(rest.len());
		let status: Option<i32> = rest
			.get(end + 10..)
			.and_then(|r| r.lines().next())
			.and_then(|l| l.trim().parse().ok());
		let got: Vec<&str> = rest[..end].lines().filter(|l| !l.is_empty()).collect();
		transcript.push_str(&format!("$ {}\n", step.command));
		for l in &got {
			transcript.push_str(l);
			transcript.push('\n');
		}
		if status != Some(0) {
			wrong.push(format!(
				"`{}` (step {i}) ended with {status:?}:\n{}",
				step.command,
				got.join("\n")
			));
			continue;
		}
		if !step.shown.is_empty() {
			let want: Vec<String> = step.shown.iter().map(|l| masked(l)).collect();
			let have: Vec<String> = got.iter().map(|l| masked(l)).collect();
			if have != want {
				wrong.push(format!(
					"`{}` (step {i}) printed other than the page shows:\n  page: {want:?}\n  run:  {have:?}",
					step.command
				));
			}
		}
	}
	eprintln!("{transcript}");
	assert!(
		wrong.is_empty(),
		"docs/usage.md, run as written, differs:\n{}\nnode log:\n{node_log}",
		wrong.join("\n")
	);
	eprintln!(
		"docs/usage.md: {} commands ran as written and printed what it shows, in {:.0} s",
		steps.len(),
		started.elapsed().as_secs_f64()
	);
}

#[test]
fn the_page_is_read_as_its_reader_reads_it() {
	let md =
		"text\n```sh\nexport A=1\n# a comment\n\n```\n```console\n$ echo hi\nhi\n$ true\n```\n\
	          ```json\n{\"x\": 1}\n```\n";
	let s = steps(md);
	assert_eq!(s.len(), 3, "{s:#?}");
	assert_eq!((s[0].command.as_str(), s[0].shown.len()), ("export A=1", 0));
	assert_eq!((s[1].command.as_str(), s[1].shown.clone()), ("echo hi", vec!["hi".to_string()]));
	assert_eq!(s[2].command, "true");
	assert_eq!(
		masked("6 items attested (0.3 s, 20 items/s, 4.1 MB/s), in channel 0xf4ea…2e45"),
		"# items attested (# s, # items/s, # B/s), in channel 0x#"
	);
	assert_eq!(masked("exit 2"), "exit 2");
}
