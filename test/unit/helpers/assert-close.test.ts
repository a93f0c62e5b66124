// The parity tests' one comparison (assertClose in test/helpers/oracle.ts, also behind the op harness): NaN and
// infinities match only in place and sign, and a NaN anywhere must not hide a real mismatch elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { assertClose, numbersClose } from '../../helpers/oracle.js';

const TOL = { atol: 1e-5, rtol: 1e-4 };

/** Runs assertClose on two float32 vectors, owning the tensors. */
function close(actual: number[], expected: number[], tol = TOL): void {
  torch.scope(() => assertClose(torch.tensor(actual), torch.tensor(expected), 'v', tol));
}

test('NaNs in the same places do not hide a real mismatch elsewhere', () => {
  assert.throws(() => close([NaN, 1, 2], [NaN, 1, 2.5]), /v: 1 of 3 values differ.*first at \[2\] 2 vs PyTorch 2\.5/);
  // The same with the mismatch first and in a 2-d tensor: the index names both dimensions.
  assert.throws(() => torch.scope(() => assertClose(torch.tensor([[3, 0], [NaN, 0]]), torch.tensor([[4, 0], [NaN, 0]]), 'm')),
    /m: 1 of 4 values differ.*first at \[0,0\]/);
});

test('NaN against a number fails, either way round', () => {
  assert.throws(() => close([NaN, 1], [0, 1]), /1 of 2 values differ.*first at \[0\] NaN vs PyTorch 0/);
  assert.throws(() => close([0, 1], [NaN, 1]), /first at \[0\] 0 vs PyTorch NaN/);
});

test('an infinity matches only the same infinity', () => {
  assert.throws(() => close([Infinity], [-Infinity]), /1 of 1 values differ/);
  assert.throws(() => close([-Infinity], [Infinity]), /1 of 1 values differ/);
  assert.throws(() => close([Infinity], [3]), /1 of 1 values differ/);
  assert.throws(() => close([3], [Infinity]), /1 of 1 values differ/);
  close([Infinity, -Infinity, NaN, 1], [Infinity, -Infinity, NaN, 1]);
});

test('values within atol + rtol * |expected| pass; just beyond fails', () => {
  close([1 + 1e-5, 100.0095, 0], [1, 100, 5e-6]);
  close([1, 2], [1.5, 2], { atol: 0.5, rtol: 0 });
  assert.throws(() => close([100.02], [100]), /beyond atol 0\.00001, rtol 0\.0001/);
  assert.throws(() => close([1, 2], [1.6, 2], { atol: 0.5, rtol: 0 }), /max \|diff\| of finite values 0\.6/);
  torch.scope(() => assertClose(torch.zeros([0, 3]), torch.zeros([0, 3]), 'empty'));
  assert.throws(() => torch.scope(() => assertClose(torch.zeros([2]), torch.zeros([3]), 's')), /s: shape \[2\] differs from PyTorch's \[3\]/);
});

test('numbersClose follows the same rules for plain numbers', () => {
  assert.ok(numbersClose(NaN, NaN, TOL));
  assert.ok(!numbersClose(NaN, 0, TOL));
  assert.ok(!numbersClose(0, NaN, TOL));
  assert.ok(numbersClose(-Infinity, -Infinity, TOL));
  assert.ok(!numbersClose(Infinity, -Infinity, TOL));
  assert.ok(!numbersClose(Infinity, 1e30, TOL));
  assert.ok(numbersClose(1 + 5e-6, 1, TOL));
  assert.ok(!numbersClose(1.001, 1, TOL));
});

test('assertClose leaves no tensor behind, passing or failing', () => {
  const a = torch.tensor([NaN, 1, 2]);
  const b = torch.tensor([NaN, 1, 3]);
  const before = torch.memory().numTensors;
  assertClose(a, a, 'same');
  assert.throws(() => assertClose(a, b, 'differs'));
  assert.equal(torch.memory().numTensors, before);
  torch.dispose([a, b]);
});
