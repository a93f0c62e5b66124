// A small reader (and writer) for NumPy .npy files: the magic, a Python-dict header, then raw C-order elements.
// Enough for SPT's parsing maps ((H, W) int8 or int64) and other plain arrays; no pickled objects, no Fortran order.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as torch from '../torch/index.js';
import type { DType, TypedArray } from '../torch/index.js';

export interface NpyArray {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

const DESCR: Record<string, { dtype: DType; bytes: number }> = {
  '|i1': { dtype: 'int8', bytes: 1 }, 'i1': { dtype: 'int8', bytes: 1 },
  '|u1': { dtype: 'uint8', bytes: 1 }, 'u1': { dtype: 'uint8', bytes: 1 }, '|b1': { dtype: 'bool', bytes: 1 },
  '<i2': { dtype: 'int16', bytes: 2 }, '<i4': { dtype: 'int32', bytes: 4 }, '<i8': { dtype: 'int64', bytes: 8 },
  '<f4': { dtype: 'float32', bytes: 4 }, '<f8': { dtype: 'float64', bytes: 8 },
};

/** Parses .npy bytes; `file` names the source in errors. */
export function parseNpy(bytes: Uint8Array, file = '.npy data'): NpyArray {
  const fail = (why: string): never => { throw new Error(`${file}: not a readable .npy file: ${why}`); };
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') fail('missing the \\x93NUMPY magic');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) { headerLen = view.getUint16(8, true); start = 10; } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true); start = 12;
  } else return fail(`unsupported format version ${major}`);
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) return fail(`header '${header.trim()}' lacks descr, fortran_order or shape`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save with np.ascontiguousarray');
  const kind = DESCR[descr];
  if (!kind) return fail(`element type '${descr}' is not supported (use int8, uint8, int16, int32, int64, float32 or float64, little-endian)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) fail(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (bytes.length - offset < count * kind.bytes) fail(`truncated: ${bytes.length - offset} data bytes for ${count} elements of ${kind.bytes} bytes`);
  // Copy into a fresh, aligned buffer (a Buffer's slice() is a view into a shared pool, hence the explicit copy).
  const raw = new Uint8Array(bytes.subarray(offset, offset + count * kind.bytes)).buffer;
  let data: TypedArray;
  switch (kind.dtype) {
    case 'int8': data = new Int8Array(raw); break;
    case 'uint8': case 'bool': data = new Uint8Array(raw); break;
    case 'int16': data = new Int16Array(raw); break;
    case 'int32': data = new Int32Array(raw); break;
    case 'int64': data = new BigInt64Array(raw); break;
    case 'float32': data = new Float32Array(raw); break;
    default: data = new Float64Array(raw); break;
  }
  return { dtype: kind.dtype, shape, data };
}

export function readNpySync(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readFile(path), path);
}

/** The array as a tensor of its own dtype (the caller owns it). */
export function npyToTensor(a: NpyArray): torch.Tensor {
  return torch.tensor(a.data, a.shape);
}

/** .npy bytes (format 1.0) for a typed array of the given shape. */
export function formatNpy(data: TypedArray, shape: readonly number[]): Uint8Array {
  const descr = data instanceof Int8Array ? '|i1' : data instanceof Uint8Array ? '|u1' : data instanceof Int16Array ? '<i2'
    : data instanceof Int32Array ? '<i4' : data instanceof BigInt64Array ? '<i8' : data instanceof Float32Array ? '<f4' : '<f8';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
