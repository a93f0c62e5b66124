// Bad calls fail with a JS Error that names the op (and, for libtorch errors, the shapes it got).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

function throwsNaming(fn: () => unknown, op: string, ...also: RegExp[]): void {
  assert.throws(fn, (e: Error & { op?: string }) => {
    assert.ok(e instanceof Error);
    assert.ok(e.message.startsWith(`${op}: `), `message should start with '${op}: ', got: ${e.message}`);
    for (const re of also) assert.match(e.message, re);
    return true;
  });
}

test('libtorch errors name the op and the input shapes', () => {
  torch.scope(() => {
    const x = torch.randn([2, 3, 8, 8]);
    throwsNaming(() => torch.conv2d(x, torch.randn([4, 5, 3, 3])), 'conv2d', /input=\[2,3,8,8\] float32/, /weight=\[4,5,3,3\] float32/);
    throwsNaming(() => torch.cat([torch.ones([2, 3]), torch.ones([2, 4])]), 'cat', /tensors=\[\[2,3\] float32, \[2,4\] float32\]/);
    throwsNaming(() => x.reshape([5, -1]), 'reshape', /shape '\[5, -1\]' is invalid/);
    throwsNaming(() => x.sum(7), 'sum', /out of range/i);
    throwsNaming(() => torch.crossEntropy(torch.randn([4, 3]), torch.tensor([0, 1, 2, 1], { dtype: 'int64' }).slice(0, 0, 3)), 'crossEntropy');
    throwsNaming(() => torch.ones([3]).add(torch.ones([4])), 'add', /self=\[3\] float32/, /other=\[4\] float32/);
  });
});

test('argument errors name the op and the argument', () => {
  torch.scope(() => {
    throwsNaming(() => torch.zeros('a' as unknown as number[]), 'zeros', /argument 'size' must be an array of integers/);
    throwsNaming(() => torch.ones([2.5]), 'ones', /argument 'size' must be an integer, got 2\.5/);
    throwsNaming(() => torch.ones([2]).softmax(0.5), 'softmax', /argument 'dim' must be an integer/);
    throwsNaming(() => torch.mseLoss(torch.ones([2]), torch.ones([2]), 'avg' as 'mean'), 'mseLoss', /reduction must be 'none', 'mean' or 'sum', got 'avg'/);
    throwsNaming(() => torch.gridSample(torch.ones([1, 1, 2, 2]), torch.zeros([1, 2, 2, 2]), 'linear' as 'bilinear'), 'gridSample', /mode must be/);
  });
});

test('TypeScript-side checks name the function', () => {
  torch.scope(() => {
    assert.throws(() => torch.interpolate(torch.ones([2, 2]), { size: 4 }), /^Error: interpolate: expected a 4-d \(N,C,H,W\) input, got shape \[2,2\]/);
    assert.throws(() => torch.interpolate(torch.ones([1, 1, 2, 2]), {}), /interpolate: give exactly one of size and scaleFactor/);
    assert.throws(() => torch.interpolate(torch.ones([1, 1, 2, 2]), { size: [3, 0] }), /interpolate: size must be a positive integer/);
    assert.throws(() => torch.interpolate(torch.ones([1, 1, 2, 2]), { scaleFactor: -2 }), /interpolate: scaleFactor must be a positive number/);
    assert.throws(() => torch.interpolate(torch.ones([1, 1, 2, 2]), { scaleFactor: 0.2 }), /interpolate: scaleFactor 0.2 shrinks \[2,2\] to an empty \[0,0\]/);
    assert.throws(() => torch.interpolate(torch.ones([1, 1, 2, 2]), { size: 3, mode: 'bicubic' as 'bilinear' }), /interpolate: unknown mode 'bicubic'/);
    assert.throws(() => torch.interpolate(torch.ones([1, 1, 2, 2]), { size: 3, alignCorners: true }), /interpolate: alignCorners applies to bilinear mode only/);
    assert.throws(() => torch.tensor([[1, 2], [3]]), /tensor: ragged nested array/);
  });
});

test('a disposed tensor is named as such', () => {
  const a = torch.ones([2]);
  a.dispose();
  throwsNaming(() => torch.mul(a, 2), 'mul', /argument 'self' is a disposed tensor/);
});

test('the error carries the op name as a property and the ERR_TORCH_OP code', () => {
  torch.scope(() => {
    try {
      torch.mm(torch.ones([2, 3]), torch.ones([2, 3]));
      assert.fail('mm should throw');
    } catch (e) {
      const err = e as Error & { op?: string; code?: string };
      assert.equal(err.op, 'mm');
      assert.equal(err.code, 'ERR_TORCH_OP');
    }
  });
});
