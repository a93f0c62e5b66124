// SSIM of every protocol against scikit-image's structural_similarity, called as each official script calls it, on
// the real user-study images (../shared/data/user-study/*/{to,gen}, paired in sorted order). Both sides read the same
// decoded pixels, so JPEG decoders cannot differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { runOracle } from '../../helpers/oracle.js';
import { NO_SHARED, SHARED } from '../../unit/data/shared-data.js';
import { PROTOCOLS, padFashionToSquare, readRgb, ssim, type SsimOptions } from '../../../src/eval/index.js';

// All 55 Market pairs; the 256x256 DeepFashion pairs are slow on the Python side, so the default run takes the
// first 12 (sorted) and REPOSER_SLOW=1 takes all 55.
const SLOW = process.env.REPOSER_SLOW === '1';
const TAKE: Record<string, number> = { market: 55, fashion: SLOW ? 55 : 12 };

async function userStudy(set: string): Promise<{ gen: torch.Tensor; to: torch.Tensor }> {
  const dir = join(SHARED, 'user-study', `${set}-userstudy`);
  const read = async (sub: string) => {
    const files = readdirSync(join(dir, sub)).sort().slice(0, TAKE[set]);
    const images = await Promise.all(files.map((f) => readRgb(join(dir, sub, f))));
    const stacked = torch.stack(images);
    torch.dispose(images);
    return stacked;
  };
  return { gen: await read('gen'), to: await read('to') };
}

// Each entry: our settings and the official call (im1 = target, im2 = generated, HWC numpy arrays).
const CASES: { name: string; options: SsimOptions; scale: 'uint8' | 'unit'; call: string }[] = [
  {
    name: 'patn ssim (getMetrics_market.py ssim_score, on uint8)',
    options: PROTOCOLS.patn.metrics.ssim!.kind === 'ssim' ? PROTOCOLS.patn.metrics.ssim!.options : ({} as SsimOptions),
    scale: 'uint8',
    call: 'structural_similarity(t, g, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2, data_range=g.max() - g.min())',
  },
  {
    name: 'gfla/cfld ssim (win_size 51, data_range 1, float32 / 255)',
    options: PROTOCOLS.gfla.metrics.ssim!.kind === 'ssim' ? PROTOCOLS.gfla.metrics.ssim!.options : ({} as SsimOptions),
    scale: 'unit',
    call: 'structural_similarity(t.astype(np.float32) / 255.0, g.astype(np.float32) / 255.0, data_range=1, win_size=51, channel_axis=2)',
  },
  {
    name: 'pidm ssim_256 (sigma 1.2 on float32 * 255)',
    options: PROTOCOLS.pidm.metrics.ssim_256!.kind === 'ssim' ? PROTOCOLS.pidm.metrics.ssim_256!.options : ({} as SsimOptions),
    scale: 'uint8',
    call: '(lambda a, b: structural_similarity(a, b, gaussian_weights=True, sigma=1.2, use_sample_covariance=False, channel_axis=2, ' +
      'data_range=b.max() - b.min()))((t.astype(np.float32) / 255.0) * 255.0, (g.astype(np.float32) / 255.0) * 255.0)',
  },
];

for (const set of ['market', 'fashion']) {
  test(`SSIM of every protocol equals scikit-image's on the ${set} user-study images`, { skip: NO_SHARED }, async () => {
    const { gen, to } = await userStudy(set);
    try {
      assert.equal(gen.shape[0], TAKE[set]);
      const ours = CASES.map((c) => torch.scope(() => {
        const scale = c.scale === 'uint8' ? 1 : 1 / 255;
        return [...ssim(gen.to('float64').mul(scale), to.to('float64').mul(scale), c.options).data()];
      }));
      const results = runOracle(CASES.map((c) => ({
        inputs: { gen, to },
        code: `
from skimage.metrics import structural_similarity
vals = []
for gi, ti in zip(inputs['gen'], inputs['to']):
    g = gi.permute(1, 2, 0).numpy(); t = ti.permute(1, 2, 0).numpy()
    vals.append(float(${c.call}))
out = {'ssim': vals}`,
      })));
      CASES.forEach((c, i) => {
        const expected = results[i]!.ssim as number[];
        const got = ours[i]!;
        const worst = Math.max(...got.map((v, j) => Math.abs(Number(v) - expected[j]!)));
        assert.ok(worst <= 1e-4, `${c.name}: largest difference ${worst} over ${got.length} pairs (ours ${got[0]}, skimage ${expected[0]} on the first)`);
        // The check can fail: the images are not all alike.
        assert.ok(Math.max(...expected) - Math.min(...expected) > 0.05, `${c.name}: the images score too alike to tell settings apart`);
      });
    } finally {
      gen.dispose();
      to.dispose();
    }
  });
}

test("PATN's DeepFashion SSIM pads 176-wide images with 40 white columns, as getMetrics_fashion.py addBounding", { skip: NO_SHARED }, async () => {
  const { gen, to } = await userStudy('fashion');
  try {
    const options = PROTOCOLS.patn.metrics.ssim!.kind === 'ssim' ? PROTOCOLS.patn.metrics.ssim!.options : ({} as SsimOptions);
    const [g176, t176] = [gen.narrow(3, 40, 176).contiguous(), to.narrow(3, 40, 176).contiguous()];
    const ours = torch.scope(() => [...ssim(padFashionToSquare(g176), padFashionToSquare(t176), options).data()]);
    const [res] = runOracle([{
      inputs: { gen: g176, to: t176 },
      code: `
from skimage.metrics import structural_similarity
def add_bounding(image, bound=40):
    h, w, c = image.shape
    out = (np.ones((h, w + bound * 2, c)) * 255).astype(np.uint8)
    out[:, bound:bound + w] = image
    return out
vals = []
for gi, ti in zip(inputs['gen'], inputs['to']):
    g = add_bounding(gi.permute(1, 2, 0).numpy()); t = add_bounding(ti.permute(1, 2, 0).numpy())
    vals.append(float(structural_similarity(t, g, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2, data_range=g.max() - g.min())))
out = {'ssim': vals}`,
    }]);
    const expected = res!.ssim as number[];
    const worst = Math.max(...ours.map((v, j) => Math.abs(Number(v) - expected[j]!)));
    assert.ok(worst <= 1e-4, `padded SSIM: largest difference ${worst}`);
    g176.dispose();
    t176.dispose();
  } finally {
    gen.dispose();
    to.dispose();
  }
});
