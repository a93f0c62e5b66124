import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

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
