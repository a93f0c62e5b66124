// nn.Module: a tree of named parameters, buffers and child modules. Names follow PyTorch (`conv1.weight`,
// `model.0.running_mean`) so official state dicts map by name.
import { Tensor, noGrad } from '../tensor.js';
import '../gen/ops.js';
import { isFloating, type DType, type Device } from '../dtype.js';

/** One registered member. A null buffer is a declared but absent buffer (PyTorch's `register_buffer(n, None)`). */
type Entry =
  | { kind: 'param'; value: Tensor }
  | { kind: 'buffer'; value: Tensor | null }
  | { kind: 'module'; value: Module };
type EntryValue<K extends Entry['kind']> = Extract<Entry, { kind: K }>['value'];

export interface LoadStateDictOptions {
  /** Throw when keys are missing from the map or the map has keys the module lacks. Default true. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// The one door through which code outside the class (spectralNorm) edits a module's registry; set in the static block.
let editRegistry: (m: Module, name: string, entry: Entry | null) => void;
let readRegistry: (m: Module, name: string) => Entry | undefined;

const join = (prefix: string, name: string): string => (prefix === '' ? name : `${prefix}.${name}`);

/**
 * Base class of layers and models. Subclasses register members in their constructor:
 * `this.weight = this.param('weight', t)`, `this.buffer('running_mean', t)`, `this.conv1 = this.module('conv1', m)`,
 * and implement `forward` with their own signature. Registered tensors are kept (exempt from scopes) and owned by
 * the module: `dispose()` releases them.
 */
export abstract class Module {
  /** True in training mode (dropout active, batch statistics, spectral-norm power iteration). Set by train()/eval(). */
  training = true;
  private readonly entries = new Map<string, Entry>();

  static {
    editRegistry = (m, name, entry) => m.register(name, entry);
    readRegistry = (m, name) => m.entries.get(name);
  }

  /** The computation; each subclass declares its own arguments and result. */
  abstract forward(...args: never[]): unknown;

  /** Registers a parameter: marks it requiresGrad and keeps it. Returns the same tensor, for `this.x = this.param(...)`. */
  protected param(name: string, tensor: Tensor): Tensor {
    if (!(tensor instanceof Tensor)) throw new TypeError(`${this.constructor.name}.param('${name}'): expected a Tensor`);
    if (!tensor.isLeaf()) {
      throw new Error(`${this.constructor.name}.param('${name}'): the tensor is computed from other tensors (not a leaf); pass tensor.detach() instead`);
    }
    this.register(name, { kind: 'param', value: tensor });
    tensor.keep();
    if (!tensor.requiresGrad) tensor.requiresGrad_(true);
    return tensor;
  }

  /** Registers a buffer (state saved in stateDict but not trained, e.g. running_mean); null declares an absent one. */
  protected buffer(name: string, tensor: Tensor): Tensor;
  protected buffer(name: string, tensor: Tensor | null): Tensor | null;
  protected buffer(name: string, tensor: Tensor | null): Tensor | null {
    if (tensor !== null && !(tensor instanceof Tensor)) throw new TypeError(`${this.constructor.name}.buffer('${name}'): expected a Tensor or null`);
    this.register(name, { kind: 'buffer', value: tensor });
    tensor?.keep();
    return tensor;
  }

  /** Registers a child module under `name`; its members appear as `name.<member>`. */
  protected module<M extends Module>(name: string, m: M): M {
    if (!(m instanceof Module)) throw new TypeError(`${this.constructor.name}.module('${name}'): expected a Module`);
    this.register(name, { kind: 'module', value: m });
    return m;
  }

  private register(name: string, entry: Entry | null): void {
    if (entry === null) {
      this.entries.delete(name);
      return;
    }
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new Error(`${this.constructor.name}: member name '${String(name)}' must be a non-empty string without '.'`);
    }
    const existing = this.entries.get(name);
    if (existing) throw new Error(`${this.constructor.name}: '${name}' is already registered as a ${existing.kind}; choose another name`);
    this.entries.set(name, entry);
  }

  private *own<K extends Entry['kind']>(kind: K): Generator<[string, EntryValue<K>]> {
    for (const [name, e] of this.entries) if (e.kind === kind) yield [name, e.value as EntryValue<K>];
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.own('module')];
  }

  /** This module (named '') and every descendant, pre-order, each once. */
  namedModules(): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (prefix: string, m: Module): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [name, child] of m.own('module')) visit(join(prefix, name), child);
    };
    visit('', this);
    return out;
  }

  /** Every parameter with its dotted name ('model.0.conv1.weight'); a tensor shared by two modules appears once. */
  namedParameters(): [string, Tensor][] {
    return this.collect('param');
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every present buffer with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    return this.collect('buffer');
  }

  private collect(kind: 'param' | 'buffer'): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of m.own(kind)) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([join(prefix, name), t]);
      }
    }
    return out;
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every descendant and then this module (PyTorch's Module.apply), e.g. for custom initialisation. */
  apply(fn: (m: Module) => void): this {
    for (const [, child] of this.own('module')) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Parameters and present buffers by dotted name, in PyTorch's order (each module's parameters, then its buffers,
   * then its children). The values are the live tensors, not copies: do not dispose them.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const visit = (prefix: string, m: Module): void => {
      for (const [name, p] of m.own('param')) out.set(join(prefix, name), p);
      for (const [name, b] of m.own('buffer')) if (b !== null) out.set(join(prefix, name), b);
      for (const [name, child] of m.own('module')) visit(join(prefix, name), child);
    };
    visit('', this);
    return out;
  }

  /**
   * Copies each value of `state` into the tensor of the same name, in place (dtype and device converted), so
   * optimisers holding the parameters stay valid. Shapes must match. With strict (the default), missing and
   * unexpected keys are errors; otherwise they are skipped and returned. A missing `num_batches_tracked` (checkpoints
   * from PyTorch < 0.4.1) is set to 0, as PyTorch does, and not reported.
   */
  loadStateDict(state: Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    // Checkpoints from PyTorch before 0.4.1 have no num_batches_tracked; PyTorch loads them with the count at 0.
    const untracked = [...own.keys()].filter((k) => !state.has(k) && (k === 'num_batches_tracked' || k.endsWith('.num_batches_tracked')));
    const missingKeys = [...own.keys()].filter((k) => !state.has(k) && !untracked.includes(k));
    const unexpectedKeys = [...state.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    for (const [k, target] of own) {
      const src = state.get(k);
      if (src === undefined) continue;
      if (!(src instanceof Tensor) || src.isDisposed) {
        problems.push(`'${k}' is not a live Tensor`);
      } else if (src.shape.join(',') !== target.shape.join(',')) {
        problems.push(`size mismatch for '${k}': the state has shape [${src.shape.join(',')}], the module [${target.shape.join(',')}]`);
      }
    }
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    if (problems.length) {
      const hint = strict && (missingKeys.length || unexpectedKeys.length) ? ' (pass { strict: false } to load only the matching keys)' : '';
      throw new Error(`${this.constructor.name}.loadStateDict: ${problems.join('; ')}${hint}`);
    }
    noGrad(() => {
      for (const [k, target] of own) {
        const src = state.get(k);
        if (src !== undefined) target.copy_(src);
      }
      for (const k of untracked) own.get(k)?.zero_();
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Sets requiresGrad on every parameter, e.g. to freeze a discriminator while the generator trains. Returns this. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Clears every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Releases every parameter and buffer of this module and its descendants. The module is unusable afterwards.
   * Children are released through their own dispose(), so a subclass that holds extra tensors can override it.
   */
  dispose(): void {
    for (const [, e] of this.entries) e.value?.dispose();
  }

  /**
   * Moves parameters, buffers and gradients to `device` in place: the tensor objects stay the same (as PyTorch's
   * `param.data = ...`), so optimisers and fields that hold them stay valid. Returns this.
   */
  toDevice(device: Device): this {
    return this.convert((t) => t.toDevice(device));
  }

  /**
   * Casts floating-point parameters, buffers and gradients to `dtype` in place (PyTorch's `.double()`, `.float()`);
   * integer buffers such as num_batches_tracked keep their dtype. Returns this.
   */
  toDtype(dtype: DType): this {
    if (!isFloating(dtype)) throw new Error(`${this.constructor.name}.toDtype: '${dtype}' is not a floating-point dtype`);
    return this.convert((t) => (isFloating(t.dtype) ? t.to(dtype) : null));
  }

  /** Replaces each tensor's data by fn(tensor) (null: leave it), keeping the tensor objects. */
  private convert(fn: (t: Tensor) => Tensor | null): this {
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        for (const [, e] of m.entries) {
          if (e.kind === 'module' || e.value === null) continue;
          const t = e.value;
          const grad = e.kind === 'param' ? t.grad : null;
          const converted = fn(t);
          if (converted === null) {
            grad?.dispose();
            continue;
          }
          t.setData_(converted);
          converted.dispose();
          if (grad) {
            const convertedGrad = fn(grad) as Tensor;
            t.grad = convertedGrad;
            convertedGrad.dispose();
            grad.dispose();
          }
        }
      }
    });
    return this;
  }
}

/** @internal Used by spectralNorm to swap a parameter for its re-parametrisation; not for general use. */
export function registryEdit(m: Module, name: string, entry: Entry | null): void {
  editRegistry(m, name, entry);
}

/** @internal The registered member `name` of m itself (not descendants), or undefined. */
export function registryRead(m: Module, name: string): Entry | undefined {
  return readRegistry(m, name);
}

/** A module whose forward maps one tensor to one tensor: what Sequential chains. */
export interface UnaryModule extends Module {
  forward(input: Tensor): Tensor;
}
