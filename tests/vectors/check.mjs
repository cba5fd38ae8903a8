// Independent re-check of docs/test-vectors/*.json, written from docs/protocol.md and
// docs/proof-format.md (not from the Rust code): SCALE encoding by hand, SHA-256 from
// node:crypto, signatures from @polkadot/util-crypto.
//
// Usage: npm ci && node check.mjs   (exit code 0 when every vector checks)

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { cryptoWaitReady, signatureVerify, blake2AsU8a, decodeAddress, xxhashAsU8a, ed25519Verify } from '@polkadot/util-crypto';
import { hexToU8a, u8aToHex, u8aConcat, u8aEq } from '@polkadot/util';
import {
  compact, u32, u64, u128, h256, channelState, bill, itemClaim, blobRead, verifierCall, sha256, leafHash, nodeHash, mth,
  bytesVec,
} from '../lib/attest-bytes.mjs';
import { checkProofV2, timestampKey, trustFromSpec } from '../../server/web/proof-v2.js';

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
const encoders = { ChannelState: channelState, Bill: bill, ItemClaim: itemClaim, BlobRead: blobRead, BlobWrite: blobRead, VerifierCall: verifierCall };

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

/// What the signing vectors are built from (docs/protocol.md): the bill key behind the payment
/// hash, the billed items' bytes behind the bill's range, the channel id's preimage; names are
/// unique and every vector says which party signs its kind.
function checkContext() {
  const s = JSON.parse(readFileSync(join(vectors, 'signing.json'), 'utf8'));
  const c = s.context;
  check(c !== undefined, 'signing.json has a context');
  if (!c) return;
  check(u8aToHex(sha256(h256(c.billKey))) === c.paymentHash, 'context: paymentHash = sha256(billKey)');
  const billed = c.billedItems.map((it) => sha256(bytes(it.bytesUtf8)));
  c.billedItems.forEach((it, i) => check(u8aToHex(billed[i]) === it.digest, `context: digest of billed item ${it.seq}`));
  check(u8aToHex(mth(billed.map(leafHash))) === c.billedItemsRoot, 'context: MTH of the billed items');
  const p = c.channelIdPreimage;
  const tag = bytes('attest/channel-id/v1');
  const id = u8aToHex(blake2AsU8a(u8aConcat(compact(tag.length), tag, h256(p.genesisHash), h256(p.requester), h256(p.verifier), u64(p.openNonce)), 256));
  const names = new Set();
  for (const v of s.vectors) {
    check(!names.has(v.name), `${v.name}: unique name`);
    names.add(v.name);
    check(typeof v.signedBy === 'string' && v.signedBy.length > 0, `${v.name}: says who signs it`);
    check(v.channelId === id, `${v.name}: channel id from the documented preimage`);
    const m = v.message;
    if (v.messageType === 'Bill') {
      check(m.paymentHash === c.paymentHash && m.items.root === c.billedItemsRoot
        && m.items.firstSeq === c.billedItems[0].seq && m.items.count === c.billedItems.length,
      `${v.name}: bill over the documented items and key`);
    }
    if (v.messageType === 'ItemClaim') {
      check(m.digest === c.billedItems[0].digest && m.paymentHash === c.paymentHash, `${v.name}: claim of the first billed item`);
    }
    if (v.messageType === 'ChannelState') {
      for (const h of m.htlcs) check(h.paymentHash === c.paymentHash && h.items.root === c.billedItemsRoot, `${v.name}: HTLC over the documented items and key`);
      check(m.log.size === c.log.size && m.log.root === c.log.root, `${v.name}: the documented log`);
    }
  }
}

// --- the proof bundle (docs/proof-format.md, docs/server.md) ------------------------------
const SCHEMES = ['Ed25519', 'Sr25519', 'Ecdsa'];
function multiSignature(m) {
  const [scheme, hex] = Object.entries(m)[0];
  return u8aConcat(Uint8Array.of(SCHEMES.indexOf(scheme)), hexToU8a(hex.startsWith('0x') ? hex : `0x${hex}`));
}
function multiSigner(m) {
  const [scheme, address] = Object.entries(m)[0];
  return u8aConcat(Uint8Array.of(SCHEMES.indexOf(scheme)), decodeAddress(address));
}
const option = (x, f) => (x === null || x === undefined ? Uint8Array.of(0) : u8aConcat(Uint8Array.of(1), f(x)));
const dataRef = (d) => (d.inline !== undefined
  ? u8aConcat(Uint8Array.of(0), bytesVec(hexToU8a(d.inline)))
  : u8aConcat(Uint8Array.of(1), h256(d.blob)));
const anchor = (a) => u8aConcat(h256(a.channelId), u32(a.index), u64(a.firstSeq), u64(a.log.size), h256(a.log.root), u32(a.block));
const inclusion = (p) => u8aConcat(u64(p.leafIndex), u64(p.treeSize), compact(p.path.length), ...p.path.map(h256));
const firstRecord = (r) => u8aConcat(h256(r.channelId), itemClaim(r.claim), multiSignature(r.verifierSignature), multiSigner(r.verifier));
const secondRecord = (r) => u8aConcat(h256(r.channelId), itemClaim(r.claim), dataRef(r.data), multiSignature(r.requesterSignature), multiSigner(r.requester));
const bundle = (b) => u8aConcat(anchor(b.anchor), inclusion(b.proof), option(b.firstRecord, firstRecord), option(b.secondRecord, secondRecord));

function checkProofBundle() {
  const v = JSON.parse(readFileSync(join(vectors, 'proof.json'), 'utf8'));
  for (const [name, b] of [['full', v], ['oneRecordMissing', v.oneRecordMissing]]) {
    check(b !== undefined, `proof.json: ${name} present`);
    if (!b) continue;
    check(u8aToHex(bundle(b.json)) === b.scale, `proof.json ${name}: SCALE of the JSON`);
    const p = b.json;
    const digest = (p.firstRecord ?? p.secondRecord).claim.digest;
    check(verifyInclusion(p.proof.leafIndex, p.proof.treeSize, leafHash(hexToU8a(digest)), p.proof.path.map((h) => hexToU8a(h)), hexToU8a(p.anchor.log.root)),
      `proof.json ${name}: inclusion under the anchored root`);
    for (const [r, kind, sig, signer] of [[p.firstRecord, 'attest/record1/v1', 'verifierSignature', 'verifier'], [p.secondRecord, 'attest/record2/v1', 'requesterSignature', 'requester']]) {
      if (!r) continue;
      const tag = bytes(kind);
      const payload = u8aConcat(compact(tag.length), tag, h256(v.genesis), h256(r.channelId), itemClaim(r.claim));
      const pub = decodeAddress(Object.values(r[signer])[0]);
      check(signatureVerify(payload, multiSignature(r[sig]), pub).isValid, `proof.json ${name}: ${signer}'s record signature`);
    }
  }
  check(v.oneRecordMissing?.json.secondRecord === null, 'proof.json: a missing record is JSON null');
}

// --- format-2 proofs (docs/proof-format.md, "Format 2") -----------------------------------
// The checker the verify page runs (server/web/proof-v2.js), here with Node's crypto and
// @polkadot/util-crypto's sr25519, so that the records' signatures are checked too.
const hosted = {
  blake2_256: (b) => blake2AsU8a(b, 256),
  twox128: (b) => xxhashAsU8a(b, 128),
  twox64: (b) => xxhashAsU8a(b, 64),
  sha256: (b) => sha256(b),
  ed25519Verify: (m, s, p) => ed25519Verify(m, s, p),
  verifyRecord: (payload, scheme, sig, pub) => {
    const r = signatureVerify(payload, u8aConcat(Uint8Array.of(scheme), sig), pub);
    return r.isValid && r.crypto === ['ed25519', 'sr25519', 'ecdsa'][scheme];
  },
};
async function checkProofV2Vectors() {
  const v = JSON.parse(readFileSync(join(vectors, 'proof-v2.json'), 'utf8'));
  check(v.cases.length >= 12, 'proof-v2.json: cases present');
  for (const c of v.cases) {
    const scale = hexToU8a(c.scale);
    const digest = hexToU8a(c.digest);
    let got;
    try {
      got = { valid: true, ...(await checkProofV2(scale, digest, c.trust, hosted)) };
    } catch (e) {
      got = { valid: false, why: e.message };
    }
    check(got.valid === c.expect.valid, `proof-v2 ${c.name}: ${c.expect.valid ? 'valid' : 'refused'} (${got.why ?? 'valid'})`);
    if (c.expect.valid && got.valid) {
      for (const k of ['seq', 'blockHash', 'blockNumber', 'blockTimeMs', 'setId', 'justified', 'requester', 'verifier', 'channelId']) {
        check(got[k] === c.expect[k], `proof-v2 ${c.name}: ${k} ${got[k]} = ${c.expect[k]}`);
      }
      check(got.recordsChecked === true, `proof-v2 ${c.name}: the records' signatures checked`);
      check(u8aToHex(blake2AsU8a(hexToU8a(c.parts.header), 256)) === c.parts.headerHash, `proof-v2 ${c.name}: header hash`);
      check(u8aToHex(await timestampKey(hosted)) === c.parts.timestampKey, `proof-v2 ${c.name}: timestamp key`);
      // Every 7th byte of a valid proof flipped in turn: refused.
      for (let i = 0; i < scale.length; i += 7) {
        const edited = scale.slice(); edited[i] ^= 1;
        let refused = false;
        try { await checkProofV2(edited, digest, c.trust, hosted); } catch { refused = true; }
        check(refused, `proof-v2 ${c.name}: byte ${i} flipped is refused`);
      }
    }
  }
}

// --- the trust root from a raw chain spec (the verify page's trustFromSpec) ---------------
async function checkGenesisVectors() {
  const v = JSON.parse(readFileSync(join(vectors, 'genesis.json'), 'utf8'));
  check(v.cases.length >= 2, 'genesis.json: cases present');
  for (const c of v.cases) {
    const got = await trustFromSpec(hosted, c.spec);
    check(got.genesis === c.expect.genesis, `genesis ${c.name}: genesis hash (got ${got.genesis})`);
    check(JSON.stringify(got.authorities) === JSON.stringify(c.expect.authorities), `genesis ${c.name}: authorities`);
    // Any entry's value edited, or an entry left out: another genesis.
    for (const key of Object.keys(c.spec.genesis.raw.top)) {
      const top = { ...c.spec.genesis.raw.top };
      const value = top[key];
      top[key] = value.length > 2 ? value.slice(0, -1) + ((parseInt(value.slice(-1), 16) ^ 1).toString(16)) : '0x00';
      const edited = await trustFromSpec(hosted, { genesis: { raw: { top, childrenDefault: {} } } });
      check(edited.genesis !== c.expect.genesis, `genesis ${c.name}: ${key.slice(0, 18)}... edited gives another genesis`);
      if (Object.keys(top).length > 1) {
        delete top[key];
        let other = null;
        try { other = (await trustFromSpec(hosted, { genesis: { raw: { top, childrenDefault: {} } } })).genesis; } catch { other = 'refused'; }
        check(other !== c.expect.genesis, `genesis ${c.name}: ${key.slice(0, 18)}... left out gives another genesis`);
      }
    }
  }
}

await cryptoWaitReady();
await checkGenesisVectors();
await checkProofV2Vectors();
checkProofBundle();
checkMerkle();
checkSigning();
checkChannelIds();
checkStateLogs();
checkContext();
console.log(`test vectors: ${checks - failures}/${checks} checks passed`);
process.exit(failures === 0 ? 0 : 1);
