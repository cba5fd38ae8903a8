// An independent checker of format-2 proofs (docs/proof-format.md, "Format 2" and "The checks,
// in order"), written from the docs, not from the Rust code: a SCALE reader, header hashing,
// GRANDPA justifications (ed25519 precommits, > 2/3 of the set's weight), authority-set
// changes, Substrate trie read proofs (state version 1), the channel-id derivation and the
// records' signatures. Used by check.mjs on docs/test-vectors/proof-v2.json.

import { blake2AsU8a, signatureVerify, ed25519Verify, xxhashAsU8a } from '@polkadot/util-crypto';
import { u8aToHex, u8aEq, u8aConcat, hexToU8a } from '@polkadot/util';
import { compact, u32, u64, itemClaim, leafHash, nodeHash, sha256 } from '../lib/attest-bytes.mjs';

const blake2 = (b) => blake2AsU8a(b, 256);
const te = new TextEncoder();
const GRANDPA = te.encode('FRNK');

class Reader {
  constructor(bytes) { this.b = bytes; this.i = 0; }
  take(n) {
    if (this.i + n > this.b.length) throw new Error('truncated');
    const out = this.b.subarray(this.i, this.i + n); this.i += n; return out;
  }
  u8() { return this.take(1)[0]; }
  uint(n) { let v = 0n; const b = this.take(n); for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]); return v; }
  u32() { return Number(this.uint(4)); }
  u64() { return this.uint(8); }
  compact() {
    const b0 = this.b[this.i];
    switch (b0 & 3) {
      case 0: this.i += 1; return BigInt(b0 >> 2);
      case 1: return this.uint(2) >> 2n;
      case 2: return this.uint(4) >> 2n;
      default: { this.i += 1; return this.uint((b0 >> 2) + 4); }
    }
  }
  len() { const n = this.compact(); if (n > BigInt(this.b.length)) throw new Error('length'); return Number(n); }
  bytes() { return this.take(this.len()); }
  vec(f) { const n = this.len(); const out = []; for (let k = 0; k < n; k++) out.push(f(this)); return out; }
  option(f) { const t = this.u8(); if (t === 0) return null; if (t === 1) return f(this); throw new Error('option tag'); }
  h256() { return this.take(32); }
  done() { if (this.i !== this.b.length) throw new Error('bytes after the proof'); }
}

// --- the item's bundle ---------------------------------------------------------------------
const SIG_LEN = [64, 64, 65];
const KEY_LEN = [32, 32, 33];
function multi(r, lens) { const t = r.u8(); if (t > 2) throw new Error('scheme'); return { scheme: t, bytes: r.take(lens[t]) }; }
const accountOf = (signer) => (signer.scheme === 2 ? blake2(signer.bytes) : signer.bytes);
function claim(r) { return { seq: r.u64(), digest: r.h256(), paymentHash: r.h256() }; }
function firstRecord(r) { return { channelId: r.h256(), claim: claim(r), signature: multi(r, SIG_LEN), signer: multi(r, KEY_LEN) }; }
function secondRecord(r) {
  const channelId = r.h256(); const c = claim(r);
  const t = r.u8();
  const data = t === 0 ? { inline: r.bytes() } : t === 1 ? { blob: r.h256() } : (() => { throw new Error('data ref'); })();
  return { channelId, claim: c, data, signature: multi(r, SIG_LEN), signer: multi(r, KEY_LEN) };
}
function item(r) {
  const anchor = { channelId: r.h256(), index: r.u32(), firstSeq: r.u64(), size: r.u64(), root: r.h256(), block: r.u32() };
  const proof = { leafIndex: r.u64(), treeSize: r.u64(), path: r.vec((x) => x.h256()) };
  return { anchor, proof, verifier: r.option(firstRecord), requester: r.option(secondRecord) };
}

// --- headers and justifications --------------------------------------------------------------
function header(r) {
  const start = r.i;
  const parentHash = r.h256(); const number = Number(r.compact()); const stateRoot = r.h256(); r.h256();
  const logs = r.vec((x) => {
    const t = x.u8();
    if (t === 4 || t === 5 || t === 6) return { kind: t, engine: x.take(4), data: x.bytes() };
    if (t === 0) return { kind: t, data: x.bytes() };
    if (t === 8) return { kind: t };
    throw new Error('digest item');
  });
  return { parentHash, number, stateRoot, logs, hash: blake2(r.b.subarray(start, r.i)) };
}
function justification(r) {
  const round = r.u64(); const targetHash = r.h256(); const targetNumber = r.u32();
  const precommits = r.vec((x) => ({ hash: x.h256(), number: x.u32(), signature: x.take(64), id: x.take(32) }));
  return { round, targetHash, targetNumber, precommits, ancestries: r.vec(header) };
}
function authorities(r) { return r.vec((x) => ({ id: x.take(32), weight: x.u64() })); }
// The GRANDPA change a header schedules: its next set, or null; a forced or delayed one throws.
function scheduledChange(h) {
  let next = null;
  for (const log of h.logs) {
    if (log.kind !== 4 || !u8aEq(log.engine, GRANDPA)) continue;
    const r = new Reader(log.data);
    const t = r.u8();
    if (t === 1) {
      const list = authorities(r); const delay = r.u32();
      if (delay !== 0) throw new Error(`block ${h.number} schedules a delayed change`);
      if (next === null) next = list;
    } else if (t === 2) throw new Error(`block ${h.number} forces a change`);
  }
  return next;
}
function verifyJustification(j, setId, set) {
  if (j.precommits.length === 0) throw new Error('no precommits');
  const total = set.reduce((a, s) => a + s.weight, 0n);
  const seen = new Set();
  const byHash = new Map(j.ancestries.map((h) => [u8aToHex(h.hash), h]));
  const used = new Set();
  let weight = 0n;
  for (const p of j.precommits) {
    const member = set.find((s) => u8aEq(s.id, p.id));
    if (!member) throw new Error('a precommit by a key outside the set');
    if (seen.has(u8aToHex(p.id))) throw new Error('a voter twice');
    seen.add(u8aToHex(p.id));
    // SCALE(Message::Precommit(precommit), round, set_id): Precommit is variant 1.
    const payload = u8aConcat(Uint8Array.of(1), p.hash, u32(p.number), u64(j.round), u64(setId));
    if (!ed25519Verify(payload, p.signature, p.id)) throw new Error('a bad precommit signature');
    // Its target must be the commit's target or descend from it through the ancestries.
    let at = p.hash; let steps = 0;
    while (!u8aEq(at, j.targetHash)) {
      const h = byHash.get(u8aToHex(at));
      if (!h || ++steps > byHash.size) throw new Error('a precommit not linked to the target');
      used.add(u8aToHex(at)); at = h.parentHash;
    }
    weight += member.weight;
  }
  if (used.size !== byHash.size) throw new Error('ancestry headers no precommit needs');
  const threshold = total - (total - 1n) / 3n;
  if (weight < threshold) throw new Error('not more than 2/3 of the weight');
}

// --- trie read proofs (sp-trie NodeCodec, state version 1) ----------------------------------
function nibbles(bytes) { const out = []; for (const b of bytes) out.push(b >> 4, b & 15); return out; }
function decodeNode(bytes) {
  const r = new Reader(bytes);
  const h = r.u8();
  if (h === 0) return { kind: 'empty' };
  let kind; let bits;
  if ((h >> 6) === 1) { kind = 'leaf'; bits = 6; } else if ((h >> 6) === 2) { kind = 'branch'; bits = 6; } else if ((h >> 6) === 3) { kind = 'branchValue'; bits = 6; } else if ((h >> 5) === 1) { kind = 'leafHashed'; bits = 5; } else if ((h >> 4) === 1) { kind = 'branchHashed'; bits = 4; } else throw new Error('node header');
  const mask = (1 << bits) - 1;
  let count = h & mask;
  if (count === mask) { let b; do { b = r.u8(); count += b; } while (b === 255); }
  const keyBytes = r.take(Math.ceil(count / 2));
  const partial = nibbles(keyBytes).slice(count % 2 === 1 ? 1 : 0);
  const node = { kind, partial };
  if (kind === 'leaf') node.value = r.bytes();
  else if (kind === 'leafHashed') node.valueHash = r.h256();
  else {
    const bitmap = r.take(2); const map = bitmap[0] | (bitmap[1] << 8);
    if (kind === 'branchValue') node.value = r.bytes();
    if (kind === 'branchHashed') node.valueHash = r.h256();
    node.children = [];
    for (let k = 0; k < 16; k++) node.children.push((map >> k) & 1 ? r.bytes() : null);
  }
  r.done();
  return node;
}
// The value of `key` under `root`, null if the proof shows it absent; throws when the proof
// does not reach it.
function readProof(root, nodes, key) {
  const db = new Map(nodes.map((n) => [u8aToHex(blake2(n)), n]));
  const get = (hash) => { const n = db.get(u8aToHex(hash)); if (!n) throw new Error('the storage proof does not reach the key'); return n; };
  let node = decodeNode(get(root));
  const path = nibbles(key);
  let i = 0;
  for (;;) {
    const p = node.partial ?? [];
    if (node.kind === 'empty' || p.some((x, k) => path[i + k] !== x)) return null;
    i += p.length;
    const value = () => (node.valueHash ? get(node.valueHash) : node.value ?? null);
    if (node.kind === 'leaf' || node.kind === 'leafHashed') return i === path.length ? value() : null;
    if (i === path.length) return value();
    const child = node.children[path[i]]; i += 1;
    if (!child) return null;
    node = decodeNode(child.length === 32 ? get(child) : child);
  }
}

// --- the whole check -----------------------------------------------------------------------
function verifyInclusion(index, size, leaf, path, root) {
  if (index >= size) return false;
  let fn = index; let sn = size - 1n; let r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) { r = nodeHash(p, r); while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } } else r = nodeHash(r, p);
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && u8aEq(r, root);
}
// Storage keys (docs/proof-format.md, step 4): twox128 of pallet and item names, then the map
// keys (the anchor index hashed with twox64 and appended).
const twox128 = (s) => xxhashAsU8a(te.encode(s), 128);
export const anchorKey = (channelId, index) => u8aConcat(twox128('Attestation'), twox128('Anchors'), channelId, xxhashAsU8a(u32(index), 64), u32(index));
export const timestampKey = () => u8aConcat(twox128('Timestamp'), twox128('Now'));

/// Check `scale` (a ProofV2) for `digest` against `trust` ({genesis, authorities}); returns
/// what it proves or throws saying what failed.
export function checkProofV2(scale, digest, trust) {
  const r = new Reader(scale);
  const it = item(r);
  const binding = { requester: r.take(32), verifier: r.take(32), openNonce: r.u64() };
  const anchorHeader = header(r);
  const storage = r.vec((x) => x.bytes());
  const finality = r.option((x) => ({
    changes: x.vec((y) => ({ header: header(y), justification: justification(y) })),
    descendants: x.vec(header),
    justification: justification(x),
  }));
  r.done();
  const genesis = hexToU8a(trust.genesis);
  const a = it.anchor;
  // 1. The bundle.
  for (const [rec, kind, name] of [[it.verifier, 'attest/record1/v1', 'verifier'], [it.requester, 'attest/record2/v1', 'requester']]) {
    if (!rec) continue;
    if (!u8aEq(rec.channelId, a.channelId) || rec.claim.seq !== it.proof.leafIndex || !u8aEq(rec.claim.digest, digest)) throw new Error(`the ${name}'s record claims another item`);
    const tag = te.encode(kind);
    const payload = u8aConcat(compact(tag.length), tag, genesis, rec.channelId, itemClaim({ seq: Number(rec.claim.seq), digest: u8aToHex(rec.claim.digest), paymentHash: u8aToHex(rec.claim.paymentHash) }));
    const sig = u8aConcat(Uint8Array.of(rec.signature.scheme), rec.signature.bytes);
    const v = signatureVerify(payload, sig, rec.signer.bytes);
    if (!v.isValid || ['ed25519', 'sr25519', 'ecdsa'][rec.signer.scheme] !== v.crypto) throw new Error(`the ${name}'s record signature`);
    if (rec.data && !(rec.data.blob ? u8aEq(rec.data.blob, digest) : u8aEq(sha256(rec.data.inline), digest))) throw new Error('the data reference');
  }
  if (it.proof.treeSize !== a.size || it.proof.leafIndex < a.firstSeq || it.proof.leafIndex >= a.size) throw new Error('the position');
  if (!verifyInclusion(it.proof.leafIndex, it.proof.treeSize, leafHash(digest), it.proof.path, a.root)) throw new Error('the inclusion path');
  // 2. The channel is the parties'.
  const tag = te.encode('attest/channel-id/v1');
  const id = blake2(u8aConcat(compact(tag.length), tag, genesis, binding.requester, binding.verifier, u64(binding.openNonce)));
  if (!u8aEq(id, a.channelId)) throw new Error('the channel id is not the parties\'');
  if (it.verifier && !u8aEq(accountOf(it.verifier.signer), binding.verifier)) throw new Error('the verifier\'s record signer');
  if (it.requester && !u8aEq(accountOf(it.requester.signer), binding.requester)) throw new Error('the requester\'s record signer');
  // 3, 4. The header is the anchor block's, whose state holds the anchor and the time.
  if (anchorHeader.number !== a.block) throw new Error('the header is of another block');
  const stored = readProof(anchorHeader.stateRoot, storage, anchorKey(a.channelId, a.index));
  if (!stored) throw new Error('no anchor in the block\'s state');
  const expected = u8aConcat(u64(a.firstSeq), u64(a.size), a.root, u32(a.block));
  if (!u8aEq(stored, expected)) throw new Error('the stored anchor differs');
  const time = readProof(anchorHeader.stateRoot, storage, timestampKey());
  if (!time || time.length !== 8) throw new Error('no block time');
  // 5. Finality from the genesis set.
  if (!finality) throw new Error('no finality');
  let setId = 0n;
  let set = trust.authorities.map((x) => ({ id: hexToU8a(x.id), weight: BigInt(x.weight) }));
  let last = -1;
  for (const c of finality.changes) {
    if (c.header.number <= last) throw new Error('set changes out of order');
    verifyJustification(c.justification, setId, set);
    if (!u8aEq(c.justification.targetHash, c.header.hash) || c.justification.targetNumber !== c.header.number) throw new Error('a set change justifies another block');
    const next = scheduledChange(c.header);
    if (!next) throw new Error('a set change schedules nothing');
    set = next; setId += 1n; last = c.header.number;
  }
  if (anchorHeader.number <= last) throw new Error('the anchor block is before the last set change');
  let prev = anchorHeader;
  for (const h of finality.descendants) {
    if (scheduledChange(prev)) throw new Error('a set change between the anchor and the justified block');
    if (!u8aEq(h.parentHash, prev.hash) || h.number !== prev.number + 1) throw new Error('a broken header link');
    prev = h;
  }
  const j = finality.justification;
  if (!u8aEq(j.targetHash, prev.hash) || j.targetNumber !== prev.number) throw new Error('the justification is of another block');
  scheduledChange(prev);
  verifyJustification(j, setId, set);
  return {
    seq: Number(it.proof.leafIndex), blockHash: u8aToHex(anchorHeader.hash), blockNumber: a.block,
    blockTimeMs: Number(new Reader(time).u64()), setId: Number(setId), justified: j.targetNumber,
    requester: u8aToHex(binding.requester), verifier: u8aToHex(binding.verifier), channelId: u8aToHex(a.channelId),
  };
}
