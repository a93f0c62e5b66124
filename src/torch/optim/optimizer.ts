// The optimiser base: parameter groups with per-group hyper-parameters, per-parameter state, and a state dict keyed
// by parameter index (counting through the groups in order) as PyTorch's, so training resumes exactly.
import { Tensor, noGrad, scope } from '../tensor.js';
import '../gen/ops.js';

/** Per-parameter state: step counts as numbers, moments as tensors (PyTorch's names: 'step', 'exp_avg', ...). */
export type ParamState = Record<string, Tensor | number>;

/** A group of parameters sharing hyper-parameters; `lr` may be changed between steps (schedules do). */
export type ParamGroup<H> = H & { params: Tensor[] };

/** Parameters given to an optimiser: a flat list, or groups with their own overrides of the defaults. */
export type Params<H> = Tensor[] | (Partial<H> & { params: Tensor[] })[];

export interface OptimizerStateDict<H = Record<string, unknown>> {
  /** Parameter index -> its state. The tensors are the optimiser's live ones (do not dispose them). */
  state: Map<number, ParamState>;
  /** Each group's hyper-parameters and the indices of its parameters. */
  paramGroups: (H & { params: number[] })[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, ParamState>();
  /**
   * Runs at the start of every step() on the gradients about to be applied (in place), e.g. averaging them across
   * data-parallel ranks. The tensors are views of the parameters' gradients, valid only during the call.
   */
  gradientHook: ((grads: Tensor[]) => void) | null = null;

  constructor(readonly kind: string, params: Params<H>, defaults: H) {
    if (!Array.isArray(params) || params.length === 0) throw new Error(`${kind}: got no parameters; pass module.parameters()`);
    const groups = params[0] instanceof Tensor
      ? [{ params: params as Tensor[] }]
      : (params as (Partial<H> & { params: Tensor[] })[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      if (!g || !Array.isArray(g.params)) throw new Error(`${kind}: parameter group ${gi} has no params array`);
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new Error(`${kind}: parameter group ${gi} holds something that is not a Tensor`);
        if (seen.has(p)) throw new Error(`${kind}: a parameter appears twice (group ${gi}); pass each once`);
        seen.add(p);
      }
      const group = { ...defaults, ...stripUndefined(g), params: [...g.params] } as ParamGroup<H>;
      this.validate(group, gi);
      return group;
    });
  }

  /** Throws, naming the group and value, when a hyper-parameter is out of range. */
  protected abstract validate(group: H, index: number): void;

  /** Updates one parameter from its gradient; runs inside noGrad and a scope. */
  protected abstract update(p: Tensor, grad: Tensor, group: H, state: ParamState): void;

  /** One optimisation step over every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      const hook = this.gradientHook;
      if (hook) {
        scope(() => {
          const grads = this.paramGroups.flatMap((g) => g.params.map((p) => p.grad)).filter((g): g is Tensor => g !== null);
          hook(grads);
        });
      }
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          scope(() => {
            const grad = p.grad;
            if (grad === null) return;
            let s = this.state.get(p);
            if (!s) {
              s = {};
              this.state.set(p, s);
            }
            this.update(p, grad, group, s);
          });
        }
      }
    });
  }

  /** Clears every parameter's gradient (set to none). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** Sets lr on every group. */
  set lr(value: number) {
    for (const g of this.paramGroups) g.lr = value;
  }

  /** The first group's lr. */
  get lr(): number {
    return (this.paramGroups[0] as ParamGroup<H>).lr;
  }

  /** State and hyper-parameters by parameter index; tensors are live references. */
  stateDict(): OptimizerStateDict<H> {
    const state = new Map<number, ParamState>();
    let index = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) state.set(index, { ...s });
        ids.push(index++);
      }
      const { params: _params, ...hyper } = g;
      return { ...structuredClone(hyper), params: ids } as unknown as H & { params: number[] };
    });
    return { state, paramGroups };
  }

  /**
   * Restores hyper-parameters and state saved by stateDict() from an optimiser over the same parameters (same
   * groups, same order, same shapes). Tensors are copied, so the caller still owns what it passed.
   */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    const where = `${this.kind}.loadStateDict`;
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${where}: the state has ${sd.paramGroups.length} parameter groups, the optimiser ${this.paramGroups.length}`);
    }
    const byIndex: Tensor[] = [];
    this.paramGroups.forEach((g, gi) => {
      const saved = sd.paramGroups[gi] as H & { params: number[] };
      if (saved.params.length !== g.params.length) {
        throw new Error(`${where}: group ${gi} has ${saved.params.length} parameters in the state, ${g.params.length} in the optimiser`);
      }
      saved.params.forEach((id, k) => { byIndex[id] = g.params[k] as Tensor; });
    });
    for (const [id, s] of sd.state) {
      const p = byIndex[id];
      if (!p) throw new Error(`${where}: the state names parameter index ${id}, which no group holds`);
      for (const [key, v] of Object.entries(s)) {
        if (v instanceof Tensor && v.shape.join(',') !== p.shape.join(',') && v.size !== 1) {
          throw new Error(`${where}: state '${key}' of parameter ${id} has shape [${v.shape.join(',')}], the parameter [${p.shape.join(',')}]`);
        }
      }
    }
    this.paramGroups.forEach((g, gi) => {
      const { params: _params, ...hyper } = sd.paramGroups[gi] as H & { params: number[] };
      Object.assign(g, structuredClone(hyper));
    });
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    noGrad(() => {
      for (const [id, s] of sd.state) {
        const p = byIndex[id] as Tensor;
        const copy: ParamState = {};
        // As PyTorch: state follows the parameter's dtype and device (a checkpoint may come from another device).
        for (const [key, v] of Object.entries(s)) {
          copy[key] = v instanceof Tensor ? scope(() => v.to(p.dtype).toDevice(p.device).clone()).keep() : v;
        }
        this.state.set(p, copy);
      }
    });
  }

  /** Releases the state tensors (not the parameters). */
  dispose(): void {
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
  }
}

function disposeState(s: ParamState): void {
  for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'params')) as Partial<T>;
}

/** An optimiser state dict split for storage: tensors by name, everything else as JSON. */
export interface FlatOptimizerState {
  /** 'state.<paramIndex>.<key>' -> tensor (live references into the state dict). */
  tensors: Map<string, Tensor>;
  /** Hyper-parameters per group and the numeric state entries ('<paramIndex>.<key>' -> number, e.g. step counts). */
  json: { paramGroups: Record<string, unknown>[]; numbers: Record<string, number> };
}

/** Splits a state dict into named tensors and JSON, e.g. for a safetensors file with a JSON sidecar. */
export function flattenOptimizerState<H>(sd: OptimizerStateDict<H>): FlatOptimizerState {
  const tensors = new Map<string, Tensor>();
  const numbers: Record<string, number> = {};
  for (const [i, s] of sd.state) {
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Tensor) tensors.set(`state.${i}.${k}`, v);
      else numbers[`${i}.${k}`] = v;
    }
  }
  return { tensors, json: { paramGroups: structuredClone(sd.paramGroups) as Record<string, unknown>[], numbers } };
}

/** The inverse of flattenOptimizerState; pass the result to loadStateDict (which copies the tensors). */
export function unflattenOptimizerState<H>(flat: FlatOptimizerState): OptimizerStateDict<H> {
  const state = new Map<number, ParamState>();
  const entry = (key: string, what: string): [ParamState, string] => {
    const m = /^(\d+)\.([A-Za-z_][\w]*)$/.exec(key);
    if (!m) throw new Error(`unflattenOptimizerState: ${what} key '${key}' is not '<paramIndex>.<name>'`);
    const i = Number(m[1]);
    let s = state.get(i);
    if (!s) {
      s = {};
      state.set(i, s);
    }
    return [s, m[2] as string];
  };
  for (const [key, t] of flat.tensors) {
    if (!key.startsWith('state.')) throw new Error(`unflattenOptimizerState: tensor key '${key}' does not start with 'state.'`);
    const [s, name] = entry(key.slice(6), 'tensor');
    s[name] = t;
  }
  for (const [key, n] of Object.entries(flat.json.numbers)) {
    const [s, name] = entry(key, 'number');
    s[name] = n;
  }
  return { state, paramGroups: structuredClone(flat.json.paramGroups) as (H & { params: number[] })[] };
}
