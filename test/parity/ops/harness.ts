// Table-driven op parity against python3-torch. One spec per op (or per option of an op): how to make fresh random
// inputs, the TypeScript call, and the same call as a Python expression. runParity() runs the TS side of every case,
// sends ALL cases of a file to the oracle in one Python process, then registers one node:test test per case.
//
// What is compared:
// - every output (tensor, tensor list, number, boolean, int list), with its dtype and shape;
// - integer and bool tensors exactly, float tensors with the per-dtype tolerance below (a case may loosen it and
//   must say why in `tolWhy`) by the oracle helper's assertClose: NaN and infinities must match in place and sign;
// - gradients with respect to `grad` inputs of every differentiable output, under random cotangents, per float dtype;
// - random ops (`seed`): torch.manualSeed(s) here and torch.manual_seed(s) there, compared bitwise;
// - bfloat16 and float16 (dtypes: HALF, or half outputs of any case): the oracle's wire has no half dtypes, so half
//   inputs travel as float32 (exact) and are cast back in Python, and half outputs come back as float32 with their
//   dtype alongside; half cases take no gradients.
// Inputs are fresh each run; the run prints its seed, and REPOSER_SEED=<seed> replays it (seedRandomInputs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { assertClose, fromWire, numbersClose, runOracle, seedRandomInputs, type OracleCase, type OracleValue, type Tol, type WireTensor } from '../../helpers/oracle.js';

export type Inputs = Record<string, torch.Tensor>;
export type Out = torch.Tensor | torch.Tensor[] | number | boolean | readonly (number | boolean)[];
export type { Tol };

/** The stated tolerances. float32: CONTRIBUTING's 1e-5/1e-4; float64: 1e-10. Integer and bool: exact. */
export const TOL: Record<'float32' | 'float64', Tol> = {
  float32: { atol: 1e-5, rtol: 1e-4 },
  float64: { atol: 1e-10, rtol: 1e-10 },
};

export interface ParityCase<K extends string = string> {
  /** The op-table name (or 'interpolate'); the coverage test counts these. */
  op: string;
  /** Tells apart several cases of one op (options, reductions ...). */
  label?: string;
  /** Each dtype runs as its own case; `inputs` and `ts` receive it, Python sees it as `dt`. Default float32+float64. */
  dtypes?: torch.DType[];
  /** Fresh random inputs of the given dtype. Names become Python variables. */
  inputs: (dt: torch.DType) => Record<K, torch.Tensor>;
  /** The call under test. Inputs listed in `grad` require grad; do not mutate them in place (clone first). */
  ts: (x: Record<K, torch.Tensor>, dt: torch.DType) => Out;
  /** The same call in Python: an expression over the input names, `dt`, torch, F. */
  py: string;
  /** Python statements run before `py` (e.g. cloning a buffer that the op updates in place). */
  pre?: string;
  /** Inputs to differentiate against (float dtypes only): every float output that requires grad gets a random
   *  cotangent, and the vector-Jacobian products are compared. */
  grad?: NoInfer<K>[];
  /** A random op: both sides seed their generator with this before the call; the outputs must be bitwise equal. */
  seed?: number;
  /** Looser tolerance for some dtypes; give the reason in tolWhy. */
  tol?: Partial<Record<'float32' | 'float64', Tol>>;
  tolWhy?: string;
  /** Tolerance for gradients when it differs from `tol`. */
  gradTol?: Partial<Record<'float32' | 'float64', Tol>>;
}

/** Declares a case; infers the input names so `ts` can use them without index checks. */
export function pc<K extends string>(c: ParityCase<K>): ParityCase {
  return c as unknown as ParityCase;
}

export const FLOAT: torch.DType[] = ['float32', 'float64'];
/**
 * Half dtypes: both sides run the same libtorch kernels, but a sum split differently over threads may round the other
 * way, so 2 ulps (bfloat16 2^-7, float16 2^-10 relative) and as much absolute near zero.
 */
export const HALF_TOL: Record<'bfloat16' | 'float16', Tol> = {
  bfloat16: { atol: 2 ** -7, rtol: 2 ** -7 },
  float16: { atol: 2 ** -10, rtol: 2 ** -10 },
};
export const HALF: torch.DType[] = ['bfloat16', 'float16'];
const isHalf = (dt: torch.DType): dt is 'bfloat16' | 'float16' => dt === 'bfloat16' || dt === 'float16';

/** Seeded random ops must match bitwise. */
const EXACT_TOL: Tol = { atol: 0, rtol: 0 };

// ---- input helpers -----------------------------------------------------------------------------------------------

/** Standard normal values. */
export const rn = (shape: number[], dt: torch.DType = 'float32'): torch.Tensor => torch.randn(shape, dt);
/** Uniform values in [lo, hi). */
export const un = (shape: number[], lo: number, hi: number, dt: torch.DType = 'float32'): torch.Tensor =>
  torch.rand(shape, dt).mul(hi - lo).add(lo);
/** Integers in [lo, hi). */
export const ri = (shape: number[], lo: number, hi: number, dt: torch.DType = 'int64'): torch.Tensor => torch.randint(lo, hi, shape, dt);
/** Random booleans. */
export const rb = (shape: number[]): torch.Tensor => torch.rand(shape).lt(0.5);

// ---- running -----------------------------------------------------------------------------------------------------

interface Prepared {
  name: string;
  tol: Tol;
  gradTol: Tol;
  out?: Out;
  grads?: torch.Tensor[];
  error?: Error;
  oracleIndex: number;
  code?: string;
}

const pyName = (dt: torch.DType): string => `torch.${dt === 'bool' ? 'bool' : dt}`;

// Python helper for half outputs: each tensor output, in traversal order, gets a code in out["half"] (0: as it is,
// 1: bfloat16, 2: float16) and half ones are sent as float32.
const PY_HALF_OUT = [
  '    __half = []',
  '    def __wire(v):',
  '        if isinstance(v, (list, tuple)) and not isinstance(v, torch.Size):',
  '            return [__wire(e) for e in v]',
  '        if isinstance(v, torch.Tensor):',
  '            __half.append({torch.bfloat16: 1, torch.float16: 2}.get(v.dtype, 0))',
  '            return v.float() if __half[-1] else v',
  '        return v',
];
const HALF_CODES: (torch.DType | undefined)[] = [undefined, 'bfloat16', 'float16'];

function pythonCode(c: ParityCase, dt: torch.DType, names: string[], halfInputs: Set<string>, grad: string[], gradOuts: number[]): string {
  const lines = [
    'try:',
    `    dt = ${pyName(dt)}`,
    ...names.map((n) => `    ${n} = inputs[${JSON.stringify(n)}]${halfInputs.has(n) ? `.to(${pyName(dt)})` : ''}`),
  ];
  if (c.seed !== undefined) lines.push(`    torch.manual_seed(${c.seed})`);
  if (c.pre) lines.push(...c.pre.split('\n').map((l) => '    ' + l));
  lines.push(`    __r = (${c.py})`);
  lines.push('    __outs = list(__r) if isinstance(__r, (list, tuple)) and not isinstance(__r, torch.Size) else __r');
  lines.push(...PY_HALF_OUT);
  lines.push('    out = {"y": __wire(list(__r) if isinstance(__r, torch.Size) else __outs), "half": __half}');
  if (grad.length) {
    const ys = gradOuts.map((i) => (i < 0 ? '__outs' : `__outs[${i}]`)).join(', ');
    const gs = gradOuts.map((_, j) => `inputs["__g${j}"]`).join(', ');
    lines.push(`    __gs = torch.autograd.grad([${ys}], [${grad.join(', ')}], [${gs}], allow_unused=True)`);
    lines.push(`    out["g"] = [torch.zeros_like(v) if g is None else g for g, v in zip(__gs, [${grad.join(', ')}])]`);
  }
  lines.push('except Exception as __e:');
  // oracle.py encodes tensors and numbers only, so the message travels as UTF-8 bytes.
  lines.push('    out = {"__error": torch.tensor(list((type(__e).__name__ + ": " + str(__e)).encode()), dtype=torch.uint8)}');
  return lines.join('\n');
}

/** The outputs gradients flow from: a lone tensor (index -1) or the float list entries that require grad. */
function differentiableOutputs(out: Out): [number, torch.Tensor][] {
  if (out instanceof torch.Tensor) return [[-1, out]];
  const found: [number, torch.Tensor][] = [];
  if (Array.isArray(out)) {
    out.forEach((t: unknown, i: number) => {
      if (t instanceof torch.Tensor && torch.isFloating(t.dtype) && t.requiresGrad) found.push([i, t]);
    });
  }
  if (!found.length) throw new Error('a gradient check needs an output that requires grad');
  return found;
}

/** Runs every case (and every dtype of it) and registers one test per case. Call once per test file. */
export function runParity(cases: ParityCase[]): void {
  const runSeed = seedRandomInputs();
  const prepared: Prepared[] = [];
  const oracleCases: OracleCase[] = [];
  const before = torch.memory().numTensors;

  for (const c of cases) {
    for (const dt of c.dtypes ?? FLOAT) {
      const name = `${c.op}${c.label ? ` [${c.label}]` : ''} ${dt}`;
      const floatKey = dt === 'float64' ? 'float64' : 'float32';
      const tol = c.seed !== undefined ? EXACT_TOL : isHalf(dt) ? HALF_TOL[dt] : (c.tol?.[floatKey] ?? TOL[floatKey]);
      const gradTol = c.gradTol?.[floatKey] ?? tol;
      const p: Prepared = { name, tol, gradTol, oracleIndex: -1 };
      prepared.push(p);
      try {
        const grad = dt === 'float32' || dt === 'float64' ? (c.grad ?? []) : [];
        const kept = torch.scope(() => {
          const x = c.inputs(dt);
          // The oracle gets copies made before the TS call, which may update buffers in place.
          const forOracle: Inputs = {};
          const halfInputs = new Set<string>();
          for (const [k, v] of Object.entries(x)) {
            if (isHalf(v.dtype)) halfInputs.add(k);
            forOracle[k] = isHalf(v.dtype) ? v.detach().to('float32') : v.detach().clone();
          }
          for (const g of grad) {
            const t = x[g];
            if (!t) throw new Error(`grad names '${g}', which is not an input`);
            t.requiresGrad_();
          }
          if (c.seed !== undefined) torch.manualSeed(c.seed);
          const out = c.ts(x, dt);
          let grads: torch.Tensor[] | undefined;
          let gradOuts: number[] = [];
          if (grad.length) {
            const ys = differentiableOutputs(out);
            gradOuts = ys.map(([i]) => i);
            const cotangents = ys.map(([, y], j) => (forOracle[`__g${j}`] = torch.randn([...y.shape], y.dtype)));
            grads = torch.grad(ys.map(([, y]) => y), grad.map((n) => x[n] as torch.Tensor), { gradOutputs: cotangents, allowUnused: true })
              .map((t, i) => t ?? torch.zerosLike(x[grad[i] as string] as torch.Tensor));
          }
          return { out, grads, forOracle, gradOuts, halfInputs };
        });
        p.out = kept.out;
        p.grads = kept.grads;
        p.oracleIndex = oracleCases.length;
        p.code = pythonCode(c, dt, Object.keys(kept.forOracle).filter((k) => !k.startsWith('__g')), kept.halfInputs, grad, kept.gradOuts);
        oracleCases.push({ code: p.code, inputs: kept.forOracle, grad });
      } catch (e) {
        p.error = e as Error;
      }
    }
  }

  let results: Record<string, OracleValue>[] = [];
  let oracleError: Error | undefined;
  try {
    results = runOracle(oracleCases);
  } catch (e) {
    oracleError = e as Error;
  }
  for (const oc of oracleCases) torch.dispose(oc.inputs);

  for (const p of prepared) {
    test(p.name, () => {
      if (p.error) throw p.error;
      if (oracleError) throw oracleError;
      const r = results[p.oracleIndex] as Record<string, OracleValue>;
      if (r.__error !== undefined) {
        throw new Error(`PyTorch raised ${Buffer.from((r.__error as WireTensor).data, 'base64').toString('utf8')}\n${p.code}`);
      }
      const where = `${p.name} (seed ${runSeed})`;
      const halfCodes = ((r.half ?? []) as number[]).map((k) => HALF_CODES[k]);
      compare(p.out as Out, r.y as OracleValue, `${where} output`, p.tol, halfCodes);
      assert.equal(halfCodes.length, 0, `${where}: PyTorch gave more tensor outputs than TS`);
      if (p.grads) {
        const gs = r.g as OracleValue[];
        p.grads.forEach((g, i) => compare(g, gs[i] as OracleValue, `${where} grad #${i}`, p.gradTol));
      }
    });
  }

  after(() => {
    for (const p of prepared) torch.dispose([p.out, p.grads]);
    assert.equal(torch.memory().numTensors, before, 'the parity run leaked tensors');
  });
}

const isWire = (v: OracleValue): v is WireTensor => typeof v === 'object' && v !== null && !Array.isArray(v) && 'dtype' in v;

/**
 * halfCodes: PyTorch's dtype of each tensor output in traversal order (undefined: as on the
 * wire); consumed as the tensors are compared.
 */
function compare(actual: Out, expected: OracleValue, what: string, tol: Tol, halfCodes: (torch.DType | undefined)[] = []): void {
  if (actual instanceof torch.Tensor) {
    if (!isWire(expected)) throw new Error(`${what}: TS gave a tensor, PyTorch gave ${JSON.stringify(expected).slice(0, 80)}`);
    const halfDtype = halfCodes.shift();
    torch.scope(() => {
      const e = fromWire(expected);
      if (halfDtype === undefined) return compareTensor(actual, e, what, tol);
      assert.equal(actual.dtype, halfDtype, `${what}: dtype ${actual.dtype} vs PyTorch ${halfDtype}`);
      return compareTensor(actual.to('float32'), e, what, tol);
    });
    return;
  }
  if (Array.isArray(actual)) {
    if (!Array.isArray(expected)) throw new Error(`${what}: TS gave a list, PyTorch gave ${JSON.stringify(expected).slice(0, 80)}`);
    assert.equal(actual.length, expected.length, `${what}: list length`);
    actual.forEach((a: torch.Tensor | number | boolean, i: number) => compare(a, expected[i] as OracleValue, `${what}[${i}]`, tol, halfCodes));
    return;
  }
  if (typeof actual === 'boolean') {
    assert.equal(actual, expected, `${what}: boolean`);
    return;
  }
  if (typeof actual === 'number') {
    assert.equal(typeof expected, 'number', `${what}: PyTorch gave ${JSON.stringify(expected).slice(0, 80)}`);
    const e = expected as number;
    assert.ok(numbersClose(actual, e, tol), `${what}: ${actual} vs PyTorch ${e}`);
    return;
  }
  throw new Error(`${what}: cannot compare ${String(actual)}`);
}

function compareTensor(actual: torch.Tensor, expected: torch.Tensor, what: string, tol: Tol): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype ${actual.dtype} vs PyTorch ${expected.dtype}`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${what}: shape`);
  if (!torch.isFloating(actual.dtype)) {
    assert.ok(actual.equal(expected), `${what}: ${actual.dtype} values differ from PyTorch`);
    return;
  }
  assertClose(actual, expected, what, tol);
}
