// The two stores a process group can meet on, each with two real ranks (processes): libtorch 2.4 and later default
// the TCPStore to a libuv server, which Debian's libtorch 2.6 is built without, and then refused every tcp: store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as torch from '../../../src/torch/index.js';

const skip = torch.distributed.available() ? false : 'this build has no Gloo (libgloo-dev)';
const TORCH = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'torch', 'index.js')).href;

/** A port nothing listens on now (the OS picks it; closed again before rank 0 serves the store there). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('the test server has no TCP port');
  return address.port;
}

/** Runs `ranks` processes that each all-reduce [rank + 1, 10 * (rank + 1)] over `store`; returns their outputs. */
async function allReduceIn(store: string, ranks: number, dir: string): Promise<string[]> {
  const script = join(dir, 'rank.mjs');
  writeFileSync(script, [
    `const torch = await import(${JSON.stringify(TORCH)});`,
    'const rank = Number(process.argv[2]);',
    `torch.distributed.init({ store: ${JSON.stringify(store)}, rank, worldSize: ${ranks}, timeoutMs: 30000 });`,
    "const t = torch.tensor([rank + 1, 10 * (rank + 1)], { dtype: 'float32' });",
    'torch.distributed.allReduceMean([t]);',
    'torch.distributed.barrier();',
    'console.log(JSON.stringify(Array.from(t.data())));',
    't.dispose();',
    'torch.distributed.destroy();',
  ].join('\n'));
  const runs = Array.from({ length: ranks }, (_, rank) => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [script, String(rank)], { env: { ...process.env, REPOSER_THREADS: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`rank ${rank} exited ${code}: ${err}`))));
  }));
  return Promise.all(runs);
}

test('two ranks all-reduce over a tcp: store (rank 0 serves it)', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-store-'));
  try {
    const outputs = await allReduceIn(`tcp:127.0.0.1:${await freePort()}`, 2, dir);
    for (const o of outputs) assert.deepEqual(JSON.parse(o), [1.5, 15]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two ranks all-reduce over a file: store', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-store-'));
  try {
    const outputs = await allReduceIn(`file:${join(dir, 'store')}`, 2, dir);
    for (const o of outputs) assert.deepEqual(JSON.parse(o), [1.5, 15]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
