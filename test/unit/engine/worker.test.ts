// The addon is context-aware: each worker thread gets its own handle table, ops run concurrently with the main
// thread's, and terminating a worker (even mid-loop) releases its tensors without disturbing the main thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as torch from '../../../src/torch/index.js';
import { deterministicWork } from './work.js';

const script = new URL('./worker-ops.js', import.meta.url);

function start(mode: 'compute' | 'spin', rounds = 0, flag = new Int32Array(new SharedArrayBuffer(4))): Worker {
  return new Worker(script, { workerData: { mode, rounds, flag } });
}

function firstMessage<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before replying`)));
  });
}

test('a worker runs ops while the main thread runs ops, and both agree', async () => {
  const expected = deterministicWork();
  const before = torch.memory().numTensors;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const w = start('compute', 200, flag);
  const reply = firstMessage<{ result: number; leaked: number; threads: number }>(w);
  const exited = new Promise<number>((resolve) => w.once('exit', resolve));
  // Wait until the worker computes, then run ops here until it is done: the two overlap by construction.
  assert.equal(Atomics.wait(flag, 0, 0, 30000) === 'timed-out', false, 'the worker never started computing');
  let mainResult = 0;
  let overlapped = 0;
  while (Atomics.load(flag, 0) === 1) {
    mainResult = deterministicWork();
    overlapped++;
  }
  assert.ok(overlapped > 0, 'the main thread ran ops while the worker ran ops');
  const r = await reply;
  assert.equal(r.result, expected, 'the worker computes what the main thread computes');
  assert.equal(mainResult, expected);
  assert.equal(r.leaked, 0, 'the worker scope released its tensors');
  assert.equal(r.threads, torch.getNumThreads(), 'intra-op threads are process-wide');
  assert.equal(torch.memory().numTensors, before, "the worker's tensors are not in the main thread's table");
  assert.equal(await exited, 0, 'the worker ends on its own once its work is done');
});

test('terminating a busy worker is clean, and a new worker loads the addon again', async () => {
  const before = torch.memory().numTensors;
  const w = start('spin');
  await firstMessage<{ started: boolean }>(w);
  // Let it run ops for a moment while this thread runs its own.
  const until = Date.now() + 150;
  while (Date.now() < until) deterministicWork();
  const code = await w.terminate();
  assert.equal(code, 1, 'terminate() stops the worker');
  assert.equal(torch.memory().numTensors, before);
  assert.equal(deterministicWork(), deterministicWork(), 'the main thread still works after the worker is gone');

  const again = start('compute', 2);
  const r = await firstMessage<{ result: number; leaked: number }>(again);
  assert.equal(r.result, deterministicWork());
  await again.terminate();
});
