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

// Node 20 has no float16 or bfloat16 typed arrays: they come in as raw bits (Uint16Array) or a Float32Array to round,
// and go out as an exact Float32Array.
const halfCases: { dtype: 'bfloat16' | 'float16'; bits: number[]; values: number[] }[] = [
  // bfloat16 is float32's top half: 1, -2, 0.5 + 2^-8, the largest finite value, +inf, the smallest subnormal.
  { dtype: 'bfloat16', bits: [0x3f80, 0xc000, 0x3f01, 0x7f7f, 0x7f80, 0x0001], values: [1, -2, 0.5 + 2 ** -8, (2 - 2 ** -7) * 2 ** 127, Infinity, 2 ** -133] },
  // float16: 1, -2, 1 + 2^-10, the largest finite value 65504, +inf, the smallest subnormal 2^-24.
  { dtype: 'float16', bits: [0x3c00, 0xc000, 0x3c01, 0x7bff, 0x7c00, 0x0001], values: [1, -2, 1 + 2 ** -10, 65504, Infinity, 2 ** -24] },
];

for (const c of halfCases) {
  test(`${c.dtype}: raw bits in, exact Float32Array and item() out, the same bits back`, () => {
    torch.scope(() => {
      const t = torch.tensor(new Uint16Array(c.bits), [2, 3], { dtype: c.dtype });
      assert.equal(t.dtype, c.dtype);
      assert.deepEqual(t.shape, [2, 3]);
      const out = t.data();
      assert.ok(out instanceof Float32Array);
      assert.deepEqual(Array.from(out as Float32Array), c.values);
      assert.equal(t.flatten().select(0, 2).item(), c.values[2]);
      assert.deepEqual(Array.from(new Uint16Array(torch.io.tensorBytes(t).buffer)), c.bits);
      // float32 -> half -> float32 is exact for values the half type holds.
      assert.deepEqual(torch.tensor(new Float32Array(c.values), { dtype: c.dtype }).toArray(), c.values);
      assert.equal(torch.zeros([2], c.dtype).dtype, c.dtype);
      assert.equal(torch.ones([1], c.dtype).item(), 1);
      assert.equal(torch.randn([3], c.dtype).dtype, c.dtype);
    });
  });
}

test('float32 and numbers round to nearest even on the way into bfloat16 and float16', () => {
  torch.scope(() => {
    // Halfway cases: 1 + 2^-8 lies between bfloat16's 1 and 1 + 2^-7 and goes to the even one (1); 1 + 3 * 2^-8 goes
    // up to 1 + 2^-6. float16 has 3 more mantissa bits; 65520 is halfway past its largest finite value, so infinity.
    const bf = torch.tensor(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9]), { dtype: 'bfloat16' });
    assert.deepEqual(bf.toArray(), [1, 1 + 2 ** -6, 1]);
    const h = torch.tensor([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 65519], { dtype: 'float16' });
    assert.deepEqual(h.toArray(), [1, 1 + 2 ** -9, Infinity, 65504]);
    assert.deepEqual(bf.to('float16').to('bfloat16').toArray(), [1, 1 + 2 ** -6, 1]);
  });
});

test('a Uint16Array without a half dtype is refused with what to pass', () => {
  assert.throws(() => torch.tensor(new Uint16Array([1])), /tensor: a Uint16Array is read as raw float16 or bfloat16 bits; pass \{ dtype: 'bfloat16' \}/);
  assert.throws(() => torch.tensor(new Uint16Array([1]), { dtype: 'int16' }), /got dtype int16/);
});
