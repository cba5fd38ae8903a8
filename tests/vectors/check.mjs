// Independent re-check of docs/test-vectors/*.json, written from docs/protocol.md and
// docs/proof-format.md (not from the Rust code): SCALE encoding by hand, SHA-256 from
// node:crypto, signatures from @polkadot/util-crypto.
//
// Usage: npm ci && node check.mjs   (exit code 0 when every vector checks)

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cryptoWaitReady, signatureVerify, blake2AsU8a } from '@polkadot/util-crypto';
import { hexToU8a, u8aToHex, u8aConcat, u8aEq } from '@polkadot/util';
import {
  compact, u32, u64, u128, h256, channelState, bill, itemClaim, blobRead, sha256, leafHash, nodeHash, mth,
} from '../lib/attest-bytes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const vectors = join(here, '..', '..', 'docs', 'test-vectors');
let checks = 0;
let failures = 0;
function check(ok, what) {
  checks += 1;
  if (!ok) {
    failures += 1;
    console.error(`FAIL: ${what}`);
  }
}

const bytes = (s) => new TextEncoder().encode(s);
const encoders = { ChannelState: channelState, Bill: bill, ItemClaim: itemClaim, BlobRead: blobRead, BlobWrite: blobRead };

// --- Merkle proof checks (RFC 9162) -------------------------------------------------------
function verifyInclusion(index, size, leaf, path, root) {
  index = BigInt(index); size = BigInt(size);
  if (index >= size) return false;
  let fn = index, sn = size - 1n, r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && u8aEq(r, root);
}
function verifyConsistency(first, second, firstRoot, secondRoot, path) {
  first = BigInt(first); second = BigInt(second);
  if (first === 0n || first > second) return false;
  if (first === second) return path.length === 0 && u8aEq(firstRoot, secondRoot);
  let c = [...path];
  if ((first & (first - 1n)) === 0n) c = [firstRoot, ...c];
  if (c.length === 0) return false;
  let fn = first - 1n, sn = second - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = c[0], sr = c[0];
  for (const x of c.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(x, fr); sr = nodeHash(x, sr);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = nodeHash(sr, x);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && u8aEq(fr, firstRoot) && u8aEq(sr, secondRoot);
}
const itemDigest = (i) => sha256(u64(i));

function checkMerkle() {
  const m = JSON.parse(readFileSync(join(vectors, 'merkle.json'), 'utf8'));
  for (const t of m.small) {
    const digests = t.digests.map((h) => hexToU8a(h));
    digests.forEach((d, i) => check(u8aEq(d, itemDigest(i)), `small ${t.treeSize}: digest ${i}`));
    const leaves = digests.map(leafHash);
    const root = hexToU8a(t.root);
    check(u8aEq(mth(leaves), root), `small ${t.treeSize}: root`);
    for (const p of t.inclusion) {
      const path = p.path.map((h) => hexToU8a(h));
      check(verifyInclusion(p.leafIndex, t.treeSize, leaves[p.leafIndex], path, root),
        `small ${t.treeSize}: inclusion of ${p.leafIndex}`);
      // Tampering must fail: another leaf, or a flipped bit in the path.
      if (t.treeSize > 1) {
        const other = leaves[(p.leafIndex + 1) % t.treeSize];
        check(!verifyInclusion(p.leafIndex, t.treeSize, other, path, root),
          `small ${t.treeSize}: inclusion of ${p.leafIndex} rejects another leaf`);
      }
    }
    for (const p of t.consistency) {
      const firstRoot = hexToU8a(p.firstRoot);
      check(u8aEq(mth(leaves.slice(0, p.firstSize)), firstRoot), `small ${t.treeSize}: root of first ${p.firstSize}`);
      check(verifyConsistency(p.firstSize, t.treeSize, firstRoot, root, p.path.map((h) => hexToU8a(h))),
        `small ${t.treeSize}: consistency from ${p.firstSize}`);
    }
  }
  for (const t of m.large) {
    const root = hexToU8a(t.root);
    const leaves = Array.from({ length: t.treeSize }, (_, i) => leafHash(itemDigest(i)));
    check(u8aEq(mth(leaves), root), `large ${t.treeSize}: root`);
    for (const p of t.inclusion) {
      check(u8aEq(hexToU8a(p.digest), itemDigest(p.leafIndex)), `large ${t.treeSize}: digest ${p.leafIndex}`);
      check(verifyInclusion(p.leafIndex, t.treeSize, leafHash(hexToU8a(p.digest)), p.path.map((h) => hexToU8a(h)), root),
        `large ${t.treeSize}: inclusion of ${p.leafIndex}`);
    }
    for (const p of t.consistency) {
      const firstRoot = hexToU8a(p.firstRoot);
      check(u8aEq(mth(leaves.slice(0, p.firstSize)), firstRoot), `large ${t.treeSize}: root of first ${p.firstSize}`);
      check(verifyConsistency(p.firstSize, t.treeSize, firstRoot, root, p.path.map((h) => hexToU8a(h))),
        `large ${t.treeSize}: consistency from ${p.firstSize}`);
    }
  }
}

function checkSigning() {
  const s = JSON.parse(readFileSync(join(vectors, 'signing.json'), 'utf8'));
  for (const v of s.vectors) {
    const encode = encoders[v.messageType];
    check(encode !== undefined, `${v.name}: known message type ${v.messageType}`);
    if (!encode) continue;
    const message = encode(v.message);
    check(u8aToHex(message) === v.messageScale, `${v.name}: message SCALE`);
    const tag = bytes(v.kind);
    const payload = u8aConcat(compact(tag.length), tag, h256(v.genesisHash), h256(v.channelId), message);
    check(u8aToHex(payload) === v.payload, `${v.name}: payload bytes`);
    const pub = hexToU8a(v.publicKey);
    const account = v.scheme === 'ecdsa' ? blake2AsU8a(pub, 256) : pub;
    check(u8aToHex(account) === v.accountId, `${v.name}: account id`);
    const result = signatureVerify(payload, hexToU8a(v.multiSignature), pub);
    check(result.isValid && result.crypto === v.scheme, `${v.name}: ${v.scheme} signature verifies`);
    // The same signature under another kind tag must not verify.
    const otherTag = bytes(v.kind === 'attest/bill/v1' ? 'attest/state/v2' : 'attest/bill/v1');
    const other = u8aConcat(compact(otherTag.length), otherTag, h256(v.genesisHash), h256(v.channelId), message);
    check(!signatureVerify(other, hexToU8a(v.multiSignature), pub).isValid, `${v.name}: rejected under another kind`);
    // Nor under another genesis hash.
    const g = h256(v.genesisHash).slice(); g[0] ^= 1;
    const otherChain = u8aConcat(compact(tag.length), tag, g, h256(v.channelId), message);
    check(!signatureVerify(otherChain, hexToU8a(v.multiSignature), pub).isValid, `${v.name}: rejected on another chain`);
  }
}

function checkChannelIds() {
  const s = JSON.parse(readFileSync(join(vectors, 'signing.json'), 'utf8'));
  check(Array.isArray(s.channelIds) && s.channelIds.length > 0, 'channel-id vectors present');
  for (const c of s.channelIds ?? []) {
    const tag = bytes('attest/channel-id/v1');
    const preimage = u8aConcat(compact(tag.length), tag, h256(c.genesisHash), h256(c.requester), h256(c.verifier), u64(c.openNonce));
    check(u8aToHex(preimage) === c.preimage, `channel id ${c.openNonce}: preimage bytes`);
    check(u8aToHex(blake2AsU8a(preimage, 256)) === c.channelId, `channel id ${c.openNonce}: blake2_256 of the preimage`);
  }
}

/// A state's log must extend the log of every earlier anchor: check the sample state's log
/// root from the documented item digests.
function checkStateLogs() {
  const s = JSON.parse(readFileSync(join(vectors, 'signing.json'), 'utf8'));
  for (const v of s.vectors.filter((v) => v.messageType === 'ChannelState')) {
    const log = v.message.log;
    const digests = [];
    for (let i = 0; i < log.size - 2; i++) digests.push(itemDigest(i));
    digests.push(sha256(bytes('hello world\n')), sha256(bytes('second item')));
    check(u8aToHex(mth(digests.map(leafHash))) === log.root, `${v.name}: log root over the documented items`);
  }
}

await cryptoWaitReady();
checkMerkle();
checkSigning();
checkChannelIds();
checkStateLogs();
console.log(`test vectors: ${checks - failures}/${checks} checks passed`);
process.exit(failures === 0 ? 0 : 1);
