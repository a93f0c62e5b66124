// Deformable GAN's method-specific pieces against PyTorch: the deformable skip (tile, affine_grid, grid_sample,
// nearest-resized masks, max over parts) and the nearest-neighbour loss written the way the official Keras nn_loss
// computes it (pad the real features with -10000, stack all n*n shifts, L1 over channels, min over shifts, mean).
import { test } from 'node:test';
import * as torch from '../../../src/torch/index.js';
import { deformableSkip, nearestNeighbourLoss } from '../../../src/models/defgan/index.js';
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
