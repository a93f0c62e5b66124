// Adam and SGD against torch.optim (PyTorch 1.13, foreach=False): the same parameters and the same gradient
// sequence, N steps, then parameters and optimiser state must agree to 1e-6. Schedules change lr mid-run and must
// give torch.optim.lr_scheduler's values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { runOracle, fromWire, assertClose, type WireTensor } from '../../helpers/oracle.js';

const { optim } = torch;
const STEPS = 12;
const SHAPES = [[4, 3, 3, 3], [4], [5, 7]];

interface OptCase {
  name: string;
  make: (params: torch.Tensor[]) => torch.optim.Optimizer<{ lr: number }>;
  /** Python building `opt` from `params` (a list). */
  py: string;
  /** Per-step lr schedule applied after each step (Python builds `sched` from `opt`). */
  schedule?: { make: (o: torch.optim.Optimizer<{ lr: number }>) => torch.optim.LRScheduler; py: string };
  stateKeys: string[];
}

const cases: OptCase[] = [
  { name: 'Adam defaults', make: (p) => new optim.Adam(p), py: 'torch.optim.Adam(params, foreach=False)', stateKeys: ['exp_avg', 'exp_avg_sq'] },
  { name: 'Adam lr 0.01, betas (0.5, 0.999), eps 1e-6, weight decay 0.1',
    make: (p) => new optim.Adam(p, { lr: 0.01, betas: [0.5, 0.999], eps: 1e-6, weightDecay: 0.1 }),
    py: 'torch.optim.Adam(params, lr=0.01, betas=(0.5, 0.999), eps=1e-6, weight_decay=0.1, foreach=False)', stateKeys: ['exp_avg', 'exp_avg_sq'] },
  { name: 'Adam with two parameter groups and StepLR',
    make: (p) => new optim.Adam([{ params: p.slice(0, 2), lr: 2e-3 }, { params: p.slice(2), betas: [0.0, 0.9] }], { lr: 1e-3 }),
    py: "torch.optim.Adam([{'params': params[:2], 'lr': 2e-3}, {'params': params[2:], 'betas': (0.0, 0.9)}], lr=1e-3, foreach=False)",
    schedule: { make: (o) => new optim.StepLR(o, { stepSize: 4, gamma: 0.5 }), py: 'torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)' },
    stateKeys: ['exp_avg', 'exp_avg_sq'] },
  { name: 'Adam with LinearDecayLR (as LambdaLR with the CycleGAN rule)',
    make: (p) => new optim.Adam(p, { lr: 2e-4, betas: [0.5, 0.999] }),
    py: 'torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), foreach=False)',
    schedule: { make: (o) => new optim.LinearDecayLR(o, { constantSteps: 5, decaySteps: 6 }),
      // The rule is floored at 0 past the end (CycleGAN's goes negative, but its training has stopped by then).
      py: 'torch.optim.lr_scheduler.LambdaLR(opt, lambda e: max(0.0, 1.0 - max(0, e + 1 - 5) / float(6 + 1)))' },
    stateKeys: ['exp_avg', 'exp_avg_sq'] },
  { name: 'SGD plain', make: (p) => new optim.SGD(p, { lr: 0.1 }), py: 'torch.optim.SGD(params, lr=0.1, foreach=False)', stateKeys: [] },
  { name: 'SGD momentum 0.9', make: (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9 }),
    py: 'torch.optim.SGD(params, lr=0.05, momentum=0.9, foreach=False)', stateKeys: ['momentum_buffer'] },
  { name: 'SGD nesterov with weight decay', make: (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.01 }),
    py: 'torch.optim.SGD(params, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, foreach=False)', stateKeys: ['momentum_buffer'] },
  { name: 'SGD dampening and weight decay', make: (p) => new optim.SGD(p, { lr: 0.02, momentum: 0.5, dampening: 0.3, weightDecay: 0.1 }),
    py: 'torch.optim.SGD(params, lr=0.02, momentum=0.5, dampening=0.3, weight_decay=0.1, foreach=False)', stateKeys: ['momentum_buffer'] },
];

test(`Adam and SGD match torch.optim over ${STEPS} steps (parameters, state, lr) to 1e-6`, () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    torch.manualSeed(7);
    const oracleCases = [];
    const mine: { params: torch.Tensor[]; opt: torch.optim.Optimizer<{ lr: number }>; lrs: number[][] }[] = [];
    for (const c of cases) {
      const inputs: Record<string, torch.Tensor> = {};
      const params = SHAPES.map((s, i) => {
        const p = torch.randn(s);
        inputs[`p${i}`] = p.clone();
        return p.requiresGrad_();
      });
      const opt = c.make(params);
      const sched = c.schedule?.make(opt);
      const lrs: number[][] = [];
      for (let k = 0; k < STEPS; k++) {
        params.forEach((p, i) => {
          // Step 3 leaves parameter 1 without a gradient: it must be skipped, state untouched.
          if (k === 3 && i === 1) {
            p.grad = null;
            return;
          }
          const g = torch.randn([...p.shape]);
          inputs[`g${k}_${i}`] = g;
          p.grad = g;
        });
        opt.step();
        sched?.step();
        lrs.push(opt.paramGroups.map((g) => g.lr));
      }
      mine.push({ params, opt, lrs });
      oracleCases.push({
        inputs,
        code: `
params = [inputs['p%d' % i].clone().requires_grad_() for i in range(${SHAPES.length})]
opt = ${c.py}
${c.schedule ? `sched = ${c.schedule.py}` : 'sched = None'}
lrs = []
for k in range(${STEPS}):
    for i, p in enumerate(params):
        key = 'g%d_%d' % (k, i)
        p.grad = inputs[key].clone() if key in inputs else None
    opt.step()
    if sched is not None:
        sched.step()
    lrs.append([g['lr'] for g in opt.param_groups])
out = {'lrs': lrs}
for i, p in enumerate(params):
    out['p%d' % i] = p
    st = opt.state[p]
    for k in [${c.stateKeys.map((k) => `'${k}'`).join(', ')}]:
        out['s%d.%s' % (i, k)] = st[k]
    if 'step' in st:
        out['s%d.step' % i] = float(st['step'])
`,
      });
    }
    const results = runOracle(oracleCases);
    cases.forEach((c, ci) => {
      const o = results[ci] as Record<string, WireTensor | number | number[][]>;
      const { params, opt, lrs } = mine[ci] as (typeof mine)[number];
      params.forEach((p, i) => assertClose(p, fromWire(o[`p${i}`] as WireTensor), `${c.name}: parameter ${i}`, { atol: 1e-6, rtol: 0 }));
      const sd = opt.stateDict();
      params.forEach((_, i) => {
        const s = sd.state.get(i);
        for (const k of c.stateKeys) {
          assertClose(s?.[k] as torch.Tensor, fromWire(o[`s${i}.${k}`] as WireTensor), `${c.name}: state ${k} of parameter ${i}`, { atol: 1e-6, rtol: 0 });
        }
        if (o[`s${i}.step`] !== undefined) assert.equal(s?.step, o[`s${i}.step`], `${c.name}: step count of parameter ${i}`);
      });
      const pyLrs = o.lrs as number[][];
      lrs.forEach((row, k) => row.forEach((lr, g) => {
        const expected = (pyLrs[k] as number[])[g] as number;
        assert.ok(Math.abs(lr - expected) <= 1e-15 * Math.abs(expected) + 1e-20, `${c.name}: lr of group ${g} after step ${k + 1}: ${lr} vs ${expected}`);
      }));
      opt.dispose();
    });
  });
  assert.equal(torch.memory().numTensors, before, 'no tensors leak');
});
