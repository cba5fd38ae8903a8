// A runtime upgrade on a running dev chain, as its operator would do it: the same runtime
// built with the next `spec_version` (runtime/build.rs writes it as a second wasm) is set with
// `sudo.sudoUncheckedWeight(system.setCode(wasm))`. Before the upgrade the chain holds an open
// channel with an anchor and a settled channel with a claimable HTLC, and the pallet's storage
// version is put back to 1 (as on a chain made before version 2) so that the upgrade runs the
// pallet's versioned migration. Checked: blocks go on, the new version is reported, the
// migration ran once (storage version 2), channels, anchors and claimable HTLCs are unchanged
// and still work (a claim, a checkpoint, a cooperative close).
//
// ATTEST_UPGRADE_WASM picks the wasm (default: the release build's).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, xxhashAsU8a } from '@polkadot/util-crypto';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { startDevNode } from './lib/node.mjs';
import * as chain from './lib/chain.mjs';
import { signState, paymentHash, logOf, rangeOf, consistency, digest } from './lib/protocol.mjs';

const wasmPath = process.env.ATTEST_UPGRADE_WASM ?? join(
  process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/attest/target'),
  'release/wbuild/attest-runtime/upgrade_test.compact.compressed.wasm');

let node;
let api;
before(async () => {
  await cryptoWaitReady();
  if (!existsSync(wasmPath)) throw new Error(`${wasmPath} not built: run ./x test (the runtime build makes it) or set ATTEST_UPGRADE_WASM`);
  node = await startDevNode();
  api = await chain.connect(node.wsUrl);
});
after(async () => {
  await api?.disconnect();
  node?.stop();
});

const ok = (tx, pair, section) => chain.ok(api, tx, pair, section);
const best = () => chain.bestNumber(api);
const PRICE = 1_000_000_000n;

test('set_code with the next spec_version keeps channels, anchors and HTLCs working', { timeout: 300_000 }, async () => {
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, bob, charlie] = ['//Alice', '//Bob', '//Charlie'].map((s) => keyring.addFromUri(s));
  const genesis = api.genesisHash.toHex();
  const before = await api.rpc.state.getRuntimeVersion();
  assert.equal((await api.query.attestation.palletVersion()).toNumber(), 2, 'genesis writes the in-code storage version');

  // An open channel with an anchor.
  await ok(api.tx.attestation.registerVerifier('http://127.0.0.1:8703', PRICE, 10), bob);
  const open = (await ok(api.tx.attestation.openChannel(bob.address, 100n * PRICE, 10), alice)).ChannelOpened.channelId;
  const items = [0, 1, 2, 3].map((i) => digest('upgrade', i));
  const stateA = (nonce, n, extra = {}) => ({
    channelId: open, nonce, requesterBalance: (100n - BigInt(n)) * PRICE, verifierBalance: BigInt(n) * PRICE,
    htlcs: [], log: logOf(items.slice(0, n)), finality: 'Open', ...extra,
  });
  const s1 = stateA(1, 2);
  await ok(api.tx.attestation.checkpoint(open, s1, signState(alice, genesis, s1), signState(bob, genesis, s1), consistency(0, items.slice(0, 2))), charlie);

  // A settled channel with a claimable HTLC: the requester closes with a state holding it.
  const settled = (await ok(api.tx.attestation.openChannel(bob.address, 100n * PRICE, 10), alice)).ChannelOpened.channelId;
  const billKey = u8aToHex(new Uint8Array(32).fill(77));
  const d = [digest('upgrade-htlc', 0)];
  const htlc = { paymentHash: paymentHash(billKey), amount: PRICE, expiry: (await best()) + 100_000, items: rangeOf(0, d) };
  const sh = { channelId: settled, nonce: 1, requesterBalance: 99n * PRICE, verifierBalance: 0n, htlcs: [htlc], log: logOf(d), finality: 'Open' };
  const started = await ok(api.tx.attestation.closeUnilateral(settled, [sh, signState(bob, genesis, sh), []]), alice);
  await chain.until('the challenge period to end', async () => (await best()) > started.CloseStarted.deadline);
  const closed = await ok(api.tx.attestation.settle(settled), charlie);
  assert.equal(closed.ChannelClosed.pendingHtlcs, 1);

  const snapshot = async () => JSON.stringify({
    channel: (await api.query.attestation.channels(open)).toJSON(),
    anchor: (await api.query.attestation.anchors(open, 0)).toJSON(),
    settledAnchor: (await api.query.attestation.anchors(settled, 0)).toJSON(),
    htlc: (await api.query.attestation.claimableHtlcs(settled, htlc.paymentHash)).toJSON(),
    verifier: (await api.query.attestation.verifiers(bob.address)).toJSON(),
    count: (await api.query.attestation.channelCount()).toJSON(),
  });
  const kept = await snapshot();
  assert.ok(JSON.parse(kept).htlc, 'the HTLC is claimable');

  // As on a chain made before storage version 2.
  const versionKey = u8aToHex(u8aConcat(xxhashAsU8a('Attestation', 128), xxhashAsU8a(':__STORAGE_VERSION__:', 128)));
  await ok(api.tx.sudo.sudo(api.tx.system.setStorage([[versionKey, '0x0100']])), alice, 'sudo');
  assert.equal((await api.query.attestation.palletVersion()).toNumber(), 1);

  // The upgrade.
  const wasm = readFileSync(wasmPath);
  const upgradeAt = await best();
  const setCode = api.tx.sudo.sudoUncheckedWeight(api.tx.system.setCode(u8aToHex(wasm)), { refTime: 0, proofSize: 0 });
  // The events of the block that changes the code are read by polkadot.js with the new
  // runtime's metadata, and sometimes come back empty for this extrinsic: the checks below
  // read the chain's state instead (a wasm that is not newer never changes the version).
  await chain.submit(api, setCode, alice, 'sudo');
  // The node reports the new version, and polkadot.js has taken it up (it signs with the
  // spec_version it knows: a transaction signed for the old one is refused as a bad
  // signature once the new runtime runs).
  const after = await chain.until('the new runtime version', async () => {
    const v = await api.rpc.state.getRuntimeVersion();
    return v.specVersion.toNumber() > before.specVersion.toNumber()
      && api.runtimeVersion.specVersion.eq(v.specVersion) && v;
  }, 30_000);
  assert.equal(after.specVersion.toNumber(), before.specVersion.toNumber() + 1);
  assert.equal(after.specName.toString(), 'attest');
  const last = (await api.query.system.lastRuntimeUpgrade()).unwrap();
  assert.equal(last.specVersion.toNumber(), after.specVersion.toNumber());
  await chain.until('blocks after the upgrade', async () => (await best()) > upgradeAt + 5);
  assert.equal((await api.query.attestation.palletVersion()).toNumber(), 2, 'the migration ran once');
  assert.equal(await snapshot(), kept, 'channels, anchors, HTLCs and verifiers unchanged');

  // Still usable: claim the HTLC, checkpoint and close the open channel.
  const claimed = await ok(api.tx.attestation.claimHtlc(settled, htlc.paymentHash, billKey), bob);
  assert.equal(BigInt(claimed.HtlcClaimed.paid), PRICE);
  const s2 = stateA(2, 4);
  const cp = await ok(api.tx.attestation.checkpoint(open, s2, signState(alice, genesis, s2), signState(bob, genesis, s2), consistency(2, items)), charlie);
  assert.deepEqual([cp.Anchored.index, cp.Anchored.firstSeq, cp.Anchored.size_], [1, 2, 4]);
  const fin = stateA(3, 4, { finality: 'Final' });
  const done = await ok(api.tx.attestation.closeCooperative(open, fin, signState(alice, genesis, fin), signState(bob, genesis, fin), []), charlie);
  assert.equal(BigInt(done.ChannelClosed.verifierPaid), 4n * PRICE);
  assert.ok((await api.query.attestation.channels(open)).isNone);
});
