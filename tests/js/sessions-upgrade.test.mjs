// A chain made before sessions (spec_version 102: Aura and GRANDPA authorities fixed by its
// genesis) upgraded to the runtime with sessions and a validator set, as its operator would
// do it, then given a second validator.
//
// The old chain runs the released spec_version 102 runtime (runtime/releases/, with its
// SHA-256 in runtime/releases/README.md): its genesis is built by that wasm from a `dev`-style
// patch (Alice the only authority), on a real node authoring with Aura and finalizing with
// GRANDPA. It holds a channel with an anchor when `sudo.sudoUncheckedWeight(system.setCode)`
// installs the runtime this node was built with.
//
// Checked: the migration makes Alice a validator with the keys she already used (session
// validators, next keys, key owners; GRANDPA set unchanged), blocks and finality continue past
// the next session boundary, channels, anchors and verifiers are unchanged, the attestation
// pallet still works (a checkpoint), and a validator is then added: Bob's node makes session
// keys, Bob registers them, sudo adds him; he authors blocks, and with two validators finality
// goes on (both vote).
//
// Wall time: about two and a half minutes (6-second blocks; 10-block sessions, the default a
// migrated chain gets).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { startNode, nodeCommand, tempDir } from './lib/node.mjs';
import * as chain from './lib/chain.mjs';
import { signState, logOf, consistency, digest } from './lib/protocol.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const oldWasm = join(here, '../../runtime/releases/attest-runtime-102.compact.compressed.wasm');
const OLD_WASM_SHA256 = '8ea0cdb91e5a1c42dbb53eed5bdc6c981739f14df3d5024c8c0be86af18d9417';
const newWasm = process.env.ATTEST_RUNTIME_WASM ?? join(
  process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/attest/target'),
  'release/wbuild/attest-runtime/attest_runtime.compact.compressed.wasm');

const apis = [];
const nodes = [];
after(async () => {
  for (const a of apis) await a.disconnect().catch(() => {});
  for (const n of nodes) n.stop();
});

test('a chain with fixed authorities upgrades to sessions and then gains a validator', { timeout: 600_000 }, async () => {
  await cryptoWaitReady();
  const started = Date.now();
  const old = readFileSync(oldWasm);
  assert.equal(createHash('sha256').update(old).digest('hex'), OLD_WASM_SHA256, 'the released spec_version 102 runtime');
  if (!existsSync(newWasm)) throw new Error(`${newWasm} not built: run ./x test or set ATTEST_RUNTIME_WASM`);
  const keyring = new Keyring({ type: 'sr25519' });
  const [alice, bob, charlie] = ['//Alice', '//Bob', '//Charlie'].map((s) => keyring.addFromUri(s));
  const aliceEd = new Keyring({ type: 'ed25519' }).addFromUri('//Alice');

  // The old chain's spec: the `dev` spec's accounts and sudo, Alice the only authority, with the
  // old runtime building its genesis.
  const dir = tempDir();
  const plain = join(dir, 'plain.json');
  const raw = join(dir, 'raw.json');
  nodeCommand(['export-chain-spec', '--chain', 'dev', '--output', plain]);
  const spec = JSON.parse(readFileSync(plain, 'utf8'));
  const { balances, sudo } = spec.genesis.runtimeGenesis.patch;
  spec.genesis.runtimeGenesis = {
    code: u8aToHex(old),
    patch: { balances, sudo, aura: { authorities: [alice.address] }, grandpa: { authorities: [[aliceEd.address, 1]] } },
  };
  spec.name = 'Attest Upgrade To Sessions';
  spec.id = 'attest_sessions_upgrade';
  spec.protocolId = 'attest-sessions-upgrade';
  writeFileSync(plain, JSON.stringify(spec));
  nodeCommand(['export-chain-spec', '--chain', plain, '--raw', '--output', raw]);

  const first = await startNode(['--chain', raw, '--alice', '--force-authoring', '--unsafe-force-node-key-generation']);
  nodes.push(first);
  const api = await chain.connect(first.wsUrl);
  apis.push(api);
  const genesis = api.genesisHash.toHex();
  assert.equal(api.runtimeVersion.specVersion.toNumber(), 102);
  assert.equal(api.query.validatorSet, undefined, 'no validator set before the upgrade');
  await chain.until('the old chain to finalize', async () => (await chain.finalizedNumber(api)) >= 1);

  // A verifier, a channel and an anchor on the old chain.
  const PRICE = 1_000_000_000n;
  await chain.ok(api, api.tx.attestation.registerVerifier('http://127.0.0.1:8704', PRICE, 10), bob);
  const id = (await chain.ok(api, api.tx.attestation.openChannel(bob.address, 100n * PRICE, 10), alice)).ChannelOpened.channelId;
  const items = Array.from({ length: 4 }, (_, i) => digest('sessions-upgrade', i));
  const stateOf = (nonce, n) => ({
    channelId: id, nonce, requesterBalance: (100n - BigInt(n)) * PRICE, verifierBalance: BigInt(n) * PRICE,
    htlcs: [], log: logOf(items.slice(0, n)), finality: 'Open',
  });
  const checkpoint = (nonce, n, from) => {
    const s = stateOf(nonce, n);
    return chain.ok(api, api.tx.attestation.checkpoint(id, s, signState(alice, genesis, s), signState(bob, genesis, s),
      consistency(from, items.slice(0, n))), charlie);
  };
  await checkpoint(1, 2, 0);
  const snapshot = async () => JSON.stringify({
    channel: (await api.query.attestation.channels(id)).toJSON(),
    anchor: (await api.query.attestation.anchors(id, 0)).toJSON(),
    verifier: (await api.query.attestation.verifiers(bob.address)).toJSON(),
    aura: (await api.query.aura.authorities()).toJSON(),
    grandpa: (await api.query.grandpa.currentSetId()).toJSON(),
  });
  const kept = await snapshot();

  // The upgrade.
  const upgradeAt = await chain.bestNumber(api);
  await chain.submit(api, api.tx.sudo.sudoUncheckedWeight(api.tx.system.setCode(u8aToHex(readFileSync(newWasm))),
    { refTime: 0, proofSize: 0 }), alice, 'sudo');
  await chain.until('the runtime with sessions', async () => {
    const v = await api.rpc.state.getRuntimeVersion();
    return v.specVersion.toNumber() >= 103 && api.runtimeVersion.specVersion.eq(v.specVersion) && api.query.validatorSet;
  }, 60_000);
  console.log(`upgraded to spec_version ${api.runtimeVersion.specVersion} at block ${upgradeAt}`);
  // The block that sets the code reports the new version; its migrations run in the next one.
  const codeSetAt = await chain.bestNumber(api);
  await chain.until('a block after the upgrade', async () => (await chain.bestNumber(api)) > codeSetAt + 1);
  assert.deepEqual((await api.query.validatorSet.validators()).map(String), [alice.address]);
  assert.deepEqual((await api.query.session.validators()).map(String), [alice.address]);
  const keys = (await api.query.session.nextKeys(alice.address)).unwrap();
  assert.equal(keys.aura.toHex(), u8aToHex(alice.publicKey), 'her Aura key');
  assert.equal(keys.grandpa.toHex(), u8aToHex(aliceEd.publicKey), 'her GRANDPA key');
  assert.equal((await api.query.validatorSet.palletVersion()).toNumber(), 1, 'the migration ran');
  assert.equal(await snapshot(), kept, 'channels, anchors, verifiers and authorities unchanged');

  // Blocks and finality go on past the next session boundary, with no GRANDPA set change.
  const boundary = await chain.until('a session boundary after the upgrade', async () =>
    (await api.query.session.currentIndex()).toNumber() >= 1 && (await chain.bestNumber(api)), 120_000);
  await chain.until('finality past the session boundary', async () => (await chain.finalizedNumber(api)) > boundary, 60_000);
  assert.equal((await api.query.grandpa.currentSetId()).toNumber(), JSON.parse(kept).grandpa);
  assert.equal((await checkpoint(2, 4, 2)).Anchored.index, 1, 'the attestation pallet still works');

  // A second validator: Bob's node (with the raw spec and the first node as bootnode) makes
  // session keys, Bob registers them, sudo adds him.
  const peerId = (await api.rpc.system.localPeerId()).toString();
  const second = await startNode(['--chain', raw, '--bob', '--unsafe-force-node-key-generation', '--bootnodes', `/ip4/127.0.0.1/tcp/${first.p2pPort}/p2p/${peerId}`]);
  nodes.push(second);
  // A bare RPC client: the node syncs blocks of the old runtime, which polkadot.js's API
  // would try to decode with the registry of the genesis' parent.
  const bobRpc = await chain.rawClient(second.wsUrl);
  apis.push(bobRpc);
  const bobKeys = await bobRpc.call('author_rotateKeysWithOwner', [u8aToHex(bob.publicKey)]);
  await chain.ok(api, api.tx.session.setKeys(bobKeys.keys, bobKeys.proof), bob, 'session');
  const added = await chain.ok(api, api.tx.sudo.sudo(api.tx.validatorSet.addValidator(bob.address)), alice, 'sudo');
  assert.ok(added.Sudid.sudoResult.ok !== undefined, `sudo(addValidator) failed: ${JSON.stringify(added.Sudid)}`);
  await chain.until('Bob in the session validators', async () =>
    (await api.query.session.validators()).map(String).includes(bob.address), 3 * 60_000);
  const setId = (await api.query.grandpa.currentSetId()).toNumber();
  assert.equal(setId, JSON.parse(kept).grandpa + 1, 'one GRANDPA set change');
  const bobAura = bobKeys.keys.slice(0, 2 + 64);
  const bobAuthored = await chain.untilAuthoredBy(api, bobAura, 'a block authored by Bob\'s node', 60_000);
  await chain.until('finality with both validators', async () =>
    (await chain.finalizedNumber(api)) >= bobAuthored && (await bobRpc.finalizedNumber()) >= bobAuthored, 90_000);
  console.log(`sessions upgrade test wall time ${Math.round((Date.now() - started) / 1000)} s`);
});
