// One whole-model training iteration (the main stage) against the official procedure in python3-torch
// (gfla_reference.py RefTrainer: pose_model.py optimize_parameters on the official module layout and CPU rewrites of
// the ops), from the same weights and batch: every loss term, then the generator's output after the updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { GflaModel, gflaDefaults } from '../../../src/models/gfla/index.js';
import { Vgg19Features, randomVgg19StateDict } from '../../../src/models/layers/vgg.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';
import { GFLA_REFERENCE } from './gfla-reference.js';

/** A tiny GFLA model on random VGG19 weights (the state is also sent to PyTorch). */
function setup(cfg: ReturnType<typeof gflaDefaults>): { state: Map<string, torch.Tensor>; model: GflaModel; before: number } {
  const state = randomVgg19StateDict('relu5_2');
  const vgg = new Vgg19Features({ lastLayer: 'relu5_2' }).loadTorchvision(state);
  const model = new GflaModel(cfg, { vgg });
  return { state, model, before: torch.memory().numTensors };
}

/** A random batch at 64x32, and the oracle inputs: the batch under the official names and VGG19 under 'V.'. */
function randomInputs(state: Map<string, torch.Tensor>): { batch: Record<string, torch.Tensor>; inputs: Record<string, torch.Tensor> } {
  const batch = torch.scope(() => ({
    imageA: torch.rand([2, 3, 64, 32]).mul(2).sub(1), imageB: torch.rand([2, 3, 64, 32]).mul(2).sub(1),
    poseMapA: torch.rand([2, 18, 64, 32]), poseMapB: torch.rand([2, 18, 64, 32]),
  }));
  const inputs: Record<string, torch.Tensor> = { P1: batch.imageA, P2: batch.imageB, BP1: batch.poseMapA, BP2: batch.poseMapB };
  for (const [k, v] of state) inputs[`V.${k}`] = v;
  return { batch, inputs };
}

test('a main-stage iteration matches the official order and loss weights: each loss term, then the updated generator', () => {
  torch.manualSeed(31);
  const cfg = gflaDefaults('tiny');
  cfg.schedule.stages[0] = { name: 'flow', epochs: 0, decayEpochs: 0 };
  const { state, model, before } = setup(cfg);
  try {
    const { batch, inputs } = randomInputs(state);
    for (const [k, v] of model.generator.stateDict()) inputs[`G.${k}`] = v;
    for (const [k, v] of model.discriminator.stateDict()) inputs[`D.${k}`] = v;
    const [r] = runOracle([{
      code: `${GFLA_REFERENCE}
sub = lambda p: {k[len(p):]: v for k, v in inputs.items() if k.startswith(p)}
g = PoseGenerator(ngf=8, img_f=32, layers=3, num_blocks=2, attn_layer=(2, 3), kz={2: 5, 3: 3}, flow_ngf=8, flow_img_f=16, flow_layers=5)
d = ResDiscriminator(3, 8, 16, 2)
g.load_state_dict(sub('G.'))
d.load_state_dict(sub('D.'))
tr = RefTrainer(g, d, sub('V.'), [2, 3], {2: 5, 3: 3})
terms = tr.step(inputs['P1'], inputs['BP1'], inputs['P2'], inputs['BP2'])
g.eval()
with torch.no_grad():
    img = g(inputs['P1'], inputs['BP1'], inputs['BP2'])[0]
out = dict(terms, img=img, **{'W.' + k: v for k, v in g.state_dict().items()})
`, inputs,
    }]);
    const res = r as Record<string, number | WireTensor>;
    const losses = model.trainStep(batch as never);
    assert.deepEqual(Object.keys(losses).sort(), ['ad_gen', 'app_gen', 'content_gen', 'correctness_gen', 'dis_img_gen', 'regularization', 'style_gen']);
    for (const [k, v] of Object.entries(losses)) {
      const want = res[k] as number;
      assert.ok(Math.abs(v - want) <= 1e-5 + 1e-4 * Math.abs(want), `${k}: ours ${v}, PyTorch ${want}`);
    }
    // The updated generator, weight by weight. Adam's first step (betas (0, 0.999)) moves each weight by lr (1e-4)
    // times the sign of its gradient, so a weight whose gradient is within float summation noise of zero (the biases
    // of convolutions that a norm follows, whose gradient is zero in exact arithmetic, and a few others) can move
    // another way than in PyTorch: by up to 2 lr, and so can the output. Measured on an AVX-512 EPYC: 0.3% of the
    // weights; everything else within 1e-6.
    let [worst, moved, total] = [0, 0, 0];
    for (const [k, v] of model.generator.stateDict()) {
      const want = res[`W.${k}`] as WireTensor | undefined;
      assert.ok(want, `PyTorch's generator has no ${k}`);
      const [d, n] = torch.scope(() => {
        const diff = v.sub(fromWire(want)).abs();
        return [diff.max().item() as number, diff.gt(1e-6).sum().item() as number];
      });
      [worst, moved, total] = [Math.max(worst, d), moved + n, total + v.numel()];
    }
    assert.ok(worst <= 2e-4 + 1e-6 && moved <= total / 100, `generator after the iteration: ${moved} of ${total} weights differ from PyTorch's by more than 1e-6, at most ${worst}`);
    torch.scope(() => {
      const y = model.generate(batch as never);
      // Those few weights' other steps move the output too (measured at most 2.4e-3).
      assertClose(y, fromWire(res.img as WireTensor), 'generator output after the iteration', { atol: 5e-3, rtol: 1e-2 });
    });
    torch.dispose(batch);
    assert.equal(torch.memory().numTensors, before + countOptimizerState(model), 'only the optimisers\' state remains');
  } finally {
    model.dispose();
    torch.dispose([...state.values()]);
  }
});

/** Adam keeps two moment tensors per parameter that received a gradient (a step counter lives in JS). */
function countOptimizerState(model: GflaModel): number {
  return 2 * (model.generator.parameters().length + model.discriminator.parameters().length);
}

test('a flow-stage iteration matches poseflownet_model.py: 20·correctness + 0.01·regularisation on the flow estimator alone', () => {
  torch.manualSeed(32);
  const { state, model, before } = setup(gflaDefaults('tiny'));
  try {
    const { batch, inputs } = randomInputs(state);
    for (const [k, v] of (model.generator.flow_net as torch.nn.Module).stateDict()) inputs[`G.${k}`] = v;
    const [r] = runOracle([{
      code: `${GFLA_REFERENCE}
sub = lambda p: {k[len(p):]: v for k, v in inputs.items() if k.startswith(p)}
f = PoseFlowNet(3, 18, 8, 16, 5, [2, 3])
f.load_state_dict(sub('G.'))
vgg = sub('V.')
opt = torch.optim.Adam(f.parameters(), lr=1e-4, betas=(0.0, 0.999))
flows, masks = f(inputs['P1'], inputs['BP1'], inputs['BP2'])
with torch.no_grad():
    ft, fs = vgg_feats(vgg, inputs['P2'], ['relu4_1', 'relu3_1']), vgg_feats(vgg, inputs['P1'], ['relu4_1', 'relu3_1'])
corr = official_correctness(ft['relu4_1'], fs['relu4_1'], flows[0]) + official_correctness(ft['relu3_1'], fs['relu3_1'], flows[1])
reg = official_affine_regularization(flows[0], 3) + official_affine_regularization(flows[1], 5)
(corr * 20 + reg * 0.01).backward()
opt.step()
with torch.no_grad():
    after = f(inputs['P1'], inputs['BP1'], inputs['BP2'])[0][1]
out = {'correctness': (corr * 20).item(), 'regularization': (reg * 0.01).item(), 'after': after}
`, inputs,
    }]);
    const res = r as Record<string, number | WireTensor>;
    const losses = model.trainStep(batch as never);
    for (const k of ['correctness', 'regularization']) {
      const [v, want] = [losses[k] as number, res[k] as number];
      assert.ok(Math.abs(v - want) <= 1e-5 + 1e-4 * Math.abs(want), `${k}: ours ${v}, PyTorch ${want}`);
    }
    torch.scope(() => {
      const { flows } = torch.noGrad(() => model.generator.flows(batch.imageA as torch.Tensor, batch.poseMapA as torch.Tensor, batch.poseMapB as torch.Tensor));
      assertClose(flows[1] as torch.Tensor, fromWire(res.after as WireTensor), 'flow after the update', { atol: 2e-4, rtol: 1e-3 });
    });
    torch.dispose(batch);
    // Adam's two moments for every flow-estimator parameter but the mask heads' (no loss reaches them in this stage).
    const flowNet = model.generator.flow_net as GflaModel['generator']['flow_net'] & object;
    const expected = 2 * (flowNet.parameters().length - 2 * flowNet.heads.size);
    assert.equal(torch.memory().numTensors, before + expected, 'only the flow optimiser\'s state remains');
  } finally {
    model.dispose();
    torch.dispose([...state.values()]);
  }
});
