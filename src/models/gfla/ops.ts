// GFLA's three CUDA extensions (RenYurui/Global-Flow-Local-Attention: model/networks/block_extractor,
// local_attn_reshape, resample2d_package) rebuilt from engine ops (gather, floor, clamp, views), so the same code runs
// on CPU and CUDA and autograd supplies the backward passes. Conventions shared by all three, as in the .cu files:
// a flow field (N, 2, h, w) holds per target position the offset (channel 0: x, channel 1: y) in source pixels to add
// to the target's own coordinates, and every tap that falls outside the source is clamped to the nearest border pixel
// (never zero-padded).
import * as torch from '../../torch/index.js';

type Tensor = torch.Tensor;

function expect4d(op: string, name: string, t: Tensor, channels?: number): void {
  if (t.ndim !== 4 || (channels !== undefined && t.shape[1] !== channels)) {
    const want = channels === undefined ? '(N,C,H,W)' : `(N,${channels},H,W)`;
    throw new Error(`${op}: ${name} must be ${want}, got [${t.shape.join(',')}]`);
  }
}

function expectKernel(op: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${op}: kernelSize must be a positive integer, got ${k}`);
}

/**
 * Values of `source` (N, C, H, W) at integer taps: `index` (N, P) holds y * W + x of taps already clamped into the
 * image. Returns (N, C, P); the gradient flows to `source` (scatter-add), none to the indices.
 */
function gatherTaps(sourceFlat: Tensor, index: Tensor): Tensor {
  const [n, c] = sourceFlat.shape as [number, number, number];
  return sourceFlat.gather(2, index.unsqueeze(1).expand([n, c, index.shape[1] as number]));
}

/** floor(v) as int64 clamped into [0, size-1]: the .cu files' max(min(int(floor(v)) + shift, size-1), 0). */
function clampedIndex(floorV: Tensor, shift: number, size: number): Tensor {
  return floorV.add(shift).clamp(0, size - 1).to('int64');
}

/**
 * The block extractor: for every target position (y, x) of `flow` (N, 2, h, w) and every offset (i, j) of a k x k
 * window (i, j in [-floor(k/2), k-1-floor(k/2)]), the source (N, C, H, W) sampled bilinearly at
 * (y + flow_y + i, x + flow_x + j), taps clamped to the image. Returns the blocks laid side by side, (N, C, h·k, w·k):
 * output[.., y·k + i + floor(k/2), x·k + j + floor(k/2)]. Differentiable in source and flow.
 */
export function blockExtractor(source: Tensor, flow: Tensor, kernelSize: number): Tensor {
  const op = 'gfla.blockExtractor';
  expect4d(op, 'source', source);
  expect4d(op, 'flow', flow, 2);
  expectKernel(op, kernelSize);
  if (flow.shape[0] !== source.shape[0]) throw new Error(`${op}: source has batch ${source.shape[0]} but flow has ${flow.shape[0]}; give one flow per source`);
  if (flow.dtype !== source.dtype) throw new Error(`${op}: source is ${source.dtype} but flow is ${flow.dtype}; cast one of them`);
  const [n, c] = source.shape as [number, number, number, number];
  const [, , h, w] = flow.shape as [number, number, number, number];
  const k = kernelSize;
  return torch.scope(() => {
    const dt = flow.dtype;
    const dev = flow.device;
    // Each output pixel's own target position plus its window offset: floor(Y/k) + Y%k - floor(k/2).
    const base = (size: number): Tensor => {
      const pos = torch.arange(0, size * k, 1, 'int64', dev);
      return pos.div(k, 'floor').add(pos.remainder(k)).sub(Math.floor(k / 2)).to(dt);
    };
    // Every output pixel of a block reads its block's flow vector.
    const up = flow.unsqueeze(3).unsqueeze(5).expand([n, 2, h, k, w, k]).reshape([n, 2, h * k, w * k]);
    const dx = up.select(1, 0).add(base(w).view([1, 1, w * k]));
    const dy = up.select(1, 1).add(base(h).view([1, h * k, 1]));
    return bilinearClamped(source, dy, dx).view([n, c, h * k, w * k]);
  });
}

/**
 * Bilinear samples of source (N, C, H, W) at real coordinates dy, dx (N, ...): the four taps floor/floor+1 in each
 * direction, each clamped into the image, weighted by 1 - frac and frac. Returns (N, C, P), P the positions in dy.
 */
function bilinearClamped(source: Tensor, dy: Tensor, dx: Tensor): Tensor {
  const [n, c, hs, ws] = source.shape as [number, number, number, number];
  const flat = source.reshape([n, c, hs * ws]);
  const fy = dy.reshape([n, -1]);
  const fx = dx.reshape([n, -1]);
  const y0 = fy.floor();
  const x0 = fx.floor();
  const wy1 = fy.sub(y0).unsqueeze(1);
  const wx1 = fx.sub(x0).unsqueeze(1);
  const wy0 = wy1.rsub(1);
  const wx0 = wx1.rsub(1);
  const yT = clampedIndex(y0, 0, hs).mul(ws);
  const yB = clampedIndex(y0, 1, hs).mul(ws);
  const xL = clampedIndex(x0, 0, ws);
  const xR = clampedIndex(x0, 1, ws);
  return gatherTaps(flat, yT.add(xL)).mul(wx0.mul(wy0))
    .add(gatherTaps(flat, yT.add(xR)).mul(wx1.mul(wy0)))
    .add(gatherTaps(flat, yB.add(xL)).mul(wx0.mul(wy1)))
    .add(gatherTaps(flat, yB.add(xR)).mul(wx1.mul(wy1)));
}

/**
 * Bilinear warping of source (N, C, H, W) by flow (N, 2, h, w): output (N, C, h, w) at (y, x) samples the source at
 * (y + flow_y, x + flow_x), taps clamped to the image. The block extractor with a 1 x 1 window.
 */
export function bilinearWarp(source: Tensor, flow: Tensor): Tensor {
  return blockExtractor(source, flow, 1);
}

/**
 * The local-attention reshape: per-position kernel coefficients (N, k², h, w) laid out as k x k blocks,
 * (N, 1, h·k, w·k), so that coefficient c = i·k + j multiplies the block extractor's tap (i, j) of position (y, x).
 */
export function localAttnReshape(coefficients: Tensor, kernelSize: number): Tensor {
  const op = 'gfla.localAttnReshape';
  expect4d(op, 'coefficients', coefficients, kernelSize * kernelSize);
  expectKernel(op, kernelSize);
  const [n, , h, w] = coefficients.shape as [number, number, number, number];
  const k = kernelSize;
  return torch.scope(() => coefficients.reshape([n, k, k, h, w]).permute([0, 3, 1, 4, 2]).reshape([n, 1, h * k, w * k]));
}

/**
 * Content-aware sampling: the k x k source blocks (N, C, h·k, w·k) weighted by their coefficients (N, k², h, w) and
 * averaged per block, (N, C, h, w). The released code averages (avg_pool2d over the block) where the paper writes a
 * weighted sum: the result is the paper's divided by k².
 */
export function contentAwareSample(blocks: Tensor, coefficients: Tensor, kernelSize: number): Tensor {
  return torch.scope(() => torch.avgPool2d(localAttnReshape(coefficients, kernelSize).mul(blocks), [kernelSize, kernelSize], [kernelSize, kernelSize]));
}

/** target·(1 − mask) + attended·mask: the occlusion-mask blend; mask (N, 1, h, w) in [0, 1], features (N, C, h, w). */
export function occlusionBlend(target: Tensor, attended: Tensor, mask: Tensor): Tensor {
  return torch.scope(() => target.add(attended.sub(target).mul(mask)));
}

export interface Resample2dOptions {
  /** Window size; kernelSize/2 taps on each side of the sample point in each direction. Default 4 (the correctness loss). */
  kernelSize?: number;
  /** Std of the Gaussian tap weights in pixels. Default 2 (the correctness loss). */
  sigma?: number;
  /** Spacing between taps. Default 1. */
  dilation?: number;
}

/**
 * The resample2d extension: source (N, C, H, W) resampled at (y + flow_y, x + flow_x) for every position of flow
 * (N, 2, h, w) by a Gaussian-weighted average of the kernelSize x kernelSize pixels around the sample point
 * (rows floor(y') - t·dilation and floor(y') + (t+1)·dilation, t < kernelSize/2, likewise columns), each weighted
 * by exp(-d²/(2σ²)) of its distance d along each axis and the sum normalised by the weights' sum. Taps are clamped to
 * the image; the weights are those of the unclamped taps. Returns (N, C, h, w).
 */
export function resample2d(source: Tensor, flow: Tensor, options: Resample2dOptions = {}): Tensor {
  const op = 'gfla.resample2d';
  const k = options.kernelSize ?? 4;
  const sigma = options.sigma ?? 2;
  const dilation = options.dilation ?? 1;
  expect4d(op, 'source', source);
  expect4d(op, 'flow', flow, 2);
  if (!Number.isInteger(k) || k < 2 || k % 2 !== 0) throw new Error(`${op}: kernelSize must be an even integer >= 2 (kernelSize/2 taps each side), got ${k}`);
  if (!(sigma > 0)) throw new Error(`${op}: sigma must be > 0, got ${sigma}`);
  if (!Number.isInteger(dilation) || dilation < 1) throw new Error(`${op}: dilation must be a positive integer, got ${dilation}`);
  if (flow.shape[0] !== source.shape[0]) throw new Error(`${op}: source has batch ${source.shape[0]} but flow has ${flow.shape[0]}`);
  const [n, c, hs, ws] = source.shape as [number, number, number, number];
  const [, , h, w] = flow.shape as [number, number, number, number];
  return torch.scope(() => {
    const dt = flow.dtype;
    const dev = flow.device;
    const flat = source.reshape([n, c, hs * ws]);
    const gx = torch.arange(0, w, 1, dt, dev).view([1, 1, w]);
    const gy = torch.arange(0, h, 1, dt, dev).view([1, h, 1]);
    const xf = flow.select(1, 0).add(gx).reshape([n, h * w]);
    const yf = flow.select(1, 1).add(gy).reshape([n, h * w]);
    const x0 = xf.floor();
    const y0 = yf.floor();
    const alpha = xf.sub(x0);
    const beta = yf.sub(y0);
    const gauss = (d: Tensor): Tensor => d.square().div(-2 * sigma * sigma).exp();
    // Per axis: (clamped index, weight) of the taps before and after the point.
    const taps = (f0: Tensor, frac: Tensor, size: number): [Tensor, Tensor][] => {
      const out: [Tensor, Tensor][] = [];
      for (let t = 0; t < k / 2; t++) {
        out.push([clampedIndex(f0, -t * dilation, size), gauss(frac.add(t * dilation))]);
        out.push([clampedIndex(f0, (t + 1) * dilation, size), gauss(frac.rsub((t + 1) * dilation))]);
      }
      return out;
    };
    const rows = taps(y0, beta, hs);
    const cols = taps(x0, alpha, ws);
    let val: Tensor | null = null;
    for (const [yi, wy] of rows) {
      const rowIndex = yi.mul(ws);
      for (const [xi, wx] of cols) {
        const term = gatherTaps(flat, rowIndex.add(xi)).mul(wy.mul(wx).unsqueeze(1));
        val = val ? val.add(term) : term;
      }
    }
    const sumRows = rows.map(([, wgt]) => wgt).reduce((a, b) => a.add(b));
    const sumCols = cols.map(([, wgt]) => wgt).reduce((a, b) => a.add(b));
    return (val as Tensor).div(sumRows.mul(sumCols).unsqueeze(1)).view([n, c, h, w]);
  });
}

/** flow (N, 2, h, w) plus each position's own (x, y): the absolute source coordinates it points at. */
export function flowToGrid(flow: Tensor): Tensor {
  expect4d('gfla.flowToGrid', 'flow', flow, 2);
  const [, , h, w] = flow.shape as [number, number, number, number];
  return torch.scope(() => {
    const gx = torch.arange(0, w, 1, flow.dtype, flow.device).view([1, w]).expand([h, w]);
    const gy = torch.arange(0, h, 1, flow.dtype, flow.device).view([h, 1]).expand([h, w]);
    return flow.add(torch.stack([gx, gy], 0).unsqueeze(0));
  });
}
