// SPT's method-specific parts without Python: config checks, parameter counts, the registry hooks, parsing helpers
// (one-hot, the part-wise warp under a pure translation, IoU, face crops), the stage and learning-rate schedule, and
// which networks each stage updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { getModel, PRESETS } from '../../../src/models/index.js';
import {
  SptModel, sptNetworkCounts, faceCrops, oneHotParsing, parsingIoU, sptDefaults, validateSptConfig, warpParsing, type SptConfig,
} from '../../../src/models/spt/index.js';
import { figureKeypoints } from '../../helpers/poses.js';
import { sptSynthBatch } from '../../helpers/spt-batch.js';

test('every preset validates; bad stages, variants, style kinds and sizes are errors naming the key', () => {
  for (const p of PRESETS) validateSptConfig(sptDefaults(p));
  const bad = (f: (c: SptConfig) => void, re: RegExp): void => {
    const c = sptDefaults('tiny');
    f(c);
    assert.throws(() => validateSptConfig(c), re);
  };
  bad((c) => { c.schedule.stages = [...c.schedule.stages].reverse(); }, /schedule\.stages must be \[semantic, appearance, joint\]/);
  bad((c) => { (c as { variant: string }).variant = 'gt'; }, /variant 'gt'/);
  bad((c) => { (c.loss as { styleKind: string }).styleKind = 'gram'; }, /loss\.styleKind 'gram'/);
  bad((c) => { c.image = { height: 60, width: 32 }; }, /divisible by generator\.semantic\.scale/);
  bad((c) => { c.generator.appearance.decoderChannels = [16, 16, 8, 3]; }, /decoderChannels needs 5 entries/);
});

test('parameter counts per network, presets deepfashion and market (reported in docs/models-spt.md)', () => {
  const fam = getModel('spt');
  const df = sptNetworkCounts(sptDefaults('deepfashion'));
  const mk = sptNetworkCounts(sptDefaults('market'));
  console.log(`# deepfashion ${JSON.stringify(df)}\n# market ${JSON.stringify(mk)}`);
  // G_A is the official global generator's layout: the same at both presets (inputs 3+9+18 and 18+9 channels).
  assert.equal(df.generator.appearance, mk.generator.appearance);
  // The official Global_Generator(3+9+18+9+18, ...) counted from its layer list: encoders on 30 and 27 channels,
  // Blocks without conv bias and with a scalar (weight, bias) norm, the first 3x3 convs and the last conv with bias.
  assert.equal(df.generator.appearance, 61_119_453);
  assert.deepEqual(Object.keys(mk.discriminators).sort(), ['netD_image', 'netD_semantic']);
  assert.deepEqual(Object.keys(df.discriminators).sort(), ['netD_face', 'netD_image', 'netD_semantic'], 'DeepFashion has the face D');
  assert.ok(df.generator.semantic > mk.generator.semantic, 'DeepFashion G_S has more residual blocks');
  const total = fam.parameterCounts?.(sptDefaults('market')) as Record<string, number>;
  assert.equal(total.netG, mk.generator.semantic + mk.generator.appearance + mk.generator.poseEstimator);
  assert.deepEqual(fam.batchNeeds(sptDefaults('market')), { parsing: true, pseudoParsing: false });
  const searched = sptDefaults('market');
  searched.loss.pseudoLabel = 'searched';
  assert.deepEqual(fam.batchNeeds(searched), { parsing: true, pseudoParsing: true });
});

test('warpParsing moves labels with a translated pose; IoU is 1 for equal maps and 0 for disjoint ones', () => {
  torch.scope(() => {
    const [h, w] = [64, 32];
    const kpA = figureKeypoints(1, [h, w], 0);
    const kpB = kpA.add(torch.tensor([4, 3], [1, 1, 2]));
    // A body-shaped map: upper clothes between shoulders and hips, face above the neck, pants below the hips.
    const lab = torch.zeros([1, h, w], 'int64');
    lab.narrow(1, 15, 19).narrow(2, 10, 12).fill_(3);
    lab.narrow(1, 4, 9).narrow(2, 13, 6).fill_(1);
    lab.narrow(1, 34, 24).narrow(2, 11, 10).fill_(4);
    const shifted = torch.roll(lab, [4, 3], [1, 2]);
    const moved = warpParsing(lab, kpA, kpB);
    const iou = parsingIoU(moved, shifted).item();
    assert.ok(iou > 0.85, `IoU of the warped map with the shifted one: ${iou}`);
    assert.ok(parsingIoU(lab, shifted).item() < iou, 'the warp beats leaving the map where it was');
    assert.equal(parsingIoU(lab, lab).item(), 1);
    assert.equal(parsingIoU(torch.full([1, 4, 4], 3, 'int64'), torch.full([1, 4, 4], 4, 'int64')).item(), 0);
    assert.deepEqual(oneHotParsing(lab).sum([1]).amin([0, 1, 2]).item(), 1);
  });
});

test('faceCrops cuts the head box out of the image; a pose without head keypoints gives zeros', () => {
  torch.scope(() => {
    const [h, w] = [64, 32];
    const kp = figureKeypoints(2, [h, w], 0);
    const img = torch.zeros([2, 3, h, w]);
    // The head keypoints' centroid is near (7, 15); the box half side is trunc(0.4 * torso size) pixels.
    img.narrow(2, 0, 16).fill_(1);
    const noHead = kp.clone();
    noHead.narrow(1, 14, 4).fill_(-1);
    noHead.narrow(1, 0, 1).fill_(-1);
    const crops = faceCrops(img, torch.cat([kp.narrow(0, 0, 1), noHead.narrow(0, 1, 1)], 0), 8);
    assert.deepEqual(crops.shape, [2, 3, 8, 8]);
    const top = crops.narrow(0, 0, 1).narrow(2, 0, 2).mean().item();
    assert.ok(top > 0.99, `the box's top rows lie in the bright band: ${top}`);
    assert.equal(crops.narrow(0, 1, 1).abs().max().item(), 0);
  });
});

test('the model walks the stages by step and decays each stage\'s learning rate on its own', () => {
  const cfg = sptDefaults('tiny');
  cfg.schedule.stages = [
    { name: 'semantic', epochs: 1, decayEpochs: 1 },
    { name: 'appearance', epochs: 2, decayEpochs: 0 },
    { name: 'joint', epochs: 0, decayEpochs: 3 },
  ];
  const m = new SptModel(cfg);
  try {
    const lrs: number[] = [];
    for (let e = 0; e < 7; e++) {
      lrs.push((m.optimizers().get('optimizer_G_A') as torch.optim.Adam).lr);
      m.endEpoch();
    }
    const lr = cfg.optim.lr;
    // semantic: 1 constant + 1 decay (1/2); appearance: 2 constant; joint: 3 decay epochs (3/4, 2/4, 1/4).
    assert.deepEqual(lrs.map((v) => +(v / lr).toFixed(6)), [1, 0.5, 1, 1, 0.75, 0.5, 0.25]);
    const state = m.trainingState();
    assert.deepEqual(state.json, { epoch: 7 });
    assert.equal(m.stage, 'semantic', 'the stage follows training steps, not endEpoch');
    torch.noGrad(() => m.generator.trainSteps.fill_(2));
    assert.equal(m.stage, 'appearance');
    torch.noGrad(() => m.generator.trainSteps.fill_(4));
    assert.equal(m.stage, 'joint');
  } finally {
    m.dispose();
  }
});

test('which networks each stage updates: G_S alone, G_A alone, then both only for e2e', async () => {
  const snapshot = (m: torch.nn.Module): torch.Tensor => torch.scope(() => torch.cat(m.parameters().map((p) => p.detach().flatten()), 0)).keep();
  const changed = (before: torch.Tensor, m: torch.nn.Module): boolean => torch.scope(() => !snapshot(m).equal(before));
  const batch = await sptSynthBatch(2, [64, 32], 5);
  try {
    for (const variant of ['ts-pred', 'e2e'] as const) {
      const cfg = sptDefaults('tiny');
      cfg.variant = variant;
      cfg.schedule.stages = [{ name: 'semantic', epochs: 1, decayEpochs: 0 }, { name: 'appearance', epochs: 1, decayEpochs: 0 }, { name: 'joint', epochs: 1, decayEpochs: 0 }];
      const m = new SptModel(cfg);
      try {
        const seen: string[] = [];
        for (let i = 0; i < 3; i++) {
          const [s, a] = [snapshot(m.generator.semantic), snapshot(m.generator.appearance)];
          const stage = m.stage;
          m.trainStep(batch);
          seen.push(`${stage}:${changed(s, m.generator.semantic) ? 'S' : '-'}${changed(a, m.generator.appearance) ? 'A' : '-'}`);
          torch.dispose([s, a]);
        }
        assert.deepEqual(seen, ['semantic:S-', 'appearance:-A', `joint:${variant === 'e2e' ? 'S' : '-'}A`], variant);
      } finally {
        m.dispose();
      }
    }
  } finally {
    torch.dispose(batch);
  }
});
