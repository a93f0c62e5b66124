// GFLA's losses against the released formulation in python3-torch (gfla_reference.py: external_function.py's
// PerceptualCorrectness.calculate_loss, AffineRegularizationLoss's conv + block extractor + reshape, VGGLoss's Gram
// matrices, and the VGG19 slices fed raw [-1, 1] images), values and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { affineRegularization, contentStyle, correctnessLoss, vggFeatures } from '../../../src/models/gfla/losses.js';
import { Vgg19Features, randomVgg19StateDict } from '../../../src/models/layers/vgg.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';
import { GFLA_REFERENCE } from './gfla-reference.js';

const F64 = { atol: 1e-10, rtol: 1e-10 };

function gradOf(fn: (x: torch.Tensor) => torch.Tensor, x: torch.Tensor): [torch.Tensor, torch.Tensor] {
  const xg = x.detach().clone();
  xg.requiresGrad = true;
  const y = fn(xg);
  y.backward();
  return [y.detach(), (xg.grad as torch.Tensor).clone()];
}

test('correctnessLoss matches PerceptualCorrectness.calculate_loss (flow at the feature size and at half of it)', () => {
  torch.manualSeed(21);
  torch.scope(() => {
    const t = torch.rand([2, 8, 6, 4], 'float64');
    const s = torch.rand([2, 8, 6, 4], 'float64');
    const flows = [torch.rand([2, 2, 6, 4], 'float64').sub(0.5).mul(4), torch.rand([2, 2, 3, 2], 'float64').sub(0.5).mul(4)];
    const res = runOracle(flows.map((f) => ({
      code: `${GFLA_REFERENCE}\nl = official_correctness(inputs['t'], inputs['s'], inputs['f'])\nl.backward()\nout = {'l': l, 'df': inputs['f'].grad}`,
      inputs: { t, s, f }, grad: ['f'],
    })));
    flows.forEach((f, i) => {
      const [l, df] = gradOf((x) => correctnessLoss(t, s, x), f);
      const r = res[i] as Record<string, WireTensor>;
      assertClose(l, fromWire(r.l as WireTensor), `correctness, flow ${f.shape}`, F64);
      assertClose(df, fromWire(r.df as WireTensor), `correctness gradient, flow ${f.shape}`, F64);
    });
  });
});

test('affineRegularization matches AffineRegularizationLoss (n = 3 and 5), value and gradient', () => {
  torch.manualSeed(22);
  torch.scope(() => {
    const f = torch.randn([2, 2, 7, 6], 'float64');
    const res = runOracle([3, 5].map((n) => ({
      code: `${GFLA_REFERENCE}\nl = official_affine_regularization(inputs['f'], ${n})\nl.backward()\nout = {'l': l, 'df': inputs['f'].grad}`,
      inputs: { f }, grad: ['f'],
    })));
    [3, 5].forEach((n, i) => {
      const [l, df] = gradOf((x) => affineRegularization(x, n), f);
      const r = res[i] as Record<string, WireTensor>;
      // The official path multiplies by K^T K through a conv and an average: a different summation order.
      assertClose(l, fromWire(r.l as WireTensor), `affine regularisation n=${n}`, { atol: 1e-9, rtol: 1e-9 });
      assertClose(df, fromWire(r.df as WireTensor), `affine regularisation gradient n=${n}`, { atol: 1e-9, rtol: 1e-9 });
    });
  });
});

test('affineRegularization is zero for an exactly affine flow and positive otherwise', () => {
  torch.scope(() => {
    const [h, w] = [8, 7];
    const ys = torch.arange(0, h, 1, 'float64').view([h, 1]).expand([h, w]);
    const xs = torch.arange(0, w, 1, 'float64').view([1, w]).expand([h, w]);
    // x' = 0.3x − 0.2y + 1.5, y' = 0.1x + 0.9y − 2: any affine map of the coordinates, minus the coordinates.
    const affine = torch.stack([xs.mul(0.3).sub(ys.mul(0.2)).add(1.5), xs.mul(0.1).add(ys.mul(0.9)).sub(2)], 0).unsqueeze(0);
    for (const n of [3, 5]) {
      assert.ok(affineRegularization(affine, n).item() < 1e-20, `affine flow, n=${n}`);
      const bent = affine.add(torch.randn([1, 2, h, w], 'float64').mul(0.1));
      assert.ok(affineRegularization(bent, n).item() > 1e-4, `perturbed flow, n=${n}`);
    }
  });
});

test('vggFeatures (raw input) and the content / style terms match the released VGGLoss on the same weights', () => {
  torch.manualSeed(23);
  torch.scope(() => {
    const state = randomVgg19StateDict('relu5_2');
    const vgg = new Vgg19Features({ lastLayer: 'relu5_2' }).loadTorchvision(state);
    try {
      const x = torch.rand([1, 3, 32, 32]).mul(2).sub(1);
      const y = torch.rand([1, 3, 32, 32]).mul(2).sub(1);
      const taps = ['relu1_1', 'relu2_1', 'relu2_2', 'relu3_1', 'relu3_4', 'relu4_1', 'relu4_4', 'relu5_1', 'relu5_2'];
      const inputs: Record<string, torch.Tensor> = { x, y };
      for (const [k, v] of state) inputs[k.replace(/\./g, '_')] = v;
      const [r] = runOracle([{
        code: `${GFLA_REFERENCE}
names = {1: (0, 'relu1_1'), 6: (0, 'relu2_1'), 8: (0, 'relu2_2'), 11: (0, 'relu3_1'), 17: (0, 'relu3_4'), 20: (0, 'relu4_1'), 26: (0, 'relu4_4'), 29: (0, 'relu5_1'), 31: (0, 'relu5_2')}
pools = {4, 9, 18, 27}
def feats(h):
    out = {}
    for i in range(32):
        if f'features_{i}_weight' in inputs:
            h = F.conv2d(h, inputs[f'features_{i}_weight'], inputs[f'features_{i}_bias'], padding=1)
        elif i in pools:
            h = F.max_pool2d(h, 2, 2)
        else:
            h = F.relu(h)
        if i in names:
            out[names[i][1]] = h
    return out
fx, fy = feats(inputs['x']), feats(inputs['y'])
content = sum(F.l1_loss(fx[t], fy[t]) for t in ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'])
style = sum(F.l1_loss(compute_gram(fx[t]), compute_gram(fy[t])) for t in ['relu2_2', 'relu3_4', 'relu4_4', 'relu5_2'])
out = {'content': content, 'style': style, 'r34': fx['relu3_4']}
`, inputs,
      }]);
      const fx = vggFeatures(vgg, x, taps, 'raw');
      const fy = vggFeatures(vgg, y, taps, 'raw');
      const { content, style } = contentStyle(fx, fy);
      assertClose(fx.get('relu3_4') as torch.Tensor, fromWire(r!.r34 as WireTensor), 'VGG relu3_4 on raw input', { atol: 1e-4, rtol: 1e-4 });
      assertClose(content, fromWire(r!.content as WireTensor), 'content loss', { atol: 1e-5, rtol: 1e-4 });
      assertClose(style, fromWire(r!.style as WireTensor), 'style loss', { atol: 1e-6, rtol: 1e-4 });
    } finally {
      vgg.dispose();
      torch.dispose([...state.values()]);
    }
  });
});
