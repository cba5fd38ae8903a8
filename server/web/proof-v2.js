// Checker of format-2 proofs (docs/proof-format.md, "Format 2" and "The checks, in order"),
// written from the docs, not from the Rust code, with no dependencies: the verify page loads it
// from the attestation server (`/proof-v2.js`) and tests/vectors/check.mjs runs it on
// docs/test-vectors/proof-v2.json, so the browser's check is the one re-checked against the
// vectors. A SCALE reader, header hashing, GRANDPA justifications (ed25519 precommits, > 2/3
// of the set's weight), authority-set changes, Substrate trie read proofs (state version 1),
// the channel-id derivation, the inclusion path and (where the host can) the records'
// signatures.
//
// The host gives the hashes and signature checks (`c`), each returning a value or a promise:
// blake2_256(bytes), twox128(bytes), twox64(bytes), sha256(bytes) (Uint8Array results),
// ed25519Verify(message, signature, publicKey) (bool), and verifyRecord(payload, scheme,
// signature, publicKey) (bool; scheme 0 ed25519, 1 sr25519, 2 ecdsa), or null where the host
// has no sr25519 (the browser): then the records' signatures are not checked here and the
// answer says so (`recordsChecked: false`).

const te = new TextEncoder();
const GRANDPA = te.encode('FRNK');
export const hex = (b) => '0x' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export const unhex = (s) => {
  const h = s.startsWith('0x') ? s.slice(2) : s;
  if (!/^([0-9a-fA-F]{2})*$/.test(h)) throw new Error('not hex');
  return Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
};
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const le = (v, n) => Uint8Array.from({ length: n }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
const u32 = (v) => le(v, 4);
const u64 = (v) => le(v, 8);
function compact(n) {
  n = BigInt(n);
  if (n < 64n) return Uint8Array.of(Number(n << 2n));
  if (n < 1n << 14n) return le(n << 2n | 1n, 2);
  if (n < 1n << 30n) return le(n << 2n | 2n, 4);
  const bytes = [];
  for (let v = n; v > 0n; v >>= 8n) bytes.push(Number(v & 0xffn));
  return Uint8Array.from([((bytes.length - 4) << 2) | 3, ...bytes]);
}

class Reader {
  constructor(bytes) { this.b = bytes; this.i = 0; }
  take(n) {
    if (this.i + n > this.b.length) throw new Error('the proof is cut short');
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
  len() { const n = this.compact(); if (n > BigInt(this.b.length)) throw new Error('a length beyond the proof'); return Number(n); }
  bytes() { return this.take(this.len()); }
  vec(f) { const n = this.len(); const out = []; for (let k = 0; k < n; k++) out.push(f(this)); return out; }
  option(f) { const t = this.u8(); if (t === 0) return null; if (t === 1) return f(this); throw new Error('a bad option tag'); }
  h256() { return this.take(32); }
  done() { if (this.i !== this.b.length) throw new Error('bytes after the proof'); }
}

// --- the item's bundle ---------------------------------------------------------------------
const SIG_LEN = [64, 64, 65];
const KEY_LEN = [32, 32, 33];
function multi(r, lens) { const t = r.u8(); if (t > 2) throw new Error('an unknown signature scheme'); return { scheme: t, bytes: r.take(lens[t]) }; }
function claim(r) { return { seq: r.u64(), digest: r.h256(), paymentHash: r.h256() }; }
function firstRecord(r) { return { channelId: r.h256(), claim: claim(r), signature: multi(r, SIG_LEN), signer: multi(r, KEY_LEN) }; }
function secondRecord(r) {
  const channelId = r.h256(); const c = claim(r);
  const t = r.u8();
  if (t > 1) throw new Error('an unknown data reference');
  const data = t === 0 ? { inline: r.bytes() } : { blob: r.h256() };
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
    throw new Error('an unknown digest item');
  });
  return { parentHash, number, stateRoot, logs, raw: r.b.subarray(start, r.i) };
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
    if (log.kind !== 4 || !eq(log.engine, GRANDPA)) continue;
    const r = new Reader(log.data);
    const t = r.u8();
    if (t === 1) {
      const list = authorities(r); const delay = r.u32();
      if (delay !== 0) throw new Error(`block ${h.number} schedules a delayed authority-set change`);
      if (next === null) next = list;
    } else if (t === 2) throw new Error(`block ${h.number} forces an authority-set change`);
  }
  return next;
}
async function hashHeaders(c, headers) { for (const h of headers) h.hash = await c.blake2_256(h.raw); }

async function verifyJustification(c, j, setId, set, what) {
  if (j.precommits.length === 0) throw new Error(`${what}: no precommits`);
  await hashHeaders(c, j.ancestries);
  const total = set.reduce((a, s) => a + s.weight, 0n);
  const seen = new Set();
  const byHash = new Map(j.ancestries.map((h) => [hex(h.hash), h]));
  const used = new Set();
  let weight = 0n;
  for (const p of j.precommits) {
    const member = set.find((s) => eq(s.id, p.id));
    if (!member) throw new Error(`${what}: a precommit by a key outside the authority set`);
    if (seen.has(hex(p.id))) throw new Error(`${what}: a voter precommits twice`);
    seen.add(hex(p.id));
    // SCALE(Message::Precommit(precommit), round, set_id): Precommit is variant 1.
    const payload = concat(Uint8Array.of(1), p.hash, u32(p.number), u64(j.round), u64(setId));
    if (!(await c.ed25519Verify(payload, p.signature, p.id))) throw new Error(`${what}: a bad precommit signature for set ${setId}`);
    // Its target must be the commit's target or descend from it through the ancestries.
    let at = p.hash; let steps = 0;
    while (!eq(at, j.targetHash)) {
      const h = byHash.get(hex(at));
      if (!h || ++steps > byHash.size) throw new Error(`${what}: a precommit not linked to the target`);
      used.add(hex(at)); at = h.parentHash;
    }
    weight += member.weight;
  }
  if (used.size !== byHash.size) throw new Error(`${what}: headers no precommit needs`);
  if (weight < total - (total - 1n) / 3n) throw new Error(`${what}: precommits of not more than 2/3 of the set's weight`);
}

// --- trie read proofs (sp-trie NodeCodec, state version 1) ----------------------------------
function nibbles(bytes) { const out = []; for (const b of bytes) out.push(b >> 4, b & 15); return out; }
function decodeNode(bytes) {
  const r = new Reader(bytes);
  const h = r.u8();
  if (h === 0) return { kind: 'empty' };
  let kind; let bits;
  if ((h >> 6) === 1) { kind = 'leaf'; bits = 6; } else if ((h >> 6) === 2) { kind = 'branch'; bits = 6; } else if ((h >> 6) === 3) { kind = 'branchValue'; bits = 6; } else if ((h >> 5) === 1) { kind = 'leafHashed'; bits = 5; } else if ((h >> 4) === 1) { kind = 'branchHashed'; bits = 4; } else throw new Error('a trie node with an unknown header');
  const mask = (1 << bits) - 1;
  let count = h & mask;
  if (count === mask) { let b; do { b = r.u8(); count += b; } while (b === 255); }
  const partial = nibbles(r.take(Math.ceil(count / 2))).slice(count % 2);
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
// The value of `key` under `root`, null if the proof shows it absent; throws when the proof's
// nodes do not reach it.
async function readProof(c, root, nodes, key, what) {
  const db = new Map();
  for (const n of nodes) db.set(hex(await c.blake2_256(n)), n);
  const get = (hash) => { const n = db.get(hex(hash)); if (!n) throw new Error(`the storage proof does not reach the ${what} under the block's state root`); return n; };
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

// --- the trust root from a raw chain spec ----------------------------------------------------
// The trie root of `entries` ([key, value] byte arrays) as sp-trie's LayoutV1 computes it
// (state version 1: a value of 33 bytes or more is stored as its BLAKE2-256 hash).
function nibbleHeader(kindBits, bits, count) {
  const mask = (1 << bits) - 1;
  const out = [kindBits | Math.min(count, mask)];
  if (count >= mask) {
    let rest = count - mask;
    for (; rest >= 255; rest -= 255) out.push(255);
    out.push(rest);
  }
  return Uint8Array.from(out);
}
function packNibbles(ns) {
  const out = [];
  let k = 0;
  if (ns.length % 2) out.push(ns[k++]);
  for (; k < ns.length; k += 2) out.push((ns[k] << 4) | ns[k + 1]);
  return Uint8Array.from(out);
}
async function encodeTrie(c, items, depth) {
  // items: [nibbles, value] sorted by nibbles, all sharing items[0][0].slice(0, depth).
  const hashed = (v) => v.length >= 33;
  if (items.length === 1) {
    const [key, value] = items[0];
    const partial = key.slice(depth);
    if (hashed(value)) return concat(nibbleHeader(0x20, 5, partial.length), packNibbles(partial), await c.blake2_256(value));
    return concat(nibbleHeader(0x40, 6, partial.length), packNibbles(partial), compact(value.length), value);
  }
  const first = items[0][0];
  let common = 0;
  for (;;) {
    const at = depth + common;
    if (items.some(([k]) => k.length <= at || k[at] !== first[at])) break;
    common += 1;
  }
  const at = depth + common;
  const partial = first.slice(depth, at);
  const own = items.find(([k]) => k.length === at);
  const children = [];
  let bitmap = 0;
  for (let n = 0; n < 16; n++) {
    const group = items.filter(([k]) => k.length > at && k[at] === n);
    if (!group.length) continue;
    bitmap |= 1 << n;
    const enc = await encodeTrie(c, group, at + 1);
    const ref = enc.length < 32 ? enc : await c.blake2_256(enc);
    children.push(concat(compact(ref.length), ref));
  }
  let head; let value = new Uint8Array(0);
  if (!own) head = nibbleHeader(0x80, 6, partial.length);
  else if (hashed(own[1])) { head = nibbleHeader(0x10, 4, partial.length); value = await c.blake2_256(own[1]); }
  else { head = nibbleHeader(0xc0, 6, partial.length); value = concat(compact(own[1].length), own[1]); }
  return concat(head, packNibbles(partial), Uint8Array.of(bitmap & 255, bitmap >> 8), value, ...children);
}
export async function trieRoot(c, entries) {
  if (!entries.length) return c.blake2_256(Uint8Array.of(0));
  const items = entries.map(([k, v]) => [nibbles(k), v]);
  items.sort((a, b) => { for (let i = 0; i < Math.min(a[0].length, b[0].length); i++) if (a[0][i] !== b[0][i]) return a[0][i] - b[0][i]; return a[0].length - b[0].length; });
  for (let i = 1; i < items.length; i++) if (eq(Uint8Array.from(items[i][0]), Uint8Array.from(items[i - 1][0]))) throw new Error('the chain spec names a storage key twice');
  return c.blake2_256(await encodeTrie(c, items, 0));
}
// The trust root of a raw chain spec (its JSON, parsed): the genesis hash computed from its
// storage, and the GRANDPA authorities in it, as `attest proof check --chain-spec` computes
// them (docs/proof-format.md, "What a reader trusts").
export async function trustFromSpec(c, spec) {
  const top = spec?.genesis?.raw?.top;
  if (!top || typeof top !== 'object') throw new Error('the chain spec has no raw genesis storage: export it with attest-node export-chain-spec --chain NAME --raw');
  const children = spec.genesis.raw.childrenDefault;
  if (children && Object.keys(children).length) throw new Error('the chain spec\'s genesis has child tries, which this checker does not compute');
  const entries = Object.entries(top).map(([k, v]) => [unhex(k), unhex(v)]);
  const authKey = concat(await c.twox128(te.encode('Grandpa')), await c.twox128(te.encode('Authorities')));
  const raw = entries.find(([k]) => eq(k, authKey));
  if (!raw) throw new Error('the chain spec\'s genesis has no GRANDPA authorities');
  const list = authorities(new Reader(raw[1])).map((a) => ({ id: hex(a.id), weight: Number(a.weight) }));
  if (!list.length) throw new Error('the chain spec\'s genesis has no GRANDPA authorities');
  const stateRoot = await trieRoot(c, entries);
  const extrinsicsRoot = await trieRoot(c, []);
  const header = concat(new Uint8Array(32), compact(0), stateRoot, extrinsicsRoot, compact(0));
  return { genesis: hex(await c.blake2_256(header)), authorities: list };
}

// --- the whole check -----------------------------------------------------------------------
async function verifyInclusion(c, index, size, digest, path, root) {
  if (index >= size) return false;
  let fn = index; let sn = size - 1n; let r = await c.sha256(concat(Uint8Array.of(0), digest));
  for (const p of path) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await c.sha256(concat(Uint8Array.of(1), p, r));
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else r = await c.sha256(concat(Uint8Array.of(1), r, p));
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && eq(r, root);
}

/// Storage keys (docs/proof-format.md, step 4).
export async function anchorKey(c, channelId, index) {
  return concat(await c.twox128(te.encode('Attestation')), await c.twox128(te.encode('Anchors')), channelId, await c.twox64(u32(index)), u32(index));
}
export async function timestampKey(c) {
  return concat(await c.twox128(te.encode('Timestamp')), await c.twox128(te.encode('Now')));
}

/// Check `scale` (a ProofV2's bytes) for `digest` (bytes) against `trust` ({genesis, authorities:
/// [{id, weight}]}, hex) with the host's crypto `c`. Returns what it proves or throws saying
/// what failed. `finality: false` returns a proof without finality (a chain sealed by hand) as
/// `finalized: null` instead of refusing it.
export async function checkProofV2(scale, digest, trust, c, { finality = true } = {}) {
  const r = new Reader(scale);
  const it = item(r);
  const binding = { requester: r.take(32), verifier: r.take(32), openNonce: r.u64() };
  const anchorHeader = header(r);
  const storage = r.vec((x) => x.bytes());
  const fin = r.option((x) => ({
    changes: x.vec((y) => ({ header: header(y), justification: justification(y) })),
    descendants: x.vec(header),
    justification: justification(x),
  }));
  r.done();
  const genesis = unhex(trust.genesis);
  const a = it.anchor;
  // 1. The bundle: the records claim the item; their signatures (where the host can); the
  // position and the inclusion path.
  let recordsChecked = true;
  for (const [rec, kind, name] of [[it.verifier, 'attest/record1/v1', 'verifier'], [it.requester, 'attest/record2/v1', 'requester']]) {
    if (!rec) continue;
    if (!eq(rec.channelId, a.channelId) || rec.claim.seq !== it.proof.leafIndex || !eq(rec.claim.digest, digest)) throw new Error(`the ${name}'s record claims another item`);
    if (c.verifyRecord) {
      const tag = te.encode(kind);
      const payload = concat(compact(tag.length), tag, genesis, rec.channelId, u64(rec.claim.seq), rec.claim.digest, rec.claim.paymentHash);
      if (!(await c.verifyRecord(payload, rec.signature.scheme, rec.signature.bytes, rec.signer.bytes)) || rec.signature.scheme !== rec.signer.scheme) throw new Error(`the ${name}'s record signature does not verify`);
    } else recordsChecked = false;
    if (rec.data && !(rec.data.blob ? eq(rec.data.blob, digest) : eq(await c.sha256(rec.data.inline), digest))) throw new Error('the requester\'s record refers to other data');
  }
  if (it.proof.treeSize !== a.size || it.proof.leafIndex < a.firstSeq || it.proof.leafIndex >= a.size) throw new Error('the item is not among the anchor\'s new items');
  if (!(await verifyInclusion(c, it.proof.leafIndex, it.proof.treeSize, digest, it.proof.path, a.root))) throw new Error('the inclusion path does not give the anchored root');
  // 2. The channel is the parties'.
  const tag = te.encode('attest/channel-id/v1');
  const id = await c.blake2_256(concat(compact(tag.length), tag, genesis, binding.requester, binding.verifier, u64(binding.openNonce)));
  if (!eq(id, a.channelId)) throw new Error('the anchor\'s channel is not the channel of the proof\'s parties and open nonce');
  const accountOf = async (s) => (s.scheme === 2 ? c.blake2_256(s.bytes) : s.bytes);
  if (it.verifier && !eq(await accountOf(it.verifier.signer), binding.verifier)) throw new Error('the verifier\'s record is signed by another account than the channel\'s verifier');
  if (it.requester && !eq(await accountOf(it.requester.signer), binding.requester)) throw new Error('the requester\'s record is signed by another account than the channel\'s requester');
  // 3, 4. The header is the anchor block's, whose state holds the anchor and the time.
  await hashHeaders(c, [anchorHeader]);
  if (anchorHeader.number !== a.block) throw new Error(`the header is of block ${anchorHeader.number}, the anchor says block ${a.block}`);
  const stored = await readProof(c, anchorHeader.stateRoot, storage, await anchorKey(c, a.channelId, a.index), 'anchor');
  if (!stored) throw new Error('the storage proof shows no anchor in the block\'s state');
  if (!eq(stored, concat(u64(a.firstSeq), u64(a.size), a.root, u32(a.block)))) throw new Error('the chain stored another anchor than the proof\'s');
  const time = await readProof(c, anchorHeader.stateRoot, storage, await timestampKey(c), 'block time');
  if (!time || time.length !== 8) throw new Error('the storage proof shows no block time');
  const proven = {
    seq: Number(it.proof.leafIndex), blockHash: hex(anchorHeader.hash), blockNumber: a.block,
    blockTimeMs: Number(new Reader(time).u64()), requester: hex(binding.requester),
    verifier: hex(binding.verifier), channelId: hex(a.channelId), anchorIndex: a.index,
    firstSeq: Number(a.firstSeq), size: Number(a.size), root: hex(a.root),
    leafIndex: Number(it.proof.leafIndex), treeSize: Number(it.proof.treeSize), path: it.proof.path.map(hex),
    recordsChecked, setId: null, justified: null,
  };
  // 5. Finality from the genesis set.
  if (!fin) {
    if (finality) throw new Error('the proof carries no finality (its chain seals blocks by hand)');
    return proven;
  }
  let setId = 0n;
  let set = trust.authorities.map((x) => ({ id: unhex(x.id), weight: BigInt(x.weight) }));
  let last = -1;
  for (const [k, ch] of fin.changes.entries()) {
    await hashHeaders(c, [ch.header]);
    if (ch.header.number <= last) throw new Error(`set change ${k} is not after the one before it`);
    await verifyJustification(c, ch.justification, setId, set, `set change ${k}`);
    if (!eq(ch.justification.targetHash, ch.header.hash) || ch.justification.targetNumber !== ch.header.number) throw new Error(`set change ${k}: its justification is of another block`);
    const next = scheduledChange(ch.header);
    if (!next) throw new Error(`set change ${k} schedules no authority-set change`);
    set = next; setId += 1n; last = ch.header.number;
  }
  if (anchorHeader.number <= last) throw new Error('the anchor block is not after the last set change');
  await hashHeaders(c, fin.descendants);
  let prev = anchorHeader;
  for (const h of fin.descendants) {
    if (scheduledChange(prev)) throw new Error(`block ${prev.number} changes the authority set before the justified block`);
    if (!eq(h.parentHash, prev.hash) || h.number !== prev.number + 1) throw new Error(`header ${h.number} does not follow the header before it`);
    prev = h;
  }
  const j = fin.justification;
  if (!eq(j.targetHash, prev.hash) || j.targetNumber !== prev.number) throw new Error('the justification is of another block');
  scheduledChange(prev);
  await verifyJustification(c, j, setId, set, 'the justification');
  return { ...proven, setId: Number(setId), justified: j.targetNumber };
}
