// The channel protocol for the polkadot.js tests, from docs/protocol.md (not from the Rust
// code): signing payloads, channel ids, log heads and RFC 9162 consistency proofs, payment
// hashes. The byte encodings themselves are in tests/lib/attest-bytes.mjs.

import { blake2AsU8a } from '@polkadot/util-crypto';
import { u8aToHex, stringToU8a } from '@polkadot/util';
import {
  concat, bytesVec, h256, u64, channelState, sha256, leafHash, mth, split,
} from '../../lib/attest-bytes.mjs';

/** SCALE of a `ChannelState` given as the JSON object the chain's types use (camelCase). */
export const encodeState = channelState;

/** `compact(len(tag)) || tag || genesis_hash || channel_id || SCALE(message)`. */
export const signingPayload = (tag, genesis, channelId, message) =>
  concat(bytesVec(stringToU8a(tag)), h256(genesis), h256(channelId), message);

/** The payload both parties sign for a state (`attest/state/v2`). */
export const statePayload = (genesis, state) =>
  signingPayload('attest/state/v2', genesis, state.channelId, encodeState(state));

/** A `MultiSignature` (sr25519) by `pair` on `state`, as the chain's JSON type. */
export const signState = (pair, genesis, state) =>
  ({ Sr25519: u8aToHex(pair.sign(statePayload(genesis, state))) });

/** `blake2_256(SCALE(("attest/channel-id/v1", genesis, requester, verifier, open_nonce: u64)))`. */
export const channelId = (genesis, requester, verifier, openNonce) => u8aToHex(blake2AsU8a(concat(
  bytesVec(stringToU8a('attest/channel-id/v1')), h256(genesis), h256(requester), h256(verifier),
  u64(openNonce))));

// --- hashes and Merkle trees (RFC 9162) -------------------------------------------------
/** `sha256(bill_key)`. */
export const paymentHash = (billKey) => u8aToHex(sha256(h256(billKey)));
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
