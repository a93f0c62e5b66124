// Data-parallel shards: ranks' loaders together yield exactly one combined loader's batches, augmentation included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { openDataset, PairLoader, type LoaderBatch } from '../../../src/data/index.js';
import { writeSynthDataset } from '../../../src/synth/index.js';

async function epochOf(loader: PairLoader): Promise<LoaderBatch[]> {
  const out: LoaderBatch[] = [];
  for await (const b of loader.batches(1)) out.push(b);
  await loader.close();
  return out;
}

test('two shards of batch 2 are the halves of each combined batch of 4, with the same flips and shifts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loader-shard-'));
  const before = torch.memory().numTensors;
  try {
    await writeSynthDataset({ out: dir, size: { height: 32, width: 16 }, identities: 5, poses: 3, seed: 3, testFraction: 0 });
    const ds = await openDataset(dir, { split: 'train' });
    const common = { seed: 9, workers: 0, augment: { flip: 0.5, translate: 0.1 } };
    const combined = await epochOf(new PairLoader(ds, { ...common, batchSize: 4 }));
    const shards = await Promise.all([0, 1].map((rank) => epochOf(new PairLoader(ds, { ...common, batchSize: 2, shard: { rank, count: 2 } }))));
    assert.equal(shards[0]?.length, Math.floor(ds.pairs.length / 4), 'an incomplete last combined batch is dropped');
    for (const [b, whole] of combined.slice(0, shards[0]?.length).entries()) {
      const r0 = shards[0]?.[b] as LoaderBatch;
      const r1 = shards[1]?.[b] as LoaderBatch;
      assert.deepEqual([...r0.namesA, ...r1.namesA], whole.namesA);
      for (const key of ['imageA', 'imageB', 'keypointsA', 'keypointsB', 'poseMapB'] as const) {
        const joined = torch.cat([r0[key], r1[key]], 0);
        assert.ok(torch.scope(() => joined.equal(whole[key])), `batch ${b} ${key}: the shards differ from the combined batch`);
        joined.dispose();
      }
    }
    for (const b of [...combined, ...shards.flat()]) torch.dispose(Object.values(b).filter((v): v is torch.Tensor => v instanceof torch.Tensor));
    assert.equal(torch.memory().numTensors, before);
    assert.throws(() => new PairLoader(ds, { ...common, batchSize: 64, shard: { rank: 0, count: 2 } }), /do not fill one combined batch of 64 x 2 ranks/);
    assert.throws(() => new PairLoader(ds, { ...common, batchSize: 2, shard: { rank: 2, count: 2 } }), /0 <= rank < count, got rank 2 of 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
