#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, through the libfuzzer-sys crate) of what Attest chain
# takes from strangers: fuzz/fuzz_targets/*.rs. Stable Rust: the instrumentation is rustc's
# own sancov pass (the flags cargo fuzz passes; cargo fuzz run TARGET works too, on nightly).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target SECONDS (default 60), all by default
#
# First every input under fuzz/regressions/TARGET/ (crashes found before, kept as tests) and
# fuzz/corpus/TARGET/ (the checked-in seeds) is run once; then libFuzzer runs from that
# corpus for SECONDS, new inputs going to a scratch copy (fuzz/corpus is not changed; copy
# what you want to keep). A crash stops the run with its input written under $FUZZ_OUT
# (default a temporary directory), exit 1: add it to fuzz/regressions/TARGET/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(merkle proof_v1 proof_v2 proof_file_json messages runtime)
base=${CARGO_TARGET_DIR:-$HOME/.cache/attest/target}
export CARGO_TARGET_DIR="${ATTEST_FUZZ_TARGET_DIR:-$(dirname "$base")/fuzz-target}"
host=$(rustc -vV | sed -n 's/^host: //p')
# As cargo fuzz: libFuzzer's coverage counters, comparison tracing, and the checks a
# release build drops. Only the targets' crates get them (--target keeps build scripts out).
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
echo "==> building the fuzz targets (instrumented, in $CARGO_TARGET_DIR)" >&2
cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$host" --bins
bin="$CARGO_TARGET_DIR/$host/release"
out=${FUZZ_OUT:-$(mktemp -d)}
mkdir -p "$out"
for t in "${targets[@]}"; do
	[ -x "$bin/$t" ] || { echo "error: no fuzz target $t (fuzz/fuzz_targets/)" >&2; exit 2; }
	known=()
	for d in fuzz/regressions/$t fuzz/corpus/$t; do
		[ -d "$d" ] && known+=("$d")
	done
	if [ ${#known[@]} -gt 0 ]; then
		# Each file once (a directory argument would start fuzzing).
		find "${known[@]}" -type f -print0 | xargs -0 -r "$bin/$t" -runs=1 >"$out/$t.known.log" 2>&1 ||
			{ tail -40 "$out/$t.known.log" >&2; echo "error: $t fails on a known input ($out/$t.known.log)" >&2; exit 1; }
	fi
	mkdir -p "$out/corpus/$t"
	[ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$out/corpus/$t/"
	log="$out/$t.log"
	if ! "$bin/$t" "$out/corpus/$t" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$out/$t-" >"$log" 2>&1; then
		tail -40 "$log" >&2
		echo "error: fuzz target $t crashed; its input: $(ls "$out/$t-"* 2>/dev/null | head -1)" >&2
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corpus=$(find "$out/corpus/$t" -type f | wc -l)
	echo "fuzz $t: ${runs:-?} executions in ${secs} s, coverage ${cov:-?} edges, corpus $corpus inputs, no crash"
done
