// Every nn layer against torch.nn: the TS module's state dict (its initial weights) is loaded into the PyTorch
// module by name with strict=True, so the names must match too. Both run the same training-mode forwards, then a
// final forward in the case's mode with backward of sum(y * r); outputs, input and parameter gradients and the final
// state dicts (running statistics, num_batches_tracked) must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { runOracle, fromWire, assertClose, type WireTensor, type OracleCase } from '../../helpers/oracle.js';

const { nn } = torch;

interface LayerCase {
  name: string;
  make: () => torch.nn.UnaryModule;
  /** The same layer in Python. */
  py: string;
  input: number[];
  /** Training-mode forwards before the checked one (they move running statistics). */
  warmup?: number;
  /** Mode of the checked forward. Default train. */
  mode?: 'train' | 'eval';
  tol?: { atol?: number; rtol?: number };
}

// Conv weight gradients sum over N*H*W products, and libtorch's threaded kernels may sum in another order than the
// single-threaded oracle: allow 1e-4 absolute on those.
const convTol = { atol: 1e-4, rtol: 1e-4 };

function synchronised(bn: torch.nn.BatchNorm2d): torch.nn.BatchNorm2d {
  bn.sumOverRanks = (t) => t.clone();
  return bn;
}

const cases: LayerCase[] = [
  { name: 'Conv2d stride 2 padding 1', make: () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }), py: 'nn.Conv2d(3, 4, 3, stride=2, padding=1)', input: [2, 3, 9, 9], tol: convTol },
  { name: 'Conv2d rectangular kernel, dilation, groups, no bias', make: () => new nn.Conv2d(4, 6, [3, 2], { dilation: [2, 1], groups: 2, bias: false, padding: [1, 0] }),
    py: 'nn.Conv2d(4, 6, (3, 2), dilation=(2, 1), groups=2, bias=False, padding=(1, 0))', input: [2, 4, 8, 7], tol: convTol },
  { name: 'Conv2d reflect padding', make: () => new nn.Conv2d(3, 5, 3, { padding: 2, paddingMode: 'reflect' }),
    py: "nn.Conv2d(3, 5, 3, padding=2, padding_mode='reflect')", input: [1, 3, 6, 6], tol: convTol },
  { name: 'Conv2d replicate padding', make: () => new nn.Conv2d(3, 5, 3, { padding: 1, paddingMode: 'replicate', stride: 2 }),
    py: "nn.Conv2d(3, 5, 3, padding=1, padding_mode='replicate', stride=2)", input: [2, 3, 7, 6], tol: convTol },
  { name: 'Conv2d circular padding', make: () => new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'circular' }),
    py: "nn.Conv2d(2, 3, 3, padding=1, padding_mode='circular')", input: [1, 2, 5, 5], tol: convTol },
  { name: 'ConvTranspose2d stride 2 (upsampling x2)', make: () => new nn.ConvTranspose2d(4, 3, 4, { stride: 2, padding: 1 }),
    py: 'nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)', input: [2, 4, 5, 5], tol: convTol },
  { name: 'ConvTranspose2d outputPadding', make: () => new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }),
    py: 'nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)', input: [1, 3, 4, 5], tol: convTol },
  { name: 'ConvTranspose2d groups, dilation, no bias', make: () => new nn.ConvTranspose2d(4, 6, 3, { groups: 2, dilation: 2, bias: false }),
    py: 'nn.ConvTranspose2d(4, 6, 3, groups=2, dilation=2, bias=False)', input: [2, 4, 4, 4], tol: convTol },
  { name: 'Linear', make: () => new nn.Linear(5, 3), py: 'nn.Linear(5, 3)', input: [2, 4, 5] },
  { name: 'Linear without bias', make: () => new nn.Linear(6, 2, { bias: false }), py: 'nn.Linear(6, 2, bias=False)', input: [3, 6] },
  { name: 'BatchNorm2d after 3 training steps, train mode', make: () => new nn.BatchNorm2d(3), py: 'nn.BatchNorm2d(3)', input: [4, 3, 5, 5], warmup: 3 },
  { name: 'BatchNorm2d after 3 training steps, eval mode', make: () => new nn.BatchNorm2d(3, { momentum: 0.3, eps: 1e-3 }),
    py: 'nn.BatchNorm2d(3, momentum=0.3, eps=1e-3)', input: [4, 3, 5, 5], warmup: 3, mode: 'eval' },
  { name: 'BatchNorm2d cumulative average (momentum null)', make: () => new nn.BatchNorm2d(2, { momentum: null }),
    py: 'nn.BatchNorm2d(2, momentum=None)', input: [3, 2, 4, 4], warmup: 4, mode: 'eval' },
  { name: 'BatchNorm2d without affine', make: () => new nn.BatchNorm2d(3, { affine: false }), py: 'nn.BatchNorm2d(3, affine=False)', input: [2, 3, 4, 4], warmup: 1 },
  { name: 'BatchNorm2d without running stats, eval mode', make: () => new nn.BatchNorm2d(3, { trackRunningStats: false }),
    py: 'nn.BatchNorm2d(3, track_running_stats=False)', input: [2, 3, 4, 4], warmup: 1, mode: 'eval' },
  // The synchronised path with the sum over ranks of a world of one (a differentiable identity): its own statistics,
  // input gradient and running-statistics updates must still be PyTorch's batch norm.
  { name: 'BatchNorm2d synchronised over one rank, train mode', make: () => synchronised(new nn.BatchNorm2d(3)), py: 'nn.BatchNorm2d(3)', input: [4, 3, 5, 5], warmup: 3 },
  { name: 'BatchNorm2d synchronised, cumulative average, no affine', make: () => synchronised(new nn.BatchNorm2d(2, { momentum: null, affine: false })),
    py: 'nn.BatchNorm2d(2, momentum=None, affine=False)', input: [3, 2, 4, 4], warmup: 2 },
  { name: 'InstanceNorm2d (no affine)', make: () => new nn.InstanceNorm2d(3), py: 'nn.InstanceNorm2d(3)', input: [2, 3, 6, 5], warmup: 1 },
  { name: 'InstanceNorm2d affine', make: () => new nn.InstanceNorm2d(3, { affine: true }), py: 'nn.InstanceNorm2d(3, affine=True)', input: [2, 3, 6, 5], warmup: 1 },
  { name: 'InstanceNorm2d affine, running stats, eval mode', make: () => new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true }),
    py: 'nn.InstanceNorm2d(3, affine=True, track_running_stats=True)', input: [2, 3, 6, 5], warmup: 3, mode: 'eval' },
  { name: 'InstanceNorm2d running stats, train mode', make: () => new nn.InstanceNorm2d(2, { trackRunningStats: true, momentum: 0.2 }),
    py: 'nn.InstanceNorm2d(2, track_running_stats=True, momentum=0.2)', input: [3, 2, 4, 4], warmup: 2 },
  { name: 'ReLU', make: () => new nn.ReLU(), py: 'nn.ReLU()', input: [2, 3, 4] },
  { name: 'LeakyReLU(0.2)', make: () => new nn.LeakyReLU(0.2), py: 'nn.LeakyReLU(0.2)', input: [2, 3, 4] },
  { name: 'LeakyReLU default slope', make: () => new nn.LeakyReLU(), py: 'nn.LeakyReLU()', input: [2, 3, 4] },
  { name: 'Tanh', make: () => new nn.Tanh(), py: 'nn.Tanh()', input: [2, 3, 4] },
  { name: 'Sigmoid', make: () => new nn.Sigmoid(), py: 'nn.Sigmoid()', input: [2, 3, 4] },
  { name: 'Identity', make: () => new nn.Identity(), py: 'nn.Identity()', input: [2, 3] },
  { name: 'Dropout in eval mode', make: () => new nn.Dropout(0.5), py: 'nn.Dropout(0.5)', input: [2, 3], mode: 'eval' },
  { name: 'ReflectionPad2d', make: () => new nn.ReflectionPad2d([1, 2, 3, 0]), py: 'nn.ReflectionPad2d((1, 2, 3, 0))', input: [1, 2, 5, 5] },
  { name: 'ReplicationPad2d', make: () => new nn.ReplicationPad2d(2), py: 'nn.ReplicationPad2d(2)', input: [1, 2, 4, 3] },
  { name: 'ZeroPad2d', make: () => new nn.ZeroPad2d([0, 1, 1, 2]), py: 'nn.ZeroPad2d((0, 1, 1, 2))', input: [1, 2, 3, 3] },
  { name: 'AvgPool2d', make: () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
    py: 'nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)', input: [2, 3, 7, 6] },
  { name: 'MaxPool2d', make: () => new nn.MaxPool2d(2, { ceilMode: true }), py: 'nn.MaxPool2d(2, ceil_mode=True)', input: [2, 3, 5, 5] },
  { name: 'Upsample nearest x2', make: () => new nn.Upsample({ scaleFactor: 2 }), py: 'nn.Upsample(scale_factor=2)', input: [1, 2, 3, 4] },
  { name: 'Upsample bilinear to size', make: () => new nn.Upsample({ size: [7, 5], mode: 'bilinear' }),
    py: "nn.Upsample(size=(7, 5), mode='bilinear')", input: [1, 2, 3, 4] },
  { name: 'Sequential names children 0, 1, ...', tol: convTol,
    make: () => new nn.Sequential(new nn.ReflectionPad2d(1), new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4), new nn.LeakyReLU(0.2),
      new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1 }), new nn.InstanceNorm2d(2, { affine: true }), new nn.Tanh()),
    py: 'nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.LeakyReLU(0.2), nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), nn.InstanceNorm2d(2, affine=True), nn.Tanh())',
    input: [2, 3, 6, 6], warmup: 2 },
];

interface Prepared {
  c: LayerCase;
  m: torch.nn.UnaryModule;
  oracle: OracleCase;
  keys: string[];
}

function prepare(c: LayerCase): Prepared {
  const m = c.make();
  const warmup = c.warmup ?? 0;
  const inputs: Record<string, torch.Tensor> = {};
  for (const [k, v] of m.stateDict()) inputs[`sd.${k}`] = v.clone();
  for (let i = 0; i < warmup; i++) inputs[`x${i}`] = torch.randn(c.input);
  inputs.x = torch.randn(c.input);
  const code = `
m = ${c.py}
m.load_state_dict({k[3:]: v for k, v in inputs.items() if k.startswith('sd.')}, strict=True)
m.train()
for i in range(${warmup}):
    m(inputs['x%d' % i])
m.train(${c.mode === 'eval' ? 'False' : 'True'})
x = inputs['x']
y = m(x)
(y * inputs['r']).sum().backward()
out = {'y': y, 'gx': x.grad}
for n, p in m.named_parameters():
    out['g.' + n] = p.grad
for k, v in m.state_dict().items():
    out['s.' + k] = v
`;
  return { c, m, oracle: { code, inputs, grad: ['x'] }, keys: [...m.stateDict().keys()] };
}

test('every layer matches torch.nn: forward, input and parameter gradients, state after training steps', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    torch.manualSeed(1);
    const prepared = cases.map(prepare);
    // The TS side runs first (the r for backward is made from y's shape), then all Python cases in one process.
    const results = prepared.map(({ c, m, oracle }) => {
      const warmup = c.warmup ?? 0;
      m.train();
      for (let i = 0; i < warmup; i++) m.forward(oracle.inputs?.[`x${i}`] as torch.Tensor);
      m.train(c.mode !== 'eval');
      const x = (oracle.inputs?.x as torch.Tensor).clone().requiresGrad_();
      const y = m.forward(x);
      const r = torch.randn([...y.shape]);
      (oracle.inputs as Record<string, torch.Tensor>).r = r;
      y.mul(r).sum().backward();
      return { y, gx: x.grad };
    });
    const oracleOut = runOracle(prepared.map((p) => p.oracle));
    prepared.forEach(({ c, m, keys }, i) => {
      const o = oracleOut[i] as Record<string, WireTensor>;
      const mine = results[i] as { y: torch.Tensor; gx: torch.Tensor | null };
      const tol = c.tol ?? {};
      assertClose(mine.y, fromWire(o.y as WireTensor), `${c.name}: output`, tol);
      assertClose(mine.gx as torch.Tensor, fromWire(o.gx as WireTensor), `${c.name}: input gradient`, tol);
      const pyParams = Object.keys(o).filter((k) => k.startsWith('g.')).map((k) => k.slice(2));
      assert.deepEqual(m.namedParameters().map(([n]) => n), pyParams, `${c.name}: parameter names and order`);
      for (const [n, p] of m.namedParameters()) assertClose(p.grad as torch.Tensor, fromWire(o[`g.${n}`] as WireTensor), `${c.name}: grad of ${n}`, tol);
      const pyKeys = Object.keys(o).filter((k) => k.startsWith('s.')).map((k) => k.slice(2));
      assert.deepEqual(keys, pyKeys, `${c.name}: state dict keys and order`);
      for (const [k, v] of m.stateDict()) {
        const expected = fromWire(o[`s.${k}`] as WireTensor);
        assert.equal(v.dtype, expected.dtype, `${c.name}: dtype of ${k}`);
        if (v.dtype === 'int64') assert.equal(v.item(), expected.item(), `${c.name}: ${k}`);
        else assertClose(v, expected, `${c.name}: state ${k}`, tol);
      }
    });
    for (const p of prepared) p.m.dispose();
  });
  assert.equal(torch.memory().numTensors, before, 'the test itself leaks no tensors');
});

test('BatchNorm2d running statistics follow PyTorch over several training steps', () => {
  torch.scope(() => {
    const bn = new nn.BatchNorm2d(3, { momentum: 0.25 });
    const xs = [0, 1, 2, 3, 4].map((i) => torch.randn([5, 3, 4, 4]).mul(i + 1).add(i));
    const means: torch.Tensor[] = [];
    const vars: torch.Tensor[] = [];
    for (const x of xs) {
      bn.forward(x);
      means.push((bn.runningMean as torch.Tensor).clone());
      vars.push((bn.runningVar as torch.Tensor).clone());
    }
    assert.equal(bn.numBatchesTracked?.item(), 5);
    const inputs = Object.fromEntries(xs.map((x, i) => [`x${i}`, x]));
    const [o] = runOracle([{
      inputs,
      code: `
bn = nn.BatchNorm2d(3, momentum=0.25)
out = {}
for i in range(5):
    bn(inputs['x%d' % i])
    out['m%d' % i] = bn.running_mean.clone()
    out['v%d' % i] = bn.running_var.clone()
out['n'] = int(bn.num_batches_tracked)
`,
    }]);
    const r = o as Record<string, WireTensor | number>;
    assert.equal(r.n, 5);
    for (let i = 0; i < 5; i++) {
      assertClose(means[i] as torch.Tensor, fromWire(r[`m${i}`] as WireTensor), `running_mean after step ${i + 1}`);
      assertClose(vars[i] as torch.Tensor, fromWire(r[`v${i}`] as WireTensor), `running_var after step ${i + 1}`);
    }
    bn.dispose();
  });
});
