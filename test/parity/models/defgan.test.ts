// Deformable GAN's method-specific pieces against PyTorch: the deformable skip (tile, affine_grid, grid_sample,
// nearest-resized masks, max over parts) and the nearest-neighbour loss written the way the official Keras nn_loss
// computes it (pad the real features with -10000, stack all n*n shifts, L1 over channels, min over shifts, mean).
import { test } from 'node:test';
import * as torch from '../../../src/torch/index.js';
import {
  DefGanDiscriminator, DefGanGenerator, defganDefaults, deformableSkip, nearestNeighbourLoss,
} from '../../../src/models/defgan/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';

test('deformableSkip matches tile + affine_grid + grid_sample + nearest masks + max in PyTorch', () => {
  torch.manualSeed(3);
  torch.scope(() => {
    const f = torch.randn([2, 4, 8, 6]);
    // Random near-identity affines: rotation/scale/shear up to 0.3, shifts up to half the frame.
    const theta = torch.eye(2, 3).view([1, 1, 2, 3]).add(torch.rand([2, 10, 2, 3]).sub(0.5).mul(0.6));
    const masks = torch.rand([2, 10, 16, 12]).gt(0.5).to('float32');
    const code = (mode: string): string => `
f, theta, masks = inputs['f'], inputs['theta'], inputs['masks']
n, c, h, w = f.shape
k = theta.shape[1]
tiled = f.unsqueeze(1).expand(n, k, c, h, w).reshape(n * k, c, h, w)
grid = F.affine_grid(theta.reshape(n * k, 2, 3), [n * k, c, h, w], align_corners=False)
warped = F.grid_sample(tiled, grid, mode='${mode}', padding_mode='zeros', align_corners=False).view(n, k, c, h, w)
m = F.interpolate(masks, size=(h, w), mode='nearest').unsqueeze(2)
out = {'y': (warped * m).amax(1)}
`;
    const res = runOracle([{ code: code('nearest'), inputs: { f, theta, masks } }, { code: code('bilinear'), inputs: { f, theta, masks } }]);
    assertClose(deformableSkip(f, theta, masks, 'nearest'), fromWire(res[0]!.y as WireTensor), 'deformable skip (nearest)');
    assertClose(deformableSkip(f, theta, masks, 'bilinear'), fromWire(res[1]!.y as WireTensor), 'deformable skip (bilinear)');
  });
});

test('nearestNeighbourLoss matches the official nn_loss formulation, value and gradient, for n = 3 and 5', () => {
  torch.manualSeed(4);
  torch.scope(() => {
    const x = torch.randn([2, 5, 9, 7]);
    const y = torch.randn([2, 5, 9, 7]);
    const cases = [3, 5].map((n) => ({
      code: `
x, y = inputs['x'], inputs['y']
n = ${n}
p = n // 2
ref = F.pad(y.permute(0, 2, 3, 1), (0, 0, p, p, p, p), value=-10000.0)  # NHWC, as the Keras code
H, W = x.shape[2], x.shape[3]
shifts = [ref[:, i:i + H, j:j + W, :].unsqueeze(-1) for i in range(n) for j in range(n)]
ref = torch.cat(shifts, -1)
tgt = x.permute(0, 2, 3, 1).unsqueeze(-1)
loss = (ref - tgt).abs().sum(-2).min(-1)[0].mean()
loss.backward()
out = {'loss': loss.detach(), 'grad': x.grad}
`,
      inputs: { x, y },
      grad: ['x'],
    }));
    const res = runOracle(cases);
    [3, 5].forEach((n, i) => {
      const xg = x.detach().requiresGrad_();
      const loss = nearestNeighbourLoss(xg, y, n);
      loss.backward();
      assertClose(loss, fromWire(res[i]!.loss as WireTensor), `NN loss n=${n}`);
      assertClose(xg.grad!, fromWire(res[i]!.grad as WireTensor), `NN loss gradient n=${n}`, { atol: 1e-6 });
    });
  });
});

// conditional_gan.py's encoder / decoder / concatenate_skips and make_discriminator('call'), in PyTorch functional
// form, with keras_contrib InstanceNormalization(axis=None) as per-sample normalisation over (C,H,W) and scalar affine.
const KERAS = `
P = inputs
def knorm(x, name):
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    v = x.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
    return (x - m) / torch.sqrt(v + 1e-3) * P[name + '.weight'] + P[name + '.bias']
def down(x, name, norm=True):
    h = F.conv2d(F.leaky_relu(x, 0.2), P[name + '.conv.weight'], None, 2, 1)
    return knorm(h, name + '.norm') if norm else h
def up(x, name):
    return knorm(F.conv_transpose2d(F.relu(x), P[name + '.conv.weight'], None, 2, 1), name + '.norm')
def encoder(x, name, L):
    out = [F.conv2d(x, P[name + '.convIn.weight'], P[name + '.convIn.bias'], 1, 1)]
    for i in range(1, L):
        out.append(down(out[-1], '%s.blocks.%d' % (name, i - 1), i != L - 1))
    return out
def warp(f, theta, masks):
    n, c, h, w = f.shape
    k = theta.shape[1]
    g = F.affine_grid(theta.reshape(n * k, 2, 3), [n * k, c, h, w], align_corners=False)
    y = F.grid_sample(f.unsqueeze(1).expand(n, k, c, h, w).reshape(n * k, c, h, w), g, mode='nearest', padding_mode='zeros', align_corners=False)
    return (y.view(n, k, c, h, w) * F.interpolate(masks, size=(h, w), mode='nearest').unsqueeze(2)).amax(1)
def generator(img, pa, pb, theta, masks, L, two_stream):
    if two_stream:
        app = encoder(torch.cat([img, pa], 1), 'encoderApp', L)
        pose = encoder(pb, 'encoderPose', L)
        skips = [torch.cat([warp(a, theta, masks) if i < 4 else a, p], 1) for i, (a, p) in enumerate(zip(app, pose))]
    else:
        skips = encoder(torch.cat([img, pa, pb], 1), 'encoderApp', L)
    skips = skips[::-1]
    out = None
    for i, sk in enumerate(skips):
        if i == 0:
            out = up(sk, 'decoder.0')
        elif i == L - 1:
            out = F.conv2d(F.relu(torch.cat([out, sk], 1)), P['convOut.weight'], P['convOut.bias'], 1, 1)
        else:
            out = up(torch.cat([out, sk], 1), 'decoder.%d' % i)
    return torch.tanh(out)
def disc(a, pa, b, pb):
    h = F.conv2d(torch.cat([a, pa, b, pb], 1), P['convIn.weight'], P['convIn.bias'], 2)
    for i in range(4):
        h = down(h, 'blocks.%d' % i, i != 3)
    return h.flatten(1)
`;

for (const variant of ['baseline', 'dsc'] as const) {
  test(`Deformable GAN generator ('${variant}', eval mode) matches a PyTorch transcription of conditional_gan.py`, () => {
    torch.manualSeed(7);
    const cfg = defganDefaults('tiny').generator;
    const g = new DefGanGenerator({ ...cfg, variant }).eval();
    try {
      torch.scope(() => {
        // Norm scalars away from their (1, 0) initialisation, so a misplaced norm shows.
        torch.noGrad(() => { for (const [k, v] of g.stateDict()) if (k.includes('norm')) v.copy_(torch.randn(v.shape as number[]).mul(0.3).add(k.endsWith('weight') ? 1 : 0)); });
        const x = {
          image: torch.randn([2, 3, 64, 64]), poseA: torch.rand([2, 18, 64, 64]), poseB: torch.rand([2, 18, 64, 64]),
          affines: torch.eye(2, 3).view([1, 1, 2, 3]).add(torch.rand([2, 10, 2, 3]).sub(0.5).mul(0.4)),
          masks: torch.rand([2, 10, 64, 64]).gt(0.3).to('float32'),
        };
        const inputs: Record<string, torch.Tensor> = {
          img: x.image, pa: x.poseA, pb: x.poseB, theta: x.affines, masks: x.masks,
        };
        for (const [k, v] of g.stateDict()) inputs[k] = v.detach();
        const [res] = runOracle([{
          code: `${KERAS}\nwith torch.no_grad():\n    out = {'y': generator(P['img'], P['pa'], P['pb'], P['theta'], P['masks'], ${cfg.encoderChannels.length}, ${variant !== 'baseline' ? 'True' : 'False'})}`,
          inputs,
        }]);
        assertClose(torch.noGrad(() => g.forward(x)), fromWire(res!.y as WireTensor), `generator (${variant})`, { atol: 1e-4 });
      });
    } finally {
      g.dispose();
    }
  });
}

test("Deformable GAN conditional D matches a PyTorch transcription of make_discriminator('call')", () => {
  torch.manualSeed(8);
  const d = new DefGanDiscriminator(42, 8);
  try {
    torch.scope(() => {
      const a = torch.randn([2, 3, 64, 64]);
      const b = torch.randn([2, 3, 64, 64]);
      const pa = torch.rand([2, 18, 64, 64]);
      const pb = torch.rand([2, 18, 64, 64]);
      const inputs: Record<string, torch.Tensor> = { a, b, pa, pb };
      for (const [k, v] of d.stateDict()) inputs[k] = v.detach();
      const [res] = runOracle([{ code: `${KERAS}\nwith torch.no_grad():\n    out = {'y': disc(P['a'], P['pa'], P['b'], P['pb'])}`, inputs }]);
      assertClose(torch.noGrad(() => d.forward(a, pa, b, pb)), fromWire(res!.y as WireTensor), 'D patch logits', { atol: 1e-4 });
    });
  } finally {
    d.dispose();
  }
});
