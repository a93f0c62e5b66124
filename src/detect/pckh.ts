// PCKh as the field's scripts compute it (PATN tool/calPCKH_market.py and calPCKH_fashion.py): the head box of the
// target pose is the width and height spanned by its visible joints among nose, neck, eyes and ears (at least two);
// a predicted joint is correct when |dx| < alpha * width and |dy| < alpha * height (alpha 0.5). Targets with no head
// box are skipped. The score pools every image: correct joints over the targets' visible joints.
import { isVisible, jointX, jointY, NUM_JOINTS, type Pose } from '../pose/skeleton.js';

/** The joints whose spread gives the head box: nose, neck, r/l eye, r/l ear. */
export const HEAD_BOX_JOINTS: readonly number[] = [0, 1, 14, 15, 16, 17];
export const PCKH_ALPHA = 0.5;

/** The head box [width, height] of a target pose, or null with fewer than two head joints. */
export function headBox(target: Pose): [number, number] | null {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const j of HEAD_BOX_JOINTS) {
    if (!isVisible(target, j)) continue;
    xs.push(jointX(target, j));
    ys.push(jointY(target, j));
  }
  if (xs.length < 2) return null;
  return [Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
}

/** One image's count: joints of `predicted` within the head box tolerance, over the target's visible joints. */
export interface PckhCount {
  correct: number;
  total: number;
}

/** Counts one pair, or null when the target has no head box (the scripts skip it). */
export function pckhCount(predicted: Pose, target: Pose, alpha = PCKH_ALPHA): PckhCount | null {
  const box = headBox(target);
  if (!box) return null;
  let correct = 0;
  let total = 0;
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!isVisible(target, j)) continue;
    total++;
    if (!isVisible(predicted, j)) continue;
    if (Math.abs(jointX(predicted, j) - jointX(target, j)) < alpha * box[0] && Math.abs(jointY(predicted, j) - jointY(target, j)) < alpha * box[1]) correct++;
  }
  return { correct, total };
}

export interface PckhResult {
  /** Pooled correct / total; NaN when no pair had a head box. */
  pckh: number;
  correct: number;
  total: number;
  /** Pairs counted (those whose target has a head box). */
  pairs: number;
  skipped: number;
}

/** PCKh over pairs of (predicted, target) poses in one frame. */
export function pckh(pairs: readonly (readonly [Pose, Pose])[], alpha = PCKH_ALPHA): PckhResult {
  let correct = 0;
  let total = 0;
  let counted = 0;
  for (const [p, t] of pairs) {
    const c = pckhCount(p, t, alpha);
    if (!c) continue;
    correct += c.correct;
    total += c.total;
    counted++;
  }
  return { pckh: total > 0 ? correct / total : NaN, correct, total, pairs: counted, skipped: pairs.length - counted };
}

/** Mean Euclidean pixel distance over joints visible in both poses, and how many there were. */
export function meanPixelError(predicted: Pose, target: Pose): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!isVisible(predicted, j) || !isVisible(target, j)) continue;
    sum += Math.hypot(jointX(predicted, j) - jointX(target, j), jointY(predicted, j) - jointY(target, j));
    count++;
  }
  return { sum, count };
}
