#!/usr/bin/env bash
# Regenerate pallets/attestation/src/weights.rs by running the pallet's benchmarks in the
# runtime (wasm), on this machine. Builds attest-node with `runtime-benchmarks` first.
#
#   ./scripts/benchmark-pallet.sh            # steps 50, repeat 20
#   STEPS=10 REPEAT=5 ./scripts/benchmark-pallet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attest/target}"
export WASM_BUILD_WORKSPACE_HINT="$PWD"
# The runtime wasm with the benchmarks compiled in...
cargo build --release --locked -p attest-runtime --features runtime-benchmarks
wasm="$CARGO_TARGET_DIR/release/wbuild/attest-runtime/attest_runtime.compact.compressed.wasm"
# ...and a node that can run them. SKIP_WASM_BUILD: frame-benchmarking-cli's own test runtime
# cannot be built against this workspace's lock file, and the node needs no embedded runtime
# when it is given one with --runtime.
SKIP_WASM_BUILD=1 cargo build --release --locked -p attest-node --features runtime-benchmarks
"$CARGO_TARGET_DIR/release/attest-node" benchmark pallet \
	--runtime "$wasm" \
	--genesis-builder runtime \
	--genesis-builder-preset development \
	--pallet pallet_attestation \
	--extrinsic '*' \
	--wasm-execution compiled \
	--steps "${STEPS:-50}" \
	--repeat "${REPEAT:-20}" \
	--heap-pages 4096 \
	--template .maintain/weight-template.hbs \
	--output pallets/attestation/src/weights.rs
echo "wrote pallets/attestation/src/weights.rs"
# The next normal build must not reuse the benchmark wasm: make the runtime's build script
# rebuild it.
touch runtime/build.rs
