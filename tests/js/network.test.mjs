// A network as operators build it: three validators of a new local network, a fourth operator
// whose node joins later and becomes a validator, and an original validator that leaves; all
// on loopback.
//
// What the operators do here, with attest-node's own commands (docs/operators.md):
//   1. each validator makes its keys: `key generate` (a secret phrase; its sr25519 key signs
//      blocks (Aura) and is its account, its ed25519 key votes on finality (GRANDPA));
//   2. one of them exports the `local` chain spec, puts the validators into its genesis
//      (`session.keys` and `validatorSet.initialValidators`), and turns it into the raw spec
//      everybody runs (`export-chain-spec --raw`);
//   3. each validator inserts its keys into its node's keystore (`key insert`), makes a node
//      key (`key generate-node-key`) and starts with `--validator`, the first one's address
//      as `--bootnodes`;
//   4. a fourth operator starts a node with the raw spec and `--bootnodes`, syncs, has it make
//      session keys (`author_rotateKeysWithOwner`), registers them from its account
//      (`session.setKeys`), and governance (sudo) adds it (`validatorSet.addValidator`);
//   5. governance removes an original validator, whose node then stops.
//
// Checked: blocks are finalized; anchors are made; with one of the three validators stopped,
// finality stalls (two of three is not more than two thirds) while anchors still go into
// blocks; after its restart finality resumes and it reads the anchors made while it was
// down; the joining node reaches the validators' finalized block (same hash) and reads the
// same anchors there. A stranger cannot add itself or remove a validator; keys alone do not
// make a validator; once added, the fourth node authors blocks and its GRANDPA key signs
// precommits in justifications; after the removal, justifications carry only the new set's
// keys; finality never stalls for two sessions; anchors made before, during and after the
// changes are read back by every running node.
//
// Wall time: about five minutes (6-second blocks, 4-block sessions).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';
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
  const validators = names.map((name) => {
    const key = JSON.parse(nodeCommand(['key', 'generate', '--scheme', 'sr25519', '--output-type', 'json']).stdout);
    const ed = JSON.parse(nodeCommand(['key', 'inspect', '--scheme', 'ed25519', '--output-type', 'json', key.secretPhrase]).stdout);
    return { name, phrase: key.secretPhrase, aura: key.ss58Address, gran: ed.ss58Address, granHex: ed.publicKey, base: join(dir, name) };
  });

  // 2. The chain spec: `local` with these validators, then raw.
  const plain = join(dir, 'plain.json');
  const raw = join(dir, 'raw.json');
  nodeCommand(['export-chain-spec', '--chain', 'local', '--output', plain]);
  const spec = JSON.parse(readFileSync(plain, 'utf8'));
  const patch = spec.genesis.runtimeGenesis.patch;
  // A validator's account is its sr25519 key; its session keys are that key (Aura) and its
  // ed25519 key (GRANDPA).
  patch.session.keys = validators.map((v) => [v.aura, v.aura, { aura: v.aura, grandpa: v.gran }]);
  patch.validatorSet.initialValidators = validators.map((v) => v.aura);
  // Sessions of 4 blocks (24 s) instead of the runtime's 10, for a shorter test: a change is
  // in force within two sessions.
  patch.validatorSet.sessionPeriod = 4;
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
  const items = Array.from({ length: 12 }, (_, i) => digest('net', i));
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

  // Bob's validator stops: finality stalls (two of three), blocks go on, an anchor is made.
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
  const readAnchors = async (a, at, n = 2) => {
    const q = await a.at(at);
    return Promise.all([...Array(n).keys()].map(async (i) => (await q.query.attestation.anchors(id, i)).unwrap().toJSON()));
  };
  const head = await alice.api.rpc.chain.getFinalizedHead();
  const expected = await readAnchors(alice.api, head);
  assert.deepEqual(expected.map((a) => [a.firstSeq, a.log.size, a.log.root]),
    [[0, 3, logOf(items.slice(0, 3)).root], [3, 6, logOf(items.slice(0, 6)).root]]);
  await chain.until('Bob to import the finalized block', async () => (await finalizedNumber(bobApi)) >= (await alice.api.rpc.chain.getHeader(head)).number.toNumber());
  assert.deepEqual(await readAnchors(bobApi, head), expected, 'Bob reads the anchors made while it was down');

  // 4. A fourth operator's node joins with the raw spec and a bootnode (as a validator-to-be),
  //    syncs, and reads the same.
  const joinerStarted = Date.now();
  const daveBase = join(dir, 'dave');
  mkdirSync(daveBase, { recursive: true });
  nodeCommand(['key', 'generate-node-key', '--base-path', daveBase, '--chain', raw]);
  const joiner = await startNode(['--chain', raw, '--validator', '--name', 'dave', '--bootnodes', bootnode], { base: daveBase });
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

  // 5. It becomes a validator. Its operator's account is //Dave (prefunded in the `local`
  //    preset); the `local` preset's sudo key (//Alice) is the governance origin.
  const changes = Date.now();
  const dave = keyring.addFromUri('//Dave');
  const eve = keyring.addFromUri('//Eve');
  const sudo = req;
  const session = async (a) => ({
    index: (await a.query.session.currentIndex()).toNumber(),
    validators: (await a.query.session.validators()).map((v) => v.toString()),
    setId: (await a.query.grandpa.currentSetId()).toNumber(),
  });
  const before = await session(api);
  assert.deepEqual(before.validators, validators.map((v) => v.aura));
  let watch;
  let unsubJust = () => {};
  try {
    // Finality is watched from here on: the longest time the finalized block did not move.
    let lastFinal = await finalizedNumber(api);
    let lastMove = Date.now();
    let longestStall = 0;
    watch = setInterval(async () => {
      try {
        const f = await finalizedNumber(api);
        if (f > lastFinal) { lastFinal = f; lastMove = Date.now(); }
        longestStall = Math.max(longestStall, Date.now() - lastMove);
      } catch { /* the API is closing */ }
    }, 2000);
    // Justifications as they come: the GRANDPA keys that signed each one's precommits.
    const justified = [];
    unsubJust = await api.rpc.grandpa.subscribeJustifications((n) => {
      const j = api.createType('GrandpaJustification', n.toU8a(true));
      justified.push({ number: j.commit.targetNumber.toNumber(), signers: new Set(j.commit.precommits.map((p) => p.id.toHex())) });
    });

    // A stranger can neither add itself nor remove a validator, directly or through sudo.
    const refused = async (tx, pair, error) => {
      const r = await chain.submit(api, tx, pair, 'validatorSet');
      assert.equal(r.error, error, `${tx.method.section}.${tx.method.method} by ${pair.address}`);
    };
    await refused(api.tx.validatorSet.addValidator(eve.address), eve, 'BadOrigin');
    await refused(api.tx.validatorSet.removeValidator(alice.aura), eve, 'BadOrigin');
    await refused(api.tx.sudo.sudo(api.tx.validatorSet.addValidator(eve.address)), eve, 'sudo.RequireSudo');

    // Keys made by the new node, with the proof that the account owns them; Eve registers
    // keys too (made by Bob's node), without being added.
    const rotate = (a, who) => chain.rawRpc(a, 'author_rotateKeysWithOwner', [u8aToHex(who.publicKey)]);
    const daveKeys = await rotate(japi, dave);
    assert.ok(daveKeys.proof, 'the node gives an ownership proof');
    await chain.ok(api, api.tx.session.setKeys(daveKeys.keys, daveKeys.proof), dave, 'session');
    const eveKeys = await rotate(bobApi, eve);
    await chain.ok(api, api.tx.session.setKeys(eveKeys.keys, eveKeys.proof), eve, 'session');
    // Someone else's keys cannot be claimed: Eve registering Dave's with Dave's proof.
    const stolen = await chain.submit(api, api.tx.session.setKeys(daveKeys.keys, daveKeys.proof), eve, 'session');
    assert.equal(stolen.error, 'session.InvalidProof');
    // The keys are the Aura key then the GRANDPA key, 32 bytes each.
    const daveGran = `0x${daveKeys.keys.slice(2 + 64)}`;

    const added = await chain.ok(api, api.tx.sudo.sudo(api.tx.validatorSet.addValidator(dave.address)), sudo, 'sudo');
    assert.ok(added.Sudid.sudoResult.ok !== undefined, `sudo(addValidator) failed: ${JSON.stringify(added.Sudid)}`);
    // An anchor while the change is pending.
    assert.equal((await checkpoint(3, 9, 6)).Anchored.index, 2);
    const joined = await chain.until('Dave in the session validators', async () => {
      const now = await session(api);
      return now.validators.includes(dave.address) && now;
    }, 4 * 60_000);
    const addedIn = (await (await api.at(added.blockHash)).query.session.currentIndex()).toNumber();
    assert.ok(joined.index - addedIn <= 2, `in force within two session boundaries (added in session ${addedIn}, in force in ${joined.index})`);
    assert.ok(!joined.validators.includes(eve.address), 'keys alone do not make a validator');
    console.log(`Dave a validator after ${Math.round((Date.now() - changes) / 1000)} s (session ${joined.index}, GRANDPA set ${joined.setId})`);
    // It authors blocks...
    const daveAura = daveKeys.keys.slice(0, 2 + 64);
    const daveAuthored = await chain.untilAuthoredBy(api, daveAura, 'a block authored by Dave\'s node', 120_000);
    // ...and its GRANDPA key signs precommits.
    await chain.until('a justification with Dave\'s precommit', async () =>
      justified.some((j) => j.number >= daveAuthored - 10 && j.signers.has(daveGran)), 120_000);

    // 6. Charlie's validator leaves: removed by governance, its node stopped at once. Three of
    //    four still vote, so finality goes on; once the removal is in force, justifications
    //    carry only Alice's, Bob's and Dave's keys.
    const removed = await chain.ok(api, api.tx.sudo.sudo(api.tx.validatorSet.removeValidator(charlie.aura)), sudo, 'sudo');
    assert.ok(removed.Sudid.sudoResult.ok !== undefined, `sudo(removeValidator) failed: ${JSON.stringify(removed.Sudid)}`);
    await charlie.api.disconnect();
    charlie.node.stop();
    const left = await chain.until('Charlie out of the session validators', async () => {
      const now = await session(api);
      return !now.validators.includes(charlie.aura) && now;
    }, 4 * 60_000);
    assert.equal(left.validators.length, 3);
    const removedIn = (await (await api.at(removed.blockHash)).query.session.currentIndex()).toNumber();
    assert.ok(left.index - removedIn <= 2, `removed within two session boundaries (${removedIn} -> ${left.index})`);
    const leftAt = await bestNumber(api);
    const charlieGran = u8aToHex(decodeAddress(charlie.gran));
    await chain.until('justifications after the removal', async () =>
      justified.filter((j) => j.number > leftAt).length >= 2, 120_000);
    for (const j of justified.filter((x) => x.number > leftAt)) {
      assert.ok(!j.signers.has(charlieGran), `block ${j.number}: the removed validator's vote counts`);
    }
    // After the changes: one more anchor; every running node reads all of them.
    const last = await checkpoint(4, 12, 9);
    assert.equal(last.Anchored.index, 3);
    const lastNumber = (await api.rpc.chain.getHeader(last.blockHash)).number.toNumber();
    await chain.until('the last anchor finalized on every running node', async () => {
      for (const a of [api, bobApi, japi]) if ((await finalizedNumber(a)) < lastNumber) return false;
      return true;
    }, 120_000);
    const finalHead = (await api.rpc.chain.getBlockHash(lastNumber)).toHex();
    const all = await readAnchors(api, finalHead, 4);
    assert.equal(all.length, 4);
    for (const a of [bobApi, japi]) assert.deepEqual(await readAnchors(a, finalHead, 4), all, 'every node reads every anchor');
    // Two sessions of 4 six-second blocks.
    assert.ok(longestStall < 2 * 4 * 6_000, `finality stalled for ${Math.round(longestStall / 1000)} s (two sessions: 48 s)`);
    console.log(`set changes: Dave joined and Charlie left in ${Math.round((Date.now() - changes) / 1000)} s; longest finality stall ${Math.round(longestStall / 1000)} s; ${justified.length} justifications seen`);
  } finally {
    clearInterval(watch);
    unsubJust();
  }
  console.log(`network test wall time ${Math.round((Date.now() - started) / 1000)} s`);
});
