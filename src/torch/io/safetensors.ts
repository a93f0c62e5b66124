// safetensors: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}, space-padded),
// then the tensors' little-endian bytes; offsets are relative to the end of the header and tile the data exactly.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DType } from '../dtype.js';
import { Tensor, scope } from '../tensor.js';
import { writeAtomic } from './atomic.js';
import { ELEMENT_SIZE, tensorBytes, tensorFromBytes } from './raw.js';

const TO_CODE: Record<DType, string> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16',
  int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_CODE = new Map<string, DType>(Object.entries(TO_CODE).map(([k, v]) => [v, k as DType]));

/** The safetensors reference implementation refuses larger headers; so do we, before allocating. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  /** [begin, end) in bytes, relative to the first byte after the header. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Entries in file order (by begin offset). */
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Absolute file offset of the data section. */
  dataStart: number;
}

export type NamedTensors = Map<string, Tensor> | Record<string, Tensor>;

function entriesOf(tensors: NamedTensors): [string, Tensor][] {
  if (tensors instanceof Map) return [...tensors.entries()];
  if (tensors === null || typeof tensors !== 'object') throw new TypeError('saveSafetensors: tensors must be a Map or a plain object of name -> Tensor');
  return Object.entries(tensors);
}

/**
 * Writes tensors (any dtype of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL; any device) and optional string
 * metadata to `path` in the safetensors format. The write is atomic: a temporary file in the same directory is written,
 * fsynced and renamed over `path`, so a kill at any moment leaves either the previous file or the complete new one.
 * Tensors are laid out largest element size first, then by name, so every tensor's data is aligned to its element size.
 */
export function saveSafetensors(path: string, tensors: NamedTensors, metadata?: Record<string, string>): void {
  const what = `saveSafetensors(${path})`;
  const items = entriesOf(tensors);
  const seen = new Set<string>();
  for (const [name, t] of items) {
    if (name === '' || name === '__metadata__') throw new Error(`${what}: tensor name '${name}' is reserved or empty; rename it`);
    if (seen.has(name)) throw new Error(`${what}: tensor name '${name}' appears twice`);
    seen.add(name);
    if (!(t instanceof Tensor)) throw new TypeError(`${what}: '${name}' is not a Tensor (got ${typeof t}); pass only tensors`);
    if (t.isDisposed) throw new Error(`${what}: tensor '${name}' was disposed before it was saved`);
  }
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== 'string') throw new TypeError(`${what}: metadata '${k}' is a ${typeof v}; safetensors metadata values must be strings (JSON.stringify it)`);
    meta[k] = v;
  }
  items.sort(([an, a], [bn, b]) => ELEMENT_SIZE[b.dtype] - ELEMENT_SIZE[a.dtype] || (an < bn ? -1 : an > bn ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = meta;
  let offset = 0;
  for (const [name, t] of items) {
    const bytes = t.size * ELEMENT_SIZE[t.dtype];
    header[name] = { dtype: TO_CODE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  writeAtomic(path, (write) => {
    write(prefix);
    write(headerBytes);
    for (const [, t] of items) write(tensorBytes(t));
  });
}

function fail(path: string, problem: string): never {
  throw new Error(`safetensors file ${path}: ${problem}`);
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let at = 0;
  while (at < length) {
    const n = readSync(fd, buf, at, length - at, position + at);
    if (n === 0) break;
    at += n;
  }
  return at === length ? buf : buf.subarray(0, at);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseHeader(path: string, fd: number): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) fail(path, `truncated: the file has ${fileSize} bytes, fewer than the 8-byte header length; the file is incomplete or not safetensors`);
  const n = readExactly(fd, 8, 0).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${n} exceeds ${MAX_HEADER_BYTES} bytes; the file is corrupt or not safetensors`);
  const headerLength = Number(n);
  if (8 + headerLength > fileSize) fail(path, `truncated: the header needs ${headerLength} bytes but only ${fileSize - 8} follow the length field`);
  const text = readExactly(fd, headerLength, 8).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    fail(path, `the header is not valid JSON (${(err as Error).message}); the file is corrupt or not safetensors`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail(path, 'the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(path, '__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(path, `__metadata__ value '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(path, `entry '${name}' is not an object`);
    const dtype = typeof e.dtype === 'string' ? FROM_CODE.get(e.dtype) : undefined;
    if (dtype === undefined) {
      fail(path, `tensor '${name}' has dtype ${JSON.stringify(e.dtype)}, which is not supported (supported: ${[...FROM_CODE.keys()].join(', ')})`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every(isNonNegInt)) fail(path, `tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !isNonNegInt(off[0]) || !isNonNegInt(off[1]) || off[1] < off[0]) {
      fail(path, `tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const shape = e.shape as number[];
    const need = shape.reduce((a, b) => a * b, 1) * ELEMENT_SIZE[dtype];
    if (off[1] - off[0] !== need) {
      fail(path, `tensor '${name}' (${e.dtype} [${shape.join(',')}]) needs ${need} bytes but data_offsets [${off[0]}, ${off[1]}] span ${off[1] - off[0]}`);
    }
    entries.push([name, { dtype, shape, dataOffsets: [off[0], off[1]] }]);
  }
  entries.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  for (const [name, e] of entries) {
    if (e.dataOffsets[0] !== end) {
      fail(path, `tensor '${name}' starts at data byte ${e.dataOffsets[0]} but the previous tensor ends at ${end}; tensors must tile the data without gaps or overlaps`);
    }
    end = e.dataOffsets[1];
  }
  const dataStart = 8 + headerLength;
  const available = fileSize - dataStart;
  if (available < end) fail(path, `truncated: the header describes ${end} data bytes but the file holds only ${available}; the file is incomplete (an interrupted copy or write?)`);
  if (available > end) fail(path, `${available - end} unexpected bytes follow the last tensor; the file is corrupt`);
  return { tensors: new Map(entries), metadata, dataStart };
}

function withFile<T>(path: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`safetensors file ${path}: cannot open it (${(err as Error).message})`);
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates the header only: names, dtypes, shapes, offsets and metadata, without loading any data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withFile(path, (fd) => parseHeader(path, fd));
}

/**
 * Loads every tensor of a safetensors file onto the CPU. The caller owns the returned tensors (dispose them, e.g.
 * with `torch.dispose(result.tensors)`). The Map keeps the file's order. A truncated or corrupt file throws an error
 * naming the file and the problem; nothing is left allocated then.
 */
export function loadSafetensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  return withFile(path, (fd) => {
    const header = parseHeader(path, fd);
    const tensors = scope(() => {
      const out = new Map<string, Tensor>();
      for (const [name, e] of header.tensors) {
        const [begin, end] = e.dataOffsets;
        const bytes = readExactly(fd, end - begin, header.dataStart + begin);
        if (bytes.byteLength !== end - begin) fail(path, `truncated while reading tensor '${name}'`);
        if (e.dtype === 'bool') {
          // Any nonzero byte is true; normalise so libtorch never sees a bool byte other than 0 or 1.
          out.set(name, scope(() => tensorFromBytes(bytes, e.shape, 'uint8').ne(0)));
        } else {
          out.set(name, tensorFromBytes(bytes, e.shape, e.dtype));
        }
      }
      return out;
    });
    return { tensors, metadata: header.metadata };
  });
}
