// Raw element bytes in and out of tensors, exactly (float16 and bfloat16 never pass through float32).
import { endianness } from 'node:os';
import { native as N } from '../native.js';
// Installs the Tensor methods (ne, to, asStrided, ...) even when io is imported before the engine's index.
import '../gen/ops.js';
import { dtypeCode, type DType } from '../dtype.js';
import { wrap, type Tensor } from '../tensor.js';

/** Bytes per element of each dtype. */
export const ELEMENT_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

// Both formats store little-endian bytes and the addon copies memory as is, so a big-endian host would need swaps
// everywhere. No supported platform is big-endian; refuse clearly rather than load garbage.
function requireLittleEndianHost(what: string): void {
  if (endianness() !== 'LE') throw new Error(`${what}: this host is big-endian; weight files are little-endian and no byte swapping is implemented`);
}

/** A copy of the tensor's elements as little-endian bytes, row-major (the tensor is detached and made contiguous). */
export function tensorBytes(t: Tensor): Uint8Array {
  requireLittleEndianHost('tensorBytes');
  if (t.isDisposed) throw new Error('tensorBytes: the tensor was disposed');
  const out = new Uint8Array(t.size * ELEMENT_SIZE[t.dtype]);
  N.copyToBuffer(t.handle, out);
  return out;
}

/**
 * A new tensor holding a copy of `bytes` (little-endian elements, row-major) with the given shape and dtype.
 * The byte length must equal the number of elements times the element size.
 */
export function tensorFromBytes(bytes: Uint8Array, shape: readonly number[], dtype: DType): Tensor {
  requireLittleEndianHost('tensorFromBytes');
  return wrap(N.fromBuffer(bytes, [...shape], dtypeCode(dtype)));
}

/** Swaps each element's bytes in place (big-endian storages, as written on a big-endian machine). */
export function swapBytes(bytes: Uint8Array, elementSize: number): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (elementSize === 2) b.swap16();
  else if (elementSize === 4) b.swap32();
  else if (elementSize === 8) b.swap64();
}
