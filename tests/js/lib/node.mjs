// Start attest-node as a real process on free loopback ports, and stop it always (after the
// tests, on exit, on Ctrl-C).

import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';

const handedOut = new Set();

/**
 * A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before use), never one
 * this process was given before (the OS may hand a port it just freed out again).
 */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const s = createServer();
      s.unref();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * The RPC and Prometheus ports a node's log names (the last of each): `Running JSON-RPC
 * server: addr=127.0.0.1:45943,[::1]:38163` and `Prometheus exporter started at 127.0.0.1:42415`.
 */
export function nodePortsInLog(text) {
  let rpc = null;
  let prometheus = null;
  for (const line of text.split('\n')) {
    const r = /Running JSON-RPC server: addr=[^,\s]*:(\d+)/.exec(line);
    if (r) rpc = Number(r[1]);
    const p = /Prometheus exporter started at [^,\s]*:(\d+)/.exec(line);
    if (p) prometheus = Number(p[1]);
  }
  return { rpc, prometheus };
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
 * Start `attest-node args...` with a free P2P port, RPC and Prometheus ports of the node's
 * choosing (port 0, read back from its log: no other process can hold them) and `--base-path
 * base` (a new temporary one unless given), its RPC up. Returns
 * `{ wsUrl, p2pPort, rpcPort, prometheusPort, base, log(), stop(), kill(), start() }`:
 * `kill` stops it (SIGKILL) and `start` starts it again with the same ports and base path (a
 * port another process took meanwhile is replaced by one the node picks; `wsUrl` follows).
 */
export async function startNode(args, { base } = {}) {
  const dir = tempDir();
  base ??= join(dir, 'base');
  const p2pPort = await freePort();
  const logPath = join(dir, 'node.log');
  let proc = null;
  let exited = null;
  const log = (lines = 40) => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch { return ''; }
  };
  const node = {
    wsUrl: null,
    rpcPort: 0, p2pPort, prometheusPort: 0, base, log,
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
      const logFile = openSync(logPath, 'a');
      const logStart = fstatSync(logFile).size;
      proc = spawn(nodeBin(), [
        ...args,
        '--rpc-port', String(node.rpcPort), '--port', String(p2pPort),
        '--prometheus-port', String(node.prometheusPort),
        '--no-telemetry', '--no-mdns', '--base-path', base,
      ], { stdio: ['ignore', 'ignore', logFile] });
      closeSync(logFile);
      proc.on('exit', (code, signal) => { exited = signal ?? code; });
      running.add(node);
      const deadline = Date.now() + 120_000;
      const listening = async () => {
        let text = '';
        try { text = readFileSync(logPath).subarray(logStart).toString('utf8'); } catch { /* not yet */ }
        const { rpc, prometheus } = nodePortsInLog(text);
        if (rpc === null) return false;
        node.rpcPort = rpc;
        node.prometheusPort = prometheus ?? node.prometheusPort;
        node.wsUrl = `ws://127.0.0.1:${rpc}`;
        return portOpen(rpc);
      };
      while (!(await listening())) {
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
