// The addon's byte copies between tensors and JS typed arrays honour the typed array's view, not its ArrayBuffer; and
// handles that are not numbers are refused with the N-API call named, rather than read as garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { native as N } from '../../../src/torch/native.js';

const FILL = 0xaa;

function withTensor(fn: (t: torch.Tensor, bytes: Uint8Array) => void): void {
  torch.scope(() => {
    const t = torch.tensor(new Float32Array([1.5, -2, 3]), [3]);
    fn(t, torch.io.tensorBytes(t));
  });
}

test('copyToBuffer writes into a subarray view and leaves the rest of its ArrayBuffer untouched', () => {
  withTensor((t, bytes) => {
    const backing = new Uint8Array(64).fill(FILL);
    N.copyToBuffer(t.handle, backing.subarray(8, 20));
    assert.deepEqual([...backing.subarray(8, 20)], [...bytes]);
    assert.ok(backing.subarray(0, 8).every((b) => b === FILL), 'bytes before the view are untouched');
    assert.ok(backing.subarray(20).every((b) => b === FILL), 'bytes after the view are untouched');

    // A longer view gets the tensor's bytes at its start; the view's tail and the buffer beyond stay as they were.
    backing.fill(FILL);
    N.copyToBuffer(t.handle, new Float32Array(backing.buffer, 16, 6));
    assert.deepEqual([...backing.subarray(16, 28)], [...bytes]);
    assert.ok([...backing.subarray(0, 16), ...backing.subarray(28)].every((b) => b === FILL));
  });
});

test('copyToBuffer into a view too small for the tensor fails naming the op, even when its ArrayBuffer has room', () => {
  withTensor((t) => {
    const backing = new Uint8Array(64).fill(FILL);
    // 8 bytes of view at byte 40: the ArrayBuffer has 24 bytes from there, but the view ends after 8.
    assert.throws(() => N.copyToBuffer(t.handle, backing.subarray(40, 48)),
      /^Error: copyToBuffer: the destination view holds 8 bytes \(from byte 40 of its ArrayBuffer\) but the tensor's \[3\] float32 needs 12; pass a typed array of at least that many bytes \(inputs: self=\[3\] float32\)$/);
    assert.throws(() => N.copyToBuffer(t.handle, new Float64Array(backing.buffer, 8, 1)), /copyToBuffer: the destination view holds 8 bytes \(from byte 8/);
    assert.ok(backing.every((b) => b === FILL), 'nothing was written');
    assert.throws(() => N.copyToBuffer(t.handle, new DataView(backing.buffer)), /^Error: copyToBuffer: argument 'out' must be a typed array/);
  });
});

test('fromBuffer reads only its view of a larger ArrayBuffer', () => {
  const backing = new Float32Array([9, 9, 1.5, -2, 3, 9]);
  const t = torch.io.tensorFromBytes(new Uint8Array(backing.buffer, 8, 12), [3], 'float32');
  assert.deepEqual([...t.data()], [1.5, -2, 3]);
  t.dispose();
  assert.throws(() => torch.io.tensorFromBytes(new Uint8Array(backing.buffer, 8, 12), [4], 'float32'),
    /^Error: fromBuffer: buffer holds 12 bytes but shape \[4\] of float32 needs 16/);
});

test('dispose and disposeIfLive of something that is not a handle fail naming the N-API call; nothing is released', () => {
  const before = torch.memory().numTensors;
  const t = torch.ones([2]);
  for (const bad of ['7', null, {}]) {
    assert.throws(() => N.dispose(bad as unknown as number),
      /^Error: dispose: N-API call napi_get_value_int32 \(argument 'handle'\) failed: A number was expected/);
    assert.throws(() => N.disposeIfLive(bad as unknown as number),
      /^Error: disposeIfLive: N-API call napi_get_value_int32 \(argument 'handle'\) failed: A number was expected/);
  }
  assert.equal(torch.memory().numTensors, before + 1, 'the live tensor is still live');
  assert.throws(() => N.dispose(-5), /^Error: dispose: handle -5 is not a live tensor/);
  t.dispose();
  assert.equal(torch.memory().numTensors, before);
});
