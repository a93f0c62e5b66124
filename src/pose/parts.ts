// Deformable GAN's 10 body parts and the per-part affine transforms between a source and a target pose
// (Siarohin et al. 2018), as the released code's final pose_transform.py computes them (affine_transforms,
// pose_masks, estimate_polygon): the geometry below is worked out per part in float64 and the masks are drawn on
// tensors.
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

/** Both hips and both shoulders: every part needs them in both poses (they set the torso size). */
export const TORSO_JOINTS: readonly number[] = [J.r_hip, J.l_hip, J.l_shoulder, J.r_shoulder];
/** The head keypoints; the head's fit uses those present in both poses, plus both shoulders. */
export const HEAD_JOINTS: readonly number[] = [J.nose, J.r_eye, J.l_eye, J.r_ear, J.l_ear];
/** Half the side of the head's square mask, as a share of the target's torso size. */
export const HEAD_HALF_SIDE = 0.4;
/** A limb's rectangle starts this share of the limb before its first joint... */
export const LIMB_BACK_REACH = 0.1;
/** ...and is this share of the torso size wide on either side of the limb. */
export const LIMB_HALF_WIDTH = 0.2;

export interface Limb {
  from: number;
  to: number;
  /** How far the rectangle runs past `to`, as a share of the (start-extended) limb: for the affine's rectangles... */
  reachAffine: number;
  /** ...and for the mask's (the released code uses 0.5 for lower legs and forearms here, 0.3 in the affine). */
  reachMask: number;
}

export interface BodyPart {
  name: string;
  /** The limb's joints and reaches; null for the torso and the head, which have rules of their own. */
  limb: Limb | null;
  /** Index of the left/right counterpart in PARTS, whose source rectangle stands in when the source lacks this limb; -1 for none. */
  mirror: number;
}

const limb = (from: number, to: number, reachAffine: number, reachMask: number): Limb => ({ from, to, reachAffine, reachMask });

/** The 10 parts, in Deformable GAN's order. "r_" is the person's right (OpenPose joints 2-4, 8-10). */
export const PARTS: readonly BodyPart[] = [
  { name: 'torso', limb: null, mirror: -1 },
  { name: 'head', limb: null, mirror: -1 },
  { name: 'r_upper_leg', limb: limb(J.r_hip, J.r_knee, 0.1, 0.1), mirror: 3 },
  { name: 'l_upper_leg', limb: limb(J.l_hip, J.l_knee, 0.1, 0.1), mirror: 2 },
  { name: 'r_lower_leg', limb: limb(J.r_knee, J.r_ankle, 0.3, 0.5), mirror: 5 },
  { name: 'l_lower_leg', limb: limb(J.l_knee, J.l_ankle, 0.3, 0.5), mirror: 4 },
  { name: 'r_upper_arm', limb: limb(J.r_shoulder, J.r_elbow, 0.1, 0.1), mirror: 7 },
  { name: 'l_upper_arm', limb: limb(J.l_shoulder, J.l_elbow, 0.1, 0.1), mirror: 6 },
  { name: 'r_forearm', limb: limb(J.r_elbow, J.r_wrist, 0.3, 0.5), mirror: 9 },
  { name: 'l_forearm', limb: limb(J.l_elbow, J.l_wrist, 0.3, 0.5), mirror: 8 },
];
export const NUM_PARTS = PARTS.length;
const NUM_LIMBS = NUM_PARTS - 2;

export interface PartAffineOptions {
  /** 'normalized' (default): theta for affine_grid with align_corners=false; 'pixels': pixel-space matrices. */
  space?: 'normalized' | 'pixels';
  /**
   * (H', W') of the part masks; default the frame. Other sizes take the frame-size masks' pixels by nearest
   * neighbour, as the released code resizes its masks for each feature resolution (see nearestSources); only
   * those pixels are computed.
   */
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

type Point = readonly [number, number]; // (x, y) pixels, as the released code orders them

/** The pose's joints as (x, y) points; null where missing (either coordinate negative). */
function jointsOf(kp: Float32Array, pose: number): (Point | null)[] {
  const out: (Point | null)[] = [];
  for (let j = 0; j < NUM_JOINTS; j++) {
    const y = kp[(pose * NUM_JOINTS + j) * 2] as number;
    const x = kp[(pose * NUM_JOINTS + j) * 2 + 1] as number;
    out.push(y >= 0 && x >= 0 ? [x, y] : null);
  }
  return out;
}

/** sqrt((|r_hip - r_shoulder|^2 + |l_hip - l_shoulder|^2) / 2), the released compute_st_distance. */
function torsoSize(p: readonly (Point | null)[]): number {
  const d2 = (a: number, b: number): number => {
    const [ax, ay] = p[a] as Point;
    const [bx, by] = p[b] as Point;
    return (ax - bx) ** 2 + (ay - by) ** 2;
  };
  return Math.sqrt((d2(J.r_hip, J.r_shoulder) + d2(J.l_hip, J.l_shoulder)) / 2);
}

/**
 * The released estimate_polygon: the limb from -> to, first lengthened backwards by LIMB_BACK_REACH of itself, then
 * forwards by `reach` of the lengthened limb, as a rectangle LIMB_HALF_WIDTH * st wide on each side. Vertices in
 * order (start + side, start - side, end - side, end + side). Coincident joints give the released stand-in, the
 * 2-pixel diagonal (start + 1, start - 1, end - 1, end + 1), which has no area. The arithmetic follows the released
 * expressions operation by operation, so the float64 vertices (and the pixels the mask rule puts on edges) agree.
 */
export function limbRectangle(from: Point, to: Point, st: number, reach: number): [Point, Point, Point, Point] {
  const sx = from[0] + (from[0] - to[0]) * LIMB_BACK_REACH;
  const sy = from[1] + (from[1] - to[1]) * LIMB_BACK_REACH;
  const ex = to[0] + (to[0] - sx) * reach;
  const ey = to[1] + (to[1] - sy) * reach;
  // The side direction: the start-to-end vector turned by 90 degrees.
  let nx = -(sy - ey);
  let ny = sx - ex;
  const len = Math.sqrt(nx * nx + ny * ny);
  if (len === 0) return [[sx + 1, sy + 1], [sx - 1, sy - 1], [ex - 1, ey - 1], [ex + 1, ey + 1]];
  nx /= len;
  ny /= len;
  const w = st * LIMB_HALF_WIDTH;
  return [[sx + w * nx, sy + w * ny], [sx - w * nx, sy - w * ny], [ex - w * nx, ey - w * ny], [ex + w * nx, ey + w * ny]];
}

/**
 * Per-part affine transforms from the target pose back to the source pose, and the parts' masks in the target, as
 * the released code (final version) computes them. Both poses need the four torso joints; a pair without them has
 * every part empty (the released code cannot handle such a pair at all: its pair lists exclude them).
 * - torso: the fit of the four torso joints; its mask is the whole frame.
 * - head: the fit of the head keypoints (nose, eyes, ears) present in both poses plus both shoulders; empty when no
 *   head keypoint is in both. Mask: the square of half side trunc(0.4 st) around the target's head keypoints'
 *   centroid (truncated to whole pixels), rows/columns c - b <= p < c + b, clipped to the frame.
 * - limbs: the fit of the target's limbRectangle onto the source's (each pose with its own torso size st); when the
 *   source lacks the limb, its mirrored limb's source rectangle stands in; empty when the target lacks the limb or
 *   the source lacks both. Mask: the target's rectangle (with the mask's reach) filled by polygonMasks' rule.
 * Fits are affine and total least squares (fitAffine); a fit is empty when it is not invertible (the released
 * check), not finite, or undefined (fitAffine). st = sqrt((|r_hip - r_shoulder|^2 + |l_hip - l_shoulder|^2) / 2).
 *
 * @param source (N,18,2) (y, x) pixels of the source poses
 * @param target (N,18,2) (y, x) pixels of the target poses
 * @param frame [H, W] of the images the keypoints are in
 */
export function partAffines(source: torch.Tensor, target: torch.Tensor, frame: Frame, options: PartAffineOptions = {}): PartAffines {
  checkKeypoints(source, 'partAffines (source)');
  checkKeypoints(target, 'partAffines (target)');
  checkSize(frame, 'frame');
  const [h, w] = frame;
  const maskSize = options.maskSize ?? frame;
  checkSize(maskSize, 'maskSize');
  const src = torch.scope(() => source.to('float32').contiguous().data()) as Float32Array;
  const tgt = torch.scope(() => target.to('float32').contiguous().data()) as Float32Array;
  if (src.length !== tgt.length) throw new Error(`partAffines: source has ${src.length / 36} poses, target ${tgt.length / 36}; give one target per source`);
  const n = src.length / (NUM_JOINTS * 2);
  const rows = n * NUM_PARTS;
  const pixel = new Float64Array(rows * 6); // target -> source, pixel space, row-major 2 x 3
  const valid = new Uint8Array(rows);
  const headBoxes = new Float64Array(n * 4); // y0, y1, x0, x1 (y0 <= y < y1); all zero: no box
  const limbPolygons = new Float64Array(n * NUM_LIMBS * 8); // 4 (x, y) vertices; all zero: no polygon
  for (let i = 0; i < n; i++) {
    const s = jointsOf(src, i);
    const t = jointsOf(tgt, i);
    if (!TORSO_JOINTS.every((j) => s[j] && t[j])) continue;
    const st1 = torsoSize(s);
    const st2 = torsoSize(t);
    const keep = (k: number, fit: Float64Array | null): void => {
      if (fit === null || !invertible(fit)) return;
      valid[i * NUM_PARTS + k] = 1;
      pixel.set(fit, (i * NUM_PARTS + k) * 6);
    };
    const pick = (p: readonly (Point | null)[], joints: readonly number[]): Point[] => joints.map((j) => p[j] as Point);
    keep(0, fitAffine(pick(t, TORSO_JOINTS), pick(s, TORSO_JOINTS)));
    const common = HEAD_JOINTS.filter((j) => s[j] && t[j]);
    if (common.length > 0) {
      const joints = [...common, J.l_shoulder, J.r_shoulder];
      keep(1, fitAffine(pick(t, joints), pick(s, joints)));
    }
    const head = pick(t, HEAD_JOINTS.filter((j) => t[j]));
    if (head.length > 0) {
      const cx = Math.trunc(head.reduce((a, p) => a + p[0], 0) / head.length);
      const cy = Math.trunc(head.reduce((a, p) => a + p[1], 0) / head.length);
      const b = Math.trunc(HEAD_HALF_SIDE * st2);
      headBoxes.set([Math.max(cy - b, 0), Math.min(cy + b, h), Math.max(cx - b, 0), Math.min(cx + b, w)], i * 4);
    }
    for (let k = 2; k < NUM_PARTS; k++) {
      const { limb: l, mirror } = PARTS[k] as BodyPart & { limb: Limb };
      const tFrom = t[l.from];
      const tTo = t[l.to];
      if (!tFrom || !tTo) continue;
      limbPolygons.set(limbRectangle(tFrom, tTo, st2, l.reachMask).flat(), (i * NUM_LIMBS + k - 2) * 8);
      const m = (PARTS[mirror] as BodyPart).limb as Limb;
      const [sFrom, sTo] = s[l.from] && s[l.to] ? [s[l.from], s[l.to]] : [s[m.from], s[m.to]];
      if (!sFrom || !sTo) continue;
      keep(k, fitAffine(limbRectangle(tFrom, tTo, st2, l.reachAffine), limbRectangle(sFrom, sTo, st1, l.reachAffine)));
    }
  }
  return torch.scope(() => {
    const ok = torch.tensor(valid).ne(0);
    const m2x3 = torch.tensor(pixel, [rows, 2, 3]);
    let mats = m2x3;
    if ((options.space ?? 'normalized') === 'normalized') {
      const bottom = torch.tensor([0, 0, 1], { dtype: 'float64' }).view([1, 1, 3]).expand([rows, 1, 3]);
      const nrm = torch.tensor([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1]], { dtype: 'float64' });
      const inv = torch.tensor([[w / 2, 0, (w - 1) / 2], [0, h / 2, (h - 1) / 2], [0, 0, 1]], { dtype: 'float64' });
      mats = nrm.matmul(torch.cat([m2x3, bottom], 1)).matmul(inv);
    }
    const empty = torch.tensor([[1, 0, EMPTY_SHIFT], [0, 1, EMPTY_SHIFT]], { dtype: 'float64' });
    const theta = torch.where(ok.view([rows, 1, 1]), mats, empty).to('float32').view([n, NUM_PARTS, 2, 3]);
    const [mh, mw] = maskSize;
    const torso = torch.ones([n, 1, mh, mw], 'bool');
    const heads = boxMasks(torch.tensor(headBoxes, [n, 4]), frame, maskSize).view([n, 1, mh, mw]);
    const limbs = polygonMasks(torch.tensor(limbPolygons, [n * NUM_LIMBS, 4, 2]), frame, maskSize).view([n, NUM_LIMBS, mh, mw]);
    const masks = torch.cat([torso, heads, limbs], 1).logicalAnd(ok.view([n, NUM_PARTS, 1, 1])).to('float32');
    return { theta, masks, valid: ok.view([n, NUM_PARTS]) };
  });
}

function checkSize(size: Frame, what: string): void {
  const [h, w] = size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new Error(`partAffines: ${what} must be two positive integers [H, W], got [${size.join(', ')}]`);
  }
}

/**
 * The affine map [x', y'] = L [x, y] + t taking the points `from` onto `to` (as (x, y) pairs), fitted as skimage's
 * AffineTransform.estimate does in the versions the released code ran (0.11 to 0.19): each point set is centred and
 * scaled to an rms distance of sqrt(2) from its centroid, and the normalised map is the TOTAL least-squares solution
 * of [x y 1 0 0 0 -x'; 0 0 0 x y 1 -y'] v = 0, the singular vector of the smallest singular value (here: the
 * eigenvector of the smallest eigenvalue of the system's 7 x 7 normal matrix), with v scaled to a last entry of -1.
 * That differs from ordinary least squares whenever the points do not fit exactly (the torso's 4 corners, the head).
 * Plain float64 arithmetic rather than tensors: the op table has no SVD or eigensolver, and each system is 7 x 7.
 * Returns [L00, L01, tx, L10, L11, ty], or null when the fit is undefined: coincident points, `from` points on one
 * line (the released code then gets an arbitrary solution of a rank-deficient system), or a solution at infinity.
 */
export function fitAffine(from: readonly Point[], to: readonly Point[]): Float64Array | null {
  const [fs, fcx, fcy, a] = normalise(from);
  const [ts, tcx, tcy, b] = normalise(to);
  if (!(fs > 0 && ts > 0 && Number.isFinite(fs) && Number.isFinite(ts))) return null;
  // Normal matrix M = A^T A of the homogeneous system, unknowns (a0, a1, a2, b0, b1, b2, c).
  const m = new Float64Array(49);
  let sxx = 0; let sxy = 0; let syy = 0;
  for (let p = 0; p < a.length; p++) {
    const u = [(a[p] as Point)[0], (a[p] as Point)[1], 1];
    const [dx, dy] = b[p] as Point;
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        m[r * 7 + c] = (m[r * 7 + c] as number) + (u[r] as number) * (u[c] as number);
        m[(r + 3) * 7 + c + 3] = (m[(r + 3) * 7 + c + 3] as number) + (u[r] as number) * (u[c] as number);
      }
      m[r * 7 + 6] = (m[r * 7 + 6] as number) + (u[r] as number) * dx;
      m[(r + 3) * 7 + 6] = (m[(r + 3) * 7 + 6] as number) + (u[r] as number) * dy;
    }
    m[48] = (m[48] as number) + dx * dx + dy * dy;
    sxx += (u[0] as number) ** 2; sxy += (u[0] as number) * (u[1] as number); syy += (u[1] as number) ** 2;
  }
  for (let r = 0; r < 6; r++) m[6 * 7 + r] = m[r * 7 + 6] as number;
  // Centred points on one line leave the 2 x 2 scatter singular (its trace is 2 * count after the scaling).
  if (sxx * syy - sxy * sxy <= 1e-10 * ((sxx + syy) / 2) ** 2) return null;
  const v = smallestEigenvector(m, 7);
  const c = v[6] as number;
  if (Math.abs(c) < 1e-12) return null;
  // Normalised map, then back to pixels: L = (fs / ts) Ln, t = (Ln (-fs c_from) + tn) / ts + c_to.
  const ln = [-(v[0] as number) / c, -(v[1] as number) / c, -(v[3] as number) / c, -(v[4] as number) / c];
  const tn = [-(v[2] as number) / c, -(v[5] as number) / c];
  const k = fs / ts;
  const out = new Float64Array([
    k * (ln[0] as number), k * (ln[1] as number), 0,
    k * (ln[2] as number), k * (ln[3] as number), 0,
  ]);
  out[2] = ((ln[0] as number) * -fs * fcx + (ln[1] as number) * -fs * fcy + (tn[0] as number)) / ts + tcx;
  out[5] = ((ln[2] as number) * -fs * fcx + (ln[3] as number) * -fs * fcy + (tn[1] as number)) / ts + tcy;
  return out.every(Number.isFinite) ? out : null;
}

/** [scale, centroid x, centroid y, points centred and scaled to rms distance sqrt(2)] (skimage's normalisation). */
function normalise(points: readonly Point[]): [number, number, number, Point[]] {
  const count = points.length;
  const cx = points.reduce((s, p) => s + p[0], 0) / count;
  const cy = points.reduce((s, p) => s + p[1], 0) / count;
  const rms = Math.sqrt(points.reduce((s, p) => s + (p[0] - cx) ** 2 + (p[1] - cy) ** 2, 0) / count);
  const f = Math.SQRT2 / rms;
  return [f, cx, cy, points.map((p) => [f * (p[0] - cx), f * (p[1] - cy)] as Point)];
}

/**
 * Eigenvector of the smallest eigenvalue of a symmetric n x n matrix (row-major), by cyclic Jacobi rotations,
 * which find every eigenvector to working accuracy relative to the matrix's norm.
 */
function smallestEigenvector(matrix: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const total = a.reduce((s, x) => s + x * x, 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p * n + q] as number) ** 2;
    if (off <= 1e-32 * total) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (apq === 0) continue;
        // The rotation in the (p, q) plane that zeroes a[p, q] (the smaller of the two angles).
        const theta = ((a[q * n + q] as number) - (a[p * n + p] as number)) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.hypot(theta, 1));
        const cos = 1 / Math.sqrt(t * t + 1);
        const sin = t * cos;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = cos * akp - sin * akq;
          a[k * n + q] = sin * akp + cos * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = cos * apk - sin * aqk;
          a[q * n + k] = sin * apk + cos * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = cos * vkp - sin * vkq;
          v[k * n + q] = sin * vkp + cos * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if ((a[i * n + i] as number) < (a[best * n + best] as number)) best = i;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = v[k * n + best] as number;
  return out;
}

/**
 * The released check: numpy's inv of the 3 x 3 matrix [[L, t], [0, 0, 1]] fails (LinAlgError) exactly when LAPACK's
 * LU factorisation with partial pivoting meets a zero pivot, which for this matrix happens in the 2 x 2 block L:
 * both entries of its first column zero, or a zero second pivot after eliminating with the larger one (the
 * multiplier taken as a product with the pivot's reciprocal, as LAPACK scales the column). Non-finite matrices fail too.
 */
function invertible(m: Float64Array): boolean {
  if (!m.every(Number.isFinite)) return false;
  const [a, b, c, d] = [m[0] as number, m[1] as number, m[3] as number, m[4] as number];
  if (a === 0 && c === 0) return false;
  const [pivot, pivotNext, other, otherNext] = Math.abs(a) >= Math.abs(c) ? [a, b, c, d] : [c, d, a, b];
  return otherNext - other * (1 / pivot) * pivotNext !== 0;
}

/**
 * The frame pixels (row or column indices, as float64) that a nearest-neighbour resize of n pixels to `out` takes,
 * by TensorFlow 1's resize_images(NEAREST_NEIGHBOR) rule, with which the released code brings its frame-size masks
 * to each feature resolution: output i takes input min(floor(i * s), n - 1), s = n / out, the product in float32.
 * It is also PyTorch's 'nearest' interpolation, which the deformable skips apply to frame-size masks.
 */
export function nearestSources(n: number, out: number): Float64Array {
  const s = Math.fround(n / out);
  return Float64Array.from({ length: out }, (_, i) => Math.min(Math.floor(Math.fround(i * s)), n - 1));
}

/** (1, H', 1) and (1, 1, W') float64 coordinates of the frame pixels a mask of `size` samples (see nearestSources). */
function sampledPixels(frame: Frame, size: Frame): [torch.Tensor, torch.Tensor] {
  const [h, w] = frame;
  const [mh, mw] = size;
  return [torch.tensor(nearestSources(h, mh), [1, mh, 1]), torch.tensor(nearestSources(w, mw), [1, 1, mw])];
}

/**
 * Boxes (R, 4) = (y0, y1, x0, x1) in whole pixels -> (R, H', W') bool: y0 <= y < y1 and x0 <= x < x1, as the
 * released code's array slice mask[y0:y1, x0:x1] (bounds already clipped to the frame), at the frame pixels a
 * mask of `size` (default the frame) samples.
 */
export function boxMasks(boxes: torch.Tensor, frame: Frame, size: Frame = frame): torch.Tensor {
  return torch.scope(() => {
    const r = boxes.shape[0] as number;
    const [ys, xs] = sampledPixels(frame, size);
    const col = (i: number): torch.Tensor => boxes.select(1, i).to('float64').view([r, 1, 1]);
    return ys.ge(col(0)).logicalAnd(ys.lt(col(1))).logicalAnd(xs.ge(col(2)).logicalAnd(xs.lt(col(3))));
  });
}

/**
 * Polygons filled with the pixel rule of skimage.measure.grid_points_in_poly as the released code ran it (skimage
 * before 0.18, whose crossing-number test counts no boundary specially): pixel (row y, column x) is inside when an
 * odd number of edges (vertex i-1 to vertex i) span its column half-open, min(x_i, x_i-1) <= x < max(...), and
 * cross that column strictly below the pixel's row, y < (y_i-1 - y_i) (x - x_i) / (x_i-1 - x_i) + y_i, evaluated in
 * float64 in that order, as the Cython code does. A pixel exactly on an edge is thus decided by the half-open span and
 * the strict comparison (an axis-aligned rectangle keeps its top row and left column, not its bottom row and right
 * column), so the vertices must come from the same float64 arithmetic as the released code's (see limbRectangle).
 * A mask of another `size` takes the frame-size mask's pixels by nearest neighbour (nearestSources).
 *
 * @param polygons (R, V, 2) float64 vertices as (x, y) pixels of the frame
 * @returns (R, H', W') bool
 */
export function polygonMasks(polygons: torch.Tensor, frame: Frame, size: Frame = frame): torch.Tensor {
  return torch.scope(() => {
    const [r, nv] = polygons.shape as [number, number, number];
    const p = polygons.to('float64');
    const [ys, xs] = sampledPixels(frame, size);
    const coord = (i: number, c: number): torch.Tensor => p.select(1, i).select(1, c).view([r, 1, 1]);
    let inside: torch.Tensor | null = null;
    for (let i = 0; i < nv; i++) {
      const j = (i + nv - 1) % nv;
      const [xi, yi, xj, yj] = [coord(i, 0), coord(i, 1), coord(j, 0), coord(j, 1)];
      const spans = xi.le(xs).logicalAnd(xs.lt(xj)).logicalOr(xj.le(xs).logicalAnd(xs.lt(xi))); // (R,1,W')
      const crossY = yj.sub(yi).mul(xs.sub(xi)).div(xj.sub(xi)).add(yi); // (R,1,W'); inf/nan only where no span
      const crosses = ys.lt(torch.where(spans, crossY, -Infinity)); // (R,H',W'); no crossing where no span
      inside = inside === null ? crosses : inside.ne(crosses);
    }
    return inside ?? torch.zeros([r, size[0], size[1]], 'bool');
  });
}
