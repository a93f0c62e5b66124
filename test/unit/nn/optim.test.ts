// Optimiser and schedule mechanics: saving and restoring state resumes training exactly; schedule values follow
// their formulas; bad arguments are errors that say what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

const { nn, optim } = torch;

function makeNet(): torch.nn.Sequential {
  return new nn.Sequential(new nn.Conv2d(2, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.Conv2d(4, 2, 3, { padding: 1 }));
}

type Opt = torch.optim.Optimizer<{ lr: number }>;

function trainSteps(net: torch.nn.Sequential, opt: Opt, sched: torch.optim.LRScheduler, data: torch.Tensor[], from: number, to: number): void {
  for (let k = from; k < to; k++) {
    torch.scope(() => {
      opt.zeroGrad();
      const x = data[k] as torch.Tensor;
      torch.mseLoss(net.forward(x), x.flip([3])).backward();
      opt.step();
      sched.step();
    });
  }
}

const setups: [string, (p: torch.Tensor[]) => Opt, (o: Opt) => torch.optim.LRScheduler][] = [
  ['Adam + StepLR', (p) => new optim.Adam(p, { lr: 0.01, weightDecay: 1e-3 }), (o) => new optim.StepLR(o, { stepSize: 3, gamma: 0.5 })],
  ['SGD nesterov + LinearDecayLR', (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true }),
    (o) => new optim.LinearDecayLR(o, { constantSteps: 4, decaySteps: 6 })],
];
for (const [name, makeOpt, makeSched] of setups) {
  test(`${name}: save after 5 steps, restore into fresh objects, continue: equals 10 uninterrupted steps exactly`, () => {
    const before = torch.memory().numTensors;
    torch.scope(() => {
      torch.manualSeed(11);
      const data = Array.from({ length: 10 }, () => torch.randn([3, 2, 6, 6]));
      const init = makeNet();
      const initial = new Map([...init.stateDict()].map(([k, v]) => [k, v.clone()]));

      const a = makeNet();
      a.loadStateDict(initial);
      const optA = makeOpt(a.parameters());
      const schedA = makeSched(optA);
      trainSteps(a, optA, schedA, data, 0, 10);

      const b = makeNet();
      b.loadStateDict(initial);
      const optB = makeOpt(b.parameters());
      const schedB = makeSched(optB);
      trainSteps(b, optB, schedB, data, 0, 5);
      // What a checkpoint holds: copies of the module state, the optimiser state and the schedule position.
      const savedNet = new Map([...b.stateDict()].map(([k, v]) => [k, v.clone()]));
      const savedOpt = optB.stateDict();
      // As a checkpoint would store it: named tensor copies plus JSON.
      const flat = optim.flattenOptimizerState(savedOpt);
      const copiedOpt = optim.unflattenOptimizerState<{ lr: number }>({
        tensors: new Map([...flat.tensors].map(([k, v]) => [k, v.clone()])),
        json: JSON.parse(JSON.stringify(flat.json)),
      });
      const savedSched = JSON.parse(JSON.stringify(schedB.stateDict()));
      optB.dispose();
      b.dispose();

      const c = makeNet();
      c.loadStateDict(savedNet);
      const optC = makeOpt(c.parameters());
      const schedC = makeSched(optC);
      optC.loadStateDict(copiedOpt);
      schedC.loadStateDict(savedSched);
      assert.equal(optC.lr, copiedOpt.paramGroups[0]?.lr, 'lr restored');
      assert.notEqual(optC.lr, makeOpt([torch.zeros([1])]).lr, 'the restored lr is the scheduled one, not the initial one');
      trainSteps(c, optC, schedC, data, 5, 10);

      for (const [k, v] of a.stateDict()) assert.ok(v.equal(c.stateDict().get(k) as torch.Tensor), `${k} identical after resume`);
      const sa = optA.stateDict();
      const sc = optC.stateDict();
      assert.equal(sa.state.size, sc.state.size);
      for (const [i, s] of sa.state) {
        for (const [k, v] of Object.entries(s)) {
          const w = sc.state.get(i)?.[k];
          if (v instanceof torch.Tensor) assert.ok(v.equal(w as torch.Tensor), `optimiser state ${i}.${k} identical`);
          else assert.equal(w, v, `optimiser state ${i}.${k}`);
        }
      }
      assert.deepEqual(schedC.getLastLr(), schedA.getLastLr());
      // And training did something.
      assert.ok(!a.stateDict().get('0.weight')?.equal(initial.get('0.weight') as torch.Tensor));
      for (const o of [optA, optC]) o.dispose();
      for (const m of [init, a, c]) m.dispose();
    });
    assert.equal(torch.memory().numTensors, before, 'no tensors leak');
  });
}

test('StepLR and LinearDecayLR values follow their formulas', () => {
  torch.scope(() => {
    const p = torch.zeros([1]).requiresGrad_();
    const opt = new optim.Adam([{ params: [p] }], { lr: 0.2 });
    const step = new optim.StepLR(opt, { stepSize: 3, gamma: 0.1 });
    const seen = [opt.lr];
    for (let e = 1; e <= 9; e++) {
      step.step();
      seen.push(opt.lr);
    }
    seen.forEach((lr, e) => assert.ok(Math.abs(lr - 0.2 * 0.1 ** Math.floor(e / 3)) < 1e-18, `StepLR epoch ${e}: ${lr}`));

    const sgd = new optim.SGD([p], { lr: 1 });
    const lin = new optim.LinearDecayLR(sgd, { constantSteps: 3, decaySteps: 4 });
    const lrs = [sgd.lr];
    for (let e = 1; e <= 8; e++) {
      lin.step();
      lrs.push(sgd.lr);
    }
    // Constant for 3 epochs, then 4/5, 3/5, 2/5, 1/5 (the last decay epoch), then 0.
    assert.deepEqual(lrs.map((v) => Math.round(v * 1e12) / 1e12), [1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0, 0]);
    const patn = new optim.LinearDecayLR(new optim.SGD([p], { lr: 1 }), { constantSteps: 3, decaySteps: 4, offset: 1 });
    assert.equal(patn.factor(1), 1);
    assert.equal(patn.factor(2), 0.8, "PATN's older rule starts the decay one epoch earlier");
    opt.dispose();
  });
});

test('optimiser errors name the problem', () => {
  torch.scope(() => {
    const p = torch.zeros([2]).requiresGrad_();
    assert.throws(() => new optim.Adam([]), /got no parameters/);
    assert.throws(() => new optim.Adam([p, p]), /appears twice/);
    assert.throws(() => new optim.Adam([p], { betas: [1, 0.9] }), /betas of group 0 must be in \[0, 1\)/);
    assert.throws(() => new optim.SGD([p], {} as { lr: number }), /lr is required/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /nesterov .* needs momentum > 0/);
    const opt = new optim.Adam([p]);
    p.grad = torch.ones([2]);
    opt.step();
    const sd = opt.stateDict();
    assert.equal(sd.state.get(0)?.step, 1);
    const q = torch.zeros([3]).requiresGrad_();
    const other = new optim.Adam([q]);
    assert.throws(() => other.loadStateDict(sd), /state 'exp_avg' of parameter 0 has shape \[2\], the parameter \[3\]/);
    assert.throws(() => other.loadStateDict({ state: new Map(), paramGroups: [] }), /0 parameter groups, the optimiser 1/);
    // Setting lr reaches every group.
    opt.lr = 0.5;
    assert.equal(opt.paramGroups[0]?.lr, 0.5);
    opt.dispose();
    other.dispose();
  });
});
