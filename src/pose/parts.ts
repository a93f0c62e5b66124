// Deformable GAN's 10 body parts and the per-part affine transforms between a source and a target pose
// (Siarohin et al. 2018, pose_transform.py: affine_transforms and pose_masks), batched on tensors.
//
// CONVENTION. theta[n, k] is a 2 x 3 matrix that maps a point of the TARGET (output) frame to the point of the
// SOURCE image to sample from, in PyTorch's normalized coordinates with align_corners = false:
//   u = (2 x + 1) / W - 1,  v = (2 y + 1) / H - 1   (x, y in pixels, pixel centres at integers; u, v in [-1, 1])
//   [u_src, v_src]^T = theta[n, k] @ [u_tgt, v_tgt, 1]^T
// which is exactly what affine_grid expects, so
//   warped_k = gridSample(source, affineGrid(theta[:, k], [N, C, H', W'], false), 'bilinear', 'zeros', false)
// moves source part k into the target pose. With align_corners = false the normalized coordinates of a point do not
// depend on the resolution, so the same theta serves every feature resolution H' x W' of the same frame (the
// Keras original rescales its pixel-space matrices per resolution instead). `space: 'pixels'` returns the pixel-space
// matrix (target pixel (x, y) -> source pixel (x, y)) instead.
//
// An EMPTY transform is the identity shifted by EMPTY_SHIFT in both axes: every sample falls far outside the frame,
// so grid_sample with zero padding gives zeros; its mask channel is all zero and valid[n, k] is false.
import * as torch from '../torch/index.js';
import { checkKeypoints, type Frame } from './heatmaps.js';
import { J, NUM_JOINTS } from './skeleton.js';

export const EMPTY_SHIFT = 1000;
/** Transforms whose 3 x 3 condition number (Frobenius estimate) reaches this are replaced by the empty one. */
export const MAX_CONDITION = 1e4;

export interface BodyPart {
  name: string;
  /** Joints whose positions define the transform (least squares over these corners, source vs target). */
  corners: readonly number[];
  /** Joints whose bounding box, grown by `border` x the torso size, is the part's mask in the target frame. */
  maskJoints: readonly number[];
  border: number;
  /** Index of the left/right counterpart in PARTS, used when the source lacks this part; -1 for none. */
  mirror: number;
}

/** The 10 parts, in Deformable GAN's order. "r_" is the person's right (OpenPose joints 2-4, 8-10). */
export const PARTS: readonly BodyPart[] = [
  { name: 'torso', corners: [J.r_hip, J.l_hip, J.l_shoulder, J.r_shoulder], maskJoints: [J.r_hip, J.l_hip, J.l_shoulder, J.r_shoulder], border: 0.1, mirror: -1 },
  { name: 'head', corners: [J.nose, J.l_shoulder, J.r_shoulder], maskJoints: [J.nose], border: 0.3, mirror: -1 },
  { name: 'r_upper_leg', corners: [J.r_hip, J.r_knee, J.r_shoulder], maskJoints: [J.r_knee, J.r_hip], border: 0.2, mirror: 3 },
  { name: 'l_upper_leg', corners: [J.l_hip, J.l_knee, J.l_shoulder], maskJoints: [J.l_knee, J.l_hip], border: 0.2, mirror: 2 },
  { name: 'r_lower_leg', corners: [J.r_knee, J.r_ankle, J.r_shoulder], maskJoints: [J.r_ankle, J.r_knee], border: 0.2, mirror: 5 },
  { name: 'l_lower_leg', corners: [J.l_knee, J.l_ankle, J.l_shoulder], maskJoints: [J.l_ankle, J.l_knee], border: 0.2, mirror: 4 },
  { name: 'r_upper_arm', corners: [J.r_shoulder, J.r_elbow, J.r_hip], maskJoints: [J.r_elbow, J.r_shoulder], border: 0.2, mirror: 7 },
  { name: 'l_upper_arm', corners: [J.l_shoulder, J.l_elbow, J.l_hip], maskJoints: [J.l_elbow, J.l_shoulder], border: 0.2, mirror: 6 },
  { name: 'r_forearm', corners: [J.r_elbow, J.r_wrist, J.r_shoulder], maskJoints: [J.r_wrist, J.r_elbow], border: 0.2, mirror: 9 },
  { name: 'l_forearm', corners: [J.l_elbow, J.l_wrist, J.l_shoulder], maskJoints: [J.l_wrist, J.l_elbow], border: 0.2, mirror: 8 },
];
export const NUM_PARTS = PARTS.length;

export interface PartAffineOptions {
  /** 'normalized' (default): theta for affine_grid with align_corners=false; 'pixels': pixel-space matrices. */
  space?: 'normalized' | 'pixels';
  /** (H', W') of the part masks; default the frame. Any size: masks are resampled from the frame's geometry. */
  maskSize?: Frame;
}

export interface PartAffines {
  /** (N,10,2,3) float32 target -> source matrices (see the file's CONVENTION). */
  theta: torch.Tensor;
  /** (N,10,H',W') float32 in {0,1}: the parts' regions in the target frame; zero where the transform is empty. */
  masks: torch.Tensor;
  /** (N,10) bool: false where the transform is empty. */
  valid: torch.Tensor;
}

const present = (kp: Float32Array, base: number, j: number): boolean =>
  (kp[base + 2 * j] as number) >= 0 && (kp[base + 2 * j + 1] as number) >= 0;

/**
 * Per-part affine transforms from the target pose back to the source pose, and the parts' masks in the target.
 *
 * Rules (Deformable GAN's): the torso needs its 4 corners in both poses; the head needs the nose in both (its
 * other corners are the shoulders); a limb needs its two joints in the target, and in the source either its own two
 * joints or, failing that, its mirrored limb's (left for right), which stands in for it. Every corner used must be
 * present. The torso size st = sqrt((|r_hip - r_shoulder|^2 + |l_hip - l_shoulder|^2) / 2) of the target sets the
 * mask borders (0.1 st torso, 0.3 st head, 0.2 st limbs, truncated to whole pixels); without the 4 torso joints in
 * the target every part is empty. A mask is the box min(joints) - border <= p < max(joints) + border, as the
 * original's array slice. The fit is least squares over the corners (exact for the 3-corner parts).
 *
 * @param source (N,18,2) (y, x) pixels of the source poses
 * @param target (N,18,2) (y, x) pixels of the target poses
 * @param frame [H, W] of the images the keypoints are in
 */
export function partAffines(source: torch.Tensor, target: torch.Tensor, frame: Frame, options: PartAffineOptions = {}): PartAffines {
  checkKeypoints(source, 'partAffines (source)');
  checkKeypoints(target, 'partAffines (target)');
  const [h, w] = frame;
  const [mh, mw] = options.maskSize ?? frame;
  const src = torch.scope(() => source.to('float32').contiguous().data()) as Float32Array;
  const tgt = torch.scope(() => target.to('float32').contiguous().data()) as Float32Array;
  if (src.length !== tgt.length) throw new Error(`partAffines: source has ${src.length / 36} poses, target ${tgt.length / 36}; give one target per source`);
  const n = src.length / (NUM_JOINTS * 2);
  const rows = n * NUM_PARTS;
  // Corner lists and mask boxes per (pose, part): a handful of numbers each, chosen here; the fits run on tensors.
  const a = new Float32Array(rows * 4 * 3); // target corners as [x, y, 1]
  const b = new Float32Array(rows * 4 * 2); // source corners as [x, y]
  const valid = new Uint8Array(rows);
  const boxes = new Float32Array(rows * 4); // y0, y1, x0, x1 (pixels of the frame; y0 <= y < y1)
  for (let i = 0; i < n; i++) {
    const base = i * NUM_JOINTS * 2;
    const torso = [J.r_hip, J.l_hip, J.l_shoulder, J.r_shoulder];
    const tgtTorso = torso.every((j) => present(tgt, base, j));
    const st = tgtTorso ? Math.sqrt((dist2(tgt, base, J.r_hip, J.r_shoulder) + dist2(tgt, base, J.l_hip, J.l_shoulder)) / 2) : 0;
    PARTS.forEach((part, k) => {
      const row = i * NUM_PARTS + k;
      let srcCorners: readonly number[] | null = null;
      if (tgtTorso && part.corners.every((j) => present(tgt, base, j))) {
        if (part.corners.every((j) => present(src, base, j))) srcCorners = part.corners;
        else if (part.mirror >= 0) {
          const m = (PARTS[part.mirror] as BodyPart).corners;
          if (m.every((j) => present(src, base, j))) srcCorners = m;
        }
      }
      if (srcCorners === null) return;
      valid[row] = 1;
      for (let c = 0; c < 4; c++) {
        const cc = c < part.corners.length ? c : 0; // a 3-corner part repeats its first corner: the fit stays exact
        const jt = part.corners[cc] as number;
        const js = srcCorners[cc] as number;
        a.set([tgt[base + 2 * jt + 1] as number, tgt[base + 2 * jt] as number, 1], (row * 4 + c) * 3);
        b.set([src[base + 2 * js + 1] as number, src[base + 2 * js] as number], (row * 4 + c) * 2);
      }
      const grow = Math.trunc(part.border * st);
      let y0 = Infinity; let y1 = -Infinity; let x0 = Infinity; let x1 = -Infinity;
      for (const j of part.maskJoints) {
        const y = tgt[base + 2 * j] as number;
        const x = tgt[base + 2 * j + 1] as number;
        y0 = Math.min(y0, y); y1 = Math.max(y1, y); x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      }
      boxes.set([Math.max(0, y0 - grow), Math.min(h, y1 + grow), Math.max(0, x0 - grow), Math.min(w, x1 + grow)], row * 4);
    });
  }
  // Rows without a transform get a well-posed dummy system (the unit square onto itself) and are replaced below.
  const unit = [[0, 0], [1, 0], [0, 1], [1, 1]];
  for (let row = 0; row < rows; row++) {
    if (valid[row]) continue;
    for (let c = 0; c < 4; c++) {
      const [ux, uy] = unit[c] as [number, number];
      a.set([ux, uy, 1], (row * 4 + c) * 3);
      b.set([ux, uy], (row * 4 + c) * 2);
    }
  }
  return torch.scope(() => {
    const A = torch.tensor(a, [rows, 4, 3]).to('float64');
    const B = torch.tensor(b, [rows, 4, 2]).to('float64');
    const X = torch.linalgLstsq(A, B); // (rows, 3, 2): [x_s, y_s] = [x_t, y_t, 1] @ X
    const m2x3 = X.transpose(1, 2); // (rows, 2, 3) pixel-space target -> source
    const bottom = torch.tensor([0, 0, 1], { dtype: 'float64' }).view([1, 1, 3]).expand([rows, 1, 3]);
    const m3 = torch.cat([m2x3, bottom], 1);
    let ok = torch.tensor(valid).ne(0).logicalAnd(conditionNumber(m3).lt(MAX_CONDITION));
    ok = ok.logicalAnd(m3.isfinite().to('float32').amin([1, 2]).gt(0));
    let mats = m3;
    if ((options.space ?? 'normalized') === 'normalized') {
      const nrm = torch.tensor([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1], [0, 0, 1]], { dtype: 'float64' });
      const inv = torch.tensor([[w / 2, 0, (w - 1) / 2], [0, h / 2, (h - 1) / 2], [0, 0, 1]], { dtype: 'float64' });
      mats = nrm.matmul(m3).matmul(inv);
    }
    const empty = torch.tensor([[1, 0, EMPTY_SHIFT], [0, 1, EMPTY_SHIFT]], { dtype: 'float64' });
    const theta = torch.where(ok.view([rows, 1, 1]), mats.narrow(1, 0, 2), empty).to('float32').view([n, NUM_PARTS, 2, 3]);
    const masks = boxMasks(torch.tensor(boxes, [rows, 4]), [h, w], [mh, mw]).mul(ok.to('float32').view([rows, 1, 1]));
    return { theta, masks: masks.view([n, NUM_PARTS, mh, mw]), valid: ok.view([n, NUM_PARTS]) };
  });
}

function dist2(kp: Float32Array, base: number, p: number, q: number): number {
  const dy = (kp[base + 2 * p] as number) - (kp[base + 2 * q] as number);
  const dx = (kp[base + 2 * p + 1] as number) - (kp[base + 2 * q + 1] as number);
  return dy * dy + dx * dx;
}

/**
 * ||M||_F ||M^-1||_F for batched 3 x 3 affine matrices [[L, t], [0, 0, 1]], via the closed-form inverse
 * (within a factor 3 of the 2-norm condition number numpy's cond uses). Singular L gives +inf.
 */
function conditionNumber(m: torch.Tensor): torch.Tensor {
  return torch.scope(() => {
    const a = m.select(1, 0).select(1, 0);
    const b = m.select(1, 0).select(1, 1);
    const tx = m.select(1, 0).select(1, 2);
    const c = m.select(1, 1).select(1, 0);
    const d = m.select(1, 1).select(1, 1);
    const ty = m.select(1, 1).select(1, 2);
    const det = a.mul(d).sub(b.mul(c));
    const l2 = a.square().add(b.square()).add(c.square()).add(d.square());
    const norm = l2.add(tx.square()).add(ty.square()).add(1).sqrt();
    // L^-1 = [[d, -b], [-c, a]] / det; the inverse's translation is -L^-1 t.
    const itx = d.mul(tx).sub(b.mul(ty)).div(det).neg();
    const ity = a.mul(ty).sub(c.mul(tx)).div(det).neg();
    const invNorm = l2.div(det.square()).add(itx.square()).add(ity.square()).add(1).sqrt();
    const cond = norm.mul(invNorm);
    return torch.where(det.abs().gt(1e-12), cond, Infinity);
  });
}

/**
 * Boxes (rows, 4) = (y0, y1, x0, x1) in frame pixels -> (rows, H', W') float32 masks. A mask pixel is set when the
 * frame point it samples (its centre mapped back, (p + 0.5) * frame / size - 0.5) lies in [y0, y1) x [x0, x1).
 */
export function boxMasks(boxes: torch.Tensor, frame: Frame, size: Frame): torch.Tensor {
  const [h, w] = frame;
  const [mh, mw] = size;
  return torch.scope(() => {
    const rows = boxes.shape[0] as number;
    const ys = torch.arange(0, mh, 1, 'float32').add(0.5).mul(h / mh).sub(0.5).view([1, mh, 1]);
    const xs = torch.arange(0, mw, 1, 'float32').add(0.5).mul(w / mw).sub(0.5).view([1, 1, mw]);
    const col = (i: number): torch.Tensor => boxes.select(1, i).view([rows, 1, 1]);
    const inY = ys.ge(col(0)).logicalAnd(ys.lt(col(1)));
    const inX = xs.ge(col(2)).logicalAnd(xs.lt(col(3)));
    return inY.logicalAnd(inX).to('float32');
  });
}
