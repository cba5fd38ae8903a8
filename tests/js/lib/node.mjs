// Start attest-node as a real process on free loopback ports with a temporary base path, and
// stop it always (after the tests, on exit, on Ctrl-C).

import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before use). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `$ATTEST_NODE_BIN`, else the release build in `$CARGO_TARGET_DIR` (default ~/.cache/attest/target). */
export function nodeBin() {
  const bin = process.env.ATTEST_NODE_BIN
    ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/attest/target'), 'release/attest-node');
  if (!existsSync(bin)) {
    throw new Error(`${bin} not built: run ./x test (it builds the node) or set ATTEST_NODE_BIN`);
  }
  return bin;
}

const running = new Set();
function stopAll() {
  for (const n of running) n.stop();
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { stopAll(); process.exit(130); });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

/**
 * A dev chain (`--dev`) sealing and finalizing a block every `sealingMs` ms, its RPC up.
 * Returns `{ wsUrl, log(), stop() }`.
 */
export async function startDevNode({ sealingMs = 250, extra = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'attest-js-'));
  const [rpc, p2p, prom] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(dir, 'node.log');
  const child = spawn(nodeBin(), [
    '--dev', '--sealing', String(sealingMs),
    '--rpc-port', String(rpc), '--port', String(p2p), '--prometheus-port', String(prom),
    '--no-telemetry', '--no-mdns', '--base-path', join(dir, 'base'), ...extra,
  ], { stdio: ['ignore', 'ignore', openSync(logPath, 'a')] });
  let exited = null;
  child.on('exit', (code, signal) => { exited = signal ?? code; });
  const log = (lines = 40) => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch { return ''; }
  };
  const node = {
    wsUrl: `ws://127.0.0.1:${rpc}`,
    log,
    stop() {
      running.delete(node);
      if (exited === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(node);
  const deadline = Date.now() + 120_000;
  while (!(await portOpen(rpc))) {
    if (exited !== null) { node.stop(); throw new Error(`attest-node exited early (${exited}):\n${log()}`); }
    if (Date.now() > deadline) { node.stop(); throw new Error(`attest-node RPC not up after 120 s:\n${log()}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return node;
}
