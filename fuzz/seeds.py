#!/usr/bin/env python3
"""Write the fuzz targets' seed corpus (fuzz/corpus/<target>/) from docs/test-vectors/: the
valid and refused proofs, the signed messages in SCALE and JSON, an exported proof file.
Run after the vectors change; the corpus is checked in."""
import hashlib
import json
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
vectors = os.path.join(root, "docs", "test-vectors")
out = os.path.join(root, "fuzz", "corpus")


def unhex(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def write(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


v2 = json.load(open(os.path.join(vectors, "proof-v2.json")))
for case in v2["cases"]:
    write("proof_v2", unhex(case["scale"]))

v1 = json.load(open(os.path.join(vectors, "proof.json")))
write("proof_v1", unhex(v1["scale"]))
write("proof_v1", unhex(v1["oneRecordMissing"]["scale"]))
for proof in (v1, v1["oneRecordMissing"]):
    f = {"genesis": v1["genesis"], "blockHash": "0x" + "42" * 32, "blockTime": 1790000000000,
         "proof": proof["json"], "scale": proof["scale"]}
    write("proof_file_json", json.dumps(f).encode())

# messages: the first byte picks the type (fuzz_targets/messages.rs).
kinds = {"attest/state/v2": (0, 6), "attest/bill/v1": (1, 7)}
signing = json.load(open(os.path.join(vectors, "signing.json")))
for vec in signing["vectors"]:
    scale_kind, json_kind = kinds.get(vec["kind"], (None, None))
    if scale_kind is None:
        continue
    write("messages", bytes([scale_kind]) + unhex(vec["messageScale"]))
    write("messages", bytes([json_kind]) + json.dumps(vec["message"]).encode())

# merkle: sizes 1..70, positions, edits.
for n in (0, 1, 2, 3, 6, 7, 31, 64, 69):
    write("merkle", bytes([n, n // 2, n // 3, 1, 0]) + bytes(range(16)))
print("seeds written under", out, file=sys.stderr)

# The runtime target: call sequences as harness.rs `Op::take` reads them (a tag byte % 11, then
# the call's bytes): an honest history and a few with closes, challenges and HTLCs.
OPEN, FUND, CHECKPOINT, COOP, ALONE, CHALLENGE, REVEAL, ADVANCE, SETTLE, CLAIM, REFUND = range(11)
runtime_seeds = [
    [OPEN, 0x10, 0x27, CHECKPOINT, 0, 0x00, 0x80, 1, REVEAL, 0, 0, COOP, 0, 0xff, 0x7f, 2],
    [OPEN, 0x00, 0x10, OPEN, 0x00, 0x20, CHECKPOINT, 1, 0x00, 0x40, 2, ALONE, 1, 1, 0,
     CHALLENGE, 1, 0x00, 0x20, 1, ADVANCE, 28, ADVANCE, 28, SETTLE, 1, CLAIM, 0, 0, REFUND, 0, 1],
    [OPEN, 0x50, 0x00, FUND, 0, 1, 0x10, 0x00, CHECKPOINT, 0, 0x10, 0x10, 2, ALONE, 0, 0, 3,
     ADVANCE, 28, ADVANCE, 28, SETTLE, 0, ADVANCE, 28, REFUND, 0, 0, REFUND, 0, 1],
]
for seq in runtime_seeds:
    write("runtime", bytes(seq))
