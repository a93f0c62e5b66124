// FID's linear algebra against numpy/scipy: np.cov, scipy.linalg.sqrtm and pytorch-fid's calculate_frechet_distance
// (the function GFLA, PIDM and CFLD copy), on random covariance matrices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { assertClose, fromWire, runOracle, seedRandomInputs, type WireTensor } from '../../helpers/oracle.js';
import { frechetDistance, gaussianStats, sqrtmPsd } from '../../../src/eval/linalg.js';

seedRandomInputs();

/** Features with unequal spreads per dimension and correlations, so the covariance is far from a multiple of I. */
function features(n: number, d: number, shift: number): torch.Tensor {
  return torch.scope(() => {
    const mix = torch.randn([d, d], 'float64').mul(0.3).add(torch.eye(d, null, 'float64'));
    const spread = torch.linspace(0.1, 3, d, 'float64');
    return torch.mm(torch.randn([n, d], 'float64').mul(spread), mix).add(shift);
  });
}

const FRECHET = `
from scipy import linalg
def calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))
`;

test('gaussianStats equals np.mean / np.cov(rowvar=False); sqrtmPsd equals scipy.linalg.sqrtm', () => {
  torch.scope(() => {
    const f = features(300, 48, 0.5);
    const { mu, sigma } = gaussianStats(f);
    const root = sqrtmPsd(sigma);
    const [res] = runOracle([{
      inputs: { f },
      code: `
from scipy import linalg
x = inputs['f'].numpy()
s = np.cov(x, rowvar=False)
out = {'mu': torch.from_numpy(np.mean(x, axis=0)), 'sigma': torch.from_numpy(s), 'root': torch.from_numpy(np.real(linalg.sqrtm(s)))}`,
    }]);
    assertClose(mu, fromWire(res!.mu as WireTensor), 'mean', { atol: 1e-12, rtol: 1e-10 });
    assertClose(sigma, fromWire(res!.sigma as WireTensor), 'covariance', { atol: 1e-12, rtol: 1e-10 });
    assertClose(root, fromWire(res!.root as WireTensor), 'sqrtm', { atol: 1e-9, rtol: 1e-7 });
  });
});

test('frechetDistance equals pytorch-fid\'s calculate_frechet_distance (full-rank and rank-deficient covariances)', () => {
  torch.manualSeed(17);
  torch.scope(() => {
    // [n1, n2, d]: more samples than dimensions, and fewer (singular covariances, as FID on a small test set).
    const shapes: [number, number, number][] = [[400, 300, 40], [30, 25, 40]];
    for (const [n1, n2, d] of shapes) {
      const a = gaussianStats(features(n1, d, 0));
      const b = gaussianStats(features(n2, d, 0.3));
      const ours = frechetDistance(a, b);
      const [res] = runOracle([{
        inputs: { mu1: a.mu, s1: a.sigma, mu2: b.mu, s2: b.sigma },
        code: `${FRECHET}
i = {k: v.numpy() for k, v in inputs.items()}
# The same distance through symmetric eigendecompositions only: tr sqrtm(s1 s2) = sum sqrt(eig(S s2 S)), S = s1^(1/2).
w, v = np.linalg.eigh(i['s1'])
S = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
m = S @ i['s2'] @ S
ev = np.linalg.eigvalsh((m + m.T) / 2)
diff = i['mu1'] - i['mu2']
exact = float(diff.dot(diff) + np.trace(i['s1']) + np.trace(i['s2']) - 2 * np.sum(np.sqrt(np.clip(ev, 0, None))))
out = {'fd': calculate_frechet_distance(i['mu1'], i['s1'], i['mu2'], i['s2']), 'exact': exact}`,
      }]);
      const expected = res!.fd as number;
      const exact = res!.exact as number;
      // Ours (Newton-Schulz, ~1e-7 relative) is held to the eigendecomposition reference; scipy's Schur sqrtm of the
      // non-symmetric product loses a few more digits (seen up to 1.8e-6 relative), so pytorch-fid's value gets a
      // looser bound.
      assert.ok(Math.abs(ours - exact) <= 1e-6 * Math.abs(exact) + 1e-8,
        `Frechet distance for ${n1}/${n2} samples in ${d} dimensions: ours ${ours}, eigendecomposition ${exact}`);
      assert.ok(Math.abs(ours - expected) <= 1e-5 * Math.abs(expected) + 1e-8,
        `Frechet distance for ${n1}/${n2} samples in ${d} dimensions: ours ${ours}, pytorch-fid ${expected}`);
      // Distinct sets are far apart; the same set is at distance 0.
      assert.ok(expected > 1, `the two sets should differ (distance ${expected})`);
      assert.ok(Math.abs(frechetDistance(a, a)) < 1e-5 * expected, 'a set is at distance 0 from itself (to the square root\'s accuracy)');
    }
  });
});

test('sqrtmPsd refuses a matrix that is not square', () => {
  torch.scope(() => {
    assert.throws(() => sqrtmPsd(torch.zeros([3, 4])), /square \(D,D\) matrix, got shape \[3,4\]/);
  });
});
