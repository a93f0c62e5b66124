import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

test('creation from nested arrays keeps values, shape and dtype', () => {
  torch.scope(() => {
    const t = torch.tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
    const i = torch.tensor([[1, 2], [3, 4]], { dtype: 'int64' });
    assert.equal(i.dtype, 'int64');
    assert.deepEqual(i.add(1).toArray(), [[2, 3], [4, 5]]);
    assert.equal(i.add(1).dtype, 'int64', 'an integer scalar keeps an integer tensor integer');
    assert.equal(torch.tensor([true, false]).dtype, 'bool');
    assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
  });
});

test('typed arrays keep their dtype and exact int64 values', () => {
  torch.scope(() => {
    const big = torch.tensor(new BigInt64Array([2n ** 53n + 1n, -5n]));
    assert.equal(big.dtype, 'int64');
    assert.deepEqual(Array.from(big.data() as BigInt64Array), [2n ** 53n + 1n, -5n]);
    const u8 = torch.tensor(new Uint8Array([0, 255]), [1, 2]);
    assert.deepEqual(u8.shape, [1, 2]);
    assert.equal(u8.dtype, 'uint8');
  });
});

test('scope disposes what it created except its result and kept tensors', () => {
  const before = torch.memory().numTensors;
  let kept: torch.Tensor | undefined;
  const result = torch.scope(() => {
    const a = torch.ones([4]);
    const b = a.mul(2);
    kept = torch.zeros([1]).keep();
    return { out: [b.add(1)] };
  });
  assert.equal(torch.memory().numTensors, before + 2);
  assert.deepEqual(result.out[0]?.toArray(), [3, 3, 3, 3]);
  result.out[0]?.dispose();
  kept?.dispose();
  assert.equal(torch.memory().numTensors, before);
});

test('scope cleans up when fn throws', () => {
  const before = torch.memory().numTensors;
  assert.throws(() => torch.scope(() => {
    torch.ones([3]);
    throw new Error('boom');
  }), /boom/);
  assert.equal(torch.memory().numTensors, before);
});

test('nested scopes hand survivors to the parent', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    const inner = torch.scope(() => torch.ones([2]).mul(3));
    assert.equal(inner.isDisposed, false);
    assert.equal(torch.memory().numTensors, before + 1);
  });
  assert.equal(torch.memory().numTensors, before);
});

test('libtorch errors become JS errors naming the op and input shapes', () => {
  torch.scope(() => {
    const a = torch.ones([2, 3]);
    const b = torch.ones([4, 5]);
    assert.throws(() => torch.matmul(a, b), (e: Error) => {
      assert.match(e.message, /matmul: /);
      assert.match(e.message, /self=\[2,3\] float32/);
      assert.match(e.message, /other=\[4,5\] float32/);
      return true;
    });
    assert.throws(() => torch.conv2d(a, b), /conv2d: /);
  });
});

test('using a disposed tensor says so', () => {
  const a = torch.ones([2]);
  a.dispose();
  assert.throws(() => a.add(1), /add: argument 'self' is a disposed tensor/);
  assert.throws(() => a.shape, /disposed/);
  a.dispose();
});

test('noGrad turns off recording and restores it', () => {
  torch.scope(() => {
    const x = torch.ones([2]).requiresGrad_();
    const y = torch.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(x.mul(2).requiresGrad, true);
    assert.equal(torch.isGradEnabled(), true);
  });
});

test('backward accumulates gradients; grad() gives higher-order terms', () => {
  torch.scope(() => {
    const x = torch.tensor([1, 2, 3]).requiresGrad_();
    x.pow(3).sum().backward();
    assert.deepEqual(x.grad?.toArray(), [3, 12, 27]);
    x.grad = null;
    assert.equal(x.grad, null);
    const [g] = torch.grad(x.pow(3).sum(), x, { createGraph: true });
    assert.ok(g);
    const [gg] = torch.grad(g.sum(), x);
    assert.deepEqual(gg?.toArray(), [6, 12, 18]);
  });
});

test('manualSeed makes random draws repeat', () => {
  torch.scope(() => {
    torch.manualSeed(7);
    const a = torch.randn([5]).toArray();
    torch.manualSeed(7);
    assert.deepEqual(torch.randn([5]).toArray(), a);
  });
});

test('live tensor count stays flat over many scoped steps', () => {
  const w = torch.randn([16, 16]).requiresGrad_();
  const before = torch.memory().numTensors;
  for (let i = 0; i < 500; i++) {
    torch.scope(() => {
      const loss = torch.randn([4, 16]).matmul(w).relu().mean();
      loss.backward();
      w.grad = null;
    });
  }
  assert.equal(torch.memory().numTensors, before);
  w.dispose();
});
