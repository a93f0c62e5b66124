// The pair loader on a temporary copy of SPT's real samples (256x256 images, keypoints, .npy parsing maps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../../src/torch/index.js';
import { openDataset, type Dataset } from '../../../src/data/layouts.js';
import { PairLoader, type LoaderOptions } from '../../../src/data/loader.js';
import type { LoaderBatch } from '../../../src/data/batch.js';

import { readNpySync } from '../../../src/data/npy.js';
import { NO_SHARED, SHARED } from './shared-data.js';

const NAMES = ['1_A', '1_B', '2_A', '2_B', '3_A', '3_B'];

async function withSpt(fn: (ds: Dataset, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-loader-'));
  try {
    mkdirSync(join(dir, 'images'));
    mkdirSync(join(dir, 'parsing'));
    for (const n of NAMES) {
      copyFileSync(join(SHARED, 'spt-samples/images', `${n}.jpg`), join(dir, 'images', `${n}.jpg`));
      copyFileSync(join(SHARED, 'spt-samples/parsing', `${n}.npy`), join(dir, 'parsing', `${n}.npy`));
    }
    copyFileSync(join(SHARED, 'spt-samples/keypoints.csv'), join(dir, 'annotation.csv'));
    await fn(await openDataset(dir), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function collect(ds: Dataset, options: LoaderOptions, epoch = 0): Promise<{ names: string[][]; data: Record<string, number[]>[] }> {
  const loader = new PairLoader(ds, options);
  const names: string[][] = [];
  const data: Record<string, number[]>[] = [];
  try {
    for await (const b of loader.batches(epoch)) {
      names.push([...b.namesA, ...b.namesB]);
      const rec: Record<string, number[]> = {};
      for (const [k, v] of Object.entries(b)) if (v instanceof torch.Tensor) rec[k] = Array.from(v.data() as ArrayLike<number | bigint>, Number);
      data.push(rec);
      torch.dispose(b);
    }
  } finally {
    await loader.close();
  }
  return { names, data };
}

test('a plain folder opens with generated pairs, frame from its images and parsing maps found', { skip: NO_SHARED }, async () => {
  await withSpt(async (ds) => {
    assert.equal(ds.layout, 'folder');
    assert.deepEqual(ds.frame, [256, 256]);
    assert.ok(ds.pairsGenerated);
    assert.deepEqual(ds.pairs.map((p) => `${p.from}>${p.to}`),
      // keypoints.csv lists 3_A, 3_B, 2_B, 2_A, 1_B, 1_A: identities in order of appearance, permutations in file order.
      ['3_A.jpg>3_B.jpg', '3_B.jpg>3_A.jpg', '2_B.jpg>2_A.jpg', '2_A.jpg>2_B.jpg', '1_B.jpg>1_A.jpg', '1_A.jpg>1_B.jpg']);
    assert.ok(ds.parsingDir?.endsWith('parsing'));
  });
});

test('batches hold the decoded images in [-1,1], poses, heatmaps, masks, affines and parsing maps', { skip: NO_SHARED }, async () => {
  await withSpt(async (ds, dir) => {
    const before = torch.memory().numTensors;
    const loader = new PairLoader(ds, { batchSize: 4, seed: 1, workers: 0, affines: true, masks: ['pg2', 'market'], shuffle: false });
    assert.equal(loader.numBatches, 2);
    const batches: LoaderBatch[] = [];
    for await (const b of loader.batches(0)) batches.push(b);
    await loader.close();
    const b = batches[0]!;
    assert.deepEqual(b.namesA, ['3_A.jpg', '3_B.jpg', '2_B.jpg', '2_A.jpg']);
    assert.deepEqual(b.namesB, ['3_B.jpg', '3_A.jpg', '2_A.jpg', '2_B.jpg']);
    assert.deepEqual(b.imageA.shape, [4, 3, 256, 256]);
    assert.deepEqual(b.poseMapB.shape, [4, 18, 256, 256]);
    assert.deepEqual(b.maskB?.shape, [4, 1, 256, 256]);
    assert.deepEqual(b.marketMaskB?.shape, [4, 1, 256, 256]);
    assert.deepEqual(b.partAffines?.shape, [4, 10, 2, 3]);
    assert.deepEqual(b.partMasks?.shape, [4, 10, 256, 256]);
    assert.deepEqual(b.parsingA?.shape, [4, 256, 256]);
    assert.equal(b.parsingA?.dtype, 'int64');
    assert.deepEqual(batches[1]!.imageA.shape, [2, 3, 256, 256], 'the last, smaller batch is kept');
    torch.scope(() => {
      assert.ok(b.imageA.min().item() >= -1 && b.imageA.max().item() <= 1);
      // Parsing map of 3_B.jpg (row 1) is the .npy's labels.
      const npy = readNpySync(join(dir, 'parsing', '3_B.npy'));
      assert.deepEqual(Array.from(b.parsingA!.select(0, 1).flatten().data() as BigInt64Array, Number), Array.from(npy.data as ArrayLike<number | bigint>, Number));
      // Keypoints of 3_B.jpg are row 1 of keypointsA and (the first pair's target) row 0 of keypointsB.
      assert.deepEqual(b.keypointsA.select(0, 1).toArray(), b.keypointsB.select(0, 0).toArray());
      // A heatmap peak sits on its keypoint.
      const [y, x] = b.keypointsB.select(0, 0).select(0, 1).toArray() as number[];
      assert.equal(b.poseMapB.select(0, 0).select(0, 1).select(0, y!).select(0, x!).item(), 1);
    });
    const { data } = await sharp(join(dir, 'images', '3_A.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const px = torch.scope(() => b.imageA.select(0, 0).select(1, 10).select(1, 20).toArray() as number[]);
    const want = [0, 1, 2].map((c) => data[(10 * 256 + 20) * 3 + c]! / 127.5 - 1);
    px.forEach((v, c) => assert.ok(Math.abs(v - want[c]!) < 1e-6, `pixel channel ${c}: ${v} vs ${want[c]}`));
    // And image B of that pair (3_B.jpg), which sits after all the A images in the decoded buffer.
    const dataB = (await sharp(join(dir, 'images', '3_B.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true })).data;
    const pxB = torch.scope(() => b.imageB.select(0, 0).select(1, 200).select(1, 100).toArray() as number[]);
    pxB.forEach((v, c) => assert.ok(Math.abs(v - (dataB[(200 * 256 + 100) * 3 + c]! / 127.5 - 1)) < 1e-6, `B pixel channel ${c}`));
    for (const bb of batches) torch.dispose(bb);
    assert.equal(torch.memory().numTensors, before, 'every tensor of every batch was handed to the caller and freed');
  });
});

test('deterministic for a seed: same order and same tensors from a worker thread and in-process, with augmentation', { skip: NO_SHARED }, async () => {
  await withSpt(async (ds) => {
    const opts: LoaderOptions = { batchSize: 2, seed: 42, affines: true, augment: { flip: 0.5, rotate: 5, scale: [0.95, 1.05], translate: 0.03 } };
    const inProcess = await collect(ds, { ...opts, workers: 0 });
    const worker = await collect(ds, { ...opts, workers: 2, prefetch: 2 });
    assert.deepEqual(worker.names, inProcess.names);
    assert.equal(worker.data.length, 3);
    for (let i = 0; i < 3; i++) {
      for (const k of Object.keys(inProcess.data[i]!)) {
        const a = inProcess.data[i]![k]!; const b = worker.data[i]![k]!;
        assert.equal(a.length, b.length, k);
        let diff = 0;
        for (let j = 0; j < a.length; j++) diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
        assert.ok(diff < 1e-5, `batch ${i} ${k} differs by ${diff}`);
      }
    }
    // Another epoch, another order; another seed, another order; the same seed again, the same order.
    const loader = new PairLoader(ds, { ...opts, workers: 0 });
    const e0 = loader.epochOrder(0).map((p) => p.from).join();
    assert.notEqual(loader.epochOrder(1).map((p) => p.from).join(), e0);
    assert.equal(new PairLoader(ds, { ...opts, workers: 0 }).epochOrder(0).map((p) => p.from).join(), e0);
    assert.notEqual(new PairLoader(ds, { ...opts, seed: 43, workers: 0 }).epochOrder(0).map((p) => p.from).join(), e0);
    await loader.close();
  });
});

test('the loader refuses pairs naming unannotated images', { skip: NO_SHARED }, async () => {
  await withSpt(async (ds) => {
    const broken = { ...ds, pairs: [...ds.pairs, { from: '1_A.jpg', to: 'ghost.jpg', line: 9 }] };
    assert.throws(() => new PairLoader(broken, { batchSize: 2, workers: 0 }), /ghost\.jpg.*data check/);
  });
});

test('stream runs on across epochs, each epoch in its own seeded order', { skip: NO_SHARED }, async () => {
  await withSpt(async (ds) => {
    const loader = new PairLoader(ds, { batchSize: 4, seed: 9, workers: 0, masks: [] });
    const seen: string[] = [];
    try {
      for await (const { epoch, index, batch } of loader.stream()) {
        seen.push(`${epoch}.${index}:${batch.namesA.join('|')}`);
        torch.dispose(batch);
        if (seen.length === 5) break;
      }
    } finally {
      await loader.close();
    }
    assert.deepEqual(seen.map((s) => s.slice(0, 3)), ['0.0', '0.1', '1.0', '1.1', '2.0']);
    const epoch1 = loader.epochOrder(1).map((p) => p.from);
    assert.equal(seen[2]!.slice(4), epoch1.slice(0, 4).join('|'));
  });
});

test('a bad image stops the epoch with an error naming the file, from a worker thread too', { skip: NO_SHARED }, async () => {
  await withSpt(async (ds, dir) => {
    writeFileSync(join(dir, 'images', '2_A.jpg'), 'not a jpeg');
    for (const workers of [0, 1]) {
      const loader = new PairLoader(ds, { batchSize: 6, workers, masks: [] });
      await assert.rejects(async () => {
        for await (const b of loader.batches(0)) torch.dispose(b);
      }, /cannot decode image .*2_A\.jpg.*data check/);
      await loader.close();
    }
  });
});
