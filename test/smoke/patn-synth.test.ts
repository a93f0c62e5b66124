// PATN on the synthetic figure world: same-person pairs rendered by src/synth, heatmaps from src/pose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { makeIdentity, renderFigure, samplePose, Rng } from '../../src/synth/index.js';
import { heatmaps, posesToTensor } from '../../src/pose/heatmaps.js';
import { getModel, resolveConfig, type PairBatch } from '../../src/models/index.js';
import type { PATNConfig } from '../../src/models/patn/config.js';

const H = 32;
const W = 16;

async function synthPairs(n: number): Promise<PairBatch> {
  const rng = new Rng(7);
  const imgs: Uint8Array[][] = [[], []];
  const poses: ReturnType<typeof samplePose>[][] = [[], []];
  for (let i = 0; i < n; i++) {
    const id = makeIdentity(11, i + 1);
    for (const side of [0, 1]) {
      const pose = samplePose(id, { height: H, width: W }, rng, { cropChance: 0, dropChance: 0 });
      poses[side]?.push(pose);
      imgs[side]?.push((await renderFigure(id, pose, { height: H, width: W })).image);
    }
  }
  return torch.scope(() => {
    const toImage = (list: Uint8Array[]): torch.Tensor => {
      const flat = new Uint8Array(list.length * H * W * 3);
      list.forEach((im, i) => flat.set(im, i * H * W * 3));
      return torch.tensor(flat, [list.length, H, W, 3]).permute([0, 3, 1, 2]).to('float32').div(127.5).sub(1).contiguous();
    };
    const keypointsA = posesToTensor(poses[0] as never);
    const keypointsB = posesToTensor(poses[1] as never);
    return {
      imageA: toImage(imgs[0] as Uint8Array[]), imageB: toImage(imgs[1] as Uint8Array[]),
      keypointsA, keypointsB,
      poseMapA: heatmaps(keypointsA, [H, W]), poseMapB: heatmaps(keypointsB, [H, W]),
    };
  });
}

test('PATN (tiny) on synthetic renders: losses finite, reconstruction falls, no leaks', async () => {
  torch.manualSeed(0);
  const batch = await synthPairs(2);
  const family = getModel('patn');
  const cfg = resolveConfig(family.defaults('tiny') as PATNConfig, { sets: ['discriminator.poolSize=0'] });
  const before = torch.memory().numTensors;
  const model = family.create(cfg);
  const l1: number[] = [];
  let count = -1;
  try {
    assert.ok(torch.scope(() => batch.imageA.min().item() >= -1 && batch.imageA.max().item() <= 1 && batch.imageA.std().item() > 0.05));
    for (let i = 0; i < 10; i++) {
      const losses = model.trainStep(batch);
      for (const [k, v] of Object.entries(losses)) assert.ok(Number.isFinite(v), `loss ${k} = ${v} at step ${i}`);
      l1.push(losses.G_L1 as number);
      if (i === 1) count = torch.memory().numTensors;
      if (i > 1) assert.equal(torch.memory().numTensors, count, `tensor count changed at step ${i}`);
    }
    assert.ok((l1[8] as number) + (l1[9] as number) < 0.9 * ((l1[0] as number) + (l1[1] as number)), `L1 did not fall: ${l1.map((v) => v.toFixed(3))}`);
  } finally {
    model.dispose();
  }
  assert.equal(torch.memory().numTensors, before);
  torch.dispose(batch);
});
