// A network as operators build it: three validators of a new local network and a fourth full
// node that joins later, all on loopback.
//
// What the operators do here, with attest-node's own commands (docs/operators.md):
//   1. each validator makes its keys: `key generate` (a secret phrase; its sr25519 key signs
//      blocks (Aura), its ed25519 key votes on finality (GRANDPA));
//   2. one of them exports the `local` chain spec, puts the validators' public keys into its
//      genesis (aura and grandpa authorities, GRANDPA weights 2, 2, 1), and turns it into the
//      raw spec everybody runs (`export-chain-spec --raw`);
//   3. each validator inserts its keys into its node's keystore (`key insert`), makes a node
//      key (`key generate-node-key`) and starts with `--validator`, the first one's address
//      as `--bootnodes`;
//   4. a full node joins later with nothing but the raw spec and `--bootnodes`.
//
// Checked: blocks are finalized; anchors are made; with the validator of weight 2 stopped,
// finality stalls (2 + 1 of 5 is not more than two thirds) while anchors still go into
// blocks; after its restart finality resumes and it reads the anchors made while it was
// down; the joining node reaches the validators' finalized block (same hash) and reads the
// same anchors there.
//
// Wall time: about two minutes (6-second blocks).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import { startNode, nodeCommand, tempDir } from './lib/node.mjs';
import * as chain from './lib/chain.mjs';
import { signState, logOf, consistency, digest } from './lib/protocol.mjs';

const apis = [];
const nodes = [];
after(async () => {
  for (const a of apis) await a.disconnect().catch(() => {});
  for (const n of nodes) n.stop();
});

async function connect(node) {
  const api = await chain.connect(node.wsUrl);
  apis.push(api);
  return api;
}
const { finalizedNumber, bestNumber } = chain;

test('three validators, a restart, and a full node that joins later', { timeout: 600_000 }, async () => {
  await cryptoWaitReady();
  const started = Date.now();
  const dir = tempDir();

  // 1. Keys: one secret phrase per validator, and its two public keys.
  const names = ['alice', 'bob', 'charlie'];
  const weights = [2, 2, 1];
  const validators = names.map((name) => {
    const key = JSON.parse(nodeCommand(['key', 'generate', '--scheme', 'sr25519', '--output-type', 'json']).stdout);
    const ed = JSON.parse(nodeCommand(['key', 'inspect', '--scheme', 'ed25519', '--output-type', 'json', key.secretPhrase]).stdout);
    return { name, phrase: key.secretPhrase, aura: key.ss58Address, gran: ed.ss58Address, base: join(dir, name) };
  });

  // 2. The chain spec: `local` with these validators, then raw.
  const plain = join(dir, 'plain.json');
  const raw = join(dir, 'raw.json');
  nodeCommand(['export-chain-spec', '--chain', 'local', '--output', plain]);
  const spec = JSON.parse(readFileSync(plain, 'utf8'));
  const patch = spec.genesis.runtimeGenesis.patch;
  patch.aura.authorities = validators.map((v) => v.aura);
  patch.grandpa.authorities = validators.map((v, i) => [v.gran, weights[i]]);
  spec.name = 'Attest Network Test';
  writeFileSync(plain, JSON.stringify(spec, null, 2));
  nodeCommand(['export-chain-spec', '--chain', plain, '--raw', '--output', raw]);

  // 3. Keystores, node keys, and the validators started (the first one is the bootnode).
  for (const v of validators) {
    mkdirSync(v.base, { recursive: true });
    nodeCommand(['key', 'insert', '--base-path', v.base, '--chain', raw, '--scheme', 'sr25519', '--key-type', 'aura', '--suri', v.phrase]);
    nodeCommand(['key', 'insert', '--base-path', v.base, '--chain', raw, '--scheme', 'ed25519', '--key-type', 'gran', '--suri', v.phrase]);
    // It prints where it wrote the key, then the peer id, on stderr.
    v.peerId = nodeCommand(['key', 'generate-node-key', '--base-path', v.base, '--chain', raw]).stderr.trim().split('\n').pop();
    assert.match(v.peerId, /^12D3Koo/, 'a libp2p peer id');
  }
  let bootnode;
  for (const v of validators) {
    const args = ['--chain', raw, '--validator', '--name', v.name];
    if (bootnode) args.push('--bootnodes', bootnode);
    v.node = await startNode(args, { base: v.base });
    nodes.push(v.node);
    bootnode ??= `/ip4/127.0.0.1/tcp/${v.node.p2pPort}/p2p/${v.peerId}`;
    v.api = await connect(v.node);
  }
  const [alice, bob, charlie] = validators;
  const genesis = alice.api.genesisHash.toHex();
  for (const v of validators) {
    assert.equal(v.api.genesisHash.toHex(), genesis);
    const keys = await v.api.rpc.author.hasKey(u8aToHex(new Keyring({ type: 'sr25519' }).addFromUri(v.phrase).publicKey), 'aura');
    assert.ok(keys.isTrue, `${v.name}'s node holds its Aura key`);
  }
  await chain.until('blocks finalized on every validator', async () => {
    for (const v of validators) if ((await finalizedNumber(v.api)) < 2) return false;
    return true;
  });
  console.log(`network up and finalizing after ${Math.round((Date.now() - started) / 1000)} s`);

  // Anchors: Bob's account registers as verifier, Alice's opens a channel to it, checkpoints.
  const api = alice.api;
  const keyring = new Keyring({ type: 'sr25519' });
  const [req, ver] = ['//Alice', '//Bob'].map((s) => keyring.addFromUri(s));
  const PRICE = 1_000_000_000n;
  await chain.ok(api, api.tx.attestation.registerVerifier('http://127.0.0.1:8702', PRICE, 10), ver);
  const opened = await chain.ok(api, api.tx.attestation.openChannel(ver.address, 100n * PRICE, 10), req);
  const id = opened.ChannelOpened.channelId;
  const items = Array.from({ length: 6 }, (_, i) => digest('net', i));
  const stateOf = (nonce, n) => ({
    channelId: id, nonce, requesterBalance: 100n * PRICE - BigInt(n) * PRICE, verifierBalance: BigInt(n) * PRICE,
    htlcs: [], log: logOf(items.slice(0, n)), finality: 'Open',
  });
  const checkpoint = (nonce, n, from) => {
    const s = stateOf(nonce, n);
    return chain.ok(api, api.tx.attestation.checkpoint(id, s, signState(req, genesis, s), signState(ver, genesis, s),
      consistency(from, items.slice(0, n))), ver);
  };
  const first = await checkpoint(1, 3, 0);
  assert.equal(first.Anchored.index, 0);

  // Bob's validator (weight 2) stops: finality stalls, blocks go on, an anchor is made.
  await chain.until('the first anchor finalized', async () =>
    (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber()
      >= (await api.rpc.chain.getHeader(first.blockHash)).number.toNumber());
  await bob.api.disconnect();
  bob.node.kill();
  const stalledAt = await finalizedNumber(api);
  const second = await checkpoint(2, 6, 3);
  assert.equal(second.Anchored.index, 1);
  const secondNumber = (await api.rpc.chain.getHeader(second.blockHash)).number.toNumber();
  await chain.until('two more blocks without Bob', async () => (await bestNumber(api)) >= secondNumber + 2);
  const finalizedWithoutBob = await finalizedNumber(api);
  assert.ok(finalizedWithoutBob < secondNumber,
    `finality stalls without Bob: finalized ${finalizedWithoutBob} (was ${stalledAt}), the anchor is in block ${secondNumber}`);

  // Bob's validator comes back on the same base path: finality resumes past the anchor.
  await bob.node.start();
  const bobApi = await connect(bob.node);
  const resumed = Date.now();
  await chain.until('finality to resume past the anchor made while Bob was down', async () =>
    (await finalizedNumber(api)) > secondNumber && (await finalizedNumber(bobApi)) > secondNumber);
  console.log(`finality resumed ${Math.round((Date.now() - resumed) / 1000)} s after Bob's restart`);
  const readAnchors = async (a, at) => {
    const q = await a.at(at);
    return Promise.all([0, 1].map(async (i) => (await q.query.attestation.anchors(id, i)).unwrap().toJSON()));
  };
  const head = await alice.api.rpc.chain.getFinalizedHead();
  const expected = await readAnchors(alice.api, head);
  assert.deepEqual(expected.map((a) => [a.firstSeq, a.log.size, a.log.root]),
    [[0, 3, logOf(items.slice(0, 3)).root], [3, 6, logOf(items).root]]);
  await chain.until('Bob to import the finalized block', async () => (await finalizedNumber(bobApi)) >= (await alice.api.rpc.chain.getHeader(head)).number.toNumber());
  assert.deepEqual(await readAnchors(bobApi, head), expected, 'Bob reads the anchors made while it was down');

  // 4. A full node joins with the raw spec and a bootnode, syncs, and reads the same.
  const joinerStarted = Date.now();
  const joiner = await startNode(['--chain', raw, '--name', 'joiner', '--bootnodes', bootnode]);
  nodes.push(joiner);
  const japi = await connect(joiner);
  assert.equal(japi.genesisHash.toHex(), genesis);
  const target = await finalizedNumber(charlie.api);
  await chain.until('the joining node to reach the validators\' finalized block', async () => (await finalizedNumber(japi)) >= target);
  console.log(`the joining node reached finalized block ${target} in ${Math.round((Date.now() - joinerStarted) / 1000)} s`);
  const targetHash = (await charlie.api.rpc.chain.getBlockHash(target)).toHex();
  assert.equal((await japi.rpc.chain.getBlockHash(target)).toHex(), targetHash, 'the same finalized block');
  assert.deepEqual(await readAnchors(japi, targetHash), await readAnchors(charlie.api, targetHash), 'the same anchors');
  assert.deepEqual(await readAnchors(japi, targetHash), expected);
  const roles = (await japi.rpc.system.nodeRoles()).map((r) => r.toString());
  assert.deepEqual(roles, ['Full']);
  console.log(`network test wall time ${Math.round((Date.now() - started) / 1000)} s`);
});
