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
