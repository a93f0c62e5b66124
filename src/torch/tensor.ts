// Tensor: one JS object owning one native handle. Ops come from gen/ops.ts, which also installs them as methods.
import { native as N } from './native.js';
import { dtypeCode, dtypeName, dtypeOfTypedArray, typedArrayFor, type DType, type Device, type TypedArray } from './dtype.js';

// Tensors created while a scope runs; the innermost scope is last.
const scopes: Tensor[][] = [];

// The backstop for tensors nobody disposed. Registration costs about as much as a tiny op, so it is deferred:
// tensors inside a scope are released deterministically and never registered, and a tensor created outside
// every scope is registered in a batch at the next microtask, unless it was disposed by then.
const backstop = new FinalizationRegistry<number>((handle) => N.disposeIfLive(handle));
let unregistered: Tensor[] = [];
let flushQueued = false;

function flushRegistrations(): void {
  const batch = unregistered;
  unregistered = [];
  flushQueued = false;
  for (const t of batch) t.register();
}

function registerLater(t: Tensor): void {
  unregistered.push(t);
  if (unregistered.length >= 4096) flushRegistrations();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushRegistrations);
  }
}

export class Tensor {
  /** The native handle; -1 once disposed. */
  handle: number;
  /** Kept tensors survive every scope; only dispose() releases them. */
  kept = false;
  private registered = false;
  private cachedShape: number[] | undefined;
  private cachedDtype: DType | undefined;

  constructor(handle: number) {
    this.handle = handle;
    const scope = scopes[scopes.length - 1];
    if (scope) scope.push(this);
    else registerLater(this);
  }

  /** @internal */
  register(): void {
    if (this.registered || this.handle < 0) return;
    this.registered = true;
    backstop.register(this, this.handle, this);
  }

  private live(what: string): number {
    if (this.handle < 0) throw new Error(`${what}: the tensor was disposed`);
    return this.handle;
  }

  /** @internal Drops the cached shape and dtype; ops that change them in place (setData_) call it. */
  invalidateInfo(): void {
    this.cachedShape = undefined;
    this.cachedDtype = undefined;
  }

  private loadInfo(): void {
    const [shape, dtype] = N.info(this.live('shape'));
    this.cachedShape = shape;
    this.cachedDtype = dtypeName(dtype);
  }

  /** Sizes of each dimension. Do not mutate the returned array. */
  get shape(): readonly number[] {
    if (this.cachedShape === undefined || this.handle < 0) this.loadInfo();
    return this.cachedShape as number[];
  }

  get dtype(): DType {
    if (this.cachedDtype === undefined || this.handle < 0) this.loadInfo();
    return this.cachedDtype as DType;
  }

  get device(): Device {
    return N.info(this.live('device'))[2];
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    let n = 1;
    for (const s of this.shape) n *= s;
    return n;
  }

  get isDisposed(): boolean {
    return this.handle < 0;
  }

  /** Releases the native tensor now. Disposing twice is harmless. */
  dispose(): void {
    if (this.handle < 0) return;
    if (this.registered) backstop.unregister(this);
    // Created and disposed in the same tick (the common `op().dispose()` pattern): drop it from the pending
    // registrations now, so the batch does not keep dead wrappers alive into the old generation.
    else if (unregistered[unregistered.length - 1] === this) unregistered.pop();
    N.dispose(this.handle);
    this.handle = -1;
  }

  /** Exempts this tensor from every enclosing scope's cleanup. */
  keep(): this {
    this.kept = true;
    return this;
  }

  /** The value of a one-element tensor. */
  item(): number {
    const v = N.item(this.live('item'));
    return typeof v === 'boolean' ? Number(v) : v;
  }

  /**
   * A copy of the elements, row-major, in the typed array matching the dtype (bool as Uint8Array; float16 and
   * bfloat16, which have no typed array in Node 20, as an exact Float32Array).
   */
  data(): TypedArray {
    const dtype = this.dtype;
    if (dtype === 'float16' || dtype === 'bfloat16') {
      return scope(() => this.to('float32').data());
    }
    const out = typedArrayFor(dtype, this.size);
    N.copyToBuffer(this.live('data'), out);
    return out;
  }

  /** The elements as (nested) JS numbers. */
  toArray(): NestedNumbers {
    const flat = this.data();
    const values: number[] = flat instanceof BigInt64Array ? Array.from(flat, Number) : Array.from(flat as ArrayLike<number>);
    return nest(values, this.shape, 0, 0)[0];
  }

  get requiresGrad(): boolean {
    return N.requiresGrad(this.live('requiresGrad'));
  }

  set requiresGrad(value: boolean) {
    N.setRequiresGrad(this.live('requiresGrad'), value);
  }

  /** Sets requiresGrad and returns this tensor, for chaining. */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** The accumulated gradient, as a new tensor the caller owns; null when none has been computed. */
  get grad(): Tensor | null {
    const h = N.getGrad(this.live('grad'));
    return h < 0 ? null : new Tensor(h);
  }

  /** Replaces the gradient; null clears it (as PyTorch's zero_grad(set_to_none=True)). */
  set grad(value: Tensor | null) {
    N.setGrad(this.live('grad'), value === null ? null : value.handle);
  }

  /** Accumulates gradients of this tensor into the leaves. A non-scalar tensor needs `gradient`. */
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    const create = options.createGraph ?? false;
    N.backward(this.live('backward'), gradient ? gradient.handle : null, options.retainGraph ?? create, create);
  }

  toString(): string {
    return this.handle < 0 ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape.join(',')}], dtype=${this.dtype})`;
  }
}

export type NestedNumbers = number | NestedNumbers[];

function nest(values: number[], shape: readonly number[], dim: number, offset: number): [NestedNumbers, number] {
  if (dim === shape.length) return [values[offset] as number, offset + 1];
  const out: NestedNumbers[] = [];
  let at = offset;
  for (let i = 0; i < (shape[dim] as number); i++) {
    const [v, next] = nest(values, shape, dim + 1, at);
    out.push(v);
    at = next;
  }
  return [out, at];
}

/** @internal Wraps a fresh native handle. */
export function wrap(handle: number): Tensor {
  return new Tensor(handle);
}

/** @internal Wraps a list of fresh handles. */
export function wrapAll(hs: number[]): Tensor[] {
  return hs.map((h) => new Tensor(h));
}

/** @internal */
export function handles(ts: readonly Tensor[]): number[] {
  return ts.map((t) => t.handle);
}

function collect(value: unknown, into: Set<Tensor>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    into.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, into, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, seen);
  }
}

/**
 * Runs fn and disposes every tensor created inside it, except tensors reachable from its result
 * (through arrays, Maps and plain objects) and tensors marked keep(). Survivors join the enclosing scope.
 * fn must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  const created: Tensor[] = [];
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of created) if (!t.kept) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of created) if (!t.kept) t.dispose();
    throw new Error('scope: fn returned a Promise; scopes track synchronous work only (await outside, scope inside)');
  }
  const survivors = new Set<Tensor>();
  collect(result, survivors, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of created) {
    if (t.handle < 0) continue;
    if (t.kept || survivors.has(t)) {
      if (parent && !t.kept) parent.push(t);
      else t.register();
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Disposes every tensor reachable from value (arrays, Maps, plain objects). */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}

/** Runs fn with gradient recording off (torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const previous = N.setGradEnabled(false);
  try {
    return fn();
  } finally {
    N.setGradEnabled(previous);
  }
}

/** Runs fn with gradient recording on, e.g. inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  const previous = N.setGradEnabled(true);
  try {
    return fn();
  } finally {
    N.setGradEnabled(previous);
  }
}

export function isGradEnabled(): boolean {
  const previous = N.setGradEnabled(true);
  N.setGradEnabled(previous);
  return previous;
}

/** Live native tensors and the bytes of their elements, for leak tests. */
export function memory(): { numTensors: number; numBytes: number } {
  const m = N.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

/**
 * Makes a tensor from a typed array (shape defaults to 1-d) or from nested arrays of numbers or booleans.
 * Plain numbers give float32 unless `dtype` says otherwise; typed arrays keep their own dtype unless `dtype` casts
 * them (a Float32Array with dtype 'bfloat16' or 'float16' rounds to nearest even), except a Uint16Array, which holds
 * the raw bits of 'bfloat16' or 'float16' elements and needs that dtype. Read those dtypes back with data(), which
 * gives a Float32Array, or as raw bits with io.tensorBytes.
 */
export function tensor(data: Nested | ArrayBufferView, shapeOrOptions?: number[] | TensorOptions, maybeOptions: TensorOptions = {}): Tensor {
  const shapeGiven = Array.isArray(shapeOrOptions) ? shapeOrOptions : undefined;
  const options = (Array.isArray(shapeOrOptions) ? maybeOptions : shapeOrOptions) ?? {};
  let flat: ArrayBufferView;
  let shape: number[];
  let dtype: DType;
  if (data instanceof Uint16Array) {
    if (options.dtype !== 'bfloat16' && options.dtype !== 'float16') {
      throw new TypeError(`tensor: a Uint16Array is read as raw float16 or bfloat16 bits; pass { dtype: 'bfloat16' } or { dtype: 'float16' } (got dtype ${String(options.dtype)})`);
    }
    flat = data;
    dtype = options.dtype;
    shape = shapeGiven ?? [data.length];
  } else if (ArrayBuffer.isView(data)) {
    flat = data;
    dtype = dtypeOfTypedArray(data);
    shape = shapeGiven ?? [(data as unknown as ArrayLike<unknown>).length];
  } else {
    shape = [];
    let probe: Nested = data;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      probe = probe[0] as Nested;
    }
    const values: (number | boolean)[] = [];
    flattenInto(data, shape, 0, values);
    const isBool = typeof probe === 'boolean';
    dtype = isBool ? 'bool' : 'float32';
    const arr = isBool ? Uint8Array.from(values, (v) => (v ? 1 : 0)) : Float32Array.from(values as number[]);
    flat = arr;
    if (shapeGiven) shape = shapeGiven;
  }
  let t = new Tensor(N.fromBuffer(flat, shape, dtypeCode(dtype)));
  if ((options.dtype && options.dtype !== dtype) || (options.device && options.device !== 'cpu')) {
    const source = t;
    t = scope(() => {
      let out = options.dtype && options.dtype !== dtype
        ? (ArrayBuffer.isView(data) ? source.to(options.dtype) : fromNumbers(data, shape, options.dtype))
        : source.clone();
      if (options.device && options.device !== 'cpu') out = out.toDevice(options.device);
      return out;
    });
    source.dispose();
  }
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

// Integers beyond float32's exact range must not pass through float32 on their way to int64 or float64.
function fromNumbers(data: Nested, shape: number[], dtype: DType): Tensor {
  const values: (number | boolean)[] = [];
  flattenInto(data, shape, 0, values);
  const f64 = Float64Array.from(values, Number);
  const t = new Tensor(N.fromBuffer(f64, shape, dtypeCode('float64')));
  return dtype === 'float64' ? t : t.to(dtype);
}

function flattenInto(data: Nested, shape: number[], dim: number, out: (number | boolean)[]): void {
  if (dim === shape.length) {
    if (Array.isArray(data)) throw new TypeError(`tensor: ragged nested array: too deep at dimension ${dim}`);
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new TypeError(`tensor: element ${String(data)} is not a number or boolean`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new TypeError(`tensor: ragged nested array: dimension ${dim} should have length ${shape[dim]}`);
  }
  for (const d of data) flattenInto(d, shape, dim + 1, out);
}
