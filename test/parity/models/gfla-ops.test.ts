// GFLA's CUDA extensions rebuilt from engine ops (src/models/gfla/ops.ts) against a python3-torch rewrite of the
// kernels' maths with their loops (gfla_reference.py): values and gradients on random inputs whose flows reach past
// the borders, float64 finite-difference gradient checks, and the identities the ops must satisfy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { bilinearWarp, blockExtractor, contentAwareSample, localAttnReshape, resample2d } from '../../../src/models/gfla/ops.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';
import { GFLA_REFERENCE } from './gfla-reference.js';

const F64 = { atol: 1e-10, rtol: 1e-10 };

/** Runs op on (source, flow) with gradients and returns [output, dSource, dFlow] for cotangent g. */
function withGrads(op: (s: torch.Tensor, f: torch.Tensor) => torch.Tensor, source: torch.Tensor, flow: torch.Tensor, g: torch.Tensor): torch.Tensor[] {
  const s = source.detach().clone();
  const f = flow.detach().clone();
  s.requiresGrad = true;
  f.requiresGrad = true;
  const y = op(s, f);
  y.mul(g).sum().backward();
  return [y.detach(), (s.grad as torch.Tensor).clone(), (f.grad as torch.Tensor).clone()];
}

function pyGrads(call: string): string {
  return `${GFLA_REFERENCE}
s, f, g = inputs['s'], inputs['f'], inputs['g']
y = ${call}
(y * g).sum().backward()
out = {'y': y, 'ds': s.grad, 'df': f.grad}
`;
}

test('blockExtractor matches the kernel loops (values and both gradients), k = 1, 2, 3, 5, flows past the borders', () => {
  torch.manualSeed(11);
  torch.scope(() => {
    const cases = [1, 2, 3, 5].map((k) => {
      const s = torch.randn([2, 3, 5, 6], 'float64');
      // Offsets up to ±4 px on a 5x6 source: many taps land outside and are clamped.
      const f = torch.rand([2, 2, 3, 4], 'float64').sub(0.5).mul(8);
      const g = torch.randn([2, 3, 3 * k, 4 * k], 'float64');
      return { k, s, f, g };
    });
    const res = runOracle(cases.map(({ k, s, f, g }) => ({ code: pyGrads(`ref_block_extractor(s, f, ${k})`), inputs: { s, f, g }, grad: ['s', 'f'] })));
    cases.forEach(({ k, s, f, g }, i) => {
      const [y, ds, df] = withGrads((a, b) => blockExtractor(a, b, k), s, f, g);
      const r = res[i] as Record<string, WireTensor>;
      assertClose(y as torch.Tensor, fromWire(r.y as WireTensor), `blockExtractor k=${k}`, F64);
      assertClose(ds as torch.Tensor, fromWire(r.ds as WireTensor), `blockExtractor k=${k} d/dsource`, F64);
      assertClose(df as torch.Tensor, fromWire(r.df as WireTensor), `blockExtractor k=${k} d/dflow`, F64);
    });
  });
});

test('blockExtractor in float32 matches the kernel loops', () => {
  torch.manualSeed(12);
  torch.scope(() => {
    const s = torch.randn([1, 4, 6, 5]);
    const f = torch.rand([1, 2, 6, 5]).sub(0.5).mul(6);
    const g = torch.randn([1, 4, 18, 15]);
    const [r] = runOracle([{ code: pyGrads('ref_block_extractor(s, f, 3)'), inputs: { s, f, g }, grad: ['s', 'f'] }]);
    const [y, ds, df] = withGrads((a, b) => blockExtractor(a, b, 3), s, f, g);
    assertClose(y as torch.Tensor, fromWire(r!.y as WireTensor), 'blockExtractor float32');
    assertClose(ds as torch.Tensor, fromWire(r!.ds as WireTensor), 'blockExtractor float32 d/dsource');
    // Sums of products over many taps: float32 rounding in a different order.
    assertClose(df as torch.Tensor, fromWire(r!.df as WireTensor), 'blockExtractor float32 d/dflow', { atol: 1e-4, rtol: 1e-4 });
  });
});

test('localAttnReshape matches the kernel loops, value and gradient', () => {
  torch.manualSeed(13);
  torch.scope(() => {
    for (const k of [2, 3]) {
      const x = torch.randn([2, k * k, 3, 4], 'float64');
      const g = torch.randn([2, 1, 3 * k, 4 * k], 'float64');
      const [r] = runOracle([{ code: `${GFLA_REFERENCE}\nx, g = inputs['x'], inputs['g']\ny = ref_local_attn_reshape(x, ${k})\n(y*g).sum().backward()\nout = {'y': y, 'dx': x.grad}`, inputs: { x, g }, grad: ['x'] }]);
      const xg = x.clone();
      xg.requiresGrad = true;
      const y = localAttnReshape(xg, k);
      y.mul(g).sum().backward();
      assertClose(y, fromWire(r!.y as WireTensor), `localAttnReshape k=${k}`, F64);
      assertClose(xg.grad as torch.Tensor, fromWire(r!.dx as WireTensor), `localAttnReshape k=${k} gradient`, F64);
    }
  });
});

test('resample2d matches the kernel loops (Gaussian taps normalised by their sum), values and both gradients', () => {
  torch.manualSeed(14);
  torch.scope(() => {
    const opts = [{ kernelSize: 4, sigma: 2, dilation: 1 }, { kernelSize: 2, sigma: 1, dilation: 1 }, { kernelSize: 6, sigma: 1.5, dilation: 2 }];
    const cases = opts.map((o) => ({
      o, s: torch.randn([2, 3, 5, 6], 'float64'), f: torch.rand([2, 2, 5, 6], 'float64').sub(0.5).mul(6), g: torch.randn([2, 3, 5, 6], 'float64'),
    }));
    const res = runOracle(cases.map(({ o, s, f, g }) => ({
      code: pyGrads(`ref_resample2d(s, f, ${o.kernelSize}, ${o.sigma}, ${o.dilation})`), inputs: { s, f, g }, grad: ['s', 'f'],
    })));
    cases.forEach(({ o, s, f, g }, i) => {
      const [y, ds, df] = withGrads((a, b) => resample2d(a, b, o), s, f, g);
      const r = res[i] as Record<string, WireTensor>;
      const what = `resample2d ${JSON.stringify(o)}`;
      assertClose(y as torch.Tensor, fromWire(r.y as WireTensor), what, F64);
      assertClose(ds as torch.Tensor, fromWire(r.ds as WireTensor), `${what} d/dsource`, F64);
      assertClose(df as torch.Tensor, fromWire(r.df as WireTensor), `${what} d/dflow`, F64);
    });
  });
});

/** Central differences of sum(op(s, f) * g) along random directions, against autograd's directional derivative. */
function finiteDifferenceCheck(name: string, op: (s: torch.Tensor, f: torch.Tensor) => torch.Tensor, s: torch.Tensor, f: torch.Tensor): void {
  torch.scope(() => {
    const probe = op(s, f);
    const g = torch.randnLike(probe);
    const [, ds, df] = withGrads(op, s, f, g);
    const loss = (a: torch.Tensor, b: torch.Tensor): number => torch.noGrad(() => op(a, b).mul(g).sum().item());
    const h = 1e-6;
    for (let trial = 0; trial < 3; trial++) {
      const vs = torch.randnLike(s);
      const vf = torch.randnLike(f);
      const numeric = (loss(s.add(vs.mul(h)), f.add(vf.mul(h))) - loss(s.sub(vs.mul(h)), f.sub(vf.mul(h)))) / (2 * h);
      const analytic = (ds as torch.Tensor).mul(vs).sum().item() + (df as torch.Tensor).mul(vf).sum().item();
      assert.ok(Math.abs(numeric - analytic) <= 1e-6 * (1 + Math.abs(analytic)), `${name}: finite difference ${numeric} vs autograd ${analytic}`);
    }
  });
}

test('float64 gradients agree with finite differences (block extractor, resample2d)', () => {
  torch.manualSeed(15);
  torch.scope(() => {
    const s = torch.randn([2, 3, 6, 5], 'float64');
    const f = torch.rand([2, 2, 3, 3], 'float64').sub(0.5).mul(5);
    finiteDifferenceCheck('blockExtractor k=3', (a, b) => blockExtractor(a, b, 3), s, f);
    const f2 = torch.rand([2, 2, 6, 5], 'float64').sub(0.5).mul(5);
    finiteDifferenceCheck('resample2d', (a, b) => resample2d(a, b), s, f2);
  });
});

test('zero flow with a one-hot centre kernel returns the input (divided by k², the released average)', () => {
  torch.scope(() => {
    const x = torch.randn([2, 4, 5, 7]);
    for (const k of [3, 5]) {
      const blocks = blockExtractor(x, torch.zeros([2, 2, 5, 7]), k);
      const centre = Math.floor(k / 2) * k + Math.floor(k / 2);
      const coefficients = torch.oneHot(torch.full([2, 5, 7], centre, 'int64'), k * k).permute([0, 3, 1, 2]).to('float32');
      assertClose(contentAwareSample(blocks, coefficients, k).mul(k * k), x, `identity, k=${k}`, { atol: 1e-6, rtol: 1e-6 });
    }
  });
});

test('a constant integer flow shifts the features by that amount (bilinear warp, block extractor, resample2d)', () => {
  torch.scope(() => {
    const x = torch.randn([1, 3, 9, 10], 'float64');
    const [dx, dy] = [2, -1];
    const flow = torch.stack([torch.full([1, 9, 10], dx, 'float64'), torch.full([1, 9, 10], dy, 'float64')], 1);
    // Interior rows/columns whose shifted taps stay inside the image.
    const warped = bilinearWarp(x, flow);
    assertClose(warped.narrow(2, 1, 8).narrow(3, 0, 8), x.narrow(2, 0, 8).narrow(3, 2, 8), 'bilinear shift', F64);
    const strided = blockExtractor(x, flow, 3).reshape([1, 3, 9, 3, 10, 3]).select(5, 1).select(3, 1);
    assertClose(strided, warped, 'block centres are the bilinear warp', F64);
    const shifted = resample2d(x, flow);
    const still = resample2d(x, torch.zerosLike(flow));
    // Taps reach 2 pixels out: compare where neither read clamps.
    assertClose(shifted.narrow(2, 3, 3).narrow(3, 1, 4), still.narrow(2, 2, 3).narrow(3, 3, 4), 'resample2d shift', F64);
  });
});
