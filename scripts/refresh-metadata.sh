#!/usr/bin/env bash
# Rewrite chain/metadata/attest.scale (from which attest-chain generates its typed calls) with
# the metadata of the runtime as built now: builds the node, starts a dev node, asks it.
# Run after changing the runtime or the pallet's calls, events or storage, and after every
# spec_version bump (the System.Version constant is part of the metadata), then commit the file.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/attest/target}"
export WASM_BUILD_WORKSPACE_HINT="$PWD"
# The node's networking compiles protobuf files: a vendored protoc when none is installed (as ./x).
if [ -z "${PROTOC:-}" ] && ! command -v protoc >/dev/null; then
	PROTOC=$(cargo run -q --release --locked -p attest-protoc)
	export PROTOC
fi
cargo build --release --locked -p attest-node
ATTEST_UPDATE_METADATA=1 cargo test --release --locked -p attest-chain --test metadata -- --nocapture
