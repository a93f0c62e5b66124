// The addon keeps big blocks in glibc's heap so a training loop does not page-fault its working set in every step
// (configure_process in native/core.cc). Measured in child processes: minor page faults per round of six 8 MB tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const index = new URL('../../../src/torch/index.js', import.meta.url).href;
const probe = `import(${JSON.stringify(index)}).then((torch) => {
  // Like a training step: several activation-sized blocks alive at once, then all freed.
  const once = () => torch.dispose(Array.from({ length: 6 }, () => torch.zeros([2 * 1024 * 1024]).add_(1)));
  for (let i = 0; i < 5; i++) once();
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < 40; i++) once();
  console.log((process.resourceUsage().minorPageFault - f0) / 40);
})`;

function faultsPerTensor(env: Record<string, string | undefined>): number {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', probe], { env: childEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim().split('\n').pop());
}

test('six 8 MB tensors made and freed repeatedly are not page-faulted in again each round', { skip: process.platform !== 'linux' ? 'glibc only' : false }, () => {
  const tuned = faultsPerTensor({ REPOSER_MALLOC_TUNE: undefined, GLIBC_TUNABLES: undefined });
  const plain = faultsPerTensor({ REPOSER_MALLOC_TUNE: '0', GLIBC_TUNABLES: undefined });
  // 48 MB is 12288 pages of 4 KB: glibc's defaults trim the freed heap top (or unmap the blocks) every round.
  assert.ok(plain > 3000, `with REPOSER_MALLOC_TUNE=0 each round should fault pages in (got ${plain} faults)`);
  // Tuned rounds still fault a few pages (thread stacks, V8's own heap, and under memory pressure the kernel's
  // reclaim): measured 0 to 310 per round on a loaded machine, against 12288 when the blocks are given back.
  assert.ok(tuned < 1500, `with the addon's settings the blocks should stay mapped (got ${tuned} faults per round, ${plain} without)`);
});
