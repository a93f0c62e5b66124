// Poses for the synthetic world: random plausible ones from a small 3D kinematic body, or rows of a real
// annotation CSV (readAnnotationCsv in src/data/formats.ts gives Pose values that renderFigure takes directly).
//
// The random body stands in world coordinates x right, y up, z toward the camera, facing direction θ about the
// vertical (θ = 0 faces the camera). Joint angles are drawn within limits (shoulder flexion -50°..170°, abduction
// 0..100°, elbow 0..140°, hip flexion -30..100°, abduction 0..40°, knee 0..130°, head yaw ±30°) from one of three
// modes: walking (gait phase, arms swing against legs), standing, and free. The body is projected orthographically,
// turned in the image plane by a few degrees, scaled to fill 78-95% of the frame height (sometimes more, so that
// a part leaves the frame) and shifted a little. Joints then go missing as detectors lose them: face points that
// are turned away from the camera, joints outside the frame, and a few limb joints at random.
import { NUM_JOINTS, J, emptyPose, setJoint, type Pose } from '../pose/skeleton.js';
import type { Identity } from './identity.js';
import type { FrameSize } from './render.js';
import { Rng } from '../random.js';

type V3 = [number, number, number];
const vadd = (a: V3, b: V3): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const vmul = (a: V3, k: number): V3 => [a[0] * k, a[1] * k, a[2] * k];
const vdot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
function vunit(a: V3, fallback: V3): V3 {
  const l = Math.hypot(a[0], a[1], a[2]);
  return l > 1e-9 ? vmul(a, 1 / l) : fallback;
}
const rad = (deg: number): number => (deg * Math.PI) / 180;

interface LimbAngles {
  /** Forward swing of the upper segment, degrees (0 hangs down, 90 points forward). */
  flex: number;
  /** Outward swing, degrees. */
  abduct: number;
  /** Bend of the joint in the middle, degrees (elbows bend forward, knees backward). */
  bend: number;
}

export interface BodyAngles {
  /** Facing about the vertical, degrees; 0 faces the camera, 90 faces image-right. */
  facing: number;
  headYaw: number;
  /** In-plane rotation of the whole figure, degrees. */
  roll: number;
  rArm: LimbAngles;
  lArm: LimbAngles;
  rLeg: LimbAngles;
  lLeg: LimbAngles;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Clamps every angle to the joint limits (see the top of this file). */
export function limitAngles(a: BodyAngles): BodyAngles {
  const arm = (l: LimbAngles): LimbAngles => ({ flex: clamp(l.flex, -50, 170), abduct: clamp(l.abduct, 0, 100), bend: clamp(l.bend, 0, 140) });
  const leg = (l: LimbAngles): LimbAngles => ({ flex: clamp(l.flex, -30, 100), abduct: clamp(l.abduct, 0, 40), bend: clamp(l.bend, 0, 130) });
  return {
    facing: a.facing, headYaw: clamp(a.headYaw, -30, 30), roll: clamp(a.roll, -10, 10),
    rArm: arm(a.rArm), lArm: arm(a.lArm), rLeg: leg(a.rLeg), lLeg: leg(a.lLeg),
  };
}

/** Draws joint angles from one of the three modes. */
export function sampleAngles(rng: Rng): BodyAngles {
  const u = (lo: number, hi: number): number => rng.uniform(lo, hi);
  const mode = rng.weighted(['walk', 'stand', 'free'] as const, [0.55, 0.25, 0.2]);
  const facing = u(-180, 180);
  const headYaw = u(-25, 25);
  const roll = u(-4, 4);
  let a: BodyAngles;
  if (mode === 'walk') {
    const phase = u(0, 2 * Math.PI);
    const amp = u(10, 35);
    const sw = Math.sin(phase);
    a = {
      facing, headYaw, roll,
      rLeg: { flex: amp * sw, abduct: u(0, 6), bend: 5 + 40 * Math.max(0, -sw) * (amp / 30) + u(0, 8) },
      lLeg: { flex: -amp * sw, abduct: u(0, 6), bend: 5 + 40 * Math.max(0, sw) * (amp / 30) + u(0, 8) },
      rArm: { flex: -0.8 * amp * sw + u(-5, 5), abduct: u(3, 15), bend: u(5, 40) },
      lArm: { flex: 0.8 * amp * sw + u(-5, 5), abduct: u(3, 15), bend: u(5, 40) },
    };
  } else if (mode === 'stand') {
    const arm = (): LimbAngles => rng.chance(0.25)
      ? { flex: u(20, 60), abduct: u(0, 20), bend: u(80, 135) }
      : { flex: u(-15, 15), abduct: u(4, 25), bend: u(0, 50) };
    a = {
      facing, headYaw, roll,
      rLeg: { flex: u(-8, 8), abduct: u(0, 10), bend: u(0, 15) },
      lLeg: { flex: u(-8, 8), abduct: u(0, 10), bend: u(0, 15) },
      rArm: arm(), lArm: arm(),
    };
  } else {
    const arm = (): LimbAngles => ({ flex: u(-50, 170), abduct: u(0, 100), bend: u(0, 140) });
    const leg = (): LimbAngles => {
      const flex = u(-30, 90);
      return { flex, abduct: u(0, 35), bend: u(0, Math.min(130, 40 + Math.max(0, flex) * 1.2)) };
    };
    a = { facing, headYaw, roll, rArm: arm(), lArm: arm(), rLeg: leg(), lLeg: leg() };
  }
  return limitAngles(a);
}

/** The 18 joints of a body in world units (x right, y up, z toward the camera), plus the crown and soles. */
export function bodyJoints(identity: Identity, a: BodyAngles): { joints: V3[]; headCentre: V3; headRadius: number; extremes: V3[] } {
  const b = identity.body;
  const th = rad(a.facing);
  const f: V3 = [Math.sin(th), 0, Math.cos(th)];
  const r: V3 = [-Math.cos(th), 0, Math.sin(th)];
  const up: V3 = [0, 1, 0];
  const body = (R: number, U: number, F: number): V3 => vadd(vadd(vmul(r, R), vmul(up, U)), vmul(f, F));
  const joints: V3[] = Array.from({ length: NUM_JOINTS }, () => [0, 0, 0] as V3);
  const hipY = b.thigh + b.shin + 0.03;
  const neck = body(0, hipY + b.torsoLength, 0);
  joints[J.neck] = neck;
  joints[J.r_shoulder] = body(b.shoulderWidth / 2, hipY + b.torsoLength - 0.01, 0);
  joints[J.l_shoulder] = body(-b.shoulderWidth / 2, hipY + b.torsoLength - 0.01, 0);
  joints[J.r_hip] = body(b.hipWidth / 2, hipY, 0);
  joints[J.l_hip] = body(-b.hipWidth / 2, hipY, 0);

  const limb = (root: number, mid: number, end: number, side: number, ang: LimbAngles, l1: number, l2: number, bendSign: number): void => {
    const fl = rad(ang.flex);
    const ab = rad(ang.abduct);
    const d = vunit(body(side * Math.sin(ab), -Math.cos(ab) * Math.cos(fl), Math.cos(ab) * Math.sin(fl)), [0, -1, 0]);
    // The bend turns the lower segment within the plane of d and the body's forward (or up, if d points forward).
    let n = vadd(f, vmul(d, -vdot(f, d)));
    if (Math.hypot(n[0], n[1], n[2]) < 1e-3) n = vadd(up, vmul(d, -vdot(up, d)));
    n = vunit(n, up);
    const bd = rad(ang.bend);
    const d2 = vadd(vmul(d, Math.cos(bd)), vmul(n, bendSign * Math.sin(bd)));
    const m = vadd(joints[root] as V3, vmul(d, l1));
    joints[mid] = m;
    joints[end] = vadd(m, vmul(d2, l2));
  };
  limb(J.r_shoulder, J.r_elbow, J.r_wrist, 1, a.rArm, b.upperArm, b.forearm, 1);
  limb(J.l_shoulder, J.l_elbow, J.l_wrist, -1, a.lArm, b.upperArm, b.forearm, 1);
  limb(J.r_hip, J.r_knee, J.r_ankle, 1, a.rLeg, b.thigh, b.shin, -1);
  limb(J.l_hip, J.l_knee, J.l_ankle, -1, a.lLeg, b.thigh, b.shin, -1);

  const R = b.headRadius;
  const hc = vadd(neck, [0, b.neckLength + 0.9 * R, 0]);
  const hy = rad(a.facing + a.headYaw);
  const hf: V3 = [Math.sin(hy), 0, Math.cos(hy)];
  const hr: V3 = [-Math.cos(hy), 0, Math.sin(hy)];
  const head = (Rr: number, U: number, F: number): V3 => vadd(hc, vadd(vadd(vmul(hr, Rr * R), vmul(up, U * R)), vmul(hf, F * R)));
  joints[J.nose] = head(0, -0.15, 0.95);
  joints[J.r_eye] = head(0.35, 0.15, 0.8);
  joints[J.l_eye] = head(-0.35, 0.15, 0.8);
  joints[J.r_ear] = head(0.95, 0.05, 0);
  joints[J.l_ear] = head(-0.95, 0.05, 0);
  const extremes: V3[] = [vadd(hc, [0, R, 0]), vadd(joints[J.r_ankle] as V3, [0, -0.03, 0]), vadd(joints[J.l_ankle] as V3, [0, -0.03, 0])];
  return { joints, headCentre: hc, headRadius: R, extremes };
}

export interface SampleOptions {
  /** Probability that the figure is scaled past the frame so that some joints leave it. Default 0.08. */
  cropChance?: number;
  /** Probability that an elbow, wrist, knee or ankle is dropped as a detector would. Default 0.03. */
  dropChance?: number;
}

/**
 * A random plausible pose of `identity` for a frame of `size`, as 18 integer (y, x) keypoints with -1 for missing
 * joints (turned-away face points, joints out of the frame, a few dropped limb joints).
 */
export function samplePose(identity: Identity, size: FrameSize, rng: Rng, options: SampleOptions = {}): Pose {
  const cropChance = options.cropChance ?? 0.08;
  const dropChance = options.dropChance ?? 0.03;
  const a = sampleAngles(rng);
  const { joints, headCentre, headRadius, extremes } = bodyJoints(identity, a);
  const roll = rad(a.roll);
  const cr = Math.cos(roll);
  const sr = Math.sin(roll);
  // Image coordinates before scaling: x right, y down, turned by the roll.
  const proj = (p: V3): [number, number] => [cr * p[0] + sr * p[1], sr * p[0] - cr * p[1]];
  const pts = joints.map(proj);
  const all = pts.concat(extremes.map(proj));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = Math.min(...ys);
  const y1 = Math.max(...ys);
  const { height: H, width: W } = size;
  let s = Math.min((rng.uniform(0.78, 0.95) * H) / (y1 - y0), (0.95 * W) / Math.max(x1 - x0, 1e-6));
  if (rng.chance(cropChance)) s *= rng.uniform(1.05, 1.3);
  const cx = W / 2 + rng.uniform(-0.06, 0.06) * W;
  const cy = H / 2 + rng.uniform(-0.03, 0.03) * H;
  const pose = emptyPose();
  const faceJoints = new Set([J.nose, J.r_eye, J.l_eye, J.r_ear, J.l_ear]);
  const droppable = new Set([J.r_elbow, J.r_wrist, J.l_elbow, J.l_wrist, J.r_knee, J.r_ankle, J.l_knee, J.l_ankle]);
  for (let j = 0; j < NUM_JOINTS; j++) {
    const [px, py] = pts[j] as [number, number];
    // Pixel index whose centre is nearest: pixel centres sit at integers.
    const x = Math.round(cx + (px - (x0 + x1) / 2) * s - 0.5);
    const y = Math.round(cy + (py - (y0 + y1) / 2) * s - 0.5);
    let visible = x >= 0 && x < W && y >= 0 && y < H;
    if (faceJoints.has(j)) {
      const toward = ((joints[j] as V3)[2] - headCentre[2]) / headRadius;
      if (toward < (j === J.nose ? -0.05 : -0.2)) visible = false;
    }
    if (droppable.has(j) && rng.chance(dropChance)) visible = false;
    if (visible) setJoint(pose, j, y, x);
  }
  return pose;
}
