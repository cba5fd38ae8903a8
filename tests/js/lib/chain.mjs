// Submitting extrinsics and reading results with polkadot.js, for the tests.

import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';

/** Connect to a node's RPC. */
export const connect = (wsUrl) =>
  ApiPromise.create({ provider: new WsProvider(wsUrl), noInitWarn: true });

/** Each event as `[name, { field: JSON value }]` (field names in camelCase). */
const camel = (n) => n.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/**
 * Sign and submit `tx` as `pair`; resolves once it is in a block with the events of
 * `section` (`[name, { field: value }]`) and the error name (`attestation.StaleState`) if it
 * failed.
 */
export function submit(api, tx, pair, section = 'attestation') {
  return new Promise((resolve, reject) => {
    let unsub = () => {};
    let done = false;
    tx.signAndSend(pair, { nonce: -1 }, (result) => {
      // A dev node with instant sealing reports `Finalized` without `InBlock` first.
      const { status } = result;
      if (!done && (status.isInBlock || status.isFinalized)) {
        done = true;
        unsub();
        let error = null;
        if (result.dispatchError) {
          if (result.dispatchError.isModule) {
            const m = api.registry.findMetaError(result.dispatchError.asModule);
            error = `${m.section}.${m.name}`;
          } else {
            error = result.dispatchError.toString();
          }
        }
        const events = result.events
          .filter(({ event }) => event.section === section)
          .map(({ event }) => [event.method, Object.fromEntries(
            event.data.names.map((n, i) => [camel(n), event.data[i].toJSON()]))]);
        const blockHash = (status.isInBlock ? status.asInBlock : status.asFinalized).toHex();
        resolve({ error, events, blockHash });
      } else if (!done && result.isError) {
        done = true;
        unsub();
        reject(new Error(`transaction ${result.status.type}`));
      }
    }).then((u) => { unsub = u; }, reject);
  });
}

/** Submit and expect success; the events as `{ Name: data }` (the last of each name), and `blockHash`. */
export async function ok(api, tx, pair, section) {
  const r = await submit(api, tx, pair, section);
  assert.equal(r.error, null, `${tx.method.section}.${tx.method.method} failed`);
  return { ...Object.fromEntries(r.events), blockHash: r.blockHash };
}

/** Submit and expect the pallet's error `name`. */
export async function fails(api, tx, pair, name) {
  const r = await submit(api, tx, pair);
  assert.equal(r.error, `attestation.${name}`);
}

/** Number of the best block. */
export const bestNumber = async (api) => (await api.rpc.chain.getHeader()).number.toNumber();

/** Number of the finalized block. */
export const finalizedNumber = async (api) =>
  (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `f` every 250 ms until it returns a truthy value (returned), or throw after `ms`. */
export async function until(what, f, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** Call an RPC method polkadot.js has no definition for (e.g. `author_rotateKeysWithOwner`). */
export const rawRpc = (api, method, params = []) => api._rpcCore.provider.send(method, params);

/**
 * A bare JSON-RPC connection (no metadata, no types): for a node that is still syncing across
 * a runtime upgrade, where polkadot.js's `ApiPromise` cannot build the old blocks' registry.
 * `call(method, params)`; `finalizedNumber()`; `disconnect()`.
 */
export async function rawClient(wsUrl) {
  const provider = new WsProvider(wsUrl);
  await provider.isReady;
  const call = (method, params = []) => provider.send(method, params);
  return {
    call,
    finalizedNumber: async () => parseInt((await call('chain_getHeader', [await call('chain_getFinalizedHead')])).number, 16),
    disconnect: () => provider.disconnect(),
  };
}

/**
 * The Aura key (hex) that authored block `hash` (the best block if none): the slot in its
 * pre-runtime digest, modulo the Aura authorities of its parent's state.
 */
export async function auraAuthor(api, hash) {
  const header = hash ? await api.rpc.chain.getHeader(hash) : await api.rpc.chain.getHeader();
  const pre = header.digest.logs.find((l) => l.isPreRuntime && l.asPreRuntime[0].toString() === 'aura');
  if (!pre) return { number: header.number.toNumber(), key: null };
  const slot = api.createType('u64', pre.asPreRuntime[1]).toBigInt();
  const authorities = await api.query.aura.authorities.at(header.parentHash);
  return { number: header.number.toNumber(), key: authorities[Number(slot % BigInt(authorities.length))].toHex() };
}

/** Wait until the best block is one authored with Aura key `key` (hex); its number. */
export const untilAuthoredBy = (api, key, what, ms) =>
  until(what, async () => {
    const { number, key: author } = await auraAuthor(api);
    return author === key && number;
  }, ms);
