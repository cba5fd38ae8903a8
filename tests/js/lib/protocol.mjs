// The channel protocol's bytes, written from docs/protocol.md (not from the Rust code):
// SCALE encodings by hand, signing payloads, channel ids, RFC 9162 Merkle trees and
// consistency proofs, payment hashes.

import { createHash } from 'node:crypto';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { hexToU8a, u8aConcat, u8aToHex, stringToU8a } from '@polkadot/util';

// --- SCALE ----------------------------------------------------------------------------
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
const u32 = (v) => le(v, 4);
const u64 = (v) => le(v, 8);
const u128 = (v) => le(v, 16);
const h256 = (x) => {
  const b = typeof x === 'string' ? hexToU8a(x) : x;
  if (b.length !== 32) throw new Error('not 32 bytes');
  return b;
};
const bytesVec = (b) => u8aConcat(compact(b.length), b);
const itemRange = (r) => u8aConcat(u64(r.firstSeq), u64(r.count), h256(r.root));
const htlc = (h) => u8aConcat(h256(h.paymentHash), u128(h.amount), u32(h.expiry), itemRange(h.items));
const logHead = (l) => u8aConcat(u64(l.size), h256(l.root));

/** SCALE of a `ChannelState` given as the JSON object the chain's types use (camelCase). */
export const encodeState = (s) => u8aConcat(
  h256(s.channelId), u64(s.nonce), u128(s.requesterBalance), u128(s.verifierBalance),
  compact(s.htlcs.length), ...s.htlcs.map(htlc), logHead(s.log), Uint8Array.of(s.isFinal ? 1 : 0));

/** `compact(len(tag)) || tag || genesis_hash || channel_id || SCALE(message)`. */
export const signingPayload = (tag, genesis, channelId, message) =>
  u8aConcat(bytesVec(stringToU8a(tag)), h256(genesis), h256(channelId), message);

/** The payload both parties sign for a state (`attest/state/v2`). */
export const statePayload = (genesis, state) =>
  signingPayload('attest/state/v2', genesis, state.channelId, encodeState(state));

/** A `MultiSignature` (sr25519) by `pair` on `state`, as the chain's JSON type. */
export const signState = (pair, genesis, state) =>
  ({ Sr25519: u8aToHex(pair.sign(statePayload(genesis, state))) });

/** `blake2_256(SCALE(("attest/channel-id/v1", genesis, requester, verifier, open_nonce: u64)))`. */
export const channelId = (genesis, requester, verifier, openNonce) => u8aToHex(blake2AsU8a(u8aConcat(
  bytesVec(stringToU8a('attest/channel-id/v1')), h256(genesis), h256(requester), h256(verifier),
  u64(openNonce))));

// --- hashes and Merkle trees (RFC 9162) -------------------------------------------------
export const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
/** `sha256(bill_key)`. */
export const paymentHash = (billKey) => u8aToHex(sha256(h256(billKey)));
const leafHash = (digest) => sha256(Uint8Array.of(0), h256(digest));
const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);
const split = (n) => { let k = 1; while (k * 2 < n) k *= 2; return k; };
function mth(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array());
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
/** `MTH` over item digests (hex), as hex. */
export const root = (digests) => u8aToHex(mth(digests.map(leafHash)));
/** The log head of `digests`. */
export const logOf = (digests) => ({ size: digests.length, root: root(digests) });
/** An item range (`firstSeq`, `count`, root of the range's digests). */
export const rangeOf = (firstSeq, digests) => ({ firstSeq, count: digests.length, root: root(digests) });

/** RFC 9162 consistency proof from the first `m` digests to all of `digests` (hex list). */
export function consistency(m, digests) {
  const leaves = digests.map(leafHash);
  function subproof(m, d, complete) {
    const n = d.length;
    if (m === n) return complete ? [] : [mth(d)];
    const k = split(n);
    if (m <= k) return [...subproof(m, d.slice(0, k), complete), mth(d.slice(k))];
    return [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
  }
  return m === 0 ? [] : subproof(m, leaves, true).map((h) => u8aToHex(h));
}

/** A digest for test item `i` of a tag (sha256 of the text). */
export const digest = (tag, i) => u8aToHex(sha256(stringToU8a(`${tag}/${i}`)));
