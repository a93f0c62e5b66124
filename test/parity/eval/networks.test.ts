// The metric networks (LPIPS/AlexNet, InceptionV3 in torchvision's and pytorch-fid's variants) and the IS pipeline
// against metric_nets.py, a plain-PyTorch restatement of the official networks: both load the same RANDOM weights,
// which the Python side writes at test time in the official state-dict layouts (with the keys LPIPS and FID do not
// use, AuxLogits and classifier, present) under the official file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';
import { assertClose, fromWire, runOracle, seedRandomInputs, type WireTensor } from '../../helpers/oracle.js';
import { InceptionV3, Lpips, WEIGHT_FILES, inceptionScore, prepareInceptionInput } from '../../../src/eval/index.js';

seedRandomInputs();
const NETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'parity', 'eval', 'metric_nets.py');

/** Relative comparison: random deep networks drift in scale, so the tolerance follows the expected values' size. */
function close(actual: torch.Tensor, expected: torch.Tensor, what: string): void {
  const size = torch.scope(() => expected.abs().flatten().amax([0]).item());
  assert.ok(size > 0, `${what}: the reference is all zeros, so the check could not fail`);
  assertClose(actual, expected, what, { atol: 1e-4 * size, rtol: 1e-3 });
}

test('LPIPS, InceptionV3 (both variants, both input steps) and IS equal the PyTorch restatement on the same random weights', () => {
  const folder = mkdtempSync(join(tmpdir(), 'reposer-eval-weights-'));
  try {
    torch.scope(() => {
      const a = torch.rand([4, 3, 128, 64]);
      const b = torch.rand([4, 3, 128, 64]);
      const files = Object.fromEntries(Object.entries(WEIGHT_FILES).map(([k, v]) => [k, v.file]));
      const [res] = runOracle([{
        inputs: { a, b },
        code: `
exec(open(${JSON.stringify(NETS)}).read())
nets = build_all(${JSON.stringify(folder)}, ${JSON.stringify(files)})
a, b = inputs['a'], inputs['b']
with torch.no_grad():
    lp = lpips_forward(nets['alex'], nets['lins'], a * 2 - 1, b * 2 - 1)
    tv_pool, _ = nets['tv'](inception_input(a[:2], 'minus-one-to-one'))
    tvt_pool, tvt_logits = nets['tv'](inception_input(a[:2], 'torchvision-transform'))
    fid_pool, fid_logits = nets['fid'](inception_input(a, 'minus-one-to-one'))
p = F.softmax(fid_logits.double(), 1).numpy()
scores = []
for i in range(2):
    part = p[(i * p.shape[0] // 2):((i + 1) * p.shape[0] // 2), :]
    kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
    scores.append(np.exp(np.mean(np.sum(kl, 1))))
out = {'lpips': lp, 'tv_pool': tv_pool, 'tvt_pool': tvt_pool, 'tvt_logits': tvt_logits, 'fid_pool': fid_pool,
       'fid_logits': fid_logits, 'is_mean': float(np.mean(scores)), 'is_std': float(np.std(scores))}`,
      }]);
      const expected = (k: string) => fromWire(res![k] as WireTensor);

      const lpips = Lpips.fromWeights(folder);
      close(lpips.forward(a.mul(2).sub(1), b.mul(2).sub(1)), expected('lpips'), 'LPIPS distances');
      assert.ok(torch.scope(() => lpips.forward(a.mul(2).sub(1), a.mul(2).sub(1)).abs().amax([0]).item()) === 0, 'LPIPS of an image with itself is 0');
      lpips.dispose();

      const tv = InceptionV3.fromWeights('torchvision', folder);
      close(tv.forward(prepareInceptionInput(a.narrow(0, 0, 2), 'minus-one-to-one')).pool, expected('tv_pool'), 'torchvision Inception pool3, [-1,1] input (GFLA/PIDM)');
      const t = tv.forward(prepareInceptionInput(a.narrow(0, 0, 2), 'torchvision-transform'));
      close(t.pool, expected('tvt_pool'), 'torchvision Inception pool3, transform_input (CFLD)');
      close(t.logits, expected('tvt_logits'), 'torchvision Inception logits');
      tv.dispose();

      const fid = InceptionV3.fromWeights('fid', folder);
      const f = fid.forward(prepareInceptionInput(a, 'minus-one-to-one'));
      close(f.pool, expected('fid_pool'), 'pytorch-fid Inception pool3');
      close(f.logits, expected('fid_logits'), 'pytorch-fid Inception 1008-way logits');
      const is = inceptionScore(f.logits, 2);
      assert.ok(Math.abs(is.mean - (res!.is_mean as number)) <= 1e-4 * (res!.is_mean as number), `IS mean ${is.mean} vs ${String(res!.is_mean)}`);
      assert.ok(Math.abs(is.std - (res!.is_std as number)) <= 1e-4 * (res!.is_mean as number), `IS std ${is.std} vs ${String(res!.is_std)}`);
      fid.dispose();
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('a missing weight file is an error naming the file, what it is and where it goes', () => {
  assert.throws(() => Lpips.fromWeights('/nonexistent-weights'),
    /missing \/nonexistent-weights\/alexnet-owt-7be5be79\.pth: torchvision's alexnet ImageNet weights .*needed for LPIPS.*put the file at/);
  assert.throws(() => InceptionV3.fromWeights('fid', '/nonexistent-weights'), /pt_inception-2015-12-05-6726825d\.pth: pytorch-fid's FID Inception weights/);
});
