// libtorch's intra-op thread count: the cores this process may use, or REPOSER_THREADS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as torch from '../../../src/torch/index.js';

const index = new URL('../../../src/torch/index.js', import.meta.url).href;
const probe = `import(${JSON.stringify(index)}).then((t) => console.log(JSON.stringify({ threads: t.getNumThreads(), cores: require('os').availableParallelism() })))`;

function childThreads(env: Record<string, string | undefined>, prefix: string[] = []): { threads: number; cores: number } {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const [cmd, ...args] = [...prefix, process.execPath, '-e', probe];
  const r = spawnSync(cmd as string, args, { env: childEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

test('by default the thread count is the available parallelism', () => {
  const r = childThreads({ REPOSER_THREADS: undefined });
  assert.equal(r.threads, availableParallelism());
  // This process too, unless the runner set REPOSER_THREADS (then it must be that).
  const wanted = process.env.REPOSER_THREADS ? Number(process.env.REPOSER_THREADS) : availableParallelism();
  assert.equal(torch.getNumThreads(), wanted);
});

test('REPOSER_THREADS sets it', () => {
  assert.equal(childThreads({ REPOSER_THREADS: '1' }).threads, 1);
  assert.equal(childThreads({ REPOSER_THREADS: '3' }).threads, 3);
});

test('a CPU affinity mask limits the default, as availableParallelism() sees it', { skip: existsSync('/usr/bin/taskset') ? false : 'no taskset' }, () => {
  const r = childThreads({ REPOSER_THREADS: undefined }, ['/usr/bin/taskset', '-c', '0']);
  assert.equal(r.cores, 1);
  assert.equal(r.threads, 1);
});

test('setNumThreads changes it and rejects nonsense', () => {
  const before = torch.getNumThreads();
  try {
    torch.setNumThreads(1);
    assert.equal(torch.getNumThreads(), 1);
    assert.throws(() => torch.setNumThreads(0), /setNumThreads: need a positive integer, got 0/);
  } finally {
    torch.setNumThreads(before);
  }
});
