//! Size and offline check time of format-2 proofs (issue 27's goal: < 16 KiB and < 5 ms for 3
//! authorities and no set change), for 3 and 10 authorities and 0 and 5 set changes, on the
//! made-up chain of `src/fixture.rs`. `cargo bench -p attest-finality` prints a table.

#[path = "../src/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use codec::{DecodeAll, Encode};
use std::time::{Duration, Instant};

fn main() {
	println!("| authorities | set changes | proof bytes | check p50 | check mean |");
	println!("|---:|---:|---:|---:|---:|");
	for (n, changes) in [(3, 0), (3, 5), (10, 0), (10, 5)] {
		let f = fixture::fixture_of(n, changes);
		let bytes = f.proof.encode();
		// The whole offline check: decode all the bytes, then verify.
		let check = || {
			let p = attest_finality::ProofV2::decode_all(&mut &bytes[..]).expect("decodes");
			p.verify(&f.trust, &f.digest).expect("checks");
		};
		for _ in 0..10 {
			check();
		}
		let mut times: Vec<Duration> = (0..200)
			.map(|_| {
				let t = Instant::now();
				check();
				t.elapsed()
			})
			.collect();
		times.sort();
		let mean = times.iter().sum::<Duration>() / times.len() as u32;
		println!(
			"| {n} | {changes} | {} | {:.2} ms | {:.2} ms |",
			bytes.len(),
			times[times.len() / 2].as_secs_f64() * 1e3,
			mean.as_secs_f64() * 1e3
		);
	}
}
