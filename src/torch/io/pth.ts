// PyTorch checkpoints written by torch.save (PyTorch >= 1.6): a zip archive holding `<root>/data.pkl` (a protocol-2
// pickle whose persistent ids name storages), `<root>/data/<key>` (each storage's raw bytes) and maybe
// `<root>/byteorder` and `<root>/version`. Read without Python, through the restricted unpickler in pickle.ts.
import { closeSync, openSync, readSync } from 'node:fs';
import type { DType } from '../dtype.js';
import { Tensor, scope } from '../tensor.js';
import { ELEMENT_SIZE, swapBytes, tensorFromBytes } from './raw.js';
import { PyCallable, PyDict, describe, isTuple, unpickle } from './pickle.js';
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

class StorageRef {
  constructor(readonly key: string, readonly dtype: DType, readonly numel: number, readonly location: string) {}
}

class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}

const LEGACY_HINT = 'Convert it with a modern PyTorch (1.6 or later): python3 -c "import torch; torch.save(torch.load(\'OLD.pth\', map_location=\'cpu\'), \'NEW.pth\')"';

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

function sniff(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`checkpoint ${path}: cannot open it (${(err as Error).message})`);
  }
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, 512, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

// torch.save before 1.6 (or with _use_new_zipfile_serialization=False) writes pickles back to back, starting with the
// magic number 0x1950a86a20f9469cfc6c as a LONG1; PyTorch before 0.4 wrote a tar archive.
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

function checkFormat(path: string): void {
  const head = sniff(path);
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return;
  if (head.length >= 4 && head.readUInt32LE(0) === 0x06054b50) throw new Error(`checkpoint ${path}: an empty zip archive, not a torch.save checkpoint`);
  if (head.subarray(0, LEGACY_MAGIC.length).equals(LEGACY_MAGIC)) {
    throw new Error(`checkpoint ${path} is in PyTorch's legacy (pre-1.6, non-zip) serialization format, which is not supported. ${LEGACY_HINT}`);
  }
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') {
    throw new Error(`checkpoint ${path} is a tar archive from PyTorch before 0.4 (legacy format), which is not supported. ${LEGACY_HINT}`);
  }
  if (head.length >= 1 && head[0] === 0x80) {
    throw new Error(`checkpoint ${path} is a bare pickle, not a torch.save zip archive (legacy format?), which is not supported. ${LEGACY_HINT}`);
  }
  if (head.length === 0) throw new Error(`checkpoint ${path} is empty; the save was interrupted or the copy failed`);
  throw new Error(`checkpoint ${path} is neither a torch.save zip archive nor a legacy pickle (it starts with bytes ${head.subarray(0, 8).toString('hex')})`);
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
  if (v instanceof StorageRef) throw new Error(`checkpoint ${path} holds a bare storage (key ${v.key}) outside any tensor; save tensors instead of storages`);
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
 * Loads a torch.save checkpoint (PyTorch >= 1.6 zip format) onto the CPU, without Python. Tensors come back as
 * engine Tensors the caller owns (free them with `torch.dispose(value)`), each with its own memory, contiguous,
 * with requiresGrad off; dicts come back as PyDict (a Map). Tensors that shared a storage in Python (views, slices,
 * transposes) are separate copies here. Only plain data and tensors are accepted: a pickle that needs any other
 * Python global is refused with an error naming that global. Legacy (pre-1.6) files get an error that says how
 * to convert them.
 */
export function loadPth(path: string): PthValue {
  checkFormat(path);
  const zip = new ZipReader(path, `checkpoint ${path}`);
  try {
    const root = findRoot(zip, path);
    let bigEndian = false;
    if (zip.entries.has(root + 'byteorder')) {
      const order = zip.readEntry(root + 'byteorder').toString('latin1').trim();
      if (order !== 'little' && order !== 'big') throw new Error(`checkpoint ${path}: byteorder record says '${order}', expected 'little' or 'big'`);
      bigEndian = order === 'big';
    }
    const globals = allowedGlobals();
    const what = `checkpoint ${path} (${root}data.pkl)`;
    const storages = new Map<string, StorageRef>();
    const value = unpickle(zip.readEntry(root + 'data.pkl'), {
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
      persistentLoad(pid) {
        if (!Array.isArray(pid) || !isTuple(pid) || pid[0] !== 'storage' || pid.length < 5) throw new Error(`${what}: unexpected persistent id ${describe(pid)}`);
        const [, type, key, location, numel] = pid;
        if (!(type instanceof StorageType)) throw new Error(`${what}: storage type ${describe(type)} is not supported; supported: torch.${Object.keys(STORAGES).join(', torch.')}`);
        if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
          throw new Error(`${what}: malformed storage record ${describe(pid)}`);
        }
        const id = `${key}\u0000${type.dtype}`;
        let ref = storages.get(id);
        if (!ref) {
          ref = new StorageRef(key, type.dtype, numel, typeof location === 'string' ? location : 'cpu');
          storages.set(id, ref);
        }
        return ref;
      },
    });

    const refs: TensorRef[] = [];
    walk(value, (v) => { if (v instanceof TensorRef) refs.push(v); });
    const users = new Map<string, number>();
    for (const r of refs) users.set(r.storage.key, (users.get(r.storage.key) ?? 0) + 1);

    const made = scope(() => {
      const bases = new Map<StorageRef, Tensor>();
      const base = (s: StorageRef): Tensor => {
        let t = bases.get(s);
        if (t) return t;
        const entry = `${root}data/${s.key}`;
        if (!zip.entries.has(entry)) throw new Error(`checkpoint ${path}: storage ${s.key} is referenced but the archive has no ${entry}; the file is incomplete`);
        const size = ELEMENT_SIZE[s.dtype];
        const bytes = zip.readEntry(entry);
        if (bytes.length < s.numel * size) {
          throw new Error(`checkpoint ${path}: storage ${s.key} should hold ${s.numel} ${s.dtype} elements (${s.numel * size} bytes) but ${entry} has ${bytes.length} bytes`);
        }
        const exact = bytes.subarray(0, s.numel * size);
        if (bigEndian) swapBytes(exact, size);
        t = tensorFromBytes(exact, [s.numel], s.dtype);
        bases.set(s, t);
        return t;
      };
      const out: Tensor[] = [];
      for (const r of refs) {
        const s = r.storage;
        const numel = r.size.reduce((a, b) => a * b, 1);
        if (numel > 0) {
          const last = r.offset + r.size.reduce((acc, n, i) => acc + (n - 1) * (r.stride[i] as number), 0);
          if (last >= s.numel) {
            throw new Error(`checkpoint ${path}: a tensor of size [${r.size}] stride [${r.stride}] offset ${r.offset} reaches element ${last} of storage ${s.key}, which has only ${s.numel}`);
          }
        }
        const view = base(s).asStrided(r.size, r.stride, r.offset);
        const whole = users.get(s.key) === 1 && r.offset === 0 && numel === s.numel;
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
  } finally {
    zip.close();
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
