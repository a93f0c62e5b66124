// PyTorch checkpoints written by torch.save, read without Python through the restricted unpickler in pickle.ts.
// Two layouts exist:
// - zip (PyTorch >= 1.6): `<root>/data.pkl` (a pickle whose persistent ids name storages), `<root>/data/<key>` (each
//   storage's raw bytes) and maybe `<root>/byteorder` and `<root>/version`;
// - legacy (PyTorch 0.3-1.5, or _use_new_zipfile_serialization=False): pickles back to back (magic number, protocol
//   version, sys_info, the object, the sorted list of storage keys), then each storage in that order as an int64
//   little-endian element count followed by its little-endian bytes.
// Both unpickle the object the same way and rebuild tensors from (storage, offset, size, stride).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DType } from '../dtype.js';
import { Tensor, scope } from '../tensor.js';
import { ELEMENT_SIZE, swapBytes, tensorFromBytes } from './raw.js';
import { PickleTruncatedError, PyCallable, PyDict, describe, isTuple, unpickle, unpickleAt, type UnpickleOptions } from './pickle.js';
import { ZipReader } from './zip.js';

export { PyDict, isTuple } from './pickle.js';

/** A reference to a whitelisted Python global that appeared as a value (e.g. a storage class), not as a call. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * A value from a checkpoint: Python None, bool, int (number, or bigint beyond 2^53), float, str, bytes (Uint8Array),
 * Tensor, list (array), tuple (frozen array, see isTuple), dict or OrderedDict (PyDict, a Map keeping Python's order,
 * with BUILD attributes such as `_metadata` in `.attributes`).
 */
export type PthValue = null | boolean | number | bigint | string | Uint8Array | Tensor | PyGlobal | PthValue[] | PyDict<PthValue>;

const STORAGES: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

class StorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}

/** A storage as the file holds it: `numel` elements of `dtype`, stored under `key`. */
class StorageRoot {
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number, readonly location: string) {}
}

/**
 * What a persistent id hands to the rebuild functions: elements [offset, offset + numel) of a root storage. It is the
 * whole root except in legacy files from PyTorch before 0.4, which could pickle storage views (view_metadata).
 */
class StorageRef {
  constructor(readonly root: StorageRoot, readonly offset: number, readonly numel: number) {}
  toString(): string {
    return this.offset === 0 && this.numel === this.root.numel
      ? `storage ${this.root.key}`
      : `storage ${this.root.key} [${this.offset}, ${this.offset + this.numel})`;
  }
}

class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}

const TAR_HINT = 'Convert it with a modern PyTorch (1.6 or later): python3 -c "import torch; torch.save(torch.load(\'OLD.pth\', map_location=\'cpu\'), \'NEW.pth\')"';

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${what} should be a tuple of non-negative integers, got ${describe(v)}`);
  }
  return v as number[];
}

function rebuildTensor(args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error(`the storage argument is ${describe(storage)}, not a storage`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new Error(`storage offset ${describe(offset)} is invalid`);
  const sizes = intList(size, 'size');
  const strides = intList(stride, 'stride');
  if (sizes.length !== strides.length) throw new Error(`size [${sizes}] and stride [${strides}] differ in length`);
  return new TensorRef(storage, offset, sizes, strides);
}

// Each allowed global, by its qualified name. Everything else is refused with the name in the error.
function allowedGlobals(): Map<string, unknown> {
  const g = new Map<string, unknown>();
  g.set('collections.OrderedDict', new PyCallable('collections.OrderedDict', (args) => {
    const d = new PyDict<unknown>('collections.OrderedDict');
    // OrderedDict() or OrderedDict([(k, v), ...]).
    const items = args[0];
    if (Array.isArray(items)) {
      for (const pair of items) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new Error('items must be (key, value) pairs');
        d.set(pair[0], pair[1]);
      }
    }
    return d;
  }));
  g.set('torch._utils._rebuild_tensor_v2', new PyCallable('torch._utils._rebuild_tensor_v2', rebuildTensor));
  g.set('torch._utils._rebuild_tensor', new PyCallable('torch._utils._rebuild_tensor', rebuildTensor));
  const parameter = (args: unknown[]): TensorRef => {
    // (data, requires_grad, backward_hooks[, state]): loaded tensors are plain data; requires_grad is not restored.
    if (!(args[0] instanceof TensorRef)) throw new Error(`the data argument is ${describe(args[0])}, not a tensor`);
    return args[0];
  };
  g.set('torch._utils._rebuild_parameter', new PyCallable('torch._utils._rebuild_parameter', parameter));
  g.set('torch._utils._rebuild_parameter_with_state', new PyCallable('torch._utils._rebuild_parameter_with_state', parameter));
  g.set('torch._tensor._rebuild_from_type_v2', new PyCallable('torch._tensor._rebuild_from_type_v2', (args) => {
    // (func, new_type, args, state): newer PyTorch wraps plain tensors and Parameters this way.
    const [fn, type, fnArgs] = args;
    if (!(fn instanceof PyCallable)) throw new Error(`the rebuild function is ${describe(fn)}`);
    if (!(type instanceof PyGlobal)) throw new Error(`the tensor type is ${describe(type)}, not torch.Tensor or Parameter`);
    if (!Array.isArray(fnArgs)) throw new Error('the rebuild arguments are not a tuple');
    return fn.call(fnArgs);
  }));
  g.set('torch.Tensor', new PyGlobal('torch', 'Tensor'));
  g.set('torch.nn.parameter.Parameter', new PyGlobal('torch.nn.parameter', 'Parameter'));
  g.set('_codecs.encode', new PyCallable('_codecs.encode', (args) => {
    // Protocol 2 pickles Python bytes as _codecs.encode(text, 'latin1').
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error('only latin1 text is accepted');
    return new Uint8Array(Buffer.from(text, 'latin1'));
  }));
  for (const [name, dtype] of Object.entries(STORAGES)) g.set(`torch.${name}`, new StorageType(name, dtype));
  return g;
}

/**
 * The unpickler options for a checkpoint's pickled object: the allowed globals, and persistent ids resolved to storages,
 * whose roots are collected in `roots` (by key and dtype).
 */
function checkpointPickle(what: string, roots: Map<string, StorageRoot>): UnpickleOptions {
  const globals = allowedGlobals();
  return {
    what,
    findGlobal(module, name) {
      const qual = `${module}.${name}`;
      const found = globals.get(qual);
      if (found !== undefined) return found;
      throw new Error(`${what}: the pickle needs the Python global '${qual}', which this loader refuses: it loads only ` +
        `tensors and plain containers, never arbitrary Python objects (the file may hold other objects, or be malicious). ` +
        `If it holds other objects (e.g. an argparse Namespace or numpy scalars), re-save only the weights in Python: ` +
        `torch.save(model.state_dict(), 'weights.pth'). Allowed globals: ${[...globals.keys()].join(', ')}`);
    },
    persistentLoad: (pid) => storageFromId(pid, what, roots),
  };
}

const nonNegativeInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

// A persistent id is ('storage', storage_type, key, location, numel) in zip files; legacy files add view_metadata,
// None or (view_key, offset, numel) into the root storage (only PyTorch before 0.4 wrote views).
function storageFromId(pid: unknown, what: string, roots: Map<string, StorageRoot>): StorageRef {
  if (!Array.isArray(pid) || !isTuple(pid) || pid[0] !== 'storage' || pid.length < 5 || pid.length > 6) throw new Error(`${what}: unexpected persistent id ${describe(pid)}`);
  const [, type, key, location, numel, view] = pid;
  if (!(type instanceof StorageType)) throw new Error(`${what}: storage type ${describe(type)} is not supported; supported: torch.${Object.keys(STORAGES).join(', torch.')}`);
  if (typeof key !== 'string' || !nonNegativeInt(numel)) throw new Error(`${what}: malformed storage record ${describe(pid)}`);
  const id = `${key}\u0000${type.dtype}`;
  let root = roots.get(id);
  if (!root) {
    root = new StorageRoot(key, type.dtype, numel, typeof location === 'string' ? location : 'cpu');
    roots.set(id, root);
  } else if (root.numel !== numel) {
    throw new Error(`${what}: storage ${key} is declared with ${root.numel} and with ${numel} elements; the file is corrupt`);
  }
  if (view === undefined || view === null) return new StorageRef(root, 0, root.numel);
  if (!isTuple(view) || (view as unknown[]).length !== 3) throw new Error(`${what}: storage ${key} has malformed view metadata ${describe(view)}`);
  const [, offset, length] = view as unknown[];
  if (!nonNegativeInt(offset) || !nonNegativeInt(length) || offset + length > root.numel) {
    throw new Error(`${what}: a view (offset ${String(offset)}, ${String(length)} elements) of storage ${key} does not fit in its ${root.numel} elements; the file is corrupt`);
  }
  return new StorageRef(root, offset, length);
}

const SNIFF_BYTES = 512;

function sniff(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`checkpoint ${path}: cannot open it (${(err as Error).message})`);
  }
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const n = readSync(fd, head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

// The legacy format's first pickle is this int (a LONG1 at protocol 2); its second, the format version.
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** Options for the legacy format's header pickles, which hold only plain values: every global is refused. */
function plainPickle(what: string): UnpickleOptions {
  return {
    what,
    findGlobal(module, name) {
      throw new Error(`${what}: the pickle needs the Python global '${module}.${name}', but this pickle should hold only plain values; the file is not a torch.save checkpoint`);
    },
  };
}

// Files people mistake for checkpoints, by their first bytes.
const OTHER_FORMATS: { name: string; test: (head: Buffer) => boolean; hint: string }[] = [
  {
    name: 'a safetensors file',
    // An 8-byte little-endian header length, then the JSON header.
    test: (h) => h.length > 9 && h[8] === 0x7b && h.readBigUInt64LE(0) < 100_000_000n,
    hint: 'load it with loadSafetensors',
  },
  { name: 'a NumPy .npy array', test: (h) => h.subarray(0, 6).equals(Buffer.from('\x93NUMPY', 'latin1')), hint: 'convert it to a tensor in Python and torch.save it' },
  { name: 'an HDF5 file (Keras or h5py weights)', test: (h) => h.subarray(0, 8).equals(Buffer.from('\x89HDF\r\n\x1a\n', 'latin1')), hint: 'PyTorch weights are needed' },
  { name: 'gzip-compressed', test: (h) => h[0] === 0x1f && h[1] === 0x8b, hint: 'decompress it first (gunzip), then load the result' },
];

/** Which torch.save layout the file has; anything else is refused with what the file seems to be. */
function checkFormat(path: string): 'zip' | 'legacy' {
  const head = sniff(path);
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0x06054b50) throw new Error(`checkpoint ${path}: an empty zip archive, not a torch.save checkpoint`);
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') {
    throw new Error(`checkpoint ${path} is a tar archive, PyTorch's oldest serialization format, which is not supported. ${TAR_HINT}`);
  }
  if (head.length >= 1 && head[0] === 0x80) {
    let first: unknown;
    try {
      first = unpickleAt(head, 0, plainPickle(`checkpoint ${path}`)).value;
    } catch (err) {
      if (err instanceof PickleTruncatedError && head.length < SNIFF_BYTES) {
        throw new Error(`checkpoint ${path} ends after ${head.length} bytes, inside its first pickle; the file is truncated (an interrupted save or copy?)`);
      }
      throw new Error(`checkpoint ${path} starts like a pickle, but not with torch.save's magic number: it is not a torch.save checkpoint (${(err as Error).message})`);
    }
    if (first === LEGACY_MAGIC) return 'legacy';
    throw new Error(`checkpoint ${path} is a pickle whose first value is ${describe(first)}, not torch.save's magic number 0x1950a86a20f9469cfc6c: ` +
      'it was written by pickle.dump or another tool, not torch.save. Load it in Python and save the weights with torch.save');
  }
  for (const other of OTHER_FORMATS) {
    if (other.test(head)) throw new Error(`checkpoint ${path} is ${other.name}, not a torch.save checkpoint: ${other.hint}`);
  }
  if (head.length === 0) throw new Error(`checkpoint ${path} is empty; the save was interrupted or the copy failed`);
  throw new Error(`checkpoint ${path} is neither a torch.save zip archive nor a legacy torch.save file (it starts with bytes ${head.subarray(0, 8).toString('hex')})`);
}

function findRoot(zip: ZipReader, path: string): string {
  const names = [...zip.entries.keys()];
  const roots = names.filter((n) => /^([^/]+\/)?data\.pkl$/.test(n)).map((n) => n.slice(0, -'data.pkl'.length));
  if (roots.length === 1) return roots[0] as string;
  if (roots.length > 1) throw new Error(`checkpoint ${path}: the archive holds several data.pkl (${roots.map((r) => r + 'data.pkl').join(', ')}); it is not a single torch.save checkpoint`);
  if (names.some((n) => /(^|\/)constants\.pkl$/.test(n) || /(^|\/)code\//.test(n))) {
    throw new Error(`checkpoint ${path} is a TorchScript archive (torch.jit.save), not a torch.save checkpoint. In Python, save the weights instead: torch.save(torch.jit.load('${path}').state_dict(), 'weights.pth')`);
  }
  throw new Error(`checkpoint ${path}: a zip archive without data.pkl, so not a torch.save checkpoint (entries: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`);
}

// Visits every value reachable from root once (memo references make the pickle a DAG, and lists may even be cyclic).
function walk(root: unknown, visit: (v: unknown) => void): void {
  const seen = new Set<unknown>();
  const pending: unknown[] = [root];
  while (pending.length) {
    const v = pending.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    visit(v);
    // Children go on the stack in reverse so values are visited in the pickle's order.
    const children: unknown[] = [];
    if (v instanceof PyDict) {
      for (const [k, x] of v) children.push(k, x);
      for (const x of v.attributes.values()) children.push(x);
    } else if (Array.isArray(v)) {
      children.push(...v);
    }
    for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]);
  }
}

/** Replaces the unpickler's placeholders by their final values, in place where the container is mutable. */
function finish(v: unknown, tensors: Map<TensorRef, Tensor>, done: Map<object, PthValue>, path: string): PthValue {
  if (v === null || typeof v !== 'object') {
    if (v === undefined || typeof v === 'symbol' || typeof v === 'function') throw new Error(`checkpoint ${path}: unexpected value ${String(v)}`);
    return v as PthValue;
  }
  const known = done.get(v);
  if (known !== undefined) return known;
  if (v instanceof TensorRef) return tensors.get(v) as Tensor;
  if (v instanceof Uint8Array || v instanceof PyGlobal) return v;
  if (v instanceof StorageType) return new PyGlobal('torch', v.name);
  if (v instanceof PyCallable) {
    const dot = v.qualname.lastIndexOf('.');
    return new PyGlobal(v.qualname.slice(0, dot), v.qualname.slice(dot + 1));
  }
  if (v instanceof StorageRef) throw new Error(`checkpoint ${path} holds a bare ${v} outside any tensor; save tensors instead of storages`);
  if (v instanceof PyDict) {
    done.set(v, v as PyDict<PthValue>);
    for (const [k, x] of v) v.set(k, finish(x, tensors, done, path));
    for (const [k, x] of v.attributes) v.attributes.set(k, finish(x, tensors, done, path));
    return v as PyDict<PthValue>;
  }
  if (Array.isArray(v)) {
    if (isTuple(v)) {
      const out = Object.freeze(v.map((x) => finish(x, tensors, done, path))) as PthValue[];
      done.set(v, out);
      return out;
    }
    done.set(v, v as PthValue[]);
    for (let i = 0; i < v.length; i++) v[i] = finish(v[i], tensors, done, path);
    return v as PthValue[];
  }
  throw new Error(`checkpoint ${path}: unexpected value ${describe(v)}`);
}

/**
 * Rebuilds every tensor of an unpickled checkpoint from its storages and returns the value with tensors in place.
 * `readStorage` gives a root storage's exact bytes, little-endian. On failure nothing stays allocated.
 */
function materialize(value: unknown, path: string, readStorage: (root: StorageRoot) => Uint8Array): PthValue {
  const refs: TensorRef[] = [];
  walk(value, (v) => { if (v instanceof TensorRef) refs.push(v); });
  const users = new Map<StorageRoot, number>();
  for (const r of refs) users.set(r.storage.root, (users.get(r.storage.root) ?? 0) + 1);

  const made = scope(() => {
    const bases = new Map<StorageRoot, Tensor>();
    const base = (root: StorageRoot): Tensor => {
      let t = bases.get(root);
      if (!t) {
        t = tensorFromBytes(readStorage(root), [root.numel], root.dtype);
        bases.set(root, t);
      }
      return t;
    };
    const out: Tensor[] = [];
    for (const r of refs) {
      const s = r.storage;
      const numel = r.size.reduce((a, b) => a * b, 1);
      if (numel > 0) {
        const last = r.offset + r.size.reduce((acc, n, i) => acc + (n - 1) * (r.stride[i] as number), 0);
        if (last >= s.numel) {
          throw new Error(`checkpoint ${path}: a tensor of size [${r.size}] stride [${r.stride}] offset ${r.offset} reaches element ${last} of ${s}, which has only ${s.numel}`);
        }
      }
      const offset = s.offset + r.offset;
      const view = base(s.root).asStrided(r.size, r.stride, offset);
      const whole = users.get(s.root) === 1 && offset === 0 && numel === s.root.numel;
      // A view that is its storage's only user and covers it all keeps that memory (detached, so autograd does not
      // treat it as a view); anything else is copied out, so no tensor pins or aliases a larger shared storage.
      out.push(view.isContiguous() ? (whole ? view.detach() : view.clone()) : view.contiguous());
    }
    return out;
  });
  const tensors = new Map<TensorRef, Tensor>(refs.map((r, i) => [r, made[i] as Tensor]));
  try {
    return finish(value, tensors, new Map(), path);
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
}

/**
 * Loads a torch.save checkpoint onto the CPU, without Python: the zip format (PyTorch >= 1.6) or the legacy one
 * (PyTorch 0.3-1.5, or `_use_new_zipfile_serialization=False`); both give the same result. Tensors come back as
 * engine Tensors the caller owns (free them with `torch.dispose(value)`), each with its own memory, contiguous,
 * with requiresGrad off; dicts come back as PyDict (a Map). Tensors that shared a storage in Python (views, slices,
 * transposes) are separate copies here. Only plain data and tensors are accepted: a pickle that needs any other
 * Python global is refused with an error naming that global. Any other file is refused with what it seems to be.
 */
export function loadPth(path: string): PthValue {
  return checkFormat(path) === 'zip' ? loadZip(path) : loadLegacy(path);
}

function loadZip(path: string): PthValue {
  const zip = new ZipReader(path, `checkpoint ${path}`);
  try {
    const root = findRoot(zip, path);
    let bigEndian = false;
    if (zip.entries.has(root + 'byteorder')) {
      const order = zip.readEntry(root + 'byteorder').toString('latin1').trim();
      if (order !== 'little' && order !== 'big') throw new Error(`checkpoint ${path}: byteorder record says '${order}', expected 'little' or 'big'`);
      bigEndian = order === 'big';
    }
    const value = unpickle(zip.readEntry(root + 'data.pkl'), checkpointPickle(`checkpoint ${path} (${root}data.pkl)`, new Map()));
    return materialize(value, path, (s) => {
      const entry = `${root}data/${s.key}`;
      if (!zip.entries.has(entry)) throw new Error(`checkpoint ${path}: storage ${s.key} is referenced but the archive has no ${entry}; the file is incomplete`);
      const size = ELEMENT_SIZE[s.dtype];
      const bytes = zip.readEntry(entry);
      if (bytes.length < s.numel * size) {
        throw new Error(`checkpoint ${path}: storage ${s.key} should hold ${s.numel} ${s.dtype} elements (${s.numel * size} bytes) but ${entry} has ${bytes.length} bytes`);
      }
      const exact = bytes.subarray(0, s.numel * size);
      if (bigEndian) swapBytes(exact, size);
      return exact;
    });
  } finally {
    zip.close();
  }
}

/** A legacy checkpoint file: its leading pickles are parsed from a prefix of the file that grows until each fits. */
class LegacyFile {
  readonly size: number;
  private readonly fd: number;
  private head = Buffer.alloc(0);
  private scratch = Buffer.alloc(0);

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw new Error(`checkpoint ${path}: cannot open it (${(err as Error).message})`);
    }
    try {
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      closeSync(this.fd);
      throw new Error(`checkpoint ${path}: cannot read its size (${(err as Error).message})`);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Bytes [position, position + length) of the file; `what` names them when the file ends too early. */
  read(position: number, length: number, what: string): Buffer {
    return this.readInto(Buffer.allocUnsafe(length), position, what);
  }

  /**
   * A storage's bytes, in a scratch buffer that the next call overwrites (the caller copies them into a tensor at
   * once). Reusing it spares the page faults of a fresh buffer per storage: a 40 MB state dict loaded in about 33 ms
   * instead of 45 ms here.
   */
  readStorage(position: number, length: number, what: string): Buffer {
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length);
    return this.readInto(this.scratch.subarray(0, length), position, what);
  }

  private readInto(buf: Buffer, position: number, what: string): Buffer {
    const length = buf.length;
    if (position + length > this.size) {
      throw new Error(`checkpoint ${this.path}: truncated: ${what} needs bytes ${position}..${position + length} but the file has ${this.size}; the file is incomplete (an interrupted save or copy?)`);
    }
    let at = 0;
    while (at < length) {
      const n = readSync(this.fd, buf, at, length - at, position + at);
      if (n === 0) throw new Error(`checkpoint ${this.path}: reading ${what} stopped after ${at} of ${length} bytes at ${position}; the file shrank while being read`);
      at += n;
    }
    return buf;
  }

  /** The pickle that starts at byte `at`. `options` is called for each attempt, since a retry runs the unpickler again. */
  pickle(at: number, options: () => UnpickleOptions): { value: unknown; end: number } {
    for (;;) {
      try {
        return unpickleAt(this.head, at, options());
      } catch (err) {
        if (!(err instanceof PickleTruncatedError)) throw err;
        if (this.head.length >= this.size) throw new Error(`${err.message}; the file ends there: it is truncated (an interrupted save or copy?)`);
        // State dict pickles are kilobytes to a few megabytes; doubling keeps the re-parsing linear overall.
        const length = Math.min(this.size, Math.max(1 << 20, 2 * this.head.length));
        this.head = Buffer.concat([this.head, this.read(this.head.length, length - this.head.length, 'the pickles')]);
      }
    }
  }
}

function loadLegacy(path: string): PthValue {
  const file = new LegacyFile(path);
  try {
    const header = (what: string) => (): UnpickleOptions => plainPickle(`checkpoint ${path} (legacy format, ${what})`);
    const magic = file.pickle(0, header('magic number'));
    const version = file.pickle(magic.end, header('protocol version'));
    if (version.value !== LEGACY_PROTOCOL_VERSION) {
      throw new Error(`checkpoint ${path}: legacy format version ${describe(version.value)}, but only ${LEGACY_PROTOCOL_VERSION} (the one every PyTorch release wrote) is known; the file is corrupt`);
    }
    // sys_info records the saving machine's byte order and C type sizes. Storages are little-endian whatever the
    // machine (PyTorch converts when it writes them), so nothing here depends on it.
    const sysInfo = file.pickle(version.end, header('sys_info'));
    if (!(sysInfo.value instanceof PyDict)) throw new Error(`checkpoint ${path}: legacy format sys_info is ${describe(sysInfo.value)}, not a dict; the file is corrupt`);
    let roots = new Map<string, StorageRoot>();
    const object = file.pickle(sysInfo.end, () => {
      roots = new Map();
      return checkpointPickle(`checkpoint ${path} (legacy format, the pickled object)`, roots);
    });
    const keyList = file.pickle(object.end, header('storage key list'));
    const keys = keyList.value;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      throw new Error(`checkpoint ${path}: the legacy format's storage key list is ${describe(keys)}, not a list of strings; the file is corrupt`);
    }

    const byKey = new Map<string, StorageRoot>();
    for (const r of roots.values()) {
      const other = byKey.get(r.key);
      if (other) throw new Error(`checkpoint ${path}: storage ${r.key} is used as ${other.dtype} and as ${r.dtype}, but the legacy format stores one type per storage; the file is corrupt`);
      byKey.set(r.key, r);
    }
    // Storages follow the key list back to back: an int64 element count, then the bytes.
    const dataAt = new Map<StorageRoot, number>();
    let pos = keyList.end;
    (keys as string[]).forEach((key, i) => {
      const root = byKey.get(key);
      if (!root) throw new Error(`checkpoint ${path}: the storage list names ${key}, which no tensor uses; the file is corrupt`);
      const where = `storage ${key} (${i + 1} of ${keys.length}: ${root.numel} ${root.dtype} elements)`;
      const count = file.read(pos, 8, where).readBigInt64LE(0);
      if (count !== BigInt(root.numel)) throw new Error(`checkpoint ${path}: ${where} records ${count} elements at byte ${pos}; the file is corrupt`);
      const bytes = root.numel * ELEMENT_SIZE[root.dtype];
      if (pos + 8 + bytes > file.size) file.read(pos + 8, bytes, where);
      dataAt.set(root, pos + 8);
      pos += 8 + bytes;
    });
    for (const r of byKey.values()) {
      if (!dataAt.has(r)) throw new Error(`checkpoint ${path}: storage ${r.key} is used by a tensor but missing from the storage list; the file is corrupt`);
    }
    return materialize(object.value, path, (root) => file.readStorage(dataAt.get(root) as number, root.numel * ELEMENT_SIZE[root.dtype], `storage ${root.key}`));
  } finally {
    file.close();
  }
}

/** Whether v is a state dict: a dict whose keys are strings and whose values are all tensors. */
export function isStateDict(v: unknown): v is PyDict<Tensor> {
  if (!(v instanceof PyDict)) return false;
  for (const [k, x] of v) if (typeof k !== 'string' || !(x instanceof Tensor)) return false;
  return true;
}

/** Where a state dict is looked for inside a wrapper dict, in this order. */
export const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'network', 'module'];

function summary(v: PthValue): string {
  if (v instanceof Tensor) return `Tensor [${v.shape.join(',')}] ${v.dtype}`;
  if (isStateDict(v)) return `a state dict of ${v.size} tensor${v.size === 1 ? '' : 's'}`;
  if (v instanceof PyDict) return `a ${v.pyType} of ${v.size} entries`;
  return describe(v);
}

/**
 * Loads a checkpoint's state dict: name -> Tensor (CPU, contiguous, owned by the caller). The file's top level may be
 * the state dict itself, or a dict wrapping it under one of STATE_DICT_KEYS (e.g. {'state_dict': ..., 'epoch': 3}),
 * searched two levels deep; `options.key` picks a path explicitly (e.g. 'netG' or ['model', 'generator']). Tensors of the
 * file that are not returned are disposed. Throws, listing the top-level keys, when no state dict is found.
 */
export function loadPthStateDict(path: string, options: { key?: string | string[] } = {}): Map<string, Tensor> {
  const value = loadPth(path);
  let found: PyDict<Tensor> | undefined;
  try {
    if (options.key !== undefined) {
      const keys = Array.isArray(options.key) ? options.key : [options.key];
      let at: PthValue = value;
      for (const k of keys) {
        if (!(at instanceof PyDict) || !at.has(k)) throw new Error(`checkpoint ${path}: key path [${keys.join(', ')}] not found: no '${k}' in ${summary(at)}`);
        at = at.get(k) as PthValue;
      }
      if (!isStateDict(at)) throw new Error(`checkpoint ${path}: [${keys.join(', ')}] is ${summary(at)}, not a state dict of tensors`);
      found = at;
    } else {
      const search = (v: PthValue, depth: number): PyDict<Tensor> | undefined => {
        if (isStateDict(v)) return v;
        if (!(v instanceof PyDict) || depth === 0) return undefined;
        for (const k of STATE_DICT_KEYS) {
          const inner = v.get(k);
          const hit = inner === undefined ? undefined : search(inner, depth - 1);
          if (hit) return hit;
        }
        return undefined;
      };
      found = search(value, 2);
      if (!found) {
        const top = value instanceof PyDict
          ? `its top level is a ${value.pyType} with keys: ${[...value].map(([k, x]) => `${String(k)} (${summary(x)})`).join(', ')}`
          : `its top level is ${summary(value)}`;
        throw new Error(`checkpoint ${path}: no state dict found; ${top}. Pass { key: '<name>' } to pick one, or use loadPth to read the whole value`);
      }
    }
  } catch (err) {
    disposeAllExcept(value, new Set());
    throw err;
  }
  const result = new Map<string, Tensor>(found as Map<string, Tensor>);
  disposeAllExcept(value, new Set(result.values()));
  return result;
}

function disposeAllExcept(value: PthValue, keep: Set<Tensor>): void {
  walk(value, (v) => { if (v instanceof Tensor && !keep.has(v)) v.dispose(); });
}
