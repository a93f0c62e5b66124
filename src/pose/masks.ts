// Pose masks (PG2's training mask, the Market mask-SSIM mask) and binary morphology, all on tensors.
import * as torch from '../torch/index.js';
import { checkKeypoints, pixelGrid, splitKeypoints, type Frame } from './heatmaps.js';
import { NUM_JOINTS } from './skeleton.js';

/**
 * The 23 joint pairs PG2's `_getPoseMask` and the Market mask-SSIM script (`produce_ma_mask`) connect: the 19
 * drawing limbs with neck-ear in place of shoulder-ear, plus four torso edges (r_hip-l_hip, l_hip-l_shoulder,
 * r_hip-r_shoulder, r_ear-l_ear) that fill the body. 0-based joint indices.
 */
export const MASK_LIMBS: readonly (readonly [number, number])[] = [
  [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [1, 8], [8, 9], [9, 10], [1, 11], [11, 12], [12, 13],
  [1, 0], [0, 14], [14, 16], [0, 15], [15, 17], [1, 16], [1, 17], [8, 11], [11, 5], [8, 2], [16, 17],
];

function checkOddKernel(k: number, what: string): void {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0) throw new Error(`${what}: the square's side must be an odd positive integer, got ${k}`);
}

/**
 * Dilation with a k x k square (skimage.morphology.dilation(x, square(k))): a stride-1 max_pool, done as a k x 1
 * then a 1 x k pool (the max over a square separates; 2k comparisons a pixel instead of k^2). Pixels outside the
 * frame never count, as skimage's reflected border does not change a max over the window.
 * @param x (N,C,H,W) float mask (any real values: grey-level dilation)
 */
export function dilate(x: torch.Tensor, k = 5): torch.Tensor {
  checkOddKernel(k, 'dilate');
  if (x.ndim !== 4) throw new Error(`dilate: expected (N,C,H,W), got shape [${x.shape.join(',')}]`);
  const r = (k - 1) / 2;
  return torch.scope(() => torch.maxPool2d(torch.maxPool2d(x, [k, 1], 1, [r, 0]), [1, k], 1, [0, r]));
}

/** Erosion with a k x k square: -dilate(-x). Pixels outside the frame never count. (N,C,H,W) float. */
export function erode(x: torch.Tensor, k = 5): torch.Tensor {
  checkOddKernel(k, 'erode');
  if (x.ndim !== 4) throw new Error(`erode: expected (N,C,H,W), got shape [${x.shape.join(',')}]`);
  return torch.scope(() => dilate(x.neg(), k).neg());
}

/** Closing: dilation then erosion with a k x k square, as PG2 and the mask-SSIM script apply (k = 5). */
export function closing(x: torch.Tensor, k = 5): torch.Tensor {
  return torch.scope(() => erode(dilate(x, k), k));
}

export interface Pg2MaskOptions {
  /** Disk radius in pixels (default 4); a pixel belongs when its distance to the centre is <= radius. */
  radius?: number;
  /** Joint pairs to connect (default MASK_LIMBS, as PG2). */
  limbs?: readonly (readonly [number, number])[];
  /** Side of the closing square (default 5). */
  close?: number;
}

/**
 * PG2's pose mask: for every limb whose two joints are present, disks of `radius` at both joints and at
 * floor(length / radius) - 1 evenly spaced points between them (centres truncated to integer pixels, as PG2 does),
 * then a closing with a 5 x 5 square. Joints that belong to no drawn limb add nothing, as in PG2.
 *
 * Disk centres are scattered into an image and spread by a convolution with the disk, so the work is batched.
 *
 * @param keypoints (N,18,2) (y, x) pixels; -1 for missing
 * @returns (N,1,H,W) float32 in {0,1}
 */
export function pg2Mask(keypoints: torch.Tensor, frame: Frame, options: Pg2MaskOptions = {}): torch.Tensor {
  checkKeypoints(keypoints, 'pg2Mask');
  const radius = options.radius ?? 4;
  const limbs = options.limbs ?? MASK_LIMBS;
  if (!Number.isInteger(radius) || radius < 0) throw new Error(`pg2Mask: radius must be a non-negative integer, got ${radius}`);
  const [h, w] = frame;
  const kp = torch.scope(() => keypoints.to('float32').contiguous().data()) as Float32Array;
  const n = kp.length / (NUM_JOINTS * 2);
  // The disk centres: a few hundred per pose at most, so they are listed here and drawn on tensors below.
  const hp = h + 2 * radius;
  const wp = w + 2 * radius;
  const flat: number[] = [];
  const addCentre = (i: number, r: number, c: number): void => {
    const rr = Math.trunc(r) + radius;
    const cc = Math.trunc(c) + radius;
    if (rr >= 0 && rr < hp && cc >= 0 && cc < wp) flat.push((i * hp + rr) * wp + cc);
  };
  for (let i = 0; i < n; i++) {
    const base = i * NUM_JOINTS * 2;
    for (const [a, b] of limbs) {
      const r0 = kp[base + 2 * a] as number;
      const c0 = kp[base + 2 * a + 1] as number;
      const r1 = kp[base + 2 * b] as number;
      const c1 = kp[base + 2 * b + 1] as number;
      if (r0 < 0 || c0 < 0 || r1 < 0 || c1 < 0) continue;
      addCentre(i, r0, c0);
      addCentre(i, r1, c1);
      const samples = Math.trunc(Math.hypot(r1 - r0, c1 - c0) / Math.max(radius, 1e-9));
      for (let s = 1; s < samples; s++) addCentre(i, r0 + ((r1 - r0) * s) / samples, c0 + ((c1 - c0) * s) / samples);
    }
  }
  return torch.scope(() => {
    const canvas = torch.zeros([n * hp * wp]);
    if (flat.length > 0) {
      const idx = torch.tensor(BigInt64Array.from(flat, BigInt));
      canvas.indexPut_([idx], torch.ones([flat.length]), true);
    }
    const disk = diskKernel(radius, true);
    const spread = torch.conv2d(canvas.view([n, 1, hp, wp]), disk, null, 1, radius);
    const cropped = spread.narrow(2, radius, h).narrow(3, radius, w).gt(0.5).to('float32');
    return closing(cropped, options.close ?? 5);
  });
}

/** A (1,1,2r+1,2r+1) float32 disk: 1 where i^2 + j^2 <= r^2 (inclusive) or < r^2 (strict). */
export function diskKernel(radius: number, inclusive: boolean): torch.Tensor {
  return torch.scope(() => {
    const k = 2 * radius + 1;
    const d = torch.arange(-radius, radius + 1, 1, 'float32');
    const d2 = d.view([k, 1]).square().add(d.view([1, k]).square());
    const inside = inclusive ? d2.le(radius * radius) : d2.lt(radius * radius);
    return inside.to('float32').view([1, 1, k, k]);
  });
}

export interface MarketMaskOptions {
  /** Half-width of the limb rectangles and radius of the joint disks (default 4). */
  radius?: number;
  limbs?: readonly (readonly [number, number])[];
  close?: number;
}

/**
 * The Market-1501 mask-SSIM mask of the Deformable GAN evaluation (`produce_ma_mask`): for each of the 23 limbs with
 * both joints present (and distinct), the rectangle of half-width `radius` around the segment (no round caps);
 * plus a disk of `radius` at every present joint (strictly inside: distance < radius, as skimage's circle); then a
 * 5 x 5 closing. A pixel belongs to a rectangle when its centre lies inside or on it.
 *
 * @param keypoints (N,18,2) (y, x) pixels of the TARGET pose
 * @returns (N,1,H,W) float32 in {0,1}
 */
export function marketMask(keypoints: torch.Tensor, frame: Frame, options: MarketMaskOptions = {}): torch.Tensor {
  checkKeypoints(keypoints, 'marketMask');
  const radius = options.radius ?? 4;
  const limbs = options.limbs ?? MASK_LIMBS;
  return torch.scope(() => {
    const { y, x, visible } = splitKeypoints(keypoints);
    const n = y.shape[0] as number;
    const { rows, cols } = pixelGrid(frame);
    // Joint disks: (N,18,H,W) distances, reduced over joints.
    const dy = rows.sub(y.view([n, NUM_JOINTS, 1, 1]));
    const dx = cols.sub(x.view([n, NUM_JOINTS, 1, 1]));
    const disks = dy.square().add(dx.square()).lt(radius * radius).to('float32').mul(visible.view([n, NUM_JOINTS, 1, 1]));
    let mask = disks.amax([1], true);
    // Limb rectangles, one limb at a time over the whole batch to bound memory at 256 x 256. In the limb's frame
    // (unit vector u along it), a pixel is inside when |along - len/2| <= len/2 and |across| <= radius; both
    // coordinates split into a row part and a column part, so only a few full-size ops run per limb.
    // A tiny tolerance keeps pixel centres exactly on an edge inside despite float rounding.
    const eps = 1e-4;
    let inside = mask.gt(0.5);
    for (const [a, b] of limbs) {
      inside = torch.scope(() => {
        const y0 = y.select(1, a).view([n, 1, 1, 1]);
        const x0 = x.select(1, a).view([n, 1, 1, 1]);
        const ly = y.select(1, b).view([n, 1, 1, 1]).sub(y0);
        const lx = x.select(1, b).view([n, 1, 1, 1]).sub(x0);
        const len = ly.square().add(lx.square()).sqrt();
        const ok = visible.select(1, a).mul(visible.select(1, b)).view([n, 1, 1, 1]).mul(len.gt(0).to('float32'));
        const uy = ly.div(len.clamp(1e-6));
        const ux = lx.div(len.clamp(1e-6));
        const half = torch.where(ok.gt(0), len.mul(0.5), -1); // -1: no pixel is inside a missing limb
        const py = rows.sub(y0);
        const px = cols.sub(x0);
        const along = py.mul(uy).sub(half).add(px.mul(ux)).abs().le(half.add(eps));
        const across = py.mul(ux).sub(px.mul(uy)).abs().le(radius + eps);
        return inside.logicalOr(along.logicalAnd(across));
      });
    }
    mask = inside.to('float32');
    return closing(mask, options.close ?? 5);
  });
}
