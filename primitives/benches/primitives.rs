//! Benchmarks of attest-primitives (criterion), run with
//! `cargo bench -p attest-primitives --bench primitives`.
//!
//! - `merkle/root_1m`: MTH of 10^6 content digests (goal: >= 2M leaves/s on one core).
//! - `merkle/verify_inclusion_1m`: verify one inclusion proof in a tree of 10^6 (goal: < 20 us).
//! - `sr25519/sign`, `sr25519/verify`: a channel-state signature.
//! - `digest/file_1gib` vs `openssl dgst -sha256` on the same 1 GiB file in the same run
//!   (goal: >= 90% of OpenSSL's throughput). Set `ATTEST_BENCH_FILE_MIB` to change the size.

use attest_primitives::{
	digest, merkle,
	signing::{self, sign},
	*,
};
use criterion::{criterion_group, Criterion, Throughput};
use sp_core::{sr25519, Pair};
use sp_runtime::{traits::IdentifyAccount, MultiSigner};
use std::{hint::black_box, io::Write, time::Instant};

const N: usize = 1_000_000;

fn digests(n: usize) -> Vec<Hash> {
	(0..n as u64).map(|i| sha256(&i.to_le_bytes())).collect()
}

fn merkle_benches(c: &mut Criterion) {
	let ds = digests(N);
	let mut g = c.benchmark_group("merkle");
	g.sample_size(10);
	g.throughput(Throughput::Elements(N as u64));
	g.bench_function("root_1m", |b| b.iter(|| merkle::root_of_digests(black_box(&ds))));
	g.finish();

	let tree = merkle::MerkleTree::from_digests(&ds);
	let root = tree.root();
	let index = 765_432u64;
	let proof = tree.inclusion_proof(index).unwrap();
	let digest = ds[index as usize];
	let mut g = c.benchmark_group("merkle");
	g.bench_function("verify_inclusion_1m", |b| {
		b.iter(|| black_box(&proof).verify_digest(black_box(&digest), black_box(&root)).unwrap())
	});
	g.bench_function("prove_inclusion_1m", |b| {
		b.iter(|| tree.inclusion_proof(black_box(index)).unwrap())
	});
	g.finish();
}

fn signing_benches(c: &mut Criterion) {
	let pair = sr25519::Pair::from_string("//Alice", None).unwrap();
	let who = MultiSigner::from(pair.public()).into_account();
	let genesis = Hash::repeat_byte(1);
	let state = ChannelState {
		channel_id: Hash::repeat_byte(2),
		nonce: 42,
		requester_balance: 1_000,
		verifier_balance: 10,
		htlcs: Default::default(),
		log: LogHead::empty(),
		finality: attest_primitives::Finality::Open,
	};
	let sig = sign::sign_state(&pair, &genesis, &state);
	let mut g = c.benchmark_group("sr25519");
	g.throughput(Throughput::Elements(1));
	g.bench_function("sign", |b| b.iter(|| sign::sign_state(&pair, &genesis, black_box(&state))));
	g.bench_function("verify", |b| {
		b.iter(|| signing::verify_state(&genesis, black_box(&state), &sig, &who).unwrap())
	});
	g.finish();
}

/// SHA-256 of a file: ours vs `openssl dgst -sha256` in the same run, best of 3 each, with
/// the file in the page cache for both.
fn digest_vs_openssl() {
	let mib: usize = std::env::var("ATTEST_BENCH_FILE_MIB")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(1024);
	let mut file = tempfile::NamedTempFile::new().expect("temp file");
	let block: Vec<u8> =
		(0..1 << 20).map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
	for _ in 0..mib {
		file.write_all(&block).unwrap();
	}
	file.flush().unwrap();
	let bytes = (mib << 20) as f64;
	// Warm the page cache.
	let expected = digest::sha256_file(file.path()).unwrap().0;

	let best = |f: &mut dyn FnMut()| {
		(0..3)
			.map(|_| {
				let t = Instant::now();
				f();
				t.elapsed().as_secs_f64()
			})
			.fold(f64::INFINITY, f64::min)
	};
	let ours = best(&mut || assert_eq!(digest::sha256_file(file.path()).unwrap().0, expected));
	let ours_simple = best(&mut || {
		let f = std::fs::File::open(file.path()).unwrap();
		assert_eq!(digest::sha256_reader(f).unwrap().0, expected)
	});
	println!(
		"digest/file_{mib}mib: pipelined {:.0} MB/s, single-thread {:.0} MB/s",
		bytes / ours / 1e6,
		bytes / ours_simple / 1e6
	);
	match std::process::Command::new("openssl").arg("version").output() {
		Ok(o) if o.status.success() => {
			let openssl = best(&mut || {
				let out = std::process::Command::new("openssl")
					.args(["dgst", "-sha256", "-r"])
					.arg(file.path())
					.output()
					.unwrap();
				assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("{expected:x}")));
			});
			println!(
				"digest/openssl_{mib}mib: {:.0} MB/s ({}); ours/openssl = {:.2}",
				bytes / openssl / 1e6,
				String::from_utf8_lossy(&o.stdout).trim(),
				openssl / ours
			);
		},
		_ => println!("digest/openssl: openssl not found, no comparison"),
	}
}

criterion_group!(benches, merkle_benches, signing_benches);

fn main() {
	benches();
	Criterion::default().configure_from_args().final_summary();
	if std::env::args().all(|a| a != "--list") {
		digest_vs_openssl();
	}
}
