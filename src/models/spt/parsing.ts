// SPT's 10-label parsing maps as tensors: one-hot encoding, moving a map to another pose part by part, comparing
// maps, and the face boxes of the face discriminator.
import * as torch from '../../torch/index.js';
import { partAffines, EMPTY_SHIFT, HEAD_HALF_SIDE, HEAD_JOINTS, TORSO_JOINTS } from '../../pose/index.js';
import { NUM_JOINTS, J } from '../../pose/skeleton.js';
import type { Frame } from '../../pose/heatmaps.js';

/** 0 background, 1 face, 2 hair, 3 upper clothes, 4 pants, 5 skirt, 6 left arm, 7 right arm, 8 left leg, 9 right leg. */
export const NUM_LABELS = 10;

/** Checks labels (N,H,W) int64 in 0..9; `what` names the input in the error. */
export function checkLabels(labels: torch.Tensor, what: string, n?: number, frame?: Frame): void {
  const s = labels.shape;
  if (s.length !== 3 || labels.dtype !== 'int64' || (n !== undefined && s[0] !== n) || (frame && (s[1] !== frame[0] || s[2] !== frame[1]))) {
    const want = `(${n ?? 'N'},${frame ? frame.join(',') : 'H,W'}) int64`;
    throw new Error(`spt: ${what} is ${labels.dtype} [${s.join(',')}], expected parsing labels ${want}; the dataset's parsing folder gives them ('reposer data check' lists missing maps)`);
  }
}

/** Labels (N,H,W) int64 -> one-hot (N,10,H,W) float32. */
export function oneHotParsing(labels: torch.Tensor): torch.Tensor {
  return torch.scope(() => torch.oneHot(labels, NUM_LABELS).permute([0, 3, 1, 2]).to('float32').contiguous());
}

/** Labels (N,H,W) -> the official 9 foreground channels (labels 1..9), (N,9,H,W) float32. */
export function foregroundChannels(labels: torch.Tensor): torch.Tensor {
  return torch.scope(() => oneHotParsing(labels).narrow(1, 1, NUM_LABELS - 1).contiguous());
}

/**
 * Which labels travel with which of the 10 body parts (Deformable GAN's order: torso, head, upper legs, lower legs,
 * upper arms, forearms) when a map moves to another pose: clothes with the torso, face and hair with the head,
 * legs with trousers and skirts with the leg parts, arms and sleeves with the arm parts.
 */
export const PART_LABELS: readonly (readonly number[])[] = [
  [3, 4, 5], [1, 2], [4, 5, 8, 9], [4, 5, 8, 9], [4, 5, 8, 9], [4, 5, 8, 9], [3, 6, 7], [3, 6, 7], [3, 6, 7], [3, 6, 7],
];
/** Parts drawn later cover earlier ones: torso, legs, arms, head. */
const PAINT_ORDER = [0, 2, 3, 4, 5, 6, 7, 8, 9, 1];

/**
 * Moves parsing maps from the source pose to the target pose part by part: each part's labels inside its source
 * region (its rectangle; the torso's is the frame) are warped by the part's affine (src/pose/parts.ts), kept inside
 * its target region and painted in PAINT_ORDER; uncovered pixels are background.
 *
 * @param labels (N,H,W) int64 source parsing
 * @param source (N,18,2) source keypoints (y, x) pixels; target (N,18,2) the target's
 * @returns (N,H,W) int64 parsing in the target pose
 */
export function warpParsing(labels: torch.Tensor, source: torch.Tensor, target: torch.Tensor): torch.Tensor {
  const n = labels.shape[0] as number;
  const frame: Frame = [labels.shape[1] as number, labels.shape[2] as number];
  checkLabels(labels, 'warpParsing labels', n);
  return torch.scope(() => {
    const toTarget = partAffines(source, target, frame);
    // The same call the other way round gives each part's region in the source.
    const toSource = partAffines(target, source, frame);
    const [h, w] = frame;
    const hot = oneHotParsing(labels);
    let out = torch.zeros([n, h, w], 'int64');
    for (const k of PAINT_ORDER) {
      const labs = PART_LABELS[k] as readonly number[];
      const idx = torch.tensor(BigInt64Array.from(labs, BigInt));
      const inside = hot.indexSelect(1, idx).mul(toSource.masks.narrow(1, k, 1));
      const theta = toTarget.theta.select(1, k);
      const grid = torch.affineGrid(theta, [n, labs.length, h, w], false);
      const moved = torch.gridSample(inside, grid, 'nearest', 'zeros', false).mul(toTarget.masks.narrow(1, k, 1));
      labs.forEach((lab, i) => {
        out = torch.where(moved.select(1, i).gt(0.5), lab, out);
      });
    }
    return out;
  });
}

/**
 * Mean intersection over union of two label maps per sample, over the foreground labels present in either:
 * (N,H,W) x (N,H,W) -> (N) float32. A sample where neither has foreground scores 1.
 */
export function parsingIoU(a: torch.Tensor, b: torch.Tensor): torch.Tensor {
  if (a.shape.join(',') !== b.shape.join(',')) throw new Error(`parsingIoU: maps [${a.shape.join(',')}] and [${b.shape.join(',')}] differ in shape`);
  return torch.scope(() => {
    const ha = oneHotParsing(a).narrow(1, 1, NUM_LABELS - 1);
    const hb = oneHotParsing(b).narrow(1, 1, NUM_LABELS - 1);
    const inter = ha.mul(hb).sum([2, 3]);
    const union = ha.add(hb).clamp(0, 1).sum([2, 3]);
    const present = union.gt(0).to('float32');
    const iou = inter.div(union.clamp(1, Infinity));
    const count = present.sum([1]);
    return torch.where(count.gt(0), iou.mul(present).sum([1]).div(count.clamp(1, Infinity)), torch.onesLike(count));
  });
}

/**
 * The face discriminator's crops (official estimate_face_transform): the square of half side
 * trunc(0.4 * torso size) around the truncated centroid of the head keypoints, clipped to the frame, resampled
 * to size x size (bilinear). A pose without head keypoints or torso joints gives an all-zero crop (the official
 * 1000-pixel shift).
 *
 * @param images (N,C,H,W); keypoints (N,18,2) (y, x) pixels
 * @returns (N,C,size,size)
 */
export function faceCrops(images: torch.Tensor, keypoints: torch.Tensor, size: number): torch.Tensor {
  const [n, c, h, w] = images.shape as [number, number, number, number];
  const kp = torch.scope(() => keypoints.to('float32').contiguous().data()) as Float32Array;
  const theta = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    const at = (j: number): [number, number] | null => {
      const y = kp[(i * NUM_JOINTS + j) * 2] as number;
      const x = kp[(i * NUM_JOINTS + j) * 2 + 1] as number;
      return y >= 0 && x >= 0 ? [y, x] : null;
    };
    const head = HEAD_JOINTS.map(at).filter((p): p is [number, number] => p !== null);
    const torso = TORSO_JOINTS.map(at);
    theta.set([1, 0, EMPTY_SHIFT, 0, 1, EMPTY_SHIFT], i * 6);
    if (head.length === 0 || torso.some((p) => p === null)) continue;
    const d2 = (a: number, b: number): number => {
      const [pa, pb] = [at(a) as [number, number], at(b) as [number, number]];
      return (pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2;
    };
    const st = Math.sqrt((d2(J.r_hip, J.r_shoulder) + d2(J.l_hip, J.l_shoulder)) / 2);
    const cy = Math.trunc(head.reduce((s, p) => s + p[0], 0) / head.length);
    const cx = Math.trunc(head.reduce((s, p) => s + p[1], 0) / head.length);
    const b = Math.trunc(HEAD_HALF_SIDE * st);
    const [y0, y1, x0, x1] = [Math.max(cy - b, 0), Math.min(cy + b, h), Math.max(cx - b, 0), Math.min(cx + b, w)];
    if (y1 <= y0 || x1 <= x0) continue;
    // affine_grid (align_corners=false) maps the output's [-1,1] onto the box's pixel edges in normalised units.
    theta.set([(x1 - x0) / w, 0, (x0 + x1) / w - 1, 0, (y1 - y0) / h, (y0 + y1) / h - 1], i * 6);
  }
  return torch.scope(() => {
    const grid = torch.affineGrid(torch.tensor(theta, [n, 2, 3]), [n, c, size, size], false);
    return torch.gridSample(images, grid, 'bilinear', 'zeros', false);
  });
}
