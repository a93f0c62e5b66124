// Geometric augmentation: horizontal flip and a small affine (rotation, scale, shift) applied to images with
// grid_sample, and the same transform applied to the keypoints, so they stay on the body.
import * as torch from '../torch/index.js';
import type { Frame } from './heatmaps.js';
import { MIRROR, NUM_JOINTS, assertPose, emptyPose, isVisible, jointX, jointY, setJoint, type Pose } from './skeleton.js';

export interface AugmentOptions {
  /** Probability of a horizontal flip; default 0.5. */
  flip?: number;
  /** Largest rotation in degrees, uniform in [-rotate, rotate]; default 0. */
  rotate?: number;
  /** Scale range [min, max], uniform; default [1, 1]. */
  scale?: readonly [number, number];
  /** Largest shift as a fraction of the frame's width (x) and height (y), uniform in [-t, t]; default 0. */
  translate?: number;
  /** Largest shift in pixels on each axis, added to translate's bound (GFLA's ±5 px); default 0. */
  shiftPixels?: number;
}

/** One sample's transform. The image is flipped first, then rotated and scaled about its centre, then shifted. */
export interface AugmentParams {
  flip: boolean;
  /** Radians, counter-clockwise on screen is negative (y points down). */
  angle: number;
  scale: number;
  /** Shift in pixels. */
  tx: number;
  ty: number;
}

export const IDENTITY_AUGMENT: AugmentParams = { flip: false, angle: 0, scale: 1, tx: 0, ty: 0 };

/** Draws one sample's parameters from `random` (uniform in [0, 1), e.g. a seeded generator). */
export function sampleAugment(random: () => number, frame: Frame, options: AugmentOptions = {}): AugmentParams {
  const [h, w] = frame;
  const flipP = options.flip ?? 0.5;
  const rot = ((options.rotate ?? 0) * Math.PI) / 180;
  const [s0, s1] = options.scale ?? [1, 1];
  const t = options.translate ?? 0;
  const u = (): number => random() * 2 - 1;
  // Always draw all five numbers so that the stream stays aligned whatever the options.
  const f = random();
  const angle = u() * rot;
  const scale = s0 + random() * (s1 - s0);
  const px = options.shiftPixels ?? 0;
  const tx = u() * (t * w + px);
  const ty = u() * (t * h + px);
  return { flip: f < flipP, angle, scale, tx, ty };
}

/** The 3 x 3 forward matrix (row-major) taking an input pixel (x, y, 1) to its output pixel. */
export function augmentMatrix(p: AugmentParams, frame: Frame): number[] {
  const [h, w] = frame;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const fx = p.flip ? -1 : 1;
  const c = Math.cos(p.angle) * p.scale;
  const s = Math.sin(p.angle) * p.scale;
  // out = R S (F (in) - c) + c + t, where F flips x about the centre.
  const a = c * fx;
  const b = -s;
  const d = s * fx;
  const e = c;
  return [a, b, cx - a * cx - b * cy + p.tx, d, e, cy - d * cx - e * cy + p.ty, 0, 0, 1];
}

function invert3(m: number[]): number[] {
  const [a, b, tx, c, d, ty] = m as [number, number, number, number, number, number];
  const det = a * d - b * c;
  if (Math.abs(det) < 1e-12) throw new Error('augment: the transform is singular (scale 0?)');
  const ia = d / det; const ib = -b / det; const ic = -c / det; const id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty), 0, 0, 1];
}

/**
 * theta (N,2,3) for affineGrid with align_corners = false: output normalized (u, v) -> input normalized (u, v).
 */
export function augmentTheta(params: readonly AugmentParams[], frame: Frame): torch.Tensor {
  const [h, w] = frame;
  const out = new Float32Array(params.length * 6);
  params.forEach((p, i) => {
    const inv = invert3(augmentMatrix(p, frame));
    // normalized = Nn pixel with Nn = [[2/w, 0, 1/w - 1], [0, 2/h, 1/h - 1]]; theta = Nn inv Nn^-1.
    const [a, b, tx, c, d, ty] = inv as [number, number, number, number, number, number];
    const ta = a; const tb = (b * h) / w; const tc = (c * w) / h; const td = d;
    // Nn^-1: x = ((u + 1) w - 1) / 2
    const px = (w - 1) / 2; const py = (h - 1) / 2; // pixel of normalized 0
    const ox = a * px + b * py + tx; const oy = c * px + d * py + ty; // where centre maps
    out.set([ta, tb, (2 * ox + 1) / w - 1, tc, td, (2 * oy + 1) / h - 1], i * 6);
  });
  return torch.tensor(out, [params.length, 2, 3]);
}

/**
 * Applies each sample's transform to (N,C,H,W) images (or maps).
 * @param mode 'bilinear' for images, 'nearest' for label maps and masks
 * @param padding 'border' repeats the edge (images), 'zeros' fills with 0 (masks, maps)
 */
export function augmentImages(images: torch.Tensor, params: readonly AugmentParams[], mode: 'bilinear' | 'nearest' = 'bilinear',
  padding: 'border' | 'zeros' = 'border'): torch.Tensor {
  if (images.ndim !== 4 || images.shape[0] !== params.length) {
    throw new Error(`augmentImages: need (N,C,H,W) images with N = ${params.length} (one parameter set each), got [${images.shape.join(',')}]`);
  }
  const frame: Frame = [images.shape[2] as number, images.shape[3] as number];
  return torch.scope(() => {
    const input = images.dtype === 'float32' || images.dtype === 'float64' ? images : images.to('float32');
    const theta = augmentTheta(params, frame).to(input.dtype);
    const grid = torch.affineGrid(theta, [...input.shape], false);
    const out = torch.gridSample(input, grid, mode, padding, false);
    return images.dtype === input.dtype ? out : out.round().to(images.dtype);
  });
}

/**
 * Moves a pose with its image: each present joint goes through the forward matrix; a flip also swaps left and right
 * joints so "right" stays the person's right. Joints that leave the frame become missing.
 */
export function augmentPose(pose: Pose, p: AugmentParams, frame: Frame): Pose {
  assertPose(pose, 'augmentPose');
  const [h, w] = frame;
  const m = augmentMatrix(p, frame);
  const out = emptyPose();
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!isVisible(pose, j)) continue;
    const x = jointX(pose, j);
    const y = jointY(pose, j);
    const nx = (m[0] as number) * x + (m[1] as number) * y + (m[2] as number);
    const ny = (m[3] as number) * x + (m[4] as number) * y + (m[5] as number);
    if (nx < 0 || ny < 0 || nx > w - 1 || ny > h - 1) continue;
    setJoint(out, p.flip ? (MIRROR[j] as number) : j, ny, nx);
  }
  return out;
}

/**
 * Batched horizontal flip of keypoints, to pair with images.flip([3]): x -> width - 1 - x for present joints and
 * left/right joints swapped. (N,18,2) (y, x) float32 in, same out; missing joints stay -1.
 */
export function flipKeypoints(keypoints: torch.Tensor, width: number): torch.Tensor {
  if (keypoints.ndim !== 3 || keypoints.shape[1] !== NUM_JOINTS || keypoints.shape[2] !== 2) {
    throw new Error(`flipKeypoints: keypoints must be (N,18,2), got [${keypoints.shape.join(',')}]`);
  }
  return torch.scope(() => {
    const swapped = keypoints.indexSelect(1, torch.tensor(BigInt64Array.from(MIRROR, BigInt)));
    const y = swapped.select(2, 0);
    const x = swapped.select(2, 1);
    const present = y.ge(0).logicalAnd(x.ge(0));
    const fx = torch.where(present, x.rsub(width - 1), -1);
    return torch.stack([torch.where(present, y, -1), fx], 2);
  });
}
