import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { formatNpy, npyToTensor, parseNpy, readNpySync } from '../../../src/data/npy.js';
import { NO_SHARED, SHARED } from './shared-data.js';

test('reads SPT\'s real parsing maps, int8 and int64', { skip: NO_SHARED }, () => {
  const a = readNpySync(join(SHARED, 'spt-samples/parsing/1_A.npy'));
  assert.equal(a.dtype, 'int8');
  assert.deepEqual(a.shape, [256, 256]);
  const labels = new Set(Array.from(a.data as Int8Array));
  assert.deepEqual([...labels].sort((x, y) => x - y), [0, 1, 2, 3, 6, 7, 8]);
  const b = readNpySync(join(SHARED, 'spt-samples/parsing/1_B.npy'));
  assert.equal(b.dtype, 'int64');
  assert.ok(Array.from(b.data as BigInt64Array).every((v) => v >= 0n && v <= 9n));
  torch.scope(() => {
    const t = npyToTensor(b);
    assert.deepEqual(t.shape, [256, 256]);
    assert.equal(t.dtype, 'int64');
  });
});

test('round-trips through formatNpy and rejects bad input with the file name', () => {
  const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const back = parseNpy(formatNpy(data, [2, 3]));
  assert.equal(back.dtype, 'float32');
  assert.deepEqual(back.shape, [2, 3]);
  assert.deepEqual(Array.from(back.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.throws(() => parseNpy(new Uint8Array([1, 2, 3]), 'x.npy'), /x\.npy: not a readable \.npy file: missing/);
  const bytes = formatNpy(data, [2, 3]);
  assert.throws(() => parseNpy(bytes.subarray(0, bytes.length - 4), 'cut.npy'), /cut\.npy.*truncated/);
});
