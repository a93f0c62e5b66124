// Runs PyTorch (Debian's python3-torch) as the numerical oracle for parity tests. See oracle.py.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';

/** Debian's interpreter: the python3 on PATH may be a pyenv one that cannot see python3-torch. */
export const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'helpers', 'oracle.py');

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

/** Largest absolute difference after broadcasting-free comparison; throws on shape or dtype mismatch. */
export function maxAbsDiff(actual: torch.Tensor, expected: torch.Tensor): number {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`shape mismatch: got [${actual.shape}] expected [${expected.shape}]`);
  }
  if (actual.size === 0) return 0;
  return torch.scope(() => actual.to('float64').sub(expected.to('float64')).abs().max().item());
}

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise, with a message naming what differs. */
export function assertClose(actual: torch.Tensor, expected: torch.Tensor, what: string, tol: { atol?: number; rtol?: number } = {}): void {
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-4;
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape}] differs from PyTorch's [${expected.shape}]`);
  }
  const worst = torch.scope(() => {
    const a = actual.to('float64');
    const e = expected.to('float64');
    const excess = a.sub(e).abs().sub(e.abs().mul(rtol)).sub(atol);
    const nanMismatch = a.isnan().ne(e.isnan()).any().item();
    return nanMismatch ? Infinity : (excess.size ? excess.max().item() : -1);
  });
  if (worst > 0) {
    throw new Error(`${what}: differs from PyTorch by up to ${worst + atol} beyond tolerance (atol ${atol}, rtol ${rtol}); max |diff| = ${maxAbsDiff(actual, expected)}`);
  }
}
