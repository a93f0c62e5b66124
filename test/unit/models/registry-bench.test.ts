// The FLOP rule of `make bench-models`: conv, transposed conv and linear MACs per call, and what backward adds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { countMacs } from '../../../bench/models.js';

test('countMacs counts conv, transposed conv and linear MACs by the stated formulas, and unwraps afterwards', () => {
  const conv = new torch.nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 });
  const convT = new torch.nn.ConvTranspose2d(6, 4, 3, { stride: 2, padding: 1, outputPadding: 1 });
  const lin = new torch.nn.Linear(10, 7);
  const orig = torch.nn.Conv2d.prototype.forward;
  torch.scope(() => {
    const { macs, backwardMacs } = countMacs(() => {
      const y = conv.forward(torch.zeros([2, 4, 8, 8])); // out (2,6,4,4): 192 outputs x (4/2)*9
      convT.forward(y); // in (2,6,4,4): 192 inputs x 4*9
      lin.forward(torch.zeros([3, 5, 10])); // 15 rows x 10 x 7
      torch.noGrad(() => lin.forward(torch.zeros([1, 10]))); // 70, no backward
      return y;
    });
    const [c, t, l] = [192 * 2 * 9, 192 * 4 * 9, 15 * 10 * 7];
    assert.equal(macs, c + t + l + 70);
    // conv: weight grad only (its input needs none); convT: weight and input grads (y requires grad); linear: weight.
    assert.equal(backwardMacs, c + 2 * t + l);
  });
  assert.equal(torch.nn.Conv2d.prototype.forward, orig, 'forward restored');
  for (const m of [conv, convT, lin]) m.dispose();
});
