// GFLA's losses (official model/networks/external_function.py, model/pose_model.py, model/poseflownet_model.py):
// - sampling correctness: per attention layer, the source's VGG19 features warped by the flow (resample2d, Gaussian
//   4x4, sigma 2) against the target's, as mean(exp(−cos(warped, target) / max_src cos(source, target))) − e⁻¹;
// - affine regularisation: the squared residual of a least-squares affine fit of the sampling grid in every n x n
//   window, summed over x and y;
// - L1, LSGAN, and the VGG19 content (L1 at relu{1..5}_1) and style (L1 of Gram matrices at relu2_2, relu3_4,
//   relu4_4, relu5_2) losses.
// The released VGG19 is torchvision's, fed the generator's [-1, 1] images without ImageNet normalisation
// (external_function.VGG19 has no normalisation step); `vggInput: 'raw'` does the same, 'imagenet' normalises.
import * as torch from '../../torch/index.js';
import { interpolate } from '../../torch/functional.js';
import { vgg19TapIndex, type Vgg19Features } from '../layers/vgg.js';
import { flowToGrid, resample2d } from './ops.js';

type Tensor = torch.Tensor;

export type VggInput = 'raw' | 'imagenet';

const POOL_INDICES = new Set(['pool1', 'pool2', 'pool3', 'pool4', 'pool5'].map((p) => vgg19TapIndex(p)));

/**
 * VGG19 features of images (N, 3, H, W) at `taps`, by name. 'raw' runs the network on the images as they are (the
 * released GFLA code); 'imagenet' applies torchvision's normalisation first (Vgg19Features.forward).
 */
export function vggFeatures(vgg: Vgg19Features, x: Tensor, taps: readonly string[], input: VggInput): Map<string, Tensor> {
  if (input !== 'raw' && input !== 'imagenet') throw new Error(`gfla: loss.vggInput must be 'raw' or 'imagenet', got '${String(input)}'`);
  return torch.scope(() => {
    const out = new Map<string, Tensor>();
    if (input === 'imagenet') {
      const feats = vgg.forward(x, taps);
      taps.forEach((t, i) => out.set(t, feats[i] as Tensor));
      return out;
    }
    const wanted = new Map(taps.map((t) => [vgg19TapIndex(t), t]));
    const deepest = Math.max(...wanted.keys());
    if (deepest > vgg.lastIndex) throw new Error(`gfla: VGG19 tap '${wanted.get(deepest)}' is deeper than the built network; add it to loss.vgg.layers`);
    let h = x;
    for (let i = 0; i <= deepest; i++) {
      const conv = vgg.features.convs.get(i);
      if (conv) h = conv.forward(h);
      else if (POOL_INDICES.has(i)) h = torch.maxPool2d(h, 2, 2);
      else h = h.relu();
      const name = wanted.get(i);
      if (name !== undefined) out.set(name, h);
    }
    return out;
  });
}

/** The VGG taps the content and style losses read. */
export const CONTENT_TAPS = ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'] as const;
export const STYLE_TAPS = ['relu2_2', 'relu3_4', 'relu4_4', 'relu5_2'] as const;

/** Gram matrix of features (N, C, H, W): F Fᵀ / (C·H·W), (N, C, C). */
export function gram(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return torch.scope(() => {
    const f = x.reshape([n, c, h * w]);
    return torch.bmm(f, f.transpose(1, 2)).div(c * h * w);
  });
}

/**
 * Content (Σ L1 at the content taps, official relu{1..5}_1) and style (Σ L1 of Gram matrices at the style taps, official
 * relu2_2, relu3_4, relu4_4, relu5_2) between the generated and the real image's features (as vggFeatures returns
 * them; the real ones need no gradient).
 */
export function contentStyle(
  fake: Map<string, Tensor>, real: Map<string, Tensor>,
  taps: { content: readonly string[]; style: readonly string[] } = { content: CONTENT_TAPS, style: STYLE_TAPS },
): { content: Tensor; style: Tensor } {
  return torch.scope(() => {
    const pick = (m: Map<string, Tensor>, t: string): Tensor => {
      const v = m.get(t);
      if (!v) throw new Error(`gfla: VGG19 tap '${t}' was not computed; loss.vgg.layers must include it`);
      return v;
    };
    const content = taps.content.map((t) => torch.l1Loss(pick(fake, t), pick(real, t).detach())).reduce((a, b) => a.add(b));
    const style = taps.style.map((t) => torch.l1Loss(gram(pick(fake, t)), gram(pick(real, t)).detach())).reduce((a, b) => a.add(b));
    return { content, style };
  });
}

/**
 * The sampling-correctness loss of one attention layer. target, source: VGG features (N, C, h, w) of the real
 * target and the source image; flow (N, 2, h', w'), resized to (h, w) nearest (its values are not rescaled, as the
 * released code). For each target position: the cosine between the flow-warped source features and the target's,
 * over the best cosine any source position reaches; loss = mean(exp(−ratio)) − e⁻¹ (0 when every warp is the best
 * match).
 */
export function correctnessLoss(target: Tensor, source: Tensor, flow: Tensor, options: { kernelSize?: number; sigma?: number } = {}): Tensor {
  const eps = 1e-8;
  const [n, c, h, w] = target.shape as [number, number, number, number];
  return torch.scope(() => {
    const f = flow.shape[2] === h && flow.shape[3] === w ? flow : interpolate(flow, { size: [h, w], mode: 'nearest' });
    const t = target.reshape([n, c, h * w]);
    const s = source.reshape([n, c, h * w]);
    const sNorm = s.div(s.norm(2, [1], true).add(eps)).transpose(1, 2);
    const tNorm = t.div(t.norm(2, [1], true).add(eps));
    // (N, source positions, target positions): for each target position the best source match.
    const best = torch.bmm(sNorm, tNorm).amax([1]);
    const warped = resample2d(source, f, { kernelSize: options.kernelSize ?? 4, sigma: options.sigma ?? 2 }).reshape([n, c, h * w]);
    // F.cosine_similarity over channels: x·y / sqrt(max(|x|²·|y|², eps²)).
    const dotp = warped.mul(t).sum([1]);
    const norms = warped.square().sum([1]).mul(t.square().sum([1])).clamp(eps * eps).sqrt();
    const cos = dotp.div(norms);
    return cos.div(best.add(eps)).neg().exp().mean().sub(Math.exp(-1));
  });
}

/** K = A (AᵀA)⁻¹ Aᵀ − I for A = [row, column, 1] of an n x n window (row-major): K g is the affine fit's residual. */
function affineResidualMatrix(n: number): number[][] {
  const m = n * n;
  const A = Array.from({ length: m }, (_, p) => [Math.floor(p / n), p % n, 1]);
  const ata = [0, 1, 2].map((i) => [0, 1, 2].map((j) => A.reduce((s, r) => s + (r[i] as number) * (r[j] as number), 0)));
  const inv = invert3(ata);
  return A.map((ri, p) => A.map((rj, q) => {
    let v = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) v += (ri[i] as number) * (inv[i]?.[j] as number) * (rj[j] as number);
    return v - (p === q ? 1 : 0);
  }));
}

function invert3(a: number[][]): number[][] {
  const g = (i: number, j: number): number => a[i]?.[j] as number;
  const det = g(0, 0) * (g(1, 1) * g(2, 2) - g(1, 2) * g(2, 1)) - g(0, 1) * (g(1, 0) * g(2, 2) - g(1, 2) * g(2, 0)) + g(0, 2) * (g(1, 0) * g(2, 1) - g(1, 1) * g(2, 0));
  const cof = (i: number, j: number): number => {
    const r = [0, 1, 2].filter((x) => x !== i);
    const c = [0, 1, 2].filter((x) => x !== j);
    const minor = g(r[0] as number, c[0] as number) * g(r[1] as number, c[1] as number) - g(r[0] as number, c[1] as number) * g(r[1] as number, c[0] as number);
    return ((i + j) % 2 === 0 ? 1 : -1) * minor;
  };
  return [0, 1, 2].map((i) => [0, 1, 2].map((j) => cof(j, i) / det));
}

/**
 * Affine regularisation of one flow (N, 2, h, w) with n x n windows: over every window (no padding) of the sampling
 * grid (flow plus coordinates), the squared residual ‖K g‖² of the least-squares affine fit, averaged over windows and
 * batch, summed over the x and y components. Zero exactly when the flow is affine in every window.
 */
export function affineRegularization(flow: Tensor, windowSize: number): Tensor {
  const n = windowSize;
  if (!Number.isInteger(n) || n < 2) throw new Error(`gfla: the affine regularisation window must be an integer >= 2, got ${n}`);
  const [, , h, w] = flow.shape as [number, number, number, number];
  if (h < n || w < n) throw new Error(`gfla: a ${h}x${w} flow is smaller than the ${n}x${n} regularisation window; use larger images or fewer layers`);
  return torch.scope(() => {
    const k = torch.tensor(Float64Array.from(affineResidualMatrix(n).flat()), [n * n, n * n]).to(flow.dtype);
    const kd = flow.device === 'cpu' ? k : k.toDevice(flow.device);
    const grid = flowToGrid(flow);
    let total: Tensor | null = null;
    for (const comp of [0, 1]) {
      const patches = torch.unfold(grid.narrow(1, comp, 1), [n, n]);
      const residual = torch.matmul(kd, patches);
      const term = residual.square().sum([1]).mean();
      total = total ? total.add(term) : term;
    }
    return total as Tensor;
  });
}

/** LSGAN: mean((scores − target)²) with target 1 (real) or 0 (fake), the official --gan_mode lsgan. */
export function lsganLoss(scores: Tensor, real: boolean): Tensor {
  return torch.scope(() => torch.mseLoss(scores, torch.fullLike(scores, real ? 1 : 0)));
}
