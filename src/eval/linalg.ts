// The linear algebra of FID: a symmetric positive semi-definite matrix square root and the Frechet distance of two
// Gaussians, in float64 on the engine's matmul.
//
// The official scripts (pytorch-fid's calculate_frechet_distance, copied by GFLA, PIDM and CFLD) take
// scipy.linalg.sqrtm(sigma1 @ sigma2), a Schur-form square root of a non-symmetric product, and keep its trace. The
// engine has no Schur or eigen decomposition, so the same trace comes from symmetric matrices only:
// sigma1 @ sigma2 is similar to S @ sigma2 @ S with S = sqrtm(sigma1) (multiply by S^-1 on the left and S on the
// right), so both have the same eigenvalues and tr sqrtm(sigma1 @ sigma2) = tr sqrtm(S @ sigma2 @ S). Each square
// root is the coupled Newton-Schulz iteration (Higham, "Functions of Matrices", 6.3), matmuls only.
import * as torch from '../torch/index.js';

export interface SqrtmOptions {
  /** Stop when ||Y Y - A||_F <= tolerance * ||A||_F and the trace of Y has stopped changing. Default 1e-10. */
  tolerance?: number;
  /** Give up (with an error) after this many iterations. Default 100. */
  maxIterations?: number;
}

/**
 * The principal square root of a symmetric positive semi-definite matrix (a covariance), as scipy.linalg.sqrtm gives
 * for such a matrix. Newton-Schulz converges when the spectrum of A/||A||_F lies in (0, 1], which holds for every
 * PSD matrix; zero eigenvalues stay zero, and tiny ones converge last (see the loop).
 *
 * @param a (D,D) symmetric PSD, any float dtype
 * @returns (D,D) float64; the caller owns it
 */
export function sqrtmPsd(a: torch.Tensor, options: SqrtmOptions = {}): torch.Tensor {
  if (a.ndim !== 2 || a.shape[0] !== a.shape[1]) throw new Error(`sqrtmPsd: expected a square (D,D) matrix, got shape [${a.shape}]`);
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 100;
  const d = a.shape[0] as number;
  return torch.scope(() => {
    const a64 = a.to('float64');
    const scale = a64.norm().item();
    if (scale === 0) return torch.zeros([d, d], 'float64');
    if (!Number.isFinite(scale)) throw new Error('sqrtmPsd: the matrix holds NaN or infinite values; check the features it came from');
    const eye = torch.eye(d, null, 'float64');
    let y = a64.div(scale);
    let z = eye.clone();
    let trace = torch.diag(y).sum().item();
    let lastChange = Infinity;
    for (let i = 0; ; i++) {
      if (i === maxIterations) {
        throw new Error(`sqrtmPsd: Newton-Schulz did not converge in ${maxIterations} iterations; ` +
          'is the matrix symmetric positive semi-definite (a covariance)?');
      }
      const next = torch.scope(() => {
        const t = eye.mul(3).sub(torch.mm(z, y)).mul(0.5);
        return [torch.mm(y, t), torch.mm(t, z)];
      }) as [torch.Tensor, torch.Tensor];
      torch.dispose([y, z]);
      [y, z] = next;
      // The residual is ruled by the large eigenvalues and is small before the small ones (which grow by half each
      // step until they converge) are done, yet each of those adds sqrt(lambda) to the trace FID needs; so the loop
      // also waits for the trace to settle. Eigenvalues that rounding made slightly negative (a singular
      // covariance) diverge slowly from ~1e-16: once the residual is small, a trace step larger than the one before
      // is that divergence starting, and the loop stops there.
      const previous = trace;
      trace = torch.diag(y).sum().item();
      const change = Math.abs(trace - previous);
      const residual = torch.scope(() => torch.mm(y, y).sub(a64.div(scale)).norm().item());
      if (residual <= tolerance && (change <= 1e-14 * Math.abs(trace) || change >= lastChange)) break;
      lastChange = change;
    }
    return y.mul(Math.sqrt(scale));
  });
}

/** Mean and covariance of a set of feature vectors, as np.mean(axis=0) and np.cov(rowvar=False). */
export interface GaussianStats {
  /** (D) float64 */
  mu: torch.Tensor;
  /** (D,D) float64, unbiased (divides by N - 1) */
  sigma: torch.Tensor;
}

/**
 * @param features (N,D), N >= 2
 * @returns float64 statistics; the caller owns both tensors
 */
export function gaussianStats(features: torch.Tensor): GaussianStats {
  if (features.ndim !== 2 || (features.shape[0] as number) < 2) {
    throw new Error(`gaussianStats: expected (N,D) features with N >= 2, got shape [${features.shape}]; FID needs at least two images`);
  }
  return torch.scope(() => {
    const f = features.to('float64');
    const mu = f.mean([0]);
    const centred = f.sub(mu);
    const sigma = torch.mm(centred.transpose(0, 1), centred).div((f.shape[0] as number) - 1);
    return { mu, sigma };
  });
}

/**
 * The Frechet distance of two Gaussians: ||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), as
 * pytorch-fid's calculate_frechet_distance (see the file comment for how the trace is taken).
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats, options: SqrtmOptions = {}): number {
  if (a.mu.shape.join(',') !== b.mu.shape.join(',') || a.sigma.shape.join(',') !== b.sigma.shape.join(',')) {
    throw new Error(`frechetDistance: statistics of different sizes: mu [${a.mu.shape}] vs [${b.mu.shape}], sigma [${a.sigma.shape}] vs [${b.sigma.shape}]`);
  }
  return torch.scope(() => {
    const s1 = a.sigma.to('float64');
    const s2 = b.sigma.to('float64');
    const root1 = sqrtmPsd(s1, options);
    const inner = torch.mm(torch.mm(root1, s2), root1);
    // Symmetrise: rounding makes S s2 S very slightly asymmetric, which Newton-Schulz would carry along.
    const symmetric = inner.add(inner.transpose(0, 1)).mul(0.5);
    const trCovmean = torch.diag(sqrtmPsd(symmetric, options)).sum().item();
    const diff = a.mu.to('float64').sub(b.mu.to('float64'));
    return diff.dot(diff).item() + torch.diag(s1).sum().item() + torch.diag(s2).sum().item() - 2 * trCovmean;
  });
}
