// evaluate() end to end on a small Market-shaped dataset written at test time from the real user-study images
// (targets from user-study/market-userstudy/to, generated images from .../gen, as lossless PNGs so both sides
// decode the same pixels), against the PATN and GFLA scripts' computations restated in Python with scikit-image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { runOracle } from '../../helpers/oracle.js';
import { NO_SHARED, SHARED } from '../../unit/data/shared-data.js';
import { WEIGHT_FILES, evaluate } from '../../../src/eval/index.js';

const NETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'parity', 'eval', 'metric_nets.py');

const COUNT = 8;
// One plausible standing pose (y, x) for a 128x64 frame, shifted a little per image; -1 marks a missing joint.
const Y = [14, 30, 30, 48, 64, 30, 48, 64, 70, 94, 118, 70, 94, 118, 11, 11, 13, 13];
const X = [32, 32, 22, 18, 16, 42, 46, 48, 26, 26, 26, 38, 38, 38, 30, 34, 27, 37];

interface Fixture { root: string; data: string; pred: string; targets: string[]; preds: string[]; poses: [number[], number[]][] }

async function writeFixture(): Promise<Fixture> {
  const root = mkdtempSync(join(tmpdir(), 'reposer-eval-'));
  const data = join(root, 'market');
  const pred = join(root, 'pred');
  mkdirSync(join(data, 'test'), { recursive: true });
  mkdirSync(pred);
  const study = join(SHARED, 'user-study', 'market-userstudy');
  const files = readdirSync(join(study, 'to')).sort().slice(0, COUNT);
  const rows = ['name:keypoints_y:keypoints_x'];
  const pairs = ['from,to'];
  const fx: Fixture = { root, data, pred, targets: [], preds: [], poses: [] };
  for (const [i, f] of files.entries()) {
    const name = `000${i}_c1s1_00000${i}_01.png`;
    const from = `000${i}_c2s1_00000${i}_01.png`;
    await sharp(join(study, 'to', f)).png().toFile(join(data, 'test', name));
    await sharp(join(study, 'to', f)).png().toFile(join(data, 'test', from));
    await sharp(join(study, 'gen', f)).png().toFile(join(pred, `${from}___${name}.png`));
    const y = Y.map((v, j) => (i % 3 === 1 && j % 7 === 0 ? -1 : v + (i % 3)));
    const x = X.map((v, j) => (i % 3 === 1 && j % 7 === 0 ? -1 : v - (i % 2)));
    rows.push(`${name}: [${y.join(', ')}]: [${x.join(', ')}]`, `${from}: [${Y.join(', ')}]: [${X.join(', ')}]`);
    pairs.push(`${from},${name}`);
    fx.targets.push(join(data, 'test', name));
    fx.preds.push(join(pred, `${from}___${name}.png`));
    fx.poses.push([y, x]);
  }
  writeFileSync(join(data, 'market-annotation-test.csv'), rows.join('\n') + '\n');
  writeFileSync(join(data, 'market-pairs-test.csv'), pairs.join('\n') + '\n');
  return fx;
}

// getMetrics_market.py's ssim_score, l1_score and create_masked_image (pose_utils.produce_ma_mask, with skimage's
// circle as today's disk), and GFLA metrics.py's ssim / ssim_256 / compare_l1.
const PYTHON = (fx: Fixture) => `
import json
from PIL import Image
from skimage.metrics import structural_similarity
from skimage.draw import polygon, disk
from skimage.morphology import dilation, erosion, square
preds = ${JSON.stringify(fx.preds)}
targets = ${JSON.stringify(fx.targets)}
poses = ${JSON.stringify(fx.poses)}
def produce_ma_mask(kp, img_size=(128, 64), point_radius=4):
    mask = np.zeros(shape=img_size, dtype=bool)
    limbs = np.array([[2,3], [2,6], [3,4], [4,5], [6,7], [7,8], [2,9], [9,10], [10,11], [2,12], [12,13], [13,14],
                      [2,1], [1,15], [15,17], [1,16], [16,18], [2,17], [2,18], [9,12], [12,6], [9,3], [17,18]]) - 1
    for f, t in limbs:
        if kp[f][0] == -1 or kp[f][1] == -1 or kp[t][0] == -1 or kp[t][1] == -1:
            continue
        n = kp[f] - kp[t]
        n = np.array([-n[1], n[0]])
        n = point_radius * n / np.linalg.norm(n)
        v = np.array([kp[f] + n, kp[f] - n, kp[t] - n, kp[t] + n])
        yy, xx = polygon(v[:, 0], v[:, 1], shape=img_size)
        mask[yy, xx] = True
    for j in kp:
        if j[0] == -1 or j[1] == -1:
            continue
        yy, xx = disk((j[0], j[1]), radius=point_radius, shape=img_size)
        mask[yy, xx] = True
    return erosion(dilation(mask, square(5)), square(5))
patn = {'ssim': [], 'mask_ssim': [], 'l1': []}
gfla = {'ssim': [], 'ssim_256': [], 'l1': []}
for p, t, (ys, xs) in zip(preds, targets, poses):
    g = np.array(Image.open(p).convert('RGB')); r = np.array(Image.open(t).convert('RGB'))
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2)
    patn['ssim'].append(structural_similarity(r, g, data_range=g.max() - g.min(), **kw))
    patn['l1'].append(np.abs(2 * (r / 255.0 - 0.5) - 2 * (g / 255.0 - 0.5)).mean())
    m = produce_ma_mask(np.stack([np.array(ys, float), np.array(xs, float)], 1))[..., None]
    gm, rm = g * m, r * m
    patn['mask_ssim'].append(structural_similarity(rm, gm, data_range=gm.max() - gm.min(), **kw))
    gf, rf = g.astype(np.float32) / 255.0, r.astype(np.float32) / 255.0
    gfla['ssim'].append(structural_similarity(rf, gf, data_range=1, win_size=51, channel_axis=2))
    gfla['ssim_256'].append(structural_similarity(rf * 255.0, gf * 255.0, data_range=(gf * 255.0).max() - (gf * 255.0).min(), **kw))
    gfla['l1'].append(np.mean(np.abs(rf - gf)))
out = {'patn': [float(np.mean(patn[k])) for k in ('ssim', 'mask_ssim', 'l1')],
       'gfla': [float(np.mean(gfla[k])) for k in ('ssim', 'ssim_256', 'l1')]}
`;

test('evaluate() with the patn and gfla protocols equals their scripts on the same files', { skip: NO_SHARED }, async () => {
  const fx = await writeFixture();
  try {
    const patn = await evaluate({ pred: fx.pred, data: fx.data, protocol: 'patn', metrics: ['ssim', 'mask_ssim', 'l1'] });
    const gfla = await evaluate({ pred: fx.pred, data: fx.data, protocol: 'gfla', metrics: ['ssim', 'ssim_256', 'l1'] });
    const [res] = runOracle([{ code: PYTHON(fx) }]);
    const expect = { patn: res!.patn as number[], gfla: res!.gfla as number[] };
    assert.equal(patn.count, COUNT);
    assert.deepEqual(JSON.parse(JSON.stringify(patn)), patn, 'the result is plain JSON data');
    ['ssim', 'mask_ssim', 'l1'].forEach((k, i) => {
      assert.ok(Math.abs(patn.metrics[k]! - expect.patn[i]!) <= 1e-4, `patn ${k}: ours ${patn.metrics[k]}, script ${expect.patn[i]}`);
    });
    ['ssim', 'ssim_256', 'l1'].forEach((k, i) => {
      assert.ok(Math.abs(gfla.metrics[k]! - expect.gfla[i]!) <= 1e-4, `gfla ${k}: ours ${gfla.metrics[k]}, script ${expect.gfla[i]}`);
    });
    // Masking changes the score, so mask_ssim cannot pass by accident as plain SSIM.
    assert.ok(Math.abs(patn.metrics.ssim! - patn.metrics.mask_ssim!) > 1e-3);
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('evaluate() errors name the file or metric and what to do', { skip: NO_SHARED }, async () => {
  const fx = await writeFixture();
  try {
    await assert.rejects(evaluate({ pred: fx.pred, data: fx.data, protocol: 'patn', metrics: ['fid'] }),
      /metric 'fid' is not part of the 'patn' protocol; its metrics are ssim, mask_ssim, l1, is/);
    await assert.rejects(evaluate({ pred: fx.pred, data: fx.data, protocol: 'nope' }), /unknown evaluation protocol 'nope'; use one of patn, gfla, pidm, cfld/);
    await assert.rejects(evaluate({ pred: fx.pred, data: fx.data, protocol: 'gfla', metrics: ['lpips'], weights: join(fx.root, 'none') }),
      /lpips metrics cannot start: missing .*alexnet-owt-7be5be79\.pth/);
    const empty = join(fx.root, 'empty');
    mkdirSync(empty);
    await assert.rejects(evaluate({ pred: empty, data: fx.data, protocol: 'patn' }), /holds no <from>___<to>\.png or \.jpg image/);
    const small = join(fx.root, 'small');
    mkdirSync(small);
    await sharp({ create: { width: 32, height: 64, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png()
      .toFile(join(small, 'a.png___0000_c1s1_000000_01.png.png'));
    await assert.rejects(evaluate({ pred: small, data: fx.data, protocol: 'patn' }), /a\.png___0000_c1s1_000000_01\.png\.png is 64x32 but its target is 128x64.*save them at 128x64/);
    await sharp(join(small, 'a.png___0000_c1s1_000000_01.png.png')).toFile(join(fx.pred, 'b.png___0000_c1s1_000000_01.png.png'));
    await assert.rejects(evaluate({ pred: fx.pred, data: fx.data, protocol: 'patn' }), /b\.png___0000_c1s1_000000_01\.png\.png is 64x32, but .* is 128x64; every image of one evaluation must have one size/);
    rmSync(join(fx.pred, 'b.png___0000_c1s1_000000_01.png.png'));
    writeFileSync(join(fx.pred, 'x.png___missing.png.png'), '');
    await assert.rejects(evaluate({ pred: fx.pred, data: fx.data, protocol: 'patn' }), /x\.png___missing\.png\.png targets 'missing\.png', which is not in/);
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('evaluate() LPIPS (gfla and pidm) equals the lpips computation on the same files and random weights', { skip: NO_SHARED }, async () => {
  const fx = await writeFixture();
  const weights = join(fx.root, 'weights');
  mkdirSync(weights);
  try {
    const files = Object.fromEntries(Object.entries(WEIGHT_FILES).map(([k, v]) => [k, v.file]));
    const [res] = runOracle([{
      code: `
from PIL import Image
exec(open(${JSON.stringify(NETS)}).read())
nets = build_all(${JSON.stringify(weights)}, ${JSON.stringify(files)}, which=('alex', 'lins'))
load = lambda paths: torch.from_numpy(np.stack([np.array(Image.open(p).convert('RGB')) for p in paths])).permute(0, 3, 1, 2).float()
with torch.no_grad():
    d = lpips_forward(nets['alex'], nets['lins'], load(${JSON.stringify(fx.preds)}) / 127.5 - 1, load(${JSON.stringify(fx.targets)}) / 127.5 - 1)
out = {'lpips': float(d.mean())}`,
    }]);
    for (const protocol of ['gfla', 'pidm']) {
      const r = await evaluate({ pred: fx.pred, data: fx.data, protocol, metrics: ['lpips'], weights, batchSize: 3 });
      const expected = res!.lpips as number;
      assert.ok(Math.abs(r.metrics.lpips! - expected) <= 1e-4 * expected, `${protocol} lpips: ours ${r.metrics.lpips}, lpips ${expected}`);
    }
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

const SLOW = process.env.REPOSER_SLOW === '1' ? false : 'slow (2048-d matrix square roots on both sides): set REPOSER_SLOW=1';

test('evaluate() FID (gfla) equals pytorch-fid\'s computation on the same files and random torchvision weights', { skip: NO_SHARED || SLOW }, async () => {
  const fx = await writeFixture();
  const weights = join(fx.root, 'weights');
  mkdirSync(weights);
  try {
    const files = Object.fromEntries(Object.entries(WEIGHT_FILES).map(([k, v]) => [k, v.file]));
    const reference = readdirSync(join(fx.data, 'test')).sort().map((f) => join(fx.data, 'test', f));
    const [res] = runOracle([{
      code: `
from PIL import Image
from scipy import linalg
exec(open(${JSON.stringify(NETS)}).read())
nets = build_all(${JSON.stringify(weights)}, ${JSON.stringify(files)}, which=('tv',), signal=True)
load = lambda paths: torch.from_numpy(np.stack([np.array(Image.open(p).convert('RGB')) for p in paths])).permute(0, 3, 1, 2).float() / 255
with torch.no_grad():
    real = nets['tv'](inception_input(load(${JSON.stringify(reference)}), 'minus-one-to-one'))[0].double().numpy()
    fake = nets['tv'](inception_input(load(${JSON.stringify(fx.preds)}), 'minus-one-to-one'))[0].double().numpy()
mu1, s1, mu2, s2 = real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False)
covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
if not np.isfinite(covmean).all():
    offset = np.eye(s1.shape[0]) * 1e-6
    covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
diff = mu1 - mu2
out = {'fid': float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))}`,
    }]);
    const r = await evaluate({ pred: fx.pred, data: fx.data, protocol: 'gfla', metrics: ['fid'], weights, fidReference: join(fx.data, 'test') });
    const expected = res!.fid as number;
    assert.ok(expected > 1e-3, `the random network's features should tell the two sets apart (FID ${expected})`);
    assert.ok(Math.abs(r.metrics.fid! - expected) <= 1e-3 * Math.abs(expected), `FID: ours ${r.metrics.fid}, pytorch-fid ${expected}`);
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});
