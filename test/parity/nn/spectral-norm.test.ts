// spectralNorm against torch.nn.utils.spectral_norm over several training-mode forwards (power iteration moves u and
// v each time), then an eval-mode forward (no iteration); plus a float64 finite-difference check of its gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { runOracle, fromWire, assertClose, type WireTensor } from '../../helpers/oracle.js';

const { nn } = torch;

interface SnCase {
  name: string;
  make: () => torch.nn.UnaryModule & { weight: torch.Tensor };
  py: string;
  input: number[];
  nPower: number;
}

const cases: SnCase[] = [
  { name: 'Conv2d', make: () => new nn.Conv2d(3, 4, 3, { padding: 1 }), py: 'nn.Conv2d(3, 4, 3, padding=1)', input: [2, 3, 6, 6], nPower: 1 },
  { name: 'Conv2d, 3 power iterations', make: () => new nn.Conv2d(2, 5, 3), py: 'nn.Conv2d(2, 5, 3)', input: [1, 2, 5, 5], nPower: 3 },
  { name: 'ConvTranspose2d (dim 1)', make: () => new nn.ConvTranspose2d(4, 3, 4, { stride: 2, padding: 1 }),
    py: 'nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)', input: [2, 4, 3, 3], nPower: 1 },
  { name: 'Linear', make: () => new nn.Linear(6, 4), py: 'nn.Linear(6, 4)', input: [3, 6], nPower: 1 },
];

const PASSES = 4;

test('spectralNorm matches torch.nn.utils.spectral_norm over training-mode passes and in eval mode', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    torch.manualSeed(3);
    const oracleCases = [];
    const mine: Record<string, torch.Tensor>[] = [];
    for (const c of cases) {
      const m = nn.spectralNorm(c.make(), { nPowerIterations: c.nPower });
      assert.deepEqual([...m.stateDict().keys()], ['bias', 'weight_orig', 'weight_u', 'weight_v'], `${c.name}: state dict names`);
      assert.deepEqual(m.namedParameters().map(([n]) => n), ['bias', 'weight_orig'], `${c.name}: parameters`);
      const inputs: Record<string, torch.Tensor> = {};
      for (const [k, v] of m.stateDict()) inputs[`sd.${k}`] = v.clone();
      const out: Record<string, torch.Tensor> = {};
      for (let i = 0; i <= PASSES; i++) {
        if (i === PASSES) m.eval();
        const x = torch.randn(c.input);
        inputs[`x${i}`] = x;
        const y = m.forward(x);
        const r = torch.randn([...y.shape]);
        inputs[`r${i}`] = r;
        y.mul(r).sum().backward();
        out[`y${i}`] = y;
        out[`w${i}`] = m.weight.detach();
        out[`u${i}`] = (m.stateDict().get('weight_u') as torch.Tensor).clone();
        out[`v${i}`] = (m.stateDict().get('weight_v') as torch.Tensor).clone();
        out[`g${i}`] = m.stateDict().get('weight_orig')?.grad as torch.Tensor;
        m.zeroGrad();
      }
      mine.push(out);
      m.dispose();
      oracleCases.push({
        inputs,
        code: `
m = nn.utils.spectral_norm(${c.py}, n_power_iterations=${c.nPower})
m.load_state_dict({k[3:]: v for k, v in inputs.items() if k.startswith('sd.')}, strict=True)
out = {}
for i in range(${PASSES + 1}):
    if i == ${PASSES}:
        m.eval()
    y = m(inputs['x%d' % i])
    (y * inputs['r%d' % i]).sum().backward()
    out['y%d' % i] = y
    out['w%d' % i] = m.weight
    out['u%d' % i] = m.weight_u.clone()
    out['v%d' % i] = m.weight_v.clone()
    out['g%d' % i] = m.weight_orig.grad.clone()
    m.zero_grad()
`,
      });
    }
    const results = runOracle(oracleCases);
    cases.forEach((c, ci) => {
      const o = results[ci] as Record<string, WireTensor>;
      const out = mine[ci] as Record<string, torch.Tensor>;
      for (let i = 0; i <= PASSES; i++) {
        const what = `${c.name}, ${i === PASSES ? 'eval pass' : `training pass ${i + 1}`}`;
        for (const k of ['u', 'v', 'w', 'y', 'g']) {
          assertClose(out[`${k}${i}`] as torch.Tensor, fromWire(o[`${k}${i}`] as WireTensor), `${what}: ${k}`, { atol: 1e-5, rtol: 1e-4 });
        }
      }
      // Eval mode must not move u and v.
      assert.ok(torch.scope(() => (out[`u${PASSES}`] as torch.Tensor).equal(out[`u${PASSES - 1}`] as torch.Tensor)), `${c.name}: eval pass left u alone`);
    });
  });
  assert.equal(torch.memory().numTensors, before, 'no tensors leak');
});

test('spectral-normalised forward: autograd gradient equals central finite differences in float64', () => {
  torch.scope(() => {
    torch.manualSeed(5);
    const m = nn.spectralNorm(new nn.Conv2d(2, 3, 2, { padding: 1 })).toDtype('float64');
    const x = torch.randn([2, 2, 3, 3], 'float64');
    const r = torch.randn([2, 3, 4, 4], 'float64');
    m.train();
    torch.scope(() => m.forward(x)); // a few power iterations so u and v are not random
    torch.scope(() => m.forward(x));
    m.eval(); // fixed u and v: the forward is a deterministic function of weight_orig and x
    const wOrig = m.stateDict().get('weight_orig') as torch.Tensor;
    assert.equal(wOrig.dtype, 'float64');
    const loss = (): number => torch.scope(() => m.forward(x).mul(r).sum().item());
    const xg = x.clone().requiresGrad_();
    torch.scope(() => m.forward(xg).mul(r).sum().backward());
    const analytic = Array.from(wOrig.grad?.data() as Float64Array);
    const analyticX = Array.from(xg.grad?.data() as Float64Array);
    const h = 1e-6;
    const numeric = (t: torch.Tensor): number[] => {
      const flat = t.view([-1]);
      const out: number[] = [];
      for (let i = 0; i < t.size; i++) {
        const orig = torch.scope(() => flat.select(0, i).item());
        torch.noGrad(() => torch.scope(() => flat.select(0, i).fill_(orig + h)));
        const up = loss();
        torch.noGrad(() => torch.scope(() => flat.select(0, i).fill_(orig - h)));
        const down = loss();
        torch.noGrad(() => torch.scope(() => flat.select(0, i).fill_(orig)));
        out.push((up - down) / (2 * h));
      }
      return out;
    };
    const numW = numeric(wOrig);
    const numX = numeric(x);
    const check = (a: number[], n: number[], what: string): void => {
      assert.equal(a.length, n.length);
      a.forEach((v, i) => {
        const err = Math.abs(v - (n[i] as number));
        assert.ok(err <= 1e-6 + 1e-5 * Math.abs(v), `${what}[${i}]: autograd ${v} vs finite differences ${n[i]}`);
      });
    };
    check(analytic, numW, 'd loss / d weight_orig');
    check(analyticX, numX, 'd loss / d x');
    // The gradient is not trivially that of an unnormalised conv: sigma depends on weight_orig.
    assert.ok(analytic.some((v) => Math.abs(v) > 1e-3));
    m.dispose();
  });
});

test('spectralNorm: errors for a missing parameter or a second application', () => {
  torch.scope(() => {
    const conv = new nn.Conv2d(1, 1, 1);
    nn.spectralNorm(conv);
    assert.throws(() => nn.spectralNorm(conv), /no parameter 'weight' \(spectral norm is already applied/);
    assert.throws(() => nn.spectralNorm(new nn.ReLU()), /no parameter 'weight'/);
    conv.dispose();
  });
});
