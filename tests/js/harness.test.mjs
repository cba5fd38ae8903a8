// The harness's ports: a test talks to its own node, never to a process that took the port it
// asked for (which would accept the connection and never answer).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { freePort, nodePortsInLog, startDevNode } from './lib/node.mjs';

test('free ports are never handed out twice', async () => {
  const seen = new Set();
  for (let i = 0; i < 300; i++) {
    const port = await freePort();
    assert.ok(!seen.has(port), `port ${port} handed out twice`);
    seen.add(port);
  }
});

test('the ports a node prints are read from its log, the last of each', () => {
  const log = '2026-12-05 16:27:13 〽️ Prometheus exporter started at 127.0.0.1:42415    \n'
    + '2026-12-05 16:27:13 Running JSON-RPC server: addr=127.0.0.1:45943,[::1]:38163    \n';
  assert.deepEqual(nodePortsInLog(log), { rpc: 45943, prometheus: 42415 });
  assert.deepEqual(nodePortsInLog(`${log}Running JSON-RPC server: addr=127.0.0.1:40001,\n`), { rpc: 40001, prometheus: 42415 });
  assert.deepEqual(nodePortsInLog('Running JSON-RPC server: addr=\n'), { rpc: null, prometheus: null });
});

test('a node whose port was taken while it was down is found where it listens', async () => {
  const node = await startDevNode();
  const squatter = createServer(() => {});
  try {
    const first = node.rpcPort;
    node.kill();
    // The port is free once the killed process is gone.
    for (let i = 0; ; i++) {
      const err = await new Promise((resolve) => {
        squatter.once('error', resolve);
        squatter.listen(first, '127.0.0.1', () => resolve(null));
      });
      if (err === null) break;
      if (i === 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
    await node.start();
    assert.notEqual(node.rpcPort, first);
    assert.equal(node.wsUrl, `ws://127.0.0.1:${node.rpcPort}`);
    const r = await fetch(`http://127.0.0.1:${node.rpcPort}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'system_chain', params: [] }),
    });
    assert.match(await r.text(), /Attest Development/);
  } finally {
    node.stop();
    squatter.close();
  }
});
