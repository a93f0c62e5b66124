// Poses as the editor needs them: carried over between frames of different sizes, turned to and from the JSON the
// page speaks ([x, y] pairs, -1 missing), interpolated between keyframes, and a few named poses to start from.
import { NUM_JOINTS, emptyPose, isVisible, jointX, jointY, setJoint, type Pose } from '../pose/skeleton.js';
import { bodyJoints, makeIdentity, type BodyAngles } from '../synth/index.js';

/** [height, width] in pixels. */
export type Frame = readonly [number, number];

/** 18 [x, y] pairs, x first, -1 for a missing joint: what the page sends and receives. */
export type PoseJson = [number, number][];

export function poseToJson(p: Pose): PoseJson {
  return Array.from({ length: NUM_JOINTS }, (_, j) => (isVisible(p, j) ? [jointX(p, j), jointY(p, j)] : [-1, -1]));
}

/** Reads 18 [x, y] pairs; throws naming `what` and the expected form. */
export function poseFromJson(value: unknown, what: string): Pose {
  if (!Array.isArray(value) || value.length !== NUM_JOINTS ||
    !value.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw new Error(`${what} must be a list of ${NUM_JOINTS} [x, y] pairs in OpenPose order, -1 for a missing joint`);
  }
  const pose = emptyPose();
  (value as [number, number][]).forEach(([x, y], j) => setJoint(pose, j, y, x));
  return pose;
}

/**
 * Carries a pose from frame `from` into frame `to` as a letterbox would: scaled by min(H/h, W/w) and centred. A dataset
 * pose (128x64) thus lands on a photo of any size where the person would stand if the photo were that dataset's frame.
 */
export function fitPose(p: Pose, from: Frame, to: Frame): Pose {
  const scale = Math.min(to[0] / from[0], to[1] / from[1]);
  const top = (to[0] - from[0] * scale) / 2;
  const left = (to[1] - from[1] * scale) / 2;
  const out = emptyPose();
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (isVisible(p, j)) setJoint(out, j, jointY(p, j) * scale + top, jointX(p, j) * scale + left);
  }
  return out;
}

/**
 * `between` poses strictly between each pair of keyframes, linearly, plus the keyframes themselves: k keyframes give
 * (k - 1) * (between + 1) + 1 poses. A joint missing in either keyframe of a span is missing inside it.
 */
export function interpolatePoses(keyframes: readonly Pose[], between: number): Pose[] {
  if (keyframes.length === 0) throw new Error('interpolatePoses: give at least one keyframe');
  if (!Number.isInteger(between) || between < 0) throw new Error(`interpolatePoses: between must be a non-negative integer, got ${between}`);
  const out: Pose[] = [keyframes[0] as Pose];
  for (let k = 1; k < keyframes.length; k++) {
    const a = keyframes[k - 1] as Pose;
    const b = keyframes[k] as Pose;
    for (let s = 1; s <= between + 1; s++) {
      const t = s / (between + 1);
      const p = emptyPose();
      for (let j = 0; j < NUM_JOINTS; j++) {
        if (isVisible(a, j) && isVisible(b, j)) {
          setJoint(p, j, jointY(a, j) + t * (jointY(b, j) - jointY(a, j)), jointX(a, j) + t * (jointX(b, j) - jointX(a, j)));
        } else if (s === between + 1) {
          setJoint(p, j, jointY(b, j), jointX(b, j));
        }
      }
      out.push(p);
    }
  }
  return out;
}

const limb = (flex: number, abduct: number, bend: number): BodyAngles['rArm'] => ({ flex, abduct, bend });
const still = { facing: 0, headYaw: 0, roll: 0 };

/**
 * Named poses as joint angles of the synthetic world's body, facing the camera. Unlike sampled poses they are not held
 * to the sampler's limits (abduction up to 100°): raising an arm overhead needs more.
 */
const NAMED_ANGLES: Record<string, BodyAngles> = {
  standing: { ...still, rArm: limb(0, 8, 5), lArm: limb(0, 8, 5), rLeg: limb(0, 4, 0), lLeg: limb(0, 4, 0) },
  'arms up': { ...still, rArm: limb(0, 165, 0), lArm: limb(0, 165, 0), rLeg: limb(0, 4, 0), lLeg: limb(0, 4, 0) },
  't-pose': { ...still, rArm: limb(0, 90, 0), lArm: limb(0, 90, 0), rLeg: limb(0, 6, 0), lLeg: limb(0, 6, 0) },
  'right arm up': { ...still, rArm: limb(0, 165, 0), lArm: limb(0, 8, 5), rLeg: limb(0, 4, 0), lLeg: limb(0, 4, 0) },
  waving: { ...still, rArm: limb(0, 60, 120), lArm: limb(0, 8, 5), rLeg: limb(0, 4, 0), lLeg: limb(0, 4, 0) },
  'wide stance': { ...still, rArm: limb(0, 25, 10), lArm: limb(0, 25, 10), rLeg: limb(0, 25, 0), lLeg: limb(0, 25, 0) },
  walking: { ...still, facing: 90, rArm: limb(-25, 4, 20), lArm: limb(25, 4, 20), rLeg: limb(25, 2, 10), lLeg: limb(-20, 2, 35) },
};

/** The names of the built-in poses; 'standing' is where a photo without a pose starts. */
export const NAMED_POSES = Object.keys(NAMED_ANGLES);

/**
 * A named pose in `frame`: the synthetic body (identity 1 of seed 0) in those angles, projected orthographically and
 * scaled so that crown to soles spans 85% of the frame height, centred.
 */
export function namedPose(name: string, frame: Frame): Pose {
  const angles = NAMED_ANGLES[name];
  if (!angles) throw new Error(`namedPose: no pose named '${name}'; known: ${NAMED_POSES.join(', ')}`);
  const { joints, extremes } = bodyJoints(makeIdentity(0, 1), angles);
  const all = joints.concat(extremes);
  const ys = all.map((p) => -p[1]);
  const xs = all.map((p) => p[0]);
  const [y0, y1, x0, x1] = [Math.min(...ys), Math.max(...ys), Math.min(...xs), Math.max(...xs)];
  const scale = Math.min((0.85 * frame[0]) / (y1 - y0), (0.95 * frame[1]) / Math.max(x1 - x0, 1e-6));
  const pose = emptyPose();
  joints.forEach((p, j) => {
    setJoint(pose, j, frame[0] / 2 + (-p[1] - (y0 + y1) / 2) * scale, frame[1] / 2 + (p[0] - (x0 + x1) / 2) * scale);
  });
  // Seen from the side, the far eye and ear are hidden, as a detector would report them.
  if (angles.facing !== 0) for (const j of [15, 17]) setJoint(pose, j, -1, -1);
  return pose;
}
