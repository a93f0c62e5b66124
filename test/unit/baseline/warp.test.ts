// The part-affine warp baseline on synthetic pairs, where the true target and the true correspondence are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { posesToTensor } from '../../../src/pose/index.js';
import { Rng, correspondenceField, makeIdentity, renderFigure, samplePose, writeSynthDataset, type Render } from '../../../src/synth/index.js';
import { PROTOCOLS, evaluate, flowEndPointError, ssim, type SsimOptions } from '../../../src/eval/index.js';
import { warpBaseline, writeBaselinePredictions } from '../../../src/baseline/index.js';

const SIZE = { height: 128, width: 64 };
const SSIM = (PROTOCOLS.patn.metrics.ssim as { options: SsimOptions }).options;
const ssimOf = (a: torch.Tensor, b: torch.Tensor): number => torch.scope(() => Number((ssim(a, b, SSIM).data() as Float64Array)[0]));
const imageOf = (r: Render): torch.Tensor => torch.tensor(r.image, [1, SIZE.height, SIZE.width, 3]).permute([0, 3, 1, 2]).to('float32');

test('the warp baseline beats the untouched source on synthetic pairs: SSIM, L1 and flow end-point error', async () => {
  const before = torch.memory().numTensors;
  const rng = new Rng(21);
  const totals = { ssimWarp: 0, ssimSource: 0, l1Warp: 0, l1Source: 0, epeWarp: 0, epeSource: 0, moved: 0, body: 0 };
  const PAIRS = 8;
  for (let k = 0; k < PAIRS; k++) {
    const id = makeIdentity(8, k + 1);
    const sourcePose = samplePose(id, SIZE, rng, { cropChance: 0, dropChance: 0 });
    const targetPose = samplePose(id, SIZE, rng, { cropChance: 0, dropChance: 0 });
    const source = await renderFigure(id, sourcePose, SIZE);
    const target = await renderFigure(id, targetPose, SIZE);
    const truth = correspondenceField(source.surface, target.surface);
    torch.scope(() => {
      const src = imageOf(source);
      const tgt = imageOf(target);
      const r = warpBaseline(src, posesToTensor([sourcePose]), posesToTensor([targetPose]));
      assert.deepEqual(r.image.shape, [1, 3, 128, 64]);
      assert.deepEqual(r.flow.shape, [1, 2, 128, 64]);
      // A pose without both shoulders and hips has no part affines (Deformable GAN's rule): nothing moves then.
      totals.moved += r.moved.sum().item();
      totals.body += target.mask.reduce((a, b) => a + b, 0);
      const warped = r.image.round().clamp(0, 255);
      totals.ssimWarp += ssimOf(warped, tgt);
      totals.ssimSource += ssimOf(src, tgt);
      totals.l1Warp += warped.sub(tgt).abs().mean().item() / 127.5;
      totals.l1Source += src.sub(tgt).abs().mean().item() / 127.5;
      totals.epeWarp += flowEndPointError(r.flow.squeeze(0), truth).epe;
      const identity = torch.stack([torch.arange(0, 64, 1, 'float32').view([1, 64]).expand([128, 64]), torch.arange(0, 128, 1, 'float32').view([128, 1]).expand([128, 64])]);
      totals.epeSource += flowEndPointError(identity, truth).epe;
    });
  }
  const mean = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v / PAIRS]));
  assert.ok(totals.moved > 0.5 * totals.body, `the parts cover ${totals.moved} px of ${totals.body} body px`);
  assert.ok(mean.ssimWarp! > mean.ssimSource!, `SSIM: warp ${mean.ssimWarp} vs source ${mean.ssimSource}`);
  assert.ok(mean.l1Warp! < mean.l1Source!, `L1: warp ${mean.l1Warp} vs source ${mean.l1Source}`);
  // Side and back views defeat it where the parts overlap (it has no depth order), so only the mean is asserted.
  assert.ok(mean.epeWarp! < mean.epeSource!, `EPE: warp ${mean.epeWarp} vs identity ${mean.epeSource}`);
  console.log(`# baseline on ${PAIRS} synthetic pairs: ${JSON.stringify(mean)}`);
  assert.equal(torch.memory().numTensors, before);
});

test('identical poses leave the image unchanged, and mismatched counts are named', () => {
  torch.scope(() => {
    const img = torch.rand([1, 3, 128, 64]).mul(255);
    const kp = torch.tensor([
      20, 32, 32, 32, 34, 24, 52, 21, 68, 20, 34, 40, 52, 43, 68, 44, 66, 27, 90, 27, 114, 27, 66, 37, 90, 37, 114, 37, 18, 30, 18, 34, 19, 27, 19, 37,
    ], [1, 18, 2]);
    const r = warpBaseline(img, kp, kp);
    assert.ok(r.image.sub(img).abs().max().item() < 1e-3, 'the identity warp samples pixel centres exactly');
    assert.throws(() => warpBaseline(torch.cat([img, img]), kp, kp), /2 images but 1 source and 1 target poses/);
  });
});

test('writeBaselinePredictions writes images and flows that reposer eval scores, flow-epe included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-baseline-'));
  try {
    const data = join(dir, 'data');
    await writeSynthDataset({ out: data, size: SIZE, identities: 2, poses: 3, seed: 9, imageFormat: 'png' });
    const pred = join(dir, 'pred');
    const n = await writeBaselinePredictions({ data, out: pred });
    assert.equal(n, 6);
    assert.equal(readdirSync(join(pred, 'flows')).length, 6);
    const r = await evaluate({ pred, data, protocol: 'patn', metrics: ['ssim', 'l1', 'flow-epe'] });
    assert.equal(r.count, 6);
    for (const k of ['ssim', 'l1', 'flow-epe', 'flow-epe_1px', 'flow-epe_3px']) assert.ok(Number.isFinite(r.metrics[k]), `${k} = ${r.metrics[k]}`);
    assert.ok(r.metrics['flow-epe']! > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
