// torch.autocast('cpu', 'bfloat16') against python3-torch's `with torch.autocast('cpu', dtype=torch.bfloat16)` on the
// same float32 inputs: each op's output dtype (the lower-precision list, the float32 list, promotion, pass-through),
// values, and input/parameter gradients with backward outside the scope, as PyTorch recommends; a small conv net's
// forward and backward with a weight used twice (the per-leaf cast cache); and float32 -> bfloat16/float16 rounding.
// All cases go to the oracle in one Python process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { assertClose, fromWire, runOracle, seedRandomInputs, type OracleCase, type OracleValue, type WireTensor } from '../helpers/oracle.js';

const seed = seedRandomInputs();
type T = torch.Tensor;
type Inputs = Record<string, T>;

// The wire carries float32; dtypes come back as an index into this list.
const DTYPES: torch.DType[] = ['float32', 'bfloat16', 'float16', 'float64'];
const PY_DTYPES = '[torch.float32, torch.bfloat16, torch.float16, torch.float64]';

// bfloat16 keeps 8 significant bits: one rounding is within 2^-9 relative. The two sides run the same libtorch, but
// with different thread counts a sum may split differently and a rounding fall the other way, so outputs are allowed
// 2 ulps (2^-7 relative) plus that much of the output's largest magnitude (for sums that cancel). Gradients pass
// through more bfloat16 roundings (the cast weight, the bfloat16 grad of each layer): 4 ulps.
const OUT_TOL = 2 ** -7;
const GRAD_TOL = 2 ** -6;

interface Case {
  name: string;
  inputs: () => Inputs;
  /** Runs under autocast; returns the outputs compared with Python's. */
  ts: (x: Inputs) => T[];
  /** Python statements over the input names that assign `ys`, a list of outputs, inside the autocast block. */
  py: string;
  /** Inputs differentiated (after the scope) through sum(y.float() * cotangent) over all outputs. */
  grad?: string[];
}

const rn = (shape: number[], scale = 1): T => torch.scope(() => torch.randn(shape).mul(scale));

const cases: Case[] = [
  {
    name: 'conv2d with bias: bfloat16 out; input, weight and bias gradients float32',
    inputs: () => ({ x: rn([2, 3, 9, 7]), w: rn([5, 3, 3, 3], 0.3), b: rn([5]) }),
    ts: ({ x, w, b }) => [torch.conv2d(x as T, w as T, b, 1, 1)],
    py: 'ys = [F.conv2d(x, w, b, padding=1)]',
    grad: ['x', 'w', 'b'],
  },
  {
    name: 'linear and matmul (2-d, batched, vector): bfloat16',
    inputs: () => ({ a: rn([3, 6, 8]), w: rn([4, 8], 0.3), b: rn([4]), m: rn([8, 5]), v: rn([8]) }),
    ts: ({ a, w, b, m, v }) => [torch.linear(a as T, w as T, b), torch.matmul(a as T, m as T), torch.matmul(a as T, v as T)],
    py: 'ys = [F.linear(a, w, b), torch.matmul(a, m), torch.matmul(a, v)]',
    grad: ['a', 'w', 'b', 'm', 'v'],
  },
  {
    name: 'mm and bmm: bfloat16',
    inputs: () => ({ a: rn([4, 6]), b: rn([6, 3]), p: rn([2, 4, 6]), q: rn([2, 6, 5]) }),
    ts: ({ a, b, p, q }) => [torch.mm(a as T, b as T), torch.bmm(p as T, q as T)],
    py: 'ys = [torch.mm(a, b), torch.bmm(p, q)]',
  },
  {
    name: 'ops after a bfloat16 conv: norms, softmax, upsampling, relu keep bfloat16; conv_transpose2d, grid_sample, mse and a mixed add, cat give float32',
    inputs: () => ({
      x: rn([2, 3, 6, 6]), w: rn([4, 3, 3, 3], 0.3), g: rn([4]), b: rn([4]), wt: rn([4, 2, 4, 4], 0.3),
      grid: torch.scope(() => torch.rand([2, 5, 4, 2]).mul(2).sub(1)), f: rn([2, 1, 6, 6]),
    }),
    ts: ({ x, w, g, b, wt, grid, f }) => {
      const h = torch.conv2d(x as T, w as T, null, 1, 1);
      return [
        torch.batchNorm(h, null, null, g, b, true), torch.instanceNorm(h, null, null, g, b), torch.layerNorm(h, [6, 6]),
        h.softmax(1), torch.interpolate(h, { scaleFactor: 2, mode: 'bilinear' }), h.relu(),
        torch.convTranspose2d(h, wt as T, null, 2, 1), torch.gridSample(h, grid as T), torch.mseLoss(h, h.detach().to('float32').mul(0.5)),
        h.add(f as T), torch.cat([h, f as T], 1), h.sum(),
      ];
    },
    py: [
      'h = F.conv2d(x, w, padding=1)',
      'ys = [F.batch_norm(h, None, None, g, b, training=True), F.instance_norm(h, weight=g, bias=b), F.layer_norm(h, [6, 6]),',
      '      torch.softmax(h, 1), F.interpolate(h, scale_factor=2, mode="bilinear"), torch.relu(h),',
      '      F.conv_transpose2d(h, wt, stride=2, padding=1), F.grid_sample(h, grid, align_corners=False), F.mse_loss(h, h.detach().float() * 0.5),',
      '      h + f, torch.cat([h, f], 1), h.sum()]',
    ].join('\n'),
    grad: ['x', 'w', 'g', 'b', 'wt'],
  },
  {
    name: 'a small conv net, forward and backward, a weight used twice (the cast cache): bfloat16 activations, float32 loss and parameter gradients',
    inputs: () => ({
      x: rn([2, 3, 12, 10]), w1: rn([8, 3, 3, 3], 0.2), b1: rn([8], 0.1), w2: rn([8, 8, 3, 3], 0.1), b2: rn([8], 0.1),
      w3: rn([4, 8 * 3 * 3], 0.05), b3: rn([4], 0.1), target: rn([2, 4]),
    }),
    ts: ({ x, w1, b1, w2, b2, w3, b3, target }) => {
      let h = torch.conv2d(x as T, w1 as T, b1, 1, 1).relu();
      h = torch.conv2d(h, w2 as T, b2, 2, 1).relu();
      h = torch.conv2d(h, w2 as T, b2, 2, 1).relu();
      const y = torch.linear(h.flatten(1), w3 as T, b3);
      return [h, y, torch.mseLoss(y, target as T)];
    },
    py: [
      'h = F.relu(F.conv2d(x, w1, b1, padding=1))',
      'h = F.relu(F.conv2d(h, w2, b2, stride=2, padding=1))',
      'h = F.relu(F.conv2d(h, w2, b2, stride=2, padding=1))',
      'y = F.linear(h.flatten(1), w3, b3)',
      'ys = [h, y, F.mse_loss(y, target)]',
    ].join('\n'),
    grad: ['x', 'w1', 'b1', 'w2', 'b2', 'w3', 'b3'],
  },
];

interface Ran {
  outputs: T[];
  grads: T[];
}

// The TS side, and the matching oracle case with the same cotangents.
function runCase(c: Case): { ran: Ran; oracle: OracleCase } {
  const inputs = c.inputs();
  for (const name of c.grad ?? []) (inputs[name] as T).requiresGrad_();
  const outputs = torch.autocast('cpu', 'bfloat16', () => c.ts(inputs));
  const cotangents: Inputs = {};
  let grads: T[] = [];
  if (c.grad) {
    outputs.forEach((y, i) => (cotangents[`cot${i}`] = torch.randn([...y.shape])));
    const total = outputs.map((y, i) => y.to('float32').mul(cotangents[`cot${i}`] as T).sum()).reduce((s, t) => s.add(t));
    grads = torch.grad([total], c.grad.map((n) => inputs[n] as T)) as T[];
  }
  const unpack = Object.keys(inputs).map((n) => `${n} = inputs["${n}"]`).join('\n');
  const body = c.py.split('\n').map((l) => '    ' + l).join('\n');
  const backward = c.grad
    ? `total = sum((y.float() * inputs[f"cot{i}"]).sum() for i, y in enumerate(ys))\n` +
      `grads = torch.autograd.grad(total, [${c.grad.join(', ')}])\n`
    : 'grads = []\n';
  const code = `${unpack}\nDT = ${PY_DTYPES}\nwith torch.autocast("cpu", dtype=torch.bfloat16):\n${body}\n${backward}` +
    'out = {"ys": [y.float() for y in ys], "ydt": [DT.index(y.dtype) for y in ys], "gs": list(grads), "gdt": [DT.index(g.dtype) for g in grads]}';
  const detached = Object.fromEntries(Object.entries({ ...inputs, ...cotangents }).map(([k, v]) => [k, v.detach()]));
  return { ran: { outputs, grads }, oracle: { code, inputs: detached, grad: c.grad } };
}

/** Compares within the bfloat16 tolerance: rtol `ulps`, atol `ulps` times the expected values' largest magnitude. */
function assertBf16Close(actual: T, expected: T, what: string, tol: number): void {
  const scale = torch.scope(() => expected.abs().max().item());
  assertClose(actual, expected, what, { atol: tol * scale, rtol: tol });
}

// float32 -> bfloat16 / float16 rounding on values across the exponent range, including float16's subnormals and
// overflow; the TS side rounds inside the addon from a Float32Array, Python with .to().
const rounding = torch.scope(() => {
  const x = torch.randn([4, 256]).mul(torch.tensor([[1e-6], [1e-3], [1], [7e4]])).flatten().keep();
  return {
    x,
    ts: (['bfloat16', 'float16'] as const).map((dt) => torch.tensor(x.data() as Float32Array, { dtype: dt }).keep()),
  };
});

const tsRuns = torch.scope(() => cases.map((c) => {
  const r = runCase(c);
  for (const t of [...r.ran.outputs, ...r.ran.grads, ...Object.values(r.oracle.inputs ?? {})]) t.keep();
  return r;
}));
const results = runOracle([
  ...tsRuns.map((r) => r.oracle),
  { code: 'x = inputs["x"]\nout = {"bf": x.to(torch.bfloat16).float(), "h": x.to(torch.float16).float()}', inputs: { x: rounding.x } },
]);

cases.forEach((c, i) => {
  test(`autocast parity: ${c.name}`, () => {
    const { ran } = tsRuns[i] as (typeof tsRuns)[number];
    const res = results[i] as Record<string, OracleValue>;
    const ydt = (res.ydt as number[]).map((k) => DTYPES[k]);
    const gdt = (res.gdt as number[]).map((k) => DTYPES[k]);
    torch.scope(() => {
      assert.deepEqual(ran.outputs.map((y) => y.dtype), ydt, `output dtypes (seed ${seed})`);
      assert.deepEqual(ran.grads.map((g) => g.dtype), gdt, 'gradient dtypes');
      ran.outputs.forEach((y, k) => assertBf16Close(y, fromWire((res.ys as WireTensor[])[k] as WireTensor), `output ${k} (seed ${seed})`, OUT_TOL));
      ran.grads.forEach((g, k) => assertBf16Close(g, fromWire((res.gs as WireTensor[])[k] as WireTensor), `gradient of ${c.grad?.[k]} (seed ${seed})`, GRAD_TOL));
    });
  });
});

test('float32 rounds to bfloat16 and float16 exactly as PyTorch rounds it', () => {
  const res = results[cases.length] as Record<string, WireTensor>;
  torch.scope(() => {
    const [bf, h] = rounding.ts as [T, T];
    assert.equal(bf.dtype, 'bfloat16');
    assert.equal(h.dtype, 'float16');
    assert.deepEqual(Array.from(bf.data() as Float32Array), Array.from(fromWire(res.bf as WireTensor).data() as Float32Array));
    assert.deepEqual(Array.from(h.data() as Float32Array), Array.from(fromWire(res.h as WireTensor).data() as Float32Array));
  });
});

test('the parity runs leave no tensors behind', () => {
  const before = torch.memory().numTensors;
  torch.dispose([tsRuns.map((r) => [r.ran, r.oracle.inputs]), rounding]);
  assert.ok(before > 0);
  assert.equal(torch.memory().numTensors, 0, 'every tensor this file created was kept for a test and is now released');
});
