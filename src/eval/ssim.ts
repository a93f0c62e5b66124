// SSIM as scikit-image's `structural_similarity` computes it (skimage 0.19+, the version the oracle test runs), batched
// on tensors: the five local moments of every image pair come from one depthwise separable convolution.
//
// skimage filters the whole image with 'reflect' borders and then crops (win_size - 1) / 2 pixels from every side
// before averaging. Its window's radius equals that crop (Gaussian: int(3.5 * sigma + 0.5) taps either side, the
// same radius scipy's filter uses), so no kept pixel ever reads a border value and a 'valid' convolution gives the
// same numbers without any padding.
import * as torch from '../torch/index.js';

/** The local window: skimage's `gaussian_weights=True, sigma` (truncate 3.5) or its default uniform window. */
export type SsimWindow = { kind: 'gaussian'; sigma: number } | { kind: 'uniform'; size: number };

export interface SsimOptions {
  window: SsimWindow;
  /** skimage's `use_sample_covariance` (its default is true; PATN and ssim_256 pass false). */
  sampleCovariance: boolean;
  /**
   * skimage's `data_range`: a number, or 'generated-range' for the PATN/Deformable-GAN setting
   * `data_range = generated.max() - generated.min()`, taken per image over all its channels.
   */
  dataRange: number | 'generated-range';
}

const K1 = 0.01;
const K2 = 0.03;

/** The 1-d taps of a window, float64, summing to 1 (scipy normalises its Gaussian the same way). */
export function windowTaps(window: SsimWindow): Float64Array {
  if (window.kind === 'uniform') {
    if (!Number.isInteger(window.size) || window.size < 1 || window.size % 2 !== 1) {
      throw new Error(`ssim: a uniform window needs an odd positive size, got ${window.size}`);
    }
    return new Float64Array(window.size).fill(1 / window.size);
  }
  if (!(window.sigma > 0)) throw new Error(`ssim: a Gaussian window needs sigma > 0, got ${window.sigma}`);
  const radius = Math.trunc(3.5 * window.sigma + 0.5);
  const taps = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-0.5 * (i * i) / (window.sigma * window.sigma));
    taps[i + radius] = w;
    total += w;
  }
  return taps.map((w) => w / total);
}

/**
 * Mean SSIM of each image pair, averaged over channels (skimage's multichannel / channel_axis mean).
 *
 * @param generated (N,C,H,W) in the protocol's scale (0..255 for uint8-based settings, 0..1 for the GFLA one); any dtype
 * @param target (N,C,H,W), same shape
 * @returns (N) float64 SSIM per pair; the caller owns it
 */
export function ssim(generated: torch.Tensor, target: torch.Tensor, options: SsimOptions): torch.Tensor {
  if (generated.ndim !== 4 || generated.shape.join(',') !== target.shape.join(',')) {
    throw new Error(`ssim: expected two (N,C,H,W) tensors of one shape, got [${generated.shape}] and [${target.shape}]`);
  }
  const [n, c, h, w] = generated.shape as [number, number, number, number];
  const taps = windowTaps(options.window);
  const k = taps.length;
  if (h < k || w < k) {
    throw new Error(`ssim: the ${k}x${k} window does not fit ${h}x${w} images; use images at least ${k} pixels on each side`);
  }
  return torch.scope(() => {
    // Filtering runs in float32, where the engine's depthwise convolution is fast, on images centred on their own
    // mean: the local variances subtract squares of the local means, and centring keeps those squares small enough
    // that float32 sums lose nothing at the 1e-4 level this file is tested to. The shifts are added back in float64.
    const x = generated.to('float32');
    const y = target.to('float32');
    const mx = x.mean([1, 2, 3], true);
    const my = y.mean([1, 2, 3], true);
    const xc = x.sub(mx);
    const yc = y.sub(my);
    const moments = torch.cat([xc, yc, xc.mul(xc), yc.mul(yc), xc.mul(yc)], 1);
    const groups = 5 * c;
    const kernel = torch.tensor(new Float32Array(taps), [1, 1, k, 1]);
    const filtered = torch.conv2d(
      torch.conv2d(moments, kernel.expand([groups, 1, k, 1]), null, 1, 0, 1, groups),
      kernel.view([1, 1, 1, k]).expand([groups, 1, 1, k]), null, 1, 0, 1, groups).to('float64');
    const [uxc, uyc, uxx, uyy, uxy] = torch.chunk(filtered, 5, 1) as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
    const ux = uxc.add(mx.to('float64'));
    const uy = uyc.add(my.to('float64'));
    // skimage's NP = win_size ** ndim, per channel (ndim 2).
    const windowPixels = k * k;
    const covNorm = options.sampleCovariance ? windowPixels / (windowPixels - 1) : 1;
    const vx = uxx.sub(uxc.mul(uxc)).mul(covNorm);
    const vy = uyy.sub(uyc.mul(uyc)).mul(covNorm);
    const vxy = uxy.sub(uxc.mul(uyc)).mul(covNorm);
    let range: torch.Tensor;
    if (options.dataRange === 'generated-range') {
      const flat = x.view([n, -1]);
      range = flat.amax([1]).sub(flat.amin([1])).view([n, 1, 1, 1]).to('float64');
    } else {
      if (!(options.dataRange > 0)) throw new Error(`ssim: dataRange must be positive, got ${options.dataRange}`);
      range = torch.full([n, 1, 1, 1], options.dataRange, 'float64');
    }
    const c1 = range.mul(K1).square();
    const c2 = range.mul(K2).square();
    const a1 = ux.mul(uy).mul(2).add(c1);
    const a2 = vxy.mul(2).add(c2);
    const b1 = ux.square().add(uy.square()).add(c1);
    const b2 = vx.add(vy).add(c2);
    return a1.mul(a2).div(b1.mul(b2)).mean([1, 2, 3]);
  });
}
