// SSIM as scikit-image's `structural_similarity` computes it (skimage 0.19+, the version the oracle test runs), batched
// on tensors: the local moments of every image pair come from one depthwise separable convolution over a batch.
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
  if (options.dataRange !== 'generated-range' && !(options.dataRange > 0)) {
    throw new Error(`ssim: dataRange must be positive, got ${options.dataRange}`);
  }
  // skimage's NP = win_size ** ndim, per channel (ndim 2).
  const windowPixels = k * k;
  const covNorm = options.sampleCovariance ? windowPixels / (windowPixels - 1) : 1;
  return torch.scope(() => {
    // Everything runs in float32 on images centred on their own mean: the local variances subtract squares of the
    // local means, and centring keeps those squares small enough that float32 loses nothing at the 1e-4 level this
    // file is tested to. Four maps are filtered, not five: SSIM needs only vx + vy, so x^2 + y^2 is one map.
    // New tensors are costly on the engine (each allocation touches fresh pages), so the moments are written into
    // one buffer and the formula is evaluated in place on the filtered maps; only a1 gets its own buffer.
    const moments = torch.empty([n, 4 * c, h, w]);
    const xc = moments.narrow(1, 0, c).copy_(generated);
    const yc = moments.narrow(1, c, c).copy_(target);
    const mx = xc.mean([1, 2, 3], true);
    const my = yc.mean([1, 2, 3], true);
    xc.sub_(mx);
    yc.sub_(my);
    moments.narrow(1, 2 * c, c).copy_(xc).mul_(xc).addcmul_(yc, yc);
    moments.narrow(1, 3 * c, c).copy_(xc).mul_(yc);
    const groups = 4 * c;
    // Rows first: the engine's depthwise convolution is faster along rows, and the narrower result makes the
    // column pass cheaper.
    const kernel = torch.tensor(new Float32Array(taps), [1, 1, 1, k]);
    const filtered = torch.conv2d(
      torch.conv2d(moments, kernel.expand([groups, 1, 1, k]), null, 1, 0, 1, groups),
      kernel.view([1, 1, k, 1]).expand([groups, 1, k, 1]), null, 1, 0, 1, groups);
    const [ux, uy, sumSq, cross] = torch.chunk(filtered, 4, 1) as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
    let range: torch.Tensor | number;
    if (options.dataRange === 'generated-range') {
      const flat = generated.reshape([n, -1]);
      range = flat.amax([1]).to('float32').sub(flat.amin([1]).to('float32')).view([n, 1, 1, 1]);
    } else {
      range = options.dataRange;
    }
    const c1 = typeof range === 'number' ? (K1 * range) ** 2 : range.mul(K1).square();
    const c2 = typeof range === 'number' ? (K2 * range) ** 2 : range.mul(K2).square();
    // a2 = 2 cov(x, y) + c2 and b2 = var x + var y + c2, from the centred means.
    const a2 = cross.addcmul_(ux, uy, -1).mul_(2 * covNorm).add_(c2);
    const b2 = sumSq.addcmul_(ux, ux, -1).addcmul_(uy, uy, -1).mul_(covNorm).add_(c2);
    // The means proper: the shifts are added back.
    ux.add_(mx);
    uy.add_(my);
    const a1 = ux.mul(uy).mul_(2).add_(c1);
    const b1 = ux.mul_(ux).addcmul_(uy, uy).add_(c1);
    return a1.mul_(a2).div_(b1.mul_(b2)).mean([1, 2, 3]).to('float64');
  });
}
