// The OpenPose COCO-18 skeleton and the one pose representation the project uses.
//
// A `Pose` is a Float32Array of 36 numbers: 18 (y, x) pairs in joint order, y first, as the field's annotation
// CSVs store them. Coordinates are pixels in the image frame (y down from the top row, x right from the left
// column; pixel centres at integers). A missing joint is -1 in BOTH its y and x. A batch of poses as a tensor is
// (N, 18, 2) float32 in the same (y, x) layout.
//
// "Right" is the person's right (image-left in a frontal view). The field's label lists call joints 14-17
// "Leye, Reye, Lear, Rear", but the data contradicts them (x[14] < x[15] in every frontal view), so here 14 is
// the right eye and 16 the right ear.

export const NUM_JOINTS = 18;

/** 18 (y, x) pairs, y first; -1 in both for a missing joint. Length 36. */
export type Pose = Float32Array;

export const JOINT_NAMES = [
  'nose', 'neck',
  'r_shoulder', 'r_elbow', 'r_wrist',
  'l_shoulder', 'l_elbow', 'l_wrist',
  'r_hip', 'r_knee', 'r_ankle',
  'l_hip', 'l_knee', 'l_ankle',
  'r_eye', 'l_eye', 'r_ear', 'l_ear',
] as const;
export type JointName = (typeof JOINT_NAMES)[number];

/** Joint indices by name. */
export const J = Object.fromEntries(JOINT_NAMES.map((n, i) => [n, i])) as Record<JointName, number>;

/**
 * The 19 limbs (0-based joint pairs) the field draws skeletons with and builds PG2's pose mask from
 * (OpenPose's limbSeq: neck-shoulders, arms, neck-hips, legs, neck-nose, nose-eyes-ears, shoulder-ear).
 */
export const LIMBS: readonly (readonly [number, number])[] = [
  [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7],
  [1, 8], [8, 9], [9, 10], [1, 11], [11, 12], [12, 13],
  [1, 0], [0, 14], [14, 16], [0, 15], [15, 17],
  [2, 16], [5, 17],
];

/** For each joint, its mirror (left <-> right); centre joints map to themselves. */
export const MIRROR: readonly number[] = [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16];

/**
 * One colour per joint (RGB), the OpenPose palette the field's skeleton pictures use; a limb takes the colour of
 * its index in LIMBS (the first 18) and the 19th reuses the last.
 */
export const JOINT_COLORS: readonly (readonly [number, number, number])[] = [
  [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
  [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
  [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
];

/** A pose with every joint missing. */
export function emptyPose(): Pose {
  return new Float32Array(NUM_JOINTS * 2).fill(-1);
}

/** Builds a Pose from the CSV's two lists (y first). Any negative coordinate makes the joint missing. */
export function poseFromYX(y: readonly number[], x: readonly number[]): Pose {
  if (y.length !== NUM_JOINTS || x.length !== NUM_JOINTS) {
    throw new Error(`poseFromYX: need ${NUM_JOINTS} y and ${NUM_JOINTS} x values, got ${y.length} and ${x.length}`);
  }
  const p = emptyPose();
  for (let j = 0; j < NUM_JOINTS; j++) setJoint(p, j, y[j] as number, x[j] as number);
  return p;
}

/** Builds a Pose from 18 (x, y) points, x first (as most drawing code thinks); null or undefined means missing. */
export function poseFromPoints(points: readonly ({ x: number; y: number } | null | undefined)[]): Pose {
  if (points.length !== NUM_JOINTS) throw new Error(`poseFromPoints: need ${NUM_JOINTS} points, got ${points.length}`);
  const p = emptyPose();
  points.forEach((pt, j) => { if (pt) setJoint(p, j, pt.y, pt.x); });
  return p;
}

/** The CSV's two lists: [y[18], x[18]]. */
export function poseToYX(p: Pose): [number[], number[]] {
  const y: number[] = [];
  const x: number[] = [];
  for (let j = 0; j < NUM_JOINTS; j++) {
    y.push(p[2 * j] as number);
    x.push(p[2 * j + 1] as number);
  }
  return [y, x];
}

export function isVisible(p: Pose, j: number): boolean {
  return (p[2 * j] as number) >= 0 && (p[2 * j + 1] as number) >= 0;
}

export function jointY(p: Pose, j: number): number {
  return p[2 * j] as number;
}

export function jointX(p: Pose, j: number): number {
  return p[2 * j + 1] as number;
}

/** Sets joint j; a negative or non-finite coordinate marks it missing (-1, -1). */
export function setJoint(p: Pose, j: number, y: number, x: number): void {
  const ok = Number.isFinite(y) && Number.isFinite(x) && y >= 0 && x >= 0;
  p[2 * j] = ok ? y : -1;
  p[2 * j + 1] = ok ? x : -1;
}

export function visibleCount(p: Pose): number {
  let n = 0;
  for (let j = 0; j < NUM_JOINTS; j++) if (isVisible(p, j)) n++;
  return n;
}

/** Checks length 36; throws naming `what` otherwise. */
export function assertPose(p: unknown, what = 'pose'): asserts p is Pose {
  if (!(p instanceof Float32Array) || p.length !== NUM_JOINTS * 2) {
    const got = p instanceof Float32Array ? `a Float32Array of length ${p.length}` : typeof p;
    throw new Error(`${what}: expected a Pose (Float32Array of 36 = 18 (y, x) pairs), got ${got}`);
  }
}

/**
 * Mirrors a pose left-right in a frame `width` pixels wide: x -> width - 1 - x, and each left joint swaps with its
 * right counterpart so that "right" stays the person's right. Matches flipping the image with torch.flip(.., [-1]).
 */
export function flipPose(p: Pose, width: number): Pose {
  const out = emptyPose();
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!isVisible(p, j)) continue;
    setJoint(out, MIRROR[j] as number, jointY(p, j), width - 1 - jointX(p, j));
  }
  return out;
}

/** COCO-17 keypoint order (as COCO, MoveNet and most detectors emit). */
export const COCO17_NAMES = [
  'nose', 'l_eye', 'r_eye', 'l_ear', 'r_ear', 'l_shoulder', 'r_shoulder', 'l_elbow', 'r_elbow',
  'l_wrist', 'r_wrist', 'l_hip', 'r_hip', 'l_knee', 'r_knee', 'l_ankle', 'r_ankle',
] as const;

/** For each OpenPose-18 joint, its COCO-17 index; the neck (1) has none and is derived. */
const OPENPOSE_FROM_COCO: readonly number[] = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3];

export interface Coco17Point { x: number; y: number; score?: number }

/**
 * COCO-17 keypoints -> an OpenPose-18 Pose. A point is missing when null, when its coordinates are negative, or
 * when its score is below `minScore` (default 0: scores are ignored unless given). The neck is the midpoint of the
 * two shoulders when both are present, else missing.
 */
export function cocoToOpenPose(points: readonly (Coco17Point | null | undefined)[], minScore = 0): Pose {
  if (points.length !== 17) throw new Error(`cocoToOpenPose: need 17 COCO keypoints, got ${points.length}`);
  const present = (pt: Coco17Point | null | undefined): pt is Coco17Point =>
    !!pt && pt.x >= 0 && pt.y >= 0 && (pt.score === undefined || pt.score >= minScore);
  const p = emptyPose();
  OPENPOSE_FROM_COCO.forEach((c, j) => {
    if (c < 0) return;
    const pt = points[c];
    if (present(pt)) setJoint(p, j, pt.y, pt.x);
  });
  const ls = points[5];
  const rs = points[6];
  if (present(ls) && present(rs)) setJoint(p, J.neck, (ls.y + rs.y) / 2, (ls.x + rs.x) / 2);
  return p;
}

/** Packs poses into a Float32Array of N*36, ready for torch.tensor(.., [N, 18, 2]). */
export function packPoses(poses: readonly Pose[]): Float32Array {
  const out = new Float32Array(poses.length * NUM_JOINTS * 2);
  poses.forEach((p, i) => {
    assertPose(p, `packPoses: pose ${i}`);
    out.set(p, i * NUM_JOINTS * 2);
  });
  return out;
}
