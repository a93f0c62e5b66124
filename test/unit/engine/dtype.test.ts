// Creation, export and item() for each dtype the engine exchanges with JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

const cases: { dtype: torch.DType; array: ArrayBufferView; values: (number | bigint)[] }[] = [
  { dtype: 'float32', array: new Float32Array([1.5, -2.25, 3e38]), values: [1.5, -2.25, Math.fround(3e38)] },
  { dtype: 'float64', array: new Float64Array([0.1, -1e300, 7]), values: [0.1, -1e300, 7] },
  { dtype: 'int64', array: new BigInt64Array([2n ** 60n, -3n, 0n]), values: [2n ** 60n, -3n, 0n] },
  { dtype: 'int32', array: new Int32Array([2 ** 31 - 1, -(2 ** 31), 5]), values: [2 ** 31 - 1, -(2 ** 31), 5] },
  { dtype: 'uint8', array: new Uint8Array([0, 200, 255]), values: [0, 200, 255] },
];

for (const c of cases) {
  test(`${c.dtype}: typed array in, same typed array and values out`, () => {
    torch.scope(() => {
      const t = torch.tensor(c.array);
      assert.equal(t.dtype, c.dtype);
      assert.deepEqual(t.shape, [3]);
      const out = t.data();
      assert.equal(out.constructor, c.array.constructor);
      assert.deepEqual(Array.from(out as ArrayLike<number | bigint>), c.values);
      // item() is a JS number: exact for everything but int64 beyond 2^53.
      assert.equal(t.select(0, 1).item(), Number(c.values[1]));
      assert.equal(torch.zeros([2, 2], c.dtype).dtype, c.dtype);
      assert.equal(torch.ones([1], c.dtype).item(), 1);
    });
  });
}

test('bool: created from booleans, exported as Uint8Array, item() gives 1 or 0', () => {
  torch.scope(() => {
    const b = torch.tensor([true, false, true]);
    assert.equal(b.dtype, 'bool');
    const d = b.data();
    assert.ok(d instanceof Uint8Array);
    assert.deepEqual(Array.from(d), [1, 0, 1]);
    assert.deepEqual(b.toArray(), [1, 0, 1]);
    assert.equal(b.select(0, 0).item(), 1);
    assert.equal(b.select(0, 1).item(), 0);
    assert.equal(torch.zeros([2], 'bool').dtype, 'bool');
    assert.equal(torch.tensor([1, 0, 2]).gt(0.5).dtype, 'bool');
  });
});

test('nested numbers with a dtype option convert exactly', () => {
  torch.scope(() => {
    const big = 2 ** 40 + 1;
    assert.deepEqual(torch.tensor([big, -7], { dtype: 'int64' }).toArray(), [big, -7]);
    assert.deepEqual(torch.tensor([0.1], { dtype: 'float64' }).toArray(), [0.1]);
    assert.deepEqual(torch.tensor([3, 300], { dtype: 'int32' }).toArray(), [3, 300]);
    assert.deepEqual(torch.tensor([1, 255], { dtype: 'uint8' }).toArray(), [1, 255]);
  });
});

test('integer arithmetic keeps the dtype and wraps as libtorch does', () => {
  torch.scope(() => {
    const u = torch.tensor(new Uint8Array([250, 3]));
    const s = u.add(10);
    assert.equal(s.dtype, 'uint8');
    assert.deepEqual(s.toArray(), [4, 13]);
    const i = torch.tensor(new Int32Array([7, -7]));
    assert.equal(i.mul(3).dtype, 'int32');
    assert.deepEqual(i.div(2, 'floor').toArray(), [3, -4]);
    assert.equal(i.div(2).dtype, 'float32', 'true division of integers gives float32');
    assert.equal(i.sum().dtype, 'int64', 'integer sums accumulate in int64');
  });
});

test('casts between every pair of these dtypes round-trip small integers', () => {
  const dtypes: torch.DType[] = ['float32', 'float64', 'int64', 'int32', 'uint8'];
  torch.scope(() => {
    const base = torch.tensor([0, 1, 2, 100]);
    for (const a of dtypes) {
      for (const b of dtypes) {
        const t = base.to(a).to(b);
        assert.equal(t.dtype, b);
        assert.deepEqual(t.toArray(), [0, 1, 2, 100], `${a} -> ${b}`);
      }
    }
  });
});
