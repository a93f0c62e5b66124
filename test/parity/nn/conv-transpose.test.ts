// nn.ConvTranspose2d against torch.nn.functional.conv_transpose2d over the stride / kernel / padding / output-padding
// combinations the models use and their awkward neighbours (odd sizes, kernels not a multiple of the stride, kernels
// smaller than it, unequal strides), in float32 and float64: output and the gradients of input, weight and bias.
// The phase decomposition that bench/conv-transpose.ts times against libtorch is checked on the same cases, so that
// the bench compares two computations of the same function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { convTranspose2dByPhases } from '../../../bench/conv-transpose.js';
import { runOracle, fromWire, assertClose, type WireTensor, type OracleCase } from '../../helpers/oracle.js';

interface Case {
  name: string;
  input: [number, number, number, number];
  outC: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  outputPadding: [number, number];
  bias: boolean;
}

const square = (v: number): [number, number] => [v, v];
const cases: Case[] = [
  { name: 'k4 s2 p1 (pix2pix, Deformable GAN)', input: [3, 4, 5, 7], outC: 3, kernel: square(4), stride: square(2), padding: square(1), outputPadding: square(0), bias: true },
  { name: 'k4 s2 p1 without bias, batch 1', input: [1, 4, 3, 4], outC: 5, kernel: square(4), stride: square(2), padding: square(1), outputPadding: square(0), bias: false },
  { name: 'k3 s2 p1 op1 (PATN)', input: [1, 3, 5, 3], outC: 4, kernel: square(3), stride: square(2), padding: square(1), outputPadding: square(1), bias: true },
  { name: 'k5 s2 p2 op1', input: [3, 3, 5, 5], outC: 2, kernel: square(5), stride: square(2), padding: square(2), outputPadding: square(1), bias: true },
  { name: 'k3 s3 p0', input: [1, 2, 3, 5], outC: 3, kernel: square(3), stride: square(3), padding: square(0), outputPadding: square(0), bias: true },
  { name: 'k2 s2 p0', input: [3, 3, 5, 3], outC: 2, kernel: square(2), stride: square(2), padding: square(0), outputPadding: square(0), bias: true },
  { name: 'stride (2, 1), k3 p1 op (1, 0)', input: [1, 3, 5, 4], outC: 2, kernel: square(3), stride: [2, 1], padding: square(1), outputPadding: [1, 0], bias: true },
  { name: 'k4 s3 p2 op2: phases of unequal size', input: [3, 2, 5, 3], outC: 3, kernel: square(4), stride: square(3), padding: square(2), outputPadding: square(2), bias: true },
  { name: 'k1 s2: a kernel smaller than the stride leaves bias-only pixels', input: [1, 3, 3, 5], outC: 2, kernel: square(1), stride: square(2), padding: square(0), outputPadding: square(1), bias: true },
  { name: 'rectangular k (3, 4), s (3, 2), p (0, 1)', input: [3, 2, 3, 5], outC: 2, kernel: [3, 4], stride: [3, 2], padding: [0, 1], outputPadding: [2, 0], bias: false },
];

// float32: conv weight gradients sum over N*H*W products in an order that may differ from the oracle's, as in layers.test.ts.
const tolerance = { float32: { atol: 1e-4, rtol: 1e-4 }, float64: { atol: 1e-10, rtol: 1e-10 } } as const;

const py = (p: [number, number]): string => `(${p[0]}, ${p[1]})`;

test('nn.ConvTranspose2d and the phase decomposition equal conv_transpose2d: output, input/weight/bias gradients, float32 and float64', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    torch.manualSeed(3);
    const runs = cases.flatMap((c) => (['float32', 'float64'] as const).map((dtype) => {
      const m = new torch.nn.ConvTranspose2d(c.input[1], c.outC, c.kernel, { stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, bias: c.bias });
      m.toDtype(dtype);
      const x = torch.randn(c.input, dtype);
      const oneRun = (forward: (xi: torch.Tensor) => torch.Tensor, r: torch.Tensor | null): Record<string, torch.Tensor> => {
        m.zeroGrad();
        const xi = x.clone().requiresGrad_();
        const y = forward(xi);
        const seed = r ?? torch.randn([...y.shape], dtype);
        y.mul(seed).sum().backward();
        const got: Record<string, torch.Tensor> = { y, r: seed, gx: xi.grad as torch.Tensor, gw: m.weight.grad as torch.Tensor };
        if (m.bias) got.gb = m.bias.grad as torch.Tensor;
        return got;
      };
      const layer = oneRun((xi) => m.forward(xi), null);
      const phases = oneRun((xi) => convTranspose2dByPhases(xi, m.weight, m.bias, c.stride, c.padding, c.outputPadding), layer.r as torch.Tensor);
      const oracle: OracleCase = {
        inputs: { x, w: m.weight.detach(), ...(m.bias ? { b: m.bias.detach() } : {}), r: layer.r as torch.Tensor },
        grad: ['x', 'w', ...(m.bias ? ['b'] : [])],
        code: `
b = inputs.get('b')
y = F.conv_transpose2d(inputs['x'], inputs['w'], b, stride=${py(c.stride)}, padding=${py(c.padding)}, output_padding=${py(c.outputPadding)})
(y * inputs['r']).sum().backward()
out = {'y': y, 'gx': inputs['x'].grad, 'gw': inputs['w'].grad}
if b is not None:
    out['gb'] = b.grad
`,
      };
      return { c, dtype, m, layer, phases, oracle };
    }));
    const expected = runOracle(runs.map((r) => r.oracle));
    runs.forEach(({ c, dtype, m, layer, phases }, i) => {
      const o = expected[i] as Record<string, WireTensor>;
      assert.deepEqual(Object.keys(o).sort(), Object.keys(layer).filter((k) => k !== 'r').sort(), `${c.name}: the same outputs and gradients`);
      for (const [what, got] of [['nn.ConvTranspose2d', layer], ['phase decomposition', phases]] as const) {
        for (const key of Object.keys(o)) {
          const mine = got[key] as torch.Tensor;
          assert.equal(mine.dtype, dtype, `${c.name} (${what}, ${dtype}): dtype of ${key}`);
          assertClose(mine, fromWire(o[key] as WireTensor), `${c.name} (${what}, ${dtype}): ${key}`, tolerance[dtype]);
        }
      }
      m.dispose();
    });
  });
  assert.equal(torch.memory().numTensors, before, 'the test itself leaks no tensors');
});
