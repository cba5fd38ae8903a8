// Start attest-node as a real process on free loopback ports, and stop it always (after the
// tests, on exit, on Ctrl-C).

import { spawn, spawnSync } from 'node:child_process';
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

/** Run `attest-node args...` to completion: `{ stdout, stderr }` (throws with stderr on failure). */
export function nodeCommand(args) {
  const r = spawnSync(nodeBin(), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`attest-node ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const running = new Set();
function stopAll() {
  for (const n of running) n.stop();
}
process.on('exit', stopAll);
// `node --test` runs each file in a process of its own: if the runner is killed (a CI
// timeout), this process is orphaned and would keep its nodes running; stop them instead.
const runner = process.ppid;
setInterval(() => {
  if (process.ppid !== runner) {
    stopAll();
    process.exit(1);
  }
}, 1000).unref();
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

/** A temporary directory, removed when the process exits. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'attest-js-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Start `attest-node args...` with free RPC, P2P and Prometheus ports and `--base-path base`
 * (a new temporary one unless given), its RPC up. Returns
 * `{ wsUrl, p2pPort, rpcPort, prometheusPort, base, log(), stop(), kill(), start() }`:
 * `kill` stops it (SIGKILL) and `start` starts it again with the same ports and base path.
 */
export async function startNode(args, { base } = {}) {
  const dir = tempDir();
  base ??= join(dir, 'base');
  const [rpcPort, p2pPort, prometheusPort] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(dir, 'node.log');
  let proc = null;
  let exited = null;
  const log = (lines = 40) => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch { return ''; }
  };
  const node = {
    wsUrl: `ws://127.0.0.1:${rpcPort}`,
    rpcPort, p2pPort, prometheusPort, base, log,
    kill() {
      if (proc && exited === null) proc.kill('SIGKILL');
      proc = null;
    },
    stop() {
      running.delete(node);
      node.kill();
    },
    async start() {
      exited = null;
      proc = spawn(nodeBin(), [
        ...args,
        '--rpc-port', String(rpcPort), '--port', String(p2pPort), '--prometheus-port', String(prometheusPort),
        '--no-telemetry', '--no-mdns', '--base-path', base,
      ], { stdio: ['ignore', 'ignore', openSync(logPath, 'a')] });
      proc.on('exit', (code, signal) => { exited = signal ?? code; });
      running.add(node);
      const deadline = Date.now() + 120_000;
      while (!(await portOpen(rpcPort))) {
        if (exited !== null) { node.stop(); throw new Error(`attest-node exited early (${exited}):\n${log()}`); }
        if (Date.now() > deadline) { node.stop(); throw new Error(`attest-node RPC not up after 120 s:\n${log()}`); }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
  await node.start();
  return node;
}

/** A dev chain (`--dev`) sealing and finalizing a block every `sealingMs` ms, its RPC up. */
export function startDevNode({ sealingMs = 250, extra = [] } = {}) {
  return startNode(['--dev', '--sealing', String(sealingMs), ...extra]);
}
