// Runs PyTorch (Debian's python3-torch) as the numerical oracle for parity tests (see oracle.py), and holds the one
// comparison every parity test uses (assertClose).
//
// Seeds: a parity run that draws fresh random inputs each time (the op harness, test/parity/ops) seeds them with
// seedRandomInputs(), which prints the seed once per run; `REPOSER_SEED=<seed>` replays that run's inputs.
import { spawnSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';

/** Debian's interpreter: the python3 on PATH may be a pyenv one that cannot see python3-torch. */
export const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'helpers', 'oracle.py');

/**
 * Seeds libtorch's generator for a run's random inputs and prints the seed once: REPOSER_SEED when set (to replay a
 * run), else a fresh one. Returns the seed, for failure messages.
 */
export function seedRandomInputs(run = basename(process.argv[1] ?? 'this test file')): number {
  const given = process.env.REPOSER_SEED;
  if (given !== undefined && !/^\d+$/.test(given)) {
    throw new Error(`REPOSER_SEED must be a non-negative integer (a seed printed by an earlier run); got '${given}'`);
  }
  const seed = given === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(given);
  torch.manualSeed(seed);
  console.log(`${run}: random inputs from seed ${seed}${given === undefined ? '' : ' (REPOSER_SEED)'}; replay with REPOSER_SEED=${seed}`);
  return seed;
}

export interface WireTensor { dtype: string; shape: number[]; data: string }
export type OracleValue = WireTensor | number | boolean | OracleValue[];

export interface OracleCase {
  /** Python that reads `inputs` (dict of torch tensors) and assigns `out` (dict). */
  code: string;
  inputs?: Record<string, torch.Tensor>;
  /** Inputs that get requires_grad_(True) before the code runs. */
  grad?: string[];
}

export function toWire(t: torch.Tensor): WireTensor {
  const data = t.data();
  return { dtype: t.dtype, shape: [...t.shape], data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

const ctor: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

/** A wire tensor as a torch tensor (the caller owns it). */
export function fromWire(w: WireTensor): torch.Tensor {
  const bytes = Buffer.from(w.data, 'base64');
  const C = ctor[w.dtype];
  if (!C) throw new Error(`oracle returned unsupported dtype ${w.dtype}`);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const t = torch.tensor(new C(buf), w.shape);
  if (w.dtype === 'bool') {
    const b = t.ne(0);
    t.dispose();
    return b;
  }
  return t;
}

/** Runs all cases in one Python process; returns each case's `out` dict. A failing case throws with its error. */
export function runOracle(cases: OracleCase[]): Record<string, OracleValue>[] {
  const request = JSON.stringify({
    cases: cases.map((c) => ({
      code: c.code,
      grad: c.grad ?? [],
      inputs: Object.fromEntries(Object.entries(c.inputs ?? {}).map(([k, v]) => [k, toWire(v)])),
    })),
  });
  const r = spawnSync(PYTHON, [script], { input: request, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oracle failed (${PYTHON} ${script}): ${r.stderr || r.error}`);
  const { results } = JSON.parse(r.stdout) as { results: (Record<string, OracleValue> & { error?: string })[] };
  return results.map((res, i) => {
    if (typeof res.error === 'string') throw new Error(`oracle case ${i} failed: ${res.error}\n${cases[i]?.code}`);
    return res;
  });
}

/** Tolerance of a float comparison: |actual - expected| <= atol + rtol * |expected|. */
export interface Tol { atol: number; rtol: number }

/**
 * Whether two numbers agree as the parity tests define it: NaN matches NaN only, an infinity matches only the same
 * infinity, and finite values are within atol + rtol * |expected|.
 */
export function numbersClose(actual: number, expected: number, tol: Tol): boolean {
  if (!Number.isFinite(expected)) return Object.is(actual, expected);
  return Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

/**
 * Asserts that `actual` matches PyTorch's `expected` elementwise (any shape, both the same; any dtype, compared as
 * float64): NaN only where PyTorch has NaN, each infinity where PyTorch has it with the same sign, and every finite
 * value within atol + rtol * |expected| (defaults 1e-5 and 1e-4, the float32 tolerance). Any other difference fails,
 * whatever NaNs are elsewhere. The error counts the differing elements and shows the first and the largest.
 */
export function assertClose(actual: torch.Tensor, expected: torch.Tensor, what: string, tol: Partial<Tol> = {}): void {
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-4;
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape}] differs from PyTorch's [${expected.shape}]`);
  }
  const problem = torch.scope(() => {
    const a = actual.detach().to('float64').flatten();
    const e = expected.detach().to('float64').flatten();
    const aNan = a.isnan();
    const eNan = e.isnan();
    const eFinite = e.isfinite();
    const eInf = eFinite.logicalOr(eNan).logicalNot();
    // Each test is masked so that no NaN reaches a reduction: max() of anything holding NaN is NaN, which compares
    // false with every bound and would hide the real mismatches beside it.
    const nanWrong = aNan.ne(eNan);
    const infWrong = eInf.logicalAnd(a.ne(e));
    const unchecked = eFinite.logicalNot().logicalOr(aNan);
    const absDiff = a.sub(e).abs().maskedFill(unchecked, 0);
    const excess = absDiff.sub(e.abs().mul(rtol).add(atol)).maskedFill(unchecked, 0);
    const wrong = nanWrong.logicalOr(infWrong).logicalOr(excess.gt(0));
    const count = wrong.sum().item();
    if (count === 0) return null;
    const at = (i: number): string => `[${unravel(i, actual.shape)}] ${a.select(0, i).item()} vs PyTorch ${e.select(0, i).item()}`;
    const first = wrong.to('int32').argmax().item();
    const largest = excess.argmax().item();
    const finiteNote = excess.select(0, largest).item() > 0 ? `; largest excess at ${at(largest)}` : '';
    return `${count} of ${a.size} values differ from PyTorch beyond atol ${atol}, rtol ${rtol} (NaN and infinities must ` +
      `match in place and sign); first at ${at(first)}${finiteNote}; max |diff| of finite values ${absDiff.max().item()}`;
  });
  if (problem) throw new Error(`${what}: ${problem}`);
}

/** The multi-index of flat (row-major) position i in a tensor of the given shape. */
function unravel(i: number, shape: readonly number[]): number[] {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] as number;
    index.unshift(i % n);
    i = Math.floor(i / n);
  }
  return index;
}
