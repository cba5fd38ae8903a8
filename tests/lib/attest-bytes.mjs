// The Attest byte formats, written from docs/protocol.md and docs/proof-format.md (not from
// the Rust code), shared by the test-vector checker (tests/vectors) and the polkadot.js tests
// (tests/js). No dependencies beyond Node.js itself: SCALE by hand, SHA-256 from node:crypto,
// RFC 6962 / RFC 9162 tree hashes.

import { createHash } from 'node:crypto';

// --- bytes ------------------------------------------------------------------------------
/** Bytes of a `0x` hex string (or the bytes themselves). */
export function bytesOf(x) {
  if (x instanceof Uint8Array) return x;
  const hex = x.startsWith('0x') ? x.slice(2) : x;
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new Error(`not hex: ${x}`);
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}
export const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

// --- SCALE ------------------------------------------------------------------------------
export function compact(n) {
  n = BigInt(n);
  if (n < 64n) return Uint8Array.of(Number(n << 2n));
  if (n < 1n << 14n) return le(n << 2n | 1n, 2);
  if (n < 1n << 30n) return le(n << 2n | 2n, 4);
  const bytes = [];
  for (let v = n; v > 0n; v >>= 8n) bytes.push(Number(v & 0xffn));
  return Uint8Array.from([((bytes.length - 4) << 2) | 3, ...bytes]);
}
function le(value, size) {
  let v = BigInt(value);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  if (v !== 0n) throw new Error(`${value} does not fit ${size} bytes`);
  return out;
}
export const u32 = (v) => le(v, 4);
export const u64 = (v) => le(v, 8);
export const u128 = (v) => le(v, 16);
/** A 32-byte value from hex or bytes. */
export function h256(x) {
  const b = bytesOf(x);
  if (b.length !== 32) throw new Error(`not 32 bytes: ${x}`);
  return b;
}
/** `Vec<u8>`: compact length, then the bytes. */
export const bytesVec = (b) => concat(compact(b.length), b);
export const itemRange = (r) => concat(u64(r.firstSeq), u64(r.count), h256(r.root));
export const htlc = (h) => concat(h256(h.paymentHash), u128(h.amount), u32(h.expiry), itemRange(h.items));
export const logHead = (l) => concat(u64(l.size), h256(l.root));
/** `Party`: `0x00` requester, `0x01` verifier ("requester" / "Requester" and so on). */
export function party(p) {
  const i = ['requester', 'verifier'].indexOf(String(p).toLowerCase());
  if (i < 0) throw new Error(`not a party: ${p}`);
  return Uint8Array.of(i);
}
/**
 * `Finality`: `0x00` open, `0x01` final, `0x02 || party(closer) || u64(closedNonce)` for a
 * final state that ends a close. Takes the serde form ("open", "final",
 * {"endsClose": {"closer", "closedNonce"}}) and polkadot.js's ("Open", {EndsClose: ...}).
 */
export function finality(f) {
  if (typeof f === 'string') {
    const i = ['open', 'final'].indexOf(f.toLowerCase());
    if (i < 0) throw new Error(`not a finality: ${f}`);
    return Uint8Array.of(i);
  }
  const e = f.endsClose ?? f.EndsClose;
  if (!e) throw new Error(`not a finality: ${JSON.stringify(f)}`);
  return concat(Uint8Array.of(2), party(e.closer), u64(e.closedNonce));
}
/** SCALE of a `ChannelState` in the chain's JSON form (camelCase fields). */
export const channelState = (s) => concat(
  h256(s.channelId), u64(s.nonce), u128(s.requesterBalance), u128(s.verifierBalance),
  compact(s.htlcs.length), ...s.htlcs.map(htlc), logHead(s.log), finality(s.finality));
export const bill = (b) => concat(itemRange(b.items), u128(b.amount), h256(b.paymentHash), u32(b.expiry));
export const itemClaim = (c) => concat(u64(c.seq), h256(c.digest), h256(c.paymentHash));
export const blobRead = (m) => concat(h256(m.digest), u64(m.expiresAtUnixMs));
/** `VerifierCall`: the expiry alone, `u64` unix ms. */
export const verifierCall = (m) => u64(m.expiresAtUnixMs);

// --- hashes and Merkle trees --------------------------------------------------------------
export const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
export const leafHash = (digest) => sha256(Uint8Array.of(0), h256(digest));
export const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);
/** The largest power of two below `n` (RFC 6962's split point). */
export const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
/** `MTH` over leaf hashes. */
export function mth(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array());
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
