import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { ConvTranspose4x4s2 } from '../../../src/models/layers/fast-conv-transpose.js';

test('ConvTranspose4x4s2 equals conv_transpose2d(k4, s2, p1): output and gradients (input, weight, bias)', () => {
  torch.manualSeed(2);
  // [2,5,4,3] takes the phase path, [1,5,2,1] libtorch's own (too few positions to pay for the reshuffle).
  for (const [bias, shape] of [[true, [2, 5, 4, 3]], [false, [2, 5, 4, 3]], [true, [1, 5, 2, 1]]] as const) {
    const m = new ConvTranspose4x4s2(5, 3, { bias });
    try {
      torch.scope(() => {
        const x = torch.randn([...shape]).to('float64').requiresGrad_();
        m.toDtype('float64');
        const y = m.forward(x);
        const ref = torch.convTranspose2d(x, m.weight, m.bias, 2, 1);
        assert.deepEqual(y.shape, [shape[0], 3, 2 * shape[2], 2 * shape[3]]);
        assert.ok(y.sub(ref).abs().max().item() < 1e-12, 'forward');
        const g = torch.randn([shape[0], 3, 2 * shape[2], 2 * shape[3]], 'float64');
        const ours = torch.grad(y, [x, m.weight, ...(m.bias ? [m.bias] : [])], { gradOutputs: [g] });
        const theirs = torch.grad(ref, [x, m.weight, ...(m.bias ? [m.bias] : [])], { gradOutputs: [g] });
        ours.forEach((a, i) => assert.ok(a!.sub(theirs[i]!).abs().max().item() < 1e-12, `gradient ${i}`));
      });
      assert.deepEqual(m.weight.shape, [5, 3, 4, 4], "ConvTranspose2d's parameter layout");
    } finally {
      m.dispose();
    }
  }
});

test('glorotInit and tflibStdevInit set the official initialisations', async () => {
  const { glorotInit, tflibStdevInit } = await import('../../../src/models/layers/init.js');
  torch.manualSeed(9);
  const conv = new torch.nn.Conv2d(64, 32, 3);
  const lin = new torch.nn.Linear(200, 100);
  try {
    glorotInit(conv);
    const bound = Math.sqrt(6 / (64 * 9 + 32 * 9));
    torch.scope(() => {
      const w = conv.weight.abs();
      assert.ok(w.max().item() <= bound && w.max().item() > 0.95 * bound, 'U(-b, b) with Glorot bound');
      assert.equal(conv.bias!.abs().sum().item(), 0);
    });
    tflibStdevInit(lin, 0.02);
    torch.scope(() => {
      const std = lin.weight.std().item();
      assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std} ~ 0.02`);
      assert.ok(lin.weight.abs().max().item() <= 0.02 * Math.sqrt(3));
    });
  } finally {
    conv.dispose();
    lin.dispose();
  }
});
