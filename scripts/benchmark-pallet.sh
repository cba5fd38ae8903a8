#!/usr/bin/env bash
# Regenerate a pallet's weights.rs by running its benchmarks in the runtime (wasm), on this
# machine. Builds attest-node with `runtime-benchmarks` first.
#
#   ./scripts/benchmark-pallet.sh                                # pallet_attestation, steps 50, repeat 20
#   PALLET=pallet_validator_set ./scripts/benchmark-pallet.sh    # pallets/validator-set/src/weights.rs
#   STEPS=10 REPEAT=5 ./scripts/benchmark-pallet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PALLET="${PALLET:-pallet_attestation}"
case "$PALLET" in
pallet_attestation) OUT=pallets/attestation/src/weights.rs ;;
pallet_validator_set) OUT=pallets/validator-set/src/weights.rs ;;
*) echo "unknown pallet $PALLET (pallet_attestation or pallet_validator_set)" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attest/target}"
export WASM_BUILD_WORKSPACE_HINT="$PWD"
# The node's networking compiles protobuf files: a vendored protoc when none is installed (as ./x).
if [ -z "${PROTOC:-}" ] && ! command -v protoc >/dev/null; then
	PROTOC=$(cargo run -q --release --locked -p attest-protoc)
	export PROTOC
fi
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
	--pallet "$PALLET" \
	--extrinsic '*' \
	--wasm-execution compiled \
	--steps "${STEPS:-50}" \
	--repeat "${REPEAT:-20}" \
	--heap-pages 4096 \
	--template .maintain/weight-template.hbs \
	--output "$OUT"
echo "wrote $OUT"
# The next normal build must not reuse the benchmark wasm: make the runtime's build script
# rebuild it.
touch runtime/build.rs
