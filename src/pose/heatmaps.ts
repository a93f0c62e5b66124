// Pose heatmaps: one Gaussian per joint, computed batched on tensors.
import * as torch from '../torch/index.js';
import { NUM_JOINTS, packPoses, type Pose } from './skeleton.js';

export type Frame = readonly [number, number];

/** Poses -> (N,18,2) float32 (y, x) tensor; -1 for missing joints. */
export function posesToTensor(poses: readonly Pose[]): torch.Tensor {
  return torch.tensor(packPoses(poses), [poses.length, NUM_JOINTS, 2]);
}

/** (N,18,2) or (18,2) tensor -> Poses. */
export function tensorToPoses(keypoints: torch.Tensor): Pose[] {
  checkKeypoints(keypoints, 'tensorToPoses');
  const flat = torch.scope(() => keypoints.to('float32').contiguous().data()) as Float32Array;
  const out: Pose[] = [];
  for (let i = 0; i < flat.length; i += NUM_JOINTS * 2) out.push(flat.slice(i, i + NUM_JOINTS * 2));
  return out;
}

export function checkKeypoints(keypoints: torch.Tensor, what: string): void {
  const s = keypoints.shape;
  const ok = (s.length === 3 && s[1] === NUM_JOINTS && s[2] === 2) || (s.length === 2 && s[0] === NUM_JOINTS && s[1] === 2);
  if (!ok) throw new Error(`${what}: keypoints must be (N,18,2) or (18,2) (y, x) pixels, got shape [${s.join(',')}]`);
}

function checkFrame(frame: Frame, what: string): void {
  const [h, w] = frame;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new Error(`${what}: frame must be two positive integers [H, W], got [${frame.join(', ')}]`);
  }
}

/** (N,18,1,1) visibility (1 where both coordinates are >= 0) and the y, x columns, as float32. */
export function splitKeypoints(keypoints: torch.Tensor): { y: torch.Tensor; x: torch.Tensor; visible: torch.Tensor } {
  const kp = keypoints.ndim === 2 ? keypoints.unsqueeze(0) : keypoints;
  const k = kp.to('float32');
  const y = k.select(2, 0);
  const x = k.select(2, 1);
  const visible = y.ge(0).logicalAnd(x.ge(0)).to('float32');
  return { y, x, visible };
}

/** The pixel grid of a frame as broadcastable (1,1,H,1) row and (1,1,1,W) column indices, float32. */
export function pixelGrid([h, w]: Frame): { rows: torch.Tensor; cols: torch.Tensor } {
  return {
    rows: torch.arange(0, h, 1, 'float32').view([1, 1, h, 1]),
    cols: torch.arange(0, w, 1, 'float32').view([1, 1, 1, w]),
  };
}

/**
 * Pose heatmaps as the field computes them (Deformable GAN's cords_to_map, PG2, PATN):
 * channel j is exp(-((row - y_j)^2 + (col - x_j)^2) / (2 sigma^2)) over the integer pixel grid, and all zeros
 * when joint j is missing.
 *
 * @param keypoints (N,18,2) (y, x) pixels in `frame`; -1 marks a missing joint ((18,2) gives N = 1)
 * @param frame [H, W] of the output
 * @param sigma Gaussian width in pixels, default 6
 * @returns (N,18,H,W) float32
 */
export function heatmaps(keypoints: torch.Tensor, frame: Frame, sigma = 6): torch.Tensor {
  checkKeypoints(keypoints, 'heatmaps');
  checkFrame(frame, 'heatmaps');
  if (!(sigma > 0)) throw new Error(`heatmaps: sigma must be positive, got ${sigma}`);
  return torch.scope(() => {
    const { y, x, visible } = splitKeypoints(keypoints);
    const n = y.shape[0] as number;
    const { rows, cols } = pixelGrid(frame);
    const inv = -1 / (2 * sigma * sigma);
    // The Gaussian separates: exp(a + b) = exp(a) * exp(b), so two small maps and one broadcast multiply.
    const gy = rows.sub(y.view([n, NUM_JOINTS, 1, 1])).square().mul(inv).exp();
    const gx = cols.sub(x.view([n, NUM_JOINTS, 1, 1])).square().mul(inv).exp().mul(visible.view([n, NUM_JOINTS, 1, 1]));
    return gy.mul(gx);
  });
}

/** A disk of `radius` pixels around each joint: PG2's pose_sparse_r4 maps (radius 4). */
export interface DiskEncoding { kind: 'disks'; radius: number }
/** A Gaussian of `sigma` pixels around each joint: Deformable GAN's, PATN's Market and GFLA's maps. */
export interface GaussianEncoding { kind: 'gaussian'; sigma: number }
/**
 * PATN's DeepFashion maps: the Gaussian was stored as uint8, so every value below 1 truncated to 0 and only the
 * joint's own pixel survives (1 where the keypoint lies exactly on the pixel). The author confirmed this was
 * deliberate, and the released DeepFashion checkpoint was trained on it.
 */
export interface PeakEncoding { kind: 'peak' }
/** How a model's pose maps are drawn from keypoints. */
export type PoseEncoding = DiskEncoding | GaussianEncoding | PeakEncoding;

/**
 * The pose maps a model reads, in the encoding it was trained with.
 * @param keypoints (N,18,2) (y, x) pixels; -1 marks a missing joint
 * @returns (N,18,H,W) float32 in [0,1]; all zeros for a missing joint
 */
export function poseMaps(keypoints: torch.Tensor, frame: Frame, encoding: PoseEncoding): torch.Tensor {
  switch (encoding.kind) {
    case 'gaussian':
      return heatmaps(keypoints, frame, encoding.sigma);
    case 'peak':
      // floor() of the Gaussian is the official uint8 cast; any sigma gives the same result.
      return torch.scope(() => heatmaps(keypoints, frame, 1).floor());
    case 'disks':
      return diskMaps(keypoints, frame, encoding.radius);
    default:
      throw new Error(`poseMaps: unknown pose encoding ${JSON.stringify(encoding)}; use {"kind":"gaussian","sigma":6}, {"kind":"peak"} or {"kind":"disks","radius":4}`);
  }
}

/**
 * PG2's pose maps (_getSparsePose, mode 'Solid'): channel j is 1 within `radius` pixels (Euclidean, inclusive) of
 * joint j's position truncated to integers, 0 elsewhere and for a missing joint.
 * @param keypoints (N,18,2) (y, x) pixels
 * @returns (N,18,H,W) float32
 */
export function diskMaps(keypoints: torch.Tensor, frame: Frame, radius = 4): torch.Tensor {
  checkKeypoints(keypoints, 'diskMaps');
  checkFrame(frame, 'diskMaps');
  if (!(radius >= 0)) throw new Error(`diskMaps: radius must be non-negative, got ${radius}`);
  return torch.scope(() => {
    const { y, x, visible } = splitKeypoints(keypoints);
    const n = y.shape[0] as number;
    const { rows, cols } = pixelGrid(frame);
    const dy = rows.sub(y.floor().view([n, NUM_JOINTS, 1, 1])).square();
    const dx = cols.sub(x.floor().view([n, NUM_JOINTS, 1, 1])).square();
    return dy.add(dx).le(radius * radius).to('float32').mul(visible.view([n, NUM_JOINTS, 1, 1]));
  });
}
