// Pose tensors against independent Python references (python3-torch + numpy): Deformable GAN's heatmap formula,
// skimage-style morphology with its reflected border, and least-squares affines checked through F.affine_grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { assertClose, fromWire, runOracle, type WireTensor } from '../../helpers/oracle.js';
import { heatmaps } from '../../../src/pose/heatmaps.js';
import { closing } from '../../../src/pose/masks.js';
import { partAffines } from '../../../src/pose/parts.js';

const Y = [8, 23, 23, 43, 60, 23, 43, 60, 64, 92, 118, 65, 89, 108, 5, 6, 7, 8];
const X = [39, 37, 20, 12, 8, 53, 59, 53, 22, 24, 24, 43, 43, 45, 36, 42, 31, 47];

function poses(): torch.Tensor {
  const flat: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 18; j++) {
      const missing = (i === 1 && j % 5 === 0) || (i === 2 && j === 17);
      flat.push(missing ? -1 : Y[j]! + i * 3 + (j % 3), missing ? -1 : X[j]! - i * 2 + (j % 2));
    }
  }
  return torch.tensor(flat).view([3, 18, 2]);
}

test('heatmaps equal cords_to_map (per joint exp over the meshgrid, zeros when missing)', () => {
  torch.scope(() => {
    const kp = poses();
    const [res] = runOracle([{
      inputs: { kp },
      code: `
kp = inputs['kp'].numpy()
H, W, s = 128, 64, 6.0
res = np.zeros((kp.shape[0], 18, H, W), dtype=np.float32)
xx, yy = np.meshgrid(np.arange(W), np.arange(H))
for n in range(kp.shape[0]):
    for i, p in enumerate(kp[n]):
        if p[0] == -1 or p[1] == -1:
            continue
        res[n, i] = np.exp(-((yy - p[0]) ** 2 + (xx - p[1]) ** 2) / (2 * s ** 2))
out = {'hm': torch.from_numpy(res)}`,
    }]);
    assertClose(heatmaps(kp, [128, 64]), fromWire(res!.hm as WireTensor), 'heatmaps', { atol: 1e-6, rtol: 1e-5 });
  });
});

test('closing equals a 5x5 dilation then erosion with a reflected border (skimage\'s default)', () => {
  torch.scope(() => {
    torch.manualSeed(3);
    const m = torch.rand([2, 1, 20, 30]).gt(0.85).to('float32');
    const [res] = runOracle([{
      inputs: { m },
      code: `
x = inputs['m'].numpy()[:, 0]
def win(a, fn):
    p = np.pad(a, ((0, 0), (2, 2), (2, 2)), mode='symmetric')
    st = np.stack([p[:, i:i + a.shape[1], j:j + a.shape[2]] for i in range(5) for j in range(5)])
    return fn(st, axis=0)
out = {'c': torch.from_numpy(win(win(x, np.max), np.min)[:, None].copy())}`,
    }]);
    assertClose(closing(m), fromWire(res!.c as WireTensor), 'closing', { atol: 0, rtol: 0 });
  });
});

test('part affines: a torso that only translates is fitted exactly (as any fit does), and normalized theta drives affine_grid to it', () => {
  torch.scope(() => {
    const kp = poses();
    const src = kp.narrow(0, 0, 1).contiguous();
    const tgt = kp.narrow(0, 2, 1).contiguous();
    const pix = partAffines(src, tgt, [128, 64], { space: 'pixels' }).theta.select(1, 0); // (1,2,3) torso
    const nrm = partAffines(src, tgt, [128, 64]).theta.select(1, 0);
    const [res] = runOracle([{
      inputs: { src, tgt, nrm },
      code: `
s = inputs['src'].numpy()[0].astype(np.float64); t = inputs['tgt'].numpy()[0].astype(np.float64)
idx = [8, 11, 5, 2]  # r_hip, l_hip, l_shoulder, r_shoulder
A = np.stack([t[idx, 1], t[idx, 0], np.ones(4)], 1)
B = np.stack([s[idx, 1], s[idx, 0]], 1)
X, *_ = np.linalg.lstsq(A, B, rcond=None)
M = X.T
H, W = 128, 64
grid = F.affine_grid(inputs['nrm'].double(), [1, 1, H, W], align_corners=False)[0]  # (H, W, 2) normalized (x, y)
ys, xs = np.meshgrid(np.arange(H), np.arange(W), indexing='ij')
px = M[0, 0] * xs + M[0, 1] * ys + M[0, 2]
py = M[1, 0] * xs + M[1, 1] * ys + M[1, 2]
want = np.stack([(2 * px + 1) / W - 1, (2 * py + 1) / H - 1], -1)
out = {'M': torch.from_numpy(M[None].astype(np.float32)), 'gridErr': float(np.abs(grid.numpy() - want).max())}`,
    }]);
    assertClose(pix, fromWire(res!.M as WireTensor), 'torso affine (pixels)', { atol: 1e-3, rtol: 1e-4 });
    assert.ok((res!.gridErr as number) < 1e-4, `affine_grid of the normalized theta lands where the pixel fit says (max err ${res!.gridErr})`);
  });
});
