//! `cargo bench -p attest-server --bench server`: figures for docs/benchmarks.md.
//!
//! * where a batch's time goes (JSON, signatures, SHA-256, database), per record;
//! * record submissions per second, batched (4 clients x 1000-record batches) and one by
//!   one (16 clients), on SQLite and on a real PostgreSQL server;
//! * blob ingest over HTTP in MB/s against `cp` of the same file, in the same run;
//! * p50/p99 latency of proof requests (format 1, and format 2 with the anchor's chain evidence) with
//!   10^6 records stored (1000 anchors of 1000).
//!
//! Everything runs on loopback: a dev node (for the genesis hash), the server in this
//! process, clients in this process. `BENCH_RECORDS` sets the record count (default
//! 200,000), `BENCH_ONLY=profile|records|single|blob|proof` (comma-separated; `single`: the one-record-per-request phase of `records` alone) runs some parts only.

#[path = "../tests/common/mod.rs"]
mod common;

use common::chain::pair;

use attest_primitives::{
	merkle, signing::sign, Anchor, DataRef, FirstRecord, Hash, ItemClaim, LogHead,
};
use attest_server::{api::Batch, store::Parties, store::Record, Config};
use rayon::prelude::*;
use sp_core::Pair;
use std::{path::Path, sync::Arc, time::Instant};

fn digest_of(i: u64) -> Hash {
	attest_primitives::sha256(&i.to_le_bytes())
}

/// 1 KiB of data of item `i` (what the records of the record benchmarks attest).
fn kib(i: u64) -> Vec<u8> {
	let mut data: Vec<u8> = (0..1024u64).map(|j| (i ^ j.wrapping_mul(131)) as u8).collect();
	data[..8].copy_from_slice(&i.to_le_bytes());
	data
}

fn records(genesis: &Hash, channel: Hash, n: u64) -> Vec<FirstRecord> {
	let bob = pair("//Bob");
	(0..n)
		.into_par_iter()
		.map(|seq| {
			let digest = attest_primitives::sha256(&kib(seq));
			let claim = ItemClaim { seq, digest, payment_hash: Hash([7; 32]) };
			sign::first_record(&bob, genesis, channel, claim)
		})
		.collect()
}

async fn start(
	node: &common::Node,
	data: &Path,
	db: Option<String>,
) -> anyhow::Result<attest_server::Running> {
	let mut config = Config::with_defaults(data.to_path_buf(), node.ws_url());
	config.listen = "127.0.0.1:0".parse()?;
	config.database_url = db;
	config.log = "warn".into();
	config.anchor_poll_secs = 3600;
	config.max_json_bytes = 64 << 20;
	attest_server::start(config).await
}

fn parties() -> Parties {
	let acct = |u: &str| -> [u8; 32] { sp_runtime::AccountId32::from(pair(u).public()).into() };
	Parties { requester: acct("//Alice"), verifier: acct("//Bob") }
}

/// Records per second: `clients` tasks sending `chunks` (pre-serialized bodies).
async fn load(url: String, bodies: Vec<String>, clients: usize) -> anyhow::Result<f64> {
	let bodies = Arc::new(bodies);
	let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
	let http = reqwest::Client::new();
	let start = Instant::now();
	let mut tasks = Vec::new();
	for _ in 0..clients {
		let (bodies, next, http, url) = (bodies.clone(), next.clone(), http.clone(), url.clone());
		tasks.push(tokio::spawn(async move {
			loop {
				let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
				let Some(body) = bodies.get(i) else {
					return Ok::<_, anyhow::Error>(());
				};
				let r = http
					.post(&url)
					.header("content-type", "application/json")
					.body(body.clone())
					.send()
					.await?;
				anyhow::ensure!(r.status().is_success(), "{}: {}", r.status(), r.text().await?);
			}
		}));
	}
	for t in tasks {
		t.await??;
	}
	Ok(start.elapsed().as_secs_f64())
}

async fn records_per_second(
	node: &common::Node,
	label: &str,
	db: Option<String>,
	recs: &[FirstRecord],
	singles_only: bool,
) -> anyhow::Result<()> {
	let dir = tempfile::tempdir()?;
	let server = start(node, dir.path(), db).await?;
	let channel = recs[0].channel_id;
	server.state.remember_channel(channel, parties()).await?;
	let base = format!("http://{}", server.addr);
	let half = recs.len() / 2;
	if !singles_only {
		// Batched: first half in 1000-record batches, 4 clients.
		let bodies: Vec<String> = recs[..half]
			.chunks(1000)
			.map(|c| {
				serde_json::to_string(&Batch {
					records: c.iter().cloned().map(Record::First).collect(),
				})
			})
			.collect::<Result<_, _>>()?;
		let secs = load(format!("{base}/v1/records/batch"), bodies, 4).await?;
		println!("{label}: batched  {half} records in {secs:.2} s = {:.0} records/s (4 clients, 1000 per batch)", half as f64 / secs);
	}
	// One by one: 20,000 of the second half, 16 clients.
	let singles = &recs[half..(half + 20_000).min(recs.len())];
	let bodies: Vec<String> =
		singles.iter().map(serde_json::to_string).collect::<Result<_, _>>()?;
	let secs = load(format!("{base}/v1/records/first"), bodies, 16).await?;
	println!(
		"{label}: single   {} records in {secs:.2} s = {:.0} records/s (16 clients, 1 per request)",
		singles.len(),
		singles.len() as f64 / secs
	);
	if singles_only {
		return Ok(());
	}
	// Requesters' records with their 1 KiB of data inline, 20,000 of the batched half in
	// batches of 500, 4 clients: the data goes into the database with the records (up to
	// --small-data-max; with --small-data-max 0, as before, each item's data is a blob of its
	// own, written, fsynced and renamed before the records are committed).
	let alice = pair("//Alice");
	let genesis = server.state.genesis();
	let with_data: Vec<Record> = recs[..20_000.min(half)]
		.par_iter()
		.map(|f| {
			let data = DataRef::Inline(kib(f.claim.seq));
			Record::Second(sign::second_record(&alice, &genesis, channel, f.claim, data))
		})
		.collect();
	let n = with_data.len();
	let bodies: Vec<String> = with_data
		.chunks(500)
		.map(|c| serde_json::to_string(&Batch { records: c.to_vec() }))
		.collect::<Result<_, _>>()?;
	let secs = load(format!("{base}/v1/records/batch"), bodies, 4).await?;
	for f in [&recs[0], &recs[n - 1]] {
		let stored = server.state.store.blob_data(&f.claim.digest).await?;
		anyhow::ensure!(
			stored.is_some_and(|(_, bytes)| bytes.is_none_or(|b| b == kib(f.claim.seq))),
			"the data of item {} was not stored",
			f.claim.seq
		);
	}
	println!(
		"{label}: batched  {n} second records with inline data in {secs:.2} s = {:.0} records/s \
		 (4 clients, 500 per batch)",
		n as f64 / secs
	);
	server.stop().await?;
	Ok(())
}

async fn blob_ingest(node: &common::Node) -> anyhow::Result<()> {
	let dir = tempfile::tempdir_in(attest_testkit::target_dir())?;
	let server = start(node, &dir.path().join("data"), None).await?;
	let size: usize = 1 << 30;
	let file = dir.path().join("blob.bin");
	{
		use std::io::Write;
		let mut f = std::io::BufWriter::new(std::fs::File::create(&file)?);
		let mut block = vec![0u8; 1 << 20];
		for i in 0..(size >> 20) {
			for (j, b) in block.iter_mut().enumerate() {
				*b = (i * 131 + j * 17 + (j >> 9)) as u8;
			}
			f.write_all(&block)?;
		}
	}
	let (digest, _) = attest_primitives::digest::sha256_file(&file)?;
	let channel = Hash([0xb1; 32]);
	server.state.remember_channel(channel, parties()).await?;
	let g = server.state.genesis();
	let rec = sign::first_record(
		&pair("//Bob"),
		&g,
		channel,
		ItemClaim { seq: 0, digest, payment_hash: Hash([1; 32]) },
	);
	server.state.store.submit(&[Record::First(rec)]).await?;
	let path = common::chain::blob_url(
		"",
		&g,
		"//Alice",
		attest_primitives::signing::Kind::BlobWrite,
		channel,
		&digest,
	);
	let url = format!("http://{}{path}", server.addr);
	let http = reqwest::Client::new();
	let (mut cp_times, mut cp_plain_times, mut up_times) = (Vec::new(), Vec::new(), Vec::new());
	let (mut up_cpu, mut sha_times) = (Vec::new(), Vec::new());
	let rounds: usize =
		std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(9);
	for round in 0..rounds {
		let dest = dir.path().join(format!("cp-{round}.bin"));
		let t = Instant::now();
		anyhow::ensure!(
			std::process::Command::new("cp").arg(&file).arg(&dest).status()?.success(),
			"cp failed"
		);
		cp_plain_times.push(t.elapsed().as_secs_f64());
		std::fs::remove_file(&dest)?;
		let t = Instant::now();
		let ok = std::process::Command::new("cp").arg(&file).arg(&dest).status()?.success();
		// cp does not fsync; the server does (the blob must survive a crash): make cp's copy
		// durable too for a like-for-like figure.
		std::fs::File::open(&dest)?.sync_all()?;
		anyhow::ensure!(ok, "cp failed");
		cp_times.push(t.elapsed().as_secs_f64());
		std::fs::remove_file(&dest)?;

		let blob_path = server.state.blobs.path(&digest);
		let _ = std::fs::remove_file(&blob_path);
		server.state.store.forget_blob(&digest).await?;
		let cpu = cpu_seconds();
		let t = Instant::now();
		match std::env::var("BENCH_CLIENT").as_deref() {
			Ok("reqwest") => {
				let f = tokio::fs::File::open(&file).await?;
				let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
					f,
					1 << 20,
				));
				let r = http.put(&url).body(body).send().await?;
				anyhow::ensure!(r.status().as_u16() == 201, "upload: {}", r.status());
			},
			Ok("curl") => {
				let out = tokio::process::Command::new("curl")
					.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T"])
					.arg(&file)
					.arg(&url)
					.output()
					.await?;
				anyhow::ensure!(
					out.stdout == b"201",
					"curl: {}",
					String::from_utf8_lossy(&out.stdout)
				);
			},
			_ => {
				let (addr, file, path) = (server.addr, file.clone(), path.clone());
				let status =
					tokio::task::spawn_blocking(move || sendfile_put(addr, &path, &file)).await??;
				anyhow::ensure!(status == 201, "upload: {status}");
			},
		}
		up_times.push(t.elapsed().as_secs_f64());
		up_cpu.push(cpu_seconds() - cpu);
		// The floor: SHA-256 of the same bytes on one core, nothing else.
		let t = Instant::now();
		attest_primitives::digest::sha256_file(&file)?;
		sha_times.push(t.elapsed().as_secs_f64());
	}
	let mb = size as f64 / 1e6;
	let median = |v: &mut Vec<f64>| {
		v.sort_by(|a, b| a.total_cmp(b));
		v[v.len() / 2]
	};
	let (up, cp, cp_plain, sha, cpu) = (
		median(&mut up_times),
		median(&mut cp_times),
		median(&mut cp_plain_times),
		median(&mut sha_times),
		median(&mut up_cpu),
	);
	let client = std::env::var("BENCH_CLIENT").unwrap_or_else(|_| "sendfile".into());
	println!(
		"blob ingest ({client} client), 1 GiB, median of {rounds} interleaved runs:\n  HTTP upload \
		 (hashed, fsynced, renamed) {:.0} MB/s, {cpu:.2} CPU-seconds (client and server)\n  `cp` + \
		 fsync {:.0} MB/s -> upload at {:.0}%\n  plain `cp` (page cache only, not durable) {:.0} \
		 MB/s -> upload at {:.0}%\n  SHA-256 alone, one core, same file {:.0} MB/s (no upload can \
		 beat it) -> upload at {:.0}%",
		mb / up,
		mb / cp,
		100.0 * cp / up,
		mb / cp_plain,
		100.0 * cp_plain / up,
		mb / sha,
		100.0 * sha / up,
	);
	server.stop().await?;
	Ok(())
}

/// `PUT` a file with `sendfile(2)`: the client costs as little CPU as it can, so the figure
/// is the server's (client and server share this machine's two cores).
fn sendfile_put(addr: std::net::SocketAddr, path: &str, file: &Path) -> anyhow::Result<u16> {
	use std::{
		io::{Read, Write},
		os::fd::AsRawFd,
	};
	let f = std::fs::File::open(file)?;
	let len = f.metadata()?.len();
	let mut s = std::net::TcpStream::connect(addr)?;
	write!(
		s,
		"PUT {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
	)?;
	let mut offset: libc::off_t = 0;
	while (offset as u64) < len {
		let left = (len - offset as u64).min(1 << 30) as usize;
		// SAFETY: two open descriptors, a valid offset pointer.
		let n = unsafe { libc::sendfile(s.as_raw_fd(), f.as_raw_fd(), &mut offset, left) };
		anyhow::ensure!(n > 0, "sendfile: {}", std::io::Error::last_os_error());
	}
	let mut answer = String::new();
	s.read_to_string(&mut answer)?;
	let status = answer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
	Ok(status)
}

async fn proof_latency(
	node: &common::Node,
	label: &str,
	db: Option<String>,
	total: u64,
) -> anyhow::Result<()> {
	let dir = tempfile::tempdir()?;
	let server = start(node, dir.path(), db).await?;
	let g = server.state.genesis();
	let per_anchor = 1000u64;
	let channels = total / per_anchor;
	let template = sign::first_record(
		&pair("//Bob"),
		&g,
		Hash([0; 32]),
		ItemClaim { seq: 0, digest: digest_of(0), payment_hash: Hash([7; 32]) },
	);
	let evidence: Vec<u8> = (0..1_400u32).map(|i| (i * 31 % 251) as u8).collect();
	let t = Instant::now();
	// 1000 channels with one anchor of 1000 items each (records stored as the API would;
	// signatures are not re-checked when serving proofs).
	for c in 0..channels {
		let channel = Hash(bench_channel_id(c));
		server.state.remember_channel(channel, parties()).await?;
		let mut recs = Vec::with_capacity(per_anchor as usize);
		let mut digests = Vec::with_capacity(per_anchor as usize);
		for seq in 0..per_anchor {
			let mut r = template.clone();
			r.channel_id = channel;
			r.claim = ItemClaim {
				seq,
				digest: digest_of(c * per_anchor + seq),
				payment_hash: Hash([7; 32]),
			};
			digests.push(r.claim.digest);
			recs.push(Record::First(r));
		}
		server.state.store.submit(&recs).await?;
		let anchor = Anchor {
			channel_id: channel,
			index: 0,
			first_seq: 0,
			log: LogHead { size: per_anchor, root: merkle::root_of_digests(&digests) },
			block: 1,
		};
		server.state.store.insert_anchor(&anchor).await?;
		server.state.store.complete_anchor(&anchor, &[]).await?;
		// The chain's evidence for the anchor (format 2), as the server stores it once per
		// anchor: the size of a real dev chain's (1,632 bytes with the bundle; served as
		// stored, not decoded).
		server
			.state
			.store
			.put_evidence(&channel, 0, &Hash([1; 32]), 0, &evidence)
			.await?;
	}
	println!(
		"{label}: stored {total} records in {channels} anchors in {:.1} s",
		t.elapsed().as_secs_f64()
	);
	// As autovacuum would a while after a bulk load: without it, how long PostgreSQL takes
	// to notice 10^6 new rows decides the figure (p50 4 ms or 20 ms in two runs).
	server.state.store.analyze().await?;
	let http = reqwest::Client::new();
	let base = format!("http://{}", server.addr);
	// Format 1 (the bundle) and format 2 (the bundle and the anchor's stored chain evidence),
	// the same 3000 random items each.
	for (format, query) in [("format 1", ""), ("format 2", "?format=v2")] {
		let mut lat = Vec::new();
		let mut x = 0x2545f4914f6cdd1du64;
		for _ in 0..3000 {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			let i = x % total;
			let t = Instant::now();
			let r = http
				.get(format!("{base}/v1/items/{:?}/proof{query}", digest_of(i)))
				.send()
				.await?;
			anyhow::ensure!(r.status().is_success(), "proof {i} ({format}): {}", r.status());
			let _ = r.bytes().await?;
			lat.push(t.elapsed().as_secs_f64() * 1e3);
		}
		lat.sort_by(|a, b| a.total_cmp(b));
		let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
		println!(
			"{label}: {format} proof latency at {total} records, 3000 random items over HTTP: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
			q(0.5),
			q(0.99),
			q(1.0)
		);
	}
	server.stop().await?;
	Ok(())
}

/// Where a batch's time goes: each step of taking 10,000 records in, timed on its own, per
/// record. CPU steps on one thread (the machine has two), database steps as the server runs
/// them (one transaction per 1,000 records, or per 500 with data).
async fn profile(genesis: &Hash, recs: &[FirstRecord], pg: &str) -> anyhow::Result<()> {
	use attest_server::store::{BatchData, Store};
	let n = recs.len().min(10_000);
	anyhow::ensure!(recs.len() >= n + 500, "profile needs {} records", n + 500);
	let firsts: Vec<Record> = recs[..n].iter().cloned().map(Record::First).collect();
	let alice = pair("//Alice");
	let channel = recs[0].channel_id;
	let seconds: Vec<Record> = recs[..n]
		.par_iter()
		.map(|f| {
			let data = DataRef::Inline(kib(f.claim.seq));
			Record::Second(sign::second_record(&alice, genesis, channel, f.claim, data))
		})
		.collect();
	let per = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n as f64;
	println!("where the time goes, per record ({n} records; CPU steps on one thread):");
	for (label, records) in [("without data", &firsts), ("with 1 KiB inline", &seconds)] {
		let body = serde_json::to_vec(&Batch { records: records.clone() })?;
		let t = Instant::now();
		let parsed: Batch = serde_json::from_slice(&body)?;
		let parse = per(t);
		anyhow::ensure!(parsed.records.len() == n);
		println!("  JSON parse, {label} ({} bytes each): {parse:.2} us", body.len() / n);
	}
	let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
	let mut parties = std::collections::HashMap::new();
	parties.insert(channel, Ok(self::parties()));
	let known = self::parties();
	let t = Instant::now();
	for r in &firsts {
		attest_server::ingest::check_record(genesis, r, &known)
			.map_err(|e| anyhow::anyhow!("{e}"))?;
	}
	let single = per(t);
	let t = Instant::now();
	let checks = one.install(|| attest_server::ingest::check_records(genesis, &firsts, &parties));
	let batched = per(t);
	anyhow::ensure!(checks.iter().all(|c| c.is_ok()), "a record failed its check");
	println!(
		"  signature check, one by one: {single:.2} us; batch verification: {batched:.2} us \
		 ({:.2}x)",
		single / batched
	);
	let t = Instant::now();
	for r in &seconds {
		if let Record::Second(s) = r {
			if let DataRef::Inline(bytes) = &s.data {
				anyhow::ensure!(attest_primitives::sha256(bytes) == s.claim.digest);
			}
		}
	}
	println!("  SHA-256 of the 1 KiB data: {:.2} us", per(t));
	for (label, url) in [("sqlite", None), ("postgres", Some(pg.to_string()))] {
		let dir = tempfile::tempdir()?;
		let url = url
			.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("profile.sqlite").display()));
		let store = Store::open(&url, 8).await?;
		store.put_channel(&channel, &self::parties()).await?;
		let t = Instant::now();
		for chunk in firsts.chunks(1000) {
			store.submit(chunk).await?;
		}
		let plain = per(t);
		let t = Instant::now();
		for chunk in seconds.chunks(500) {
			let mut data = BatchData::default();
			let records: Vec<Record> = chunk
				.iter()
				.map(|r| {
					let mut r = r.clone();
					if let Record::Second(s) = &mut r {
						let bytes = std::mem::replace(&mut s.data, DataRef::Blob(s.claim.digest));
						if let DataRef::Inline(bytes) = bytes {
							data.small.push((s.claim.digest, bytes));
							data.possession.push((channel, s.claim.digest));
						}
					}
					r
				})
				.collect();
			store.submit_with(&records, &data).await?;
		}
		let with_data = per(t);
		let t = Instant::now();
		let singles = 500;
		for r in recs[n..n + singles].iter().cloned() {
			store.submit(&[Record::First(r)]).await?;
		}
		let single = t.elapsed().as_secs_f64() * 1e6 / singles as f64;
		println!(
			"  {label}: store records: {plain:.2} us without data (1,000 per transaction), \
			 {with_data:.2} us with 1 KiB data in the database (500 per transaction); \
			 one record per transaction, one at a time: {single:.0} us"
		);
		store.close().await;
	}
	Ok(())
}

fn bench_channel_id(c: u64) -> [u8; 32] {
	let mut h = [0u8; 32];
	h[..8].copy_from_slice(&c.to_le_bytes());
	h[8..16].copy_from_slice(b"benchchn");
	h
}

fn main() -> anyhow::Result<()> {
	let n: u64 = std::env::var("BENCH_RECORDS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(200_000);
	let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
	rt.block_on(async {
		let node = common::Node::dev(&[]);
		let pg = common::postgres::Postgres::start();
		let g = attest_server::chain::Chain::connect(&node.ws_url()).await?.genesis();
		let t = Instant::now();
		let n = if std::env::var("BENCH_ONLY")
			.map(|o| o.contains("records") || o.contains("profile") || o.contains("single"))
			.unwrap_or(true)
		{
			n
		} else {
			2
		};
		let recs_sqlite = records(&g, Hash([0xa1; 32]), n);
		let recs_pg = records(&g, Hash([0xa2; 32]), n);
		println!("signed {} records in {:.1} s", 2 * n, t.elapsed().as_secs_f64());
		let only = std::env::var("BENCH_ONLY").unwrap_or_default();
		let run = |part: &str| only.is_empty() || only.split(',').any(|o| o == part);
		if run("profile") {
			profile(&g, &recs_sqlite, &pg.database("profile")).await?;
		}
		if run("records") || run("single") {
			let singles_only = !run("records");
			records_per_second(&node, "sqlite", None, &recs_sqlite, singles_only).await?;
			records_per_second(&node, "postgres", Some(pg.url()), &recs_pg, singles_only).await?;
		}
		if run("blob") {
			blob_ingest(&node).await?;
		}
		if run("proof") {
			proof_latency(&node, "sqlite", None, 1_000_000).await?;
			proof_latency(&node, "postgres", Some(pg.url()), 1_000_000).await?;
		}
		Ok(())
	})
}

/// CPU time (user + system) of this process so far, in seconds: client and server together.
fn cpu_seconds() -> f64 {
	// SAFETY: getrusage fills the zeroed struct it is given.
	let usage = unsafe {
		let mut usage: libc::rusage = std::mem::zeroed();
		libc::getrusage(libc::RUSAGE_SELF, &mut usage);
		usage
	};
	let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
	secs(usage.ru_utime) + secs(usage.ru_stime)
}
