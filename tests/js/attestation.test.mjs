// Every extrinsic of pallet-attestation called from polkadot.js, as a dApp would, against a
// dev node this test starts (`--dev --sealing 250`: a block every 250 ms). Channel states are
// encoded and signed here from docs/protocol.md alone (lib/protocol.mjs). After each call
// the events and the storage are checked, and the documented errors for a stale state, a bad
// signature and a log that does not extend the last anchor come back.
//
// Run: npm ci && node --test          (ATTEST_NODE_BIN picks the node binary)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { startDevNode } from './lib/node.mjs';
import * as chain from './lib/chain.mjs';
import {
  encodeState, signState, channelId, paymentHash, logOf, rangeOf, consistency, digest,
} from './lib/protocol.mjs';

let node;
let api;
let genesis;
let alice, bob, charlie, eve;
const PRICE = 1_000_000_000n; // UNIT / 1000: deposits of 100 x PRICE are above MinChannelDeposit

before(async () => {
  await cryptoWaitReady();
  node = await startDevNode();
  api = await chain.connect(node.wsUrl);
  genesis = api.genesisHash.toHex();
  const keyring = new Keyring({ type: 'sr25519' });
  [alice, bob, charlie, eve] = ['//Alice', '//Bob', '//Charlie', '//Eve'].map((s) => keyring.addFromUri(s));
});

after(async () => {
  await api?.disconnect();
  node?.stop();
});

const ok = (tx, pair) => chain.ok(api, tx, pair);
const fails = (tx, pair, name) => chain.fails(api, tx, pair, name);

const best = () => chain.bestNumber(api);
async function untilBlock(n) {
  while ((await best()) < n) await new Promise((r) => setTimeout(r, 100));
}
const held = async (who) => (await api.query.system.account(who.address)).data.reserved.toBigInt();
const channel = async (id) => (await api.query.attestation.channels(id)).unwrap().toJSON();

/** Both parties' signatures on `state` (requester first, as the protocol orders them). */
const bothSign = (state, requester, verifier) =>
  [signState(requester, genesis, state), signState(verifier, genesis, state)];

/** An HTLC paying for `digests` at `firstSeq` with `key` (a 32-byte hex string). */
const htlcFor = (key, firstSeq, digests, expiry) => ({
  paymentHash: paymentHash(key), amount: PRICE * BigInt(digests.length), expiry,
  items: rangeOf(firstSeq, digests),
});
const key = (n) => u8aToHex(new Uint8Array(32).fill(n));

test('the pallet is in the metadata with all its calls, storage and constants', () => {
  const calls = Object.keys(api.tx.attestation).sort();
  assert.deepEqual(calls, [
    'challenge', 'checkpoint', 'claimHtlc', 'closeCooperative', 'closeUnilateral', 'fundChannel',
    'openChannel', 'refundHtlc', 'registerVerifier', 'revealBillKey', 'settle', 'unregisterVerifier',
    'updateVerifier',
  ]);
  for (const s of ['verifiers', 'channelCount', 'channels', 'anchors', 'anchorsByRoot', 'claimableHtlcs']) {
    assert.ok(api.query.attestation[s], `storage ${s}`);
  }
  assert.ok(api.consts.attestation.verifierDeposit.toBigInt() > 0n);
  // The hand encoding of docs/protocol.md is the chain's own type's encoding.
  const state = {
    channelId: key(7), nonce: 5, requesterBalance: 900n, verifierBalance: 70n,
    htlcs: [htlcFor(key(1), 3, [digest('t', 0), digest('t', 1)], 99)].map((h) => ({ ...h, amount: 30n })),
    log: logOf([digest('t', 0)]), finality: 'Open',
  };
  assert.equal(
    u8aToHex(encodeState(state)),
    api.createType('AttestPrimitivesChannelChannelState', state).toHex(),
  );
});

test('a verifier registers, updates and unregisters; its deposit is held and released', { timeout: 120_000 }, async () => {
  const deposit = api.consts.attestation.verifierDeposit.toBigInt();
  const before = await held(charlie);
  let ev = await ok(api.tx.attestation.registerVerifier('http://127.0.0.1:8700', PRICE, 10), charlie);
  assert.equal(ev.VerifierRegistered.verifier, charlie.address);
  assert.equal(BigInt(ev.VerifierRegistered.deposit), deposit);
  let info = (await api.query.attestation.verifiers(charlie.address)).unwrap();
  assert.equal(info.endpoint.toUtf8(), 'http://127.0.0.1:8700');
  assert.equal(info.price.toBigInt(), PRICE);
  assert.equal(await held(charlie), before + deposit);
  await fails(api.tx.attestation.registerVerifier('http://127.0.0.1:8700', PRICE, 10), charlie, 'AlreadyRegistered');
  await fails(api.tx.attestation.registerVerifier('ftp://x', PRICE, 10), eve, 'InvalidEndpoint');

  ev = await ok(api.tx.attestation.updateVerifier(null, PRICE * 2n, 20), charlie);
  assert.equal(BigInt(ev.VerifierUpdated.price), PRICE * 2n);
  info = (await api.query.attestation.verifiers(charlie.address)).unwrap();
  assert.equal(info.price.toBigInt(), PRICE * 2n);
  assert.equal(info.minChallengePeriod.toNumber(), 20);
  assert.equal(info.endpoint.toUtf8(), 'http://127.0.0.1:8700', 'kept');
  await fails(api.tx.attestation.updateVerifier(null, null, null), charlie, 'NothingToUpdate');

  ev = await ok(api.tx.attestation.unregisterVerifier(), charlie);
  assert.equal(BigInt(ev.VerifierUnregistered.depositReleased), deposit);
  assert.ok((await api.query.attestation.verifiers(charlie.address)).isNone);
  assert.equal(await held(charlie), before);
  await fails(api.tx.attestation.unregisterVerifier(), charlie, 'NotRegistered');
});

/** Bob registers (once); Alice opens a channel to him; returns its id and deposit. */
async function openChannel(deposit, period = 10) {
  if ((await api.query.attestation.verifiers(bob.address)).isNone) {
    await ok(api.tx.attestation.registerVerifier('http://127.0.0.1:8701', PRICE, 10), bob);
  }
  const count = (await api.query.attestation.channelCount()).toNumber();
  const ev = await ok(api.tx.attestation.openChannel(bob.address, deposit, period), alice);
  const id = ev.ChannelOpened.channelId;
  assert.equal(id, channelId(genesis, alice.publicKey, bob.publicKey, count), 'id as docs/protocol.md derives it');
  assert.equal(BigInt(ev.ChannelOpened.deposit), deposit);
  assert.equal((await api.query.attestation.channelCount()).toNumber(), count + 1);
  const c = await channel(id);
  assert.equal(c.state.nonce, 0);
  assert.equal(BigInt(c.state.requesterBalance), deposit);
  assert.equal(c.state.log.size, 0);
  return id;
}

test('open, fund, checkpoint, the documented refusals, and a cooperative close', { timeout: 120_000 }, async () => {
  const deposit = 100n * PRICE;
  const id = await openChannel(deposit);
  await fails(api.tx.attestation.openChannel(eve.address, deposit, 10), alice, 'NotRegistered');
  await fails(api.tx.attestation.openChannel(alice.address, deposit, 10), alice, 'SelfChannel');
  await fails(api.tx.attestation.openChannel(bob.address, deposit, 1), alice, 'InvalidChallengePeriod');

  const heldBefore = await held(alice);
  let ev = await ok(api.tx.attestation.fundChannel(id, 10n * PRICE), alice);
  assert.equal(BigInt(ev.ChannelFunded.amount), 10n * PRICE);
  assert.equal((await channel(id)).fundings.length, 2);
  assert.equal(await held(alice), heldBefore + 10n * PRICE);
  await fails(api.tx.attestation.fundChannel(id, 10n * PRICE), charlie, 'NotAParty');
  const total = deposit + 10n * PRICE;

  // State 1: one batch of three items billed (HTLC); state 2: its bill key revealed off
  // chain, the HTLC resolved into the verifier's balance.
  const d = [0, 1, 2].map((i) => digest('coop', i));
  const k1 = key(11);
  const s1 = {
    channelId: id, nonce: 1, requesterBalance: total - 3n * PRICE, verifierBalance: 0n,
    htlcs: [htlcFor(k1, 0, d, (await best()) + 1000)], log: logOf(d), finality: 'Open',
  };
  const s2 = { ...s1, nonce: 2, verifierBalance: 3n * PRICE, htlcs: [] };
  const [r2, v2] = bothSign(s2, alice, bob);
  ev = await ok(api.tx.attestation.checkpoint(id, s2, r2, v2, consistency(0, d)), charlie);
  // polkadot.js names an event field `size` `size_` (`size` is taken on its event objects).
  assert.deepEqual([ev.Checkpointed.nonce, ev.Anchored.index, ev.Anchored.size_, ev.Anchored.root],
    [2, 0, 3, logOf(d).root]);
  const anchor = (await api.query.attestation.anchors(id, 0)).unwrap().toJSON();
  assert.deepEqual([anchor.firstSeq, anchor.log.size, anchor.log.root], [0, 3, logOf(d).root]);
  assert.equal((await api.query.attestation.anchorsByRoot(logOf(d).root, id)).unwrap().toNumber(), 0);
  assert.equal((await channel(id)).state.nonce, 2);

  // Stale: state 1 (signed by both) after state 2 was accepted.
  const [r1, v1] = bothSign(s1, alice, bob);
  await fails(api.tx.attestation.checkpoint(id, s1, r1, v1, consistency(0, d)), charlie, 'StaleState');
  // Bad signature: the verifier's signature made by someone else.
  const d4 = [...d, digest('coop', 3)];
  const s3 = { ...s2, nonce: 3, log: logOf(d4) };
  await fails(api.tx.attestation.checkpoint(id, s3, signState(alice, genesis, s3), signState(eve, genesis, s3), consistency(3, d4)),
    charlie, 'BadSignature');
  // A signature for another nonce of the same channel is no signature for this one.
  await fails(api.tx.attestation.checkpoint(id, s3, r2, v2, consistency(3, d4)), charlie, 'BadSignature');
  // A log that does not extend the anchored one (its first three items are others), with a
  // consistency proof of its own: refused.
  const other = [0, 1, 2, 3].map((i) => digest('forged', i));
  const forged = { ...s2, nonce: 3, log: logOf(other) };
  const [rf, vf] = bothSign(forged, alice, bob);
  await fails(api.tx.attestation.checkpoint(id, forged, rf, vf, consistency(3, other)), charlie, 'InconsistentLog');
  // A checkpoint that anchors nothing new.
  const same = { ...s2, nonce: 3 };
  const [rs, vs] = bothSign(same, alice, bob);
  await fails(api.tx.attestation.checkpoint(id, same, rs, vs, []), charlie, 'NothingToAnchor');

  // A second checkpoint extends the first: its consistency proof from size 3.
  const [r3, v3] = bothSign(s3, alice, bob);
  ev = await ok(api.tx.attestation.checkpoint(id, s3, r3, v3, consistency(3, d4)), charlie);
  assert.deepEqual([ev.Anchored.index, ev.Anchored.firstSeq, ev.Anchored.size_], [1, 3, 4]);

  // Close cooperatively with the final state (anyone may submit it).
  const fin = { ...s3, nonce: 4, finality: 'Final' };
  const [rfin, vfin] = bothSign(fin, alice, bob);
  await fails(api.tx.attestation.closeCooperative(id, s3, r3, v3, []), charlie, 'NotFinal');
  ev = await ok(api.tx.attestation.closeCooperative(id, fin, rfin, vfin, consistency(4, d4)), charlie);
  assert.equal(BigInt(ev.ChannelClosed.requesterPaid), total - 3n * PRICE);
  assert.equal(BigInt(ev.ChannelClosed.verifierPaid), 3n * PRICE);
  assert.equal(BigInt(ev.ChannelClosed.staleClosePenalty), 0n);
  assert.ok((await api.query.attestation.channels(id)).isNone, 'the channel is gone');
  assert.equal(await held(alice), heldBefore - deposit, 'the deposit and the top-up are released');
  assert.ok((await api.query.attestation.anchors(id, 1)).isSome, 'anchors are kept');
  await fails(api.tx.attestation.closeCooperative(id, fin, rfin, vfin, []), charlie, 'UnknownChannel');
});

test('a final state agreed during a close names it: it settles at once, with no penalty', { timeout: 120_000 }, async () => {
  const deposit = 100n * PRICE;
  const id = await openChannel(deposit, 400);
  const d = [0, 1].map((i) => digest('ends-close', i));
  const s1 = { channelId: id, nonce: 1, requesterBalance: deposit - 2n * PRICE, verifierBalance: 2n * PRICE,
    htlcs: [], log: logOf(d), finality: 'Open' };
  // The verifier closes alone with state 1, its newest.
  const ev = await ok(api.tx.attestation.closeUnilateral(id, [s1, signState(alice, genesis, s1), consistency(0, d)]), bob);
  assert.equal(ev.CloseStarted.nonce, 1);
  // The final state both agree afterwards names that close (SCALE 0x02, closer, nonce: the
  // JavaScript encoder and the chain must agree on its bytes, or the signatures fail).
  const named = (closer, closedNonce) => ({ ...s1, nonce: 2, finality: { EndsClose: { closer, closedNonce } } });
  for (const [closer, n] of [['Requester', 1], ['Verifier', 0], ['Verifier', 2]]) {
    const wrong = named(closer, n);
    const [rw, vw] = bothSign(wrong, alice, bob);
    await fails(api.tx.attestation.closeCooperative(id, wrong, rw, vw, consistency(2, d)), charlie, 'CloseMismatch');
  }
  const fin = named('Verifier', 1);
  const [rfin, vfin] = bothSign(fin, alice, bob);
  const closed = await ok(api.tx.attestation.closeCooperative(id, fin, rfin, vfin, consistency(2, d)), charlie);
  assert.equal(BigInt(closed.ChannelClosed.requesterPaid), deposit - 2n * PRICE);
  assert.equal(BigInt(closed.ChannelClosed.verifierPaid), 2n * PRICE);
  assert.equal(BigInt(closed.ChannelClosed.staleClosePenalty), 0n, 'nobody cheated, nobody pays');
});

test('a state beyond the type bounds does not decode: refused at submission, nothing included', { timeout: 60_000 }, async () => {
  // docs/pallet.md: more than 32 HTLCs (the type's bound) or a consistency path of more than
  // 65 hashes never reach the pallet (no InvalidHtlcs, no fee): the node refuses the
  // transaction as undecodable with RPC error 1002.
  const id = await openChannel(100n * PRICE);
  const htlcs = Array.from({ length: 33 }, (_, i) => htlcFor(key(100 + i), i, [digest('bound', i)], 10_000));
  const state = { channelId: id, nonce: 1, requesterBalance: 0n, verifierBalance: 0n, htlcs,
    log: logOf([digest('bound', 0)]), finality: 'Open' };
  const sig = { Sr25519: `0x${'55'.repeat(64)}` };
  const nonceBefore = (await api.rpc.system.accountNextIndex(charlie.address)).toNumber();
  for (const tx of [
    api.tx.attestation.checkpoint(id, state, sig, sig, []),
    api.tx.attestation.checkpoint(id, { ...state, htlcs: [] }, sig, sig, Array(66).fill(`0x${'66'.repeat(32)}`)),
  ]) {
    await assert.rejects(chain.submit(api, tx, charlie), /1002: Verification Error/);
  }
  assert.equal((await api.rpc.system.accountNextIndex(charlie.address)).toNumber(), nonceBefore, 'nothing included');
});

test('a stale unilateral close is challenged and penalized; HTLCs are revealed, claimed and refunded', { timeout: 120_000 }, async () => {
  const deposit = 100n * PRICE;
  // 40 blocks (10 s) to challenge: seven calls must land before the deadline, each waiting
  // for a block, also on a loaded machine.
  const id = await openChannel(deposit, 40);
  const now = await best();
  const batch = (n) => [0, 1].map((i) => digest(`uni${n}`, i));
  const [da, db, dc, dd] = [batch(0), batch(1), batch(2), batch(3)];
  const [ka, kb, kc, kd] = [key(21), key(22), key(23), key(24)];
  const shortExpiry = now + 60; // 15 s at 250 ms per block
  const A = htlcFor(ka, 0, da, now + 100_000);
  const B = htlcFor(kb, 2, db, shortExpiry);
  const C = htlcFor(kc, 4, dc, now + 100_000);
  const D = htlcFor(kd, 6, dd, now + 100_000);
  const base = { channelId: id, verifierBalance: 0n, finality: 'Open' };
  // 1: A added. 2: A resolved (the verifier holds 2 x PRICE). 3: B added. 4: C. 5: D.
  const s1 = { ...base, nonce: 1, requesterBalance: deposit - 2n * PRICE, htlcs: [A], log: logOf(da) };
  const s2 = { ...base, nonce: 2, requesterBalance: deposit - 2n * PRICE, verifierBalance: 2n * PRICE, htlcs: [], log: logOf(da) };
  const s3 = { ...s2, nonce: 3, requesterBalance: deposit - 4n * PRICE, htlcs: [B], log: logOf([...da, ...db]) };
  const s4 = { ...s2, nonce: 4, requesterBalance: deposit - 6n * PRICE, htlcs: [B, C], log: logOf([...da, ...db, ...dc]) };
  const all = [...da, ...db, ...dc, ...dd];
  const s5 = { ...s2, nonce: 5, requesterBalance: deposit - 8n * PRICE, htlcs: [B, C, D], log: logOf(all) };
  void s1;

  // The verifier closes with state 2 although it holds state 5 signed by both.
  const r2 = signState(alice, genesis, s2);
  await fails(api.tx.attestation.closeUnilateral(id, [s2, signState(eve, genesis, s2), []]), bob, 'BadSignature');
  await fails(api.tx.attestation.closeUnilateral(id, [s2, r2, []]), charlie, 'NotAParty');
  let ev = await ok(api.tx.attestation.closeUnilateral(id, [s2, r2, []]), bob);
  assert.equal(ev.CloseStarted.nonce, 2);
  const deadline = ev.CloseStarted.deadline;
  assert.ok((await channel(id)).status.closing, 'closing');
  await fails(api.tx.attestation.fundChannel(id, PRICE), alice, 'ChannelClosing');
  await fails(api.tx.attestation.settle(id), charlie, 'ChallengePeriodNotOver');

  // The requester's watchtower answers with state 5: the close is proven stale.
  const [r4, v4] = bothSign(s4, alice, bob);
  const [r5, v5] = bothSign(s5, alice, bob);
  ev = await ok(api.tx.attestation.challenge(id, s5, r5, v5, consistency(0, all)), alice);
  assert.deepEqual([ev.Challenged.nonce, ev.Challenged.stale], [5, true]);
  assert.equal((await channel(id)).state.nonce, 5);
  // An older state than the one now held is stale.
  await fails(api.tx.attestation.challenge(id, s4, r4, v4, []), alice, 'StaleState');
  // The verifier reveals D's key while closing: D pays it at settlement.
  ev = await ok(api.tx.attestation.revealBillKey(id, kd), bob);
  assert.equal(ev.BillKeyRevealed.paymentHash, D.paymentHash);
  await fails(api.tx.attestation.revealBillKey(id, kd), bob, 'AlreadyRevealed');
  await fails(api.tx.attestation.revealBillKey(id, kc), alice, 'NotVerifier');

  await untilBlock(deadline + 1);
  await fails(api.tx.attestation.challenge(id, s5, r5, v5, []), alice, 'ChallengePeriodOver');
  ev = await ok(api.tx.attestation.settle(id), charlie);
  const closed = ev.ChannelClosed;
  // The penalty: 10% (StaleClosePenalty) of the stale closer's balance in the state the
  // channel settles with (HTLCs paid by revealed keys are not part of it), to its counterparty.
  const penalty = (2n * PRICE) / 10n;
  assert.equal(BigInt(closed.staleClosePenalty), penalty);
  assert.equal(BigInt(closed.revealedHtlcsPaid), D.amount);
  assert.equal(BigInt(closed.verifierPaid), 2n * PRICE + D.amount - penalty);
  assert.equal(BigInt(closed.requesterPaid), deposit - 8n * PRICE + penalty);
  assert.equal(closed.pendingHtlcs, 2);
  assert.ok((await api.query.attestation.channels(id)).isNone);
  assert.equal((await api.query.attestation.anchors(id, 0)).unwrap().toJSON().log.size, 8, 'the log anchored at settlement');
  for (const h of [B, C]) {
    const c = (await api.query.attestation.claimableHtlcs(id, h.paymentHash)).unwrap().toJSON();
    assert.equal(BigInt(c.amount), h.amount);
  }
  assert.ok((await api.query.attestation.claimableHtlcs(id, D.paymentHash)).isNone, 'D was paid');

  // C: claimed with its key (a wrong key is refused; the claim reveals the key).
  await fails(api.tx.attestation.claimHtlc(id, C.paymentHash, kb), charlie, 'WrongBillKey');
  await fails(api.tx.attestation.refundHtlc(id, C.paymentHash), alice, 'HtlcNotExpired');
  ev = await ok(api.tx.attestation.claimHtlc(id, C.paymentHash, kc), charlie);
  assert.equal(ev.HtlcClaimed.billKey, kc);
  assert.equal(BigInt(ev.HtlcClaimed.paid), C.amount);
  assert.ok((await api.query.attestation.claimableHtlcs(id, C.paymentHash)).isNone);
  await fails(api.tx.attestation.claimHtlc(id, C.paymentHash, kc), charlie, 'UnknownHtlc');

  // B: expires unclaimed; its key no longer claims it, and it is refunded to the requester.
  await untilBlock(shortExpiry + 1);
  await fails(api.tx.attestation.claimHtlc(id, B.paymentHash, kb), bob, 'HtlcExpired');
  const heldBefore = await held(alice);
  ev = await ok(api.tx.attestation.refundHtlc(id, B.paymentHash), charlie);
  assert.equal(BigInt(ev.HtlcRefunded.amount), B.amount);
  assert.equal(await held(alice), heldBefore - B.amount, 'released to the requester');
  assert.ok((await api.query.attestation.claimableHtlcs(id, B.paymentHash)).isNone);
});

test('a requester that closes with an old state while the verifier holds a newer one is challenged', { timeout: 120_000 }, async () => {
  // The other party's side: the requester closes with state 1; the verifier answers with
  // state 3. By the message order (docs/protocol.md) a requester is penalized only when the
  // newer state is at least two nonces ahead.
  const deposit = 200n * PRICE;
  const id = await openChannel(deposit);
  const d = [digest('req', 0)];
  const k = key(31);
  const s1 = { channelId: id, nonce: 1, requesterBalance: deposit - PRICE, verifierBalance: 0n,
    htlcs: [htlcFor(k, 0, d, (await best()) + 100_000)], log: logOf(d), finality: 'Open' };
  const s2 = { ...s1, nonce: 2, verifierBalance: PRICE, htlcs: [] };
  const s3 = { ...s2, nonce: 3, requesterBalance: deposit - 2n * PRICE, htlcs: [htlcFor(key(32), 1, [digest('req', 1)], (await best()) + 100_000)],
    log: logOf([...d, digest('req', 1)]) };
  let ev = await ok(api.tx.attestation.closeUnilateral(id, [s1, signState(bob, genesis, s1), []]), alice);
  const [r3, v3] = bothSign(s3, alice, bob);
  ev = await ok(api.tx.attestation.challenge(id, s3, r3, v3, consistency(0, [...d, digest('req', 1)])), bob);
  assert.equal(ev.Challenged.stale, true);
  await untilBlock((await channel(id)).status.closing.deadline + 1);
  ev = await ok(api.tx.attestation.settle(id), bob);
  assert.equal(BigInt(ev.ChannelClosed.staleClosePenalty), (deposit - 2n * PRICE) / 10n);
  assert.equal(ev.ChannelClosed.pendingHtlcs, 1);
});
