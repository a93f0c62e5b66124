// Every op in native/op-table.mjs (and torch.interpolate) must have a parity case, and every differentiable one a
// gradient case. Adding an op without a case fails here: see docs/adding-an-op.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opNames } from '../../../src/torch/gen/op-names.js';
import type { ParityCase } from './harness.js';
import { cases as creation } from './creation.cases.js';
import { cases as elementwise } from './elementwise.cases.js';
import { cases as reduction } from './reduction.cases.js';
import { cases as shape } from './shape.cases.js';
import { cases as nn } from './nn.cases.js';

const all: ParityCase[] = [...creation, ...elementwise, ...reduction, ...shape, ...nn];

/** Ops composed in TypeScript (src/torch/functional.ts) that the suite covers too. */
const composed = ['interpolate'];

/** Ops with no parity case at all, each with its reason. Keep this short; prefer a case. */
export const excluded: Record<string, string> = {};

/** Ops that have cases but no gradient case, each with its reason. */
export const noGradient: Record<string, string> = {
  zeros: 'creation: no tensor inputs', ones: 'creation: no tensor inputs', empty: 'creation: no tensor inputs',
  full: 'creation: no tensor inputs', arange: 'creation: no tensor inputs', linspace: 'creation: no tensor inputs',
  eye: 'creation: no tensor inputs', scalarTensor: 'creation: no tensor inputs',
  zerosLike: 'output does not depend on input values', onesLike: 'output does not depend on input values',
  fullLike: 'output does not depend on input values',
  randn: 'random draw: compared bitwise under a shared seed', rand: 'random draw: compared bitwise under a shared seed',
  randint: 'integer random draw', randperm: 'integer random draw',
  randnLike: 'random draw, independent of input values', randLike: 'random draw, independent of input values',
  normal_: 'overwrites its input with a random draw', uniform_: 'overwrites its input with a random draw',
  fill_: 'overwrites its input with a constant', detach: 'cuts the graph by definition',
  setData_: 'swaps storage outside autograd by definition', maximum_: 'an out= call; PyTorch records no autograd for it',
  isContiguous: 'returns a boolean', stride: 'returns integers', isLeaf: 'returns a boolean', numel: 'returns an integer',
  allclose: 'returns a boolean', equal: 'returns a boolean',
  eq: 'boolean output', ne: 'boolean output', lt: 'boolean output', le: 'boolean output', gt: 'boolean output',
  ge: 'boolean output', logicalAnd: 'boolean output', logicalOr: 'boolean output', logicalNot: 'boolean output',
  isnan: 'boolean output', isfinite: 'boolean output', any: 'boolean output', all: 'boolean output',
  argmax: 'integer output', argmin: 'integer output', nonzero: 'integer output', oneHot: 'integer output',
};

test('every op in the table has a parity case, or a reasoned exclusion', () => {
  const covered = new Set(all.map((c) => c.op));
  const missing = opNames.filter((n) => !covered.has(n) && !(n in excluded));
  assert.deepEqual(missing, [], `ops without a parity case (add one to test/parity/ops/*.cases.ts): ${missing.join(', ')}`);
  for (const name of composed) assert.ok(covered.has(name), `${name} has no parity case`);
});

test('every differentiable op has a gradient case', () => {
  const graded = new Set(all.filter((c) => c.grad?.length).map((c) => c.op));
  const missing = opNames.filter((n) => !graded.has(n) && !(n in noGradient) && !(n in excluded));
  assert.deepEqual(missing, [], `differentiable ops without a gradient case: ${missing.join(', ')}`);
});

test('the exclusion lists name real ops, give reasons and are not stale', () => {
  const known = new Set<string>([...opNames, ...composed]);
  const graded = new Set(all.filter((c) => c.grad?.length).map((c) => c.op));
  const covered = new Set(all.map((c) => c.op));
  for (const [name, why] of [...Object.entries(excluded), ...Object.entries(noGradient)]) {
    assert.ok(known.has(name), `exclusion names '${name}', which is not an op`);
    assert.ok(why.length > 5, `exclusion of '${name}' needs a reason`);
  }
  for (const name of Object.keys(excluded)) assert.ok(!covered.has(name), `'${name}' is excluded but has a case: drop the exclusion`);
  for (const name of Object.keys(noGradient)) assert.ok(!graded.has(name), `'${name}' is listed as gradient-free but has a gradient case`);
  for (const c of all) assert.ok(known.has(c.op), `a case names '${c.op}', which is not an op (typo?)`);
});

test('every loosened tolerance says why', () => {
  for (const c of all) {
    if (c.tol || c.gradTol) assert.ok((c.tolWhy ?? '').length > 5, `${c.op}${c.label ? ` [${c.label}]` : ''} loosens the tolerance without tolWhy`);
  }
});
