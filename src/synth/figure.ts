// The figure: an identity in a pose, as SVG. One geometry is emitted twice, once painted (colours, textures,
// antialiased) and once flat (each part filled with its parsing label as a grey level, antialiasing off), so the
// parsing map and the mask are exactly the regions the image shows.
//
// Coordinates: keypoints are pixel indices (pixel centres at integers, src/pose/skeleton.ts), so joint (y, x) is
// drawn at SVG point (x + 0.5, y + 0.5), the centre of that pixel.
//
// Missing joints: the renderer draws what the keypoints say and completes what they leave out, so a row of a real
// annotation CSV with missing joints still gives a whole person (see completeSkeleton). Completed joints stay
// missing in the annotation.
//
// Depth rule (which part hides which). The facing of the body is read off the keypoints as an angle θ about the
// vertical axis (θ = 0 faces the camera, +90° faces image-right):
//   cos θ ≈ (x(l_shoulder) − x(r_shoulder)) / shoulder width in pixels (hips when a shoulder is missing),
//   sign(sin θ) = which way the nose points from the neck (or, without a nose, which ear or eye is seen: facing
//   image-right shows the right ear), |sin θ| = sqrt(1 − cos² θ).
// The person's right side is then nearer the camera by sin θ (and the left by −sin θ). Parts are drawn far to near:
//   1. long hair hanging behind the back (front and side views),
//   2. arms with depth key z < 0, where z(right arm) = cos θ + 2 sin θ and z(left arm) = cos θ − 2 sin θ
//      (arms are in front of the chest, so they are in front of the torso when facing the camera, behind it from
//      the back, and in a side view the near arm is in front and the far arm behind),
//   3. legs, the far one first (key ±sin θ), each with its garment and shoe,
//   4. the lower garment's trunk (trousers/shorts seat, or the skirt over both thighs),
//   5. neck, then the upper garment's trunk, then the head (long hair over the back in a back view),
//   6. arms with z ≥ 0, lower z first.
// Ties go right before left.
//
// Surface frames (the ground truth of correspondence, src/synth/surface.ts): every part is drawn in one of
// SURFACE_FRAMES, a rigid frame (origin, unit axis) hung on the joints (an upper arm's origin is the shoulder and its
// axis points to the elbow). Textures are defined in the same frames, so a body point is (frame, label, its frame
// coordinates / scale): the same point shows the same paint in any pose. The label half carries the frame id in its
// green channel.
//
// Labels (SPT's 10, merged from LIP's as SPT does): the head's skin and the neck are face (1); hair, including
// long hair over the back, is hair (2); the shirt's trunk and its sleeves are upper clothes (3); trousers and shorts
// are pants (4); a skirt is skirt (5); bare arm skin and hands are left/right arm (6/7); bare leg skin and shoes are
// left/right leg (8/9). Left and right are the person's. Eyes are painted only; their pixels stay face.
import { NUM_JOINTS, J, type Pose } from '../pose/skeleton.js';
import type { Identity, RGB, UpperPattern } from './identity.js';

/** SPT's 10 parsing labels (left/right are the person's). */
export const LABELS = {
  background: 0, face: 1, hair: 2, upperClothes: 3, pants: 4, skirt: 5,
  leftArm: 6, rightArm: 7, leftLeg: 8, rightLeg: 9,
} as const;
export const LABEL_NAMES = ['background', 'face', 'hair', 'upper clothes', 'pants', 'skirt', 'left arm', 'right arm', 'left leg', 'right leg'] as const;

interface V { x: number; y: number }

const add = (a: V, b: V): V => ({ x: a.x + b.x, y: a.y + b.y });
const sub = (a: V, b: V): V => ({ x: a.x - b.x, y: a.y - b.y });
const mul = (a: V, k: number): V => ({ x: a.x * k, y: a.y * k });
const dot = (a: V, b: V): number => a.x * b.x + a.y * b.y;
const len = (a: V): number => Math.hypot(a.x, a.y);
const lerp = (a: V, b: V, t: number): V => ({ x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t });
const mid = (a: V, b: V): V => lerp(a, b, 0.5);
function unit(a: V, fallback: V): V {
  const l = len(a);
  return l > 1e-6 ? mul(a, 1 / l) : fallback;
}
/** Rotates +90° in image coordinates (y down): (x, y) -> (-y, x). */
const perp = (a: V): V => ({ x: -a.y, y: a.x });

const f2 = (v: number): string => (Math.round(v * 100) / 100).toString();
const rgb = (c: RGB): string => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
/** The label half's fill: red is the parsing label, green the surface frame id. */
const labelFill = (label: number, frame: number): string => `rgb(${label},${frame},0)`;

/** A local frame (origin, unit x-axis): textures are defined in it, so they move and turn with the part. */
interface Frame { o: V; u: V }

function frameTransform(f: Frame): string {
  const deg = (Math.atan2(f.u.y, f.u.x) * 180) / Math.PI;
  return `translate(${f2(f.o.x)} ${f2(f.o.y)}) rotate(${f2(deg)})`;
}

function toLocal(f: Frame, p: V): V {
  const d = sub(p, f.o);
  return { x: dot(d, f.u), y: dot(d, perp(f.u)) };
}

interface Part {
  label: number;
  /** Index into SURFACE_FRAMES of the frame the part is attached to. */
  frame: number;
  /** Fill for the painted image: a colour or `url(#id)`. */
  paint: string;
  /** The element for a given fill (the same geometry for both renders). */
  el: (fill: string) => string;
  /** Shading laid over the painted part (a gradient id in SHADING_DEFS): limbs and trunks shade across their
   * axis like cylinders, heads and hands like balls. Without it a flat arm over a torso of similar colour vanishes. */
  shade?: 'across' | 'ball';
}

function capsule(a: V, b: V, w: number, label: number, paint: string): Part {
  const d = sub(b, a);
  const l = len(d);
  const f: Frame = { o: a, u: unit(d, { x: 0, y: 1 }) };
  const h = Math.max(w, 1.2) / 2;
  const r = `<rect transform="${frameTransform(f)}" x="${f2(-h)}" y="${f2(-h)}" width="${f2(l + 2 * h)}" height="${f2(2 * h)}" rx="${f2(h)}"`;
  return { label, frame: 0, paint, el: (fill) => `${r} fill="${fill}"/>`, shade: 'across' };
}

function circle(c: V, r: number, label: number, paint: string): Part {
  return { label, frame: 0, paint, el: (fill) => `<circle cx="${f2(c.x)}" cy="${f2(c.y)}" r="${f2(Math.max(r, 0.6))}" fill="${fill}"/>`, shade: 'ball' };
}

function ellipse(c: V, rx: number, ry: number, axis: V, label: number, paint: string): Part {
  const f: Frame = { o: c, u: axis };
  return {
    label, frame: 0, paint,
    el: (fill) => `<ellipse transform="${frameTransform(f)}" rx="${f2(rx)}" ry="${f2(ry)}" fill="${fill}"/>`,
    shade: 'ball',
  };
}

function polygon(f: Frame, pts: V[], label: number, paint: string): Part {
  const s = pts.map((p) => toLocal(f, p)).map((p) => `${f2(p.x)},${f2(p.y)}`).join(' ');
  const head = `<polygon transform="${frameTransform(f)}" points="${s}"`;
  return { label, frame: 0, paint, el: (fill) => `${head} fill="${fill}"/>`, shade: 'across' };
}

function patternDef(id: string, kind: UpperPattern, c1: RGB, c2: RGB, period: number): string {
  const p = Math.max(period, 2.5);
  const h = p / 2;
  const head = `<pattern id="${id}" patternUnits="userSpaceOnUse" width="${f2(p)}" height="${f2(p)}">` +
    `<rect width="${f2(p)}" height="${f2(p)}" fill="${rgb(c1)}"/>`;
  const body = kind === 'stripes'
    ? `<rect width="${f2(h)}" height="${f2(p)}" fill="${rgb(c2)}"/>`
    : kind === 'checks'
      ? `<rect width="${f2(h)}" height="${f2(h)}" fill="${rgb(c2)}"/><rect x="${f2(h)}" y="${f2(h)}" width="${f2(h)}" height="${f2(h)}" fill="${rgb(c2)}"/>`
      : `<circle cx="${f2(h)}" cy="${f2(h)}" r="${f2(p / 4)}" fill="${rgb(c2)}"/>`;
  return `${head}${body}</pattern>`;
}

/** Body lengths (in body units) of segments whose 2D length bounds the pixel scale from below. */
function scaleSegments(id: Identity): [number, number, number][] {
  const b = id.body;
  const diag = Math.hypot(b.torsoLength, b.hipWidth / 2);
  return [
    [J.neck, J.r_shoulder, b.shoulderWidth / 2], [J.neck, J.l_shoulder, b.shoulderWidth / 2],
    [J.r_shoulder, J.l_shoulder, b.shoulderWidth],
    [J.r_shoulder, J.r_elbow, b.upperArm], [J.r_elbow, J.r_wrist, b.forearm],
    [J.l_shoulder, J.l_elbow, b.upperArm], [J.l_elbow, J.l_wrist, b.forearm],
    [J.r_hip, J.r_knee, b.thigh], [J.r_knee, J.r_ankle, b.shin],
    [J.l_hip, J.l_knee, b.thigh], [J.l_knee, J.l_ankle, b.shin],
    [J.r_hip, J.l_hip, b.hipWidth], [J.neck, J.r_hip, diag], [J.neck, J.l_hip, diag],
  ];
}

/**
 * The rigid frames parts are attached to, by id (0 is the background). Ids are stable across poses, identities and
 * frame sizes: they are stored in surface maps.
 */
export const SURFACE_FRAMES = [
  'background', 'head', 'neck', 'torso',
  'r_upper_arm', 'r_forearm', 'r_hand', 'l_upper_arm', 'l_forearm', 'l_hand',
  'r_thigh', 'r_shin', 'r_foot', 'l_thigh', 'l_shin', 'l_foot',
] as const;
const F = Object.fromEntries(SURFACE_FRAMES.map((name, i) => [name, i])) as Record<(typeof SURFACE_FRAMES)[number], number>;

/** A surface frame in SVG coordinates (pixel centres at +0.5): origin and unit x-axis. */
export interface SurfaceFrame { origin: { x: number; y: number }; axis: { x: number; y: number } }

/** Sets the frame id of parts (which all share that frame). */
function attach(frame: number, parts: Part[]): Part[] {
  for (const pt of parts) pt.frame = frame;
  return parts;
}

export interface FigureGeometry {
  /** Pixels per body unit, read off the keypoints. */
  scale: number;
  /** cos θ and sin θ of the body's facing (see the depth rule at the top of this file). */
  facing: { cos: number; sin: number };
  /** The completed joints used for drawing (SVG coordinates, pixel centres at +0.5); null if not drawable. */
  joints: (V | null)[];
  /** Painted-image defs and parts, back to front. */
  defs: string;
  parts: Part[];
  /** SURFACE_FRAMES.length entries: each frame's placement, null for the background and frames not drawn. */
  frames: (SurfaceFrame | null)[];
}

/**
 * Lays out the figure of `identity` in `pose` (18 (y, x) keypoints, -1 = missing) for a frame of `height` x `width`.
 * Returns the parts back to front; `figureSvg` turns them into the SVG the renderer rasterises.
 */
export function layoutFigure(identity: Identity, pose: Pose, height: number, _width: number): FigureGeometry {
  const b = identity.body;
  const given: (V | null)[] = [];
  for (let j = 0; j < NUM_JOINTS; j++) {
    const y = pose[2 * j] as number;
    const x = pose[2 * j + 1] as number;
    given.push(y >= 0 && x >= 0 ? { x: x + 0.5, y: y + 0.5 } : null);
  }
  const g = (j: number): V | null => given[j] ?? null;

  // Scale: a 2D segment is at most as long as the real one, so the largest ratio is the best lower bound.
  let scale = 0;
  for (const [a, c, l] of scaleSegments(identity)) {
    const pa = g(a);
    const pc = g(c);
    if (pa && pc) scale = Math.max(scale, len(sub(pa, pc)) / l);
  }
  const faceIdx = [J.nose, J.r_eye, J.l_eye, J.r_ear, J.l_ear];
  const facePts = faceIdx.map(g).filter((p): p is V => p !== null);
  if (scale === 0 && facePts.length >= 2) {
    let spread = 0;
    for (const p of facePts) for (const q of facePts) spread = Math.max(spread, len(sub(p, q)));
    scale = spread / (1.6 * b.headRadius);
  }
  if (!(scale > 0)) scale = height / 1.15;

  // Facing.
  let cos = 0.6;
  const rs0 = g(J.r_shoulder);
  const ls0 = g(J.l_shoulder);
  const rh0 = g(J.r_hip);
  const lh0 = g(J.l_hip);
  if (rs0 && ls0) cos = (ls0.x - rs0.x) / (b.shoulderWidth * scale);
  else if (rh0 && lh0) cos = (lh0.x - rh0.x) / (b.hipWidth * scale);
  cos = Math.max(-1, Math.min(1, cos));
  let sideSign = 0;
  const nose0 = g(J.nose);
  const neck0 = g(J.neck);
  if (nose0 && neck0 && Math.abs(nose0.x - neck0.x) > 0.02 * scale) sideSign = Math.sign(nose0.x - neck0.x);
  else if (!nose0) {
    const right = (g(J.r_ear) ? 1 : 0) + (g(J.r_eye) ? 1 : 0);
    const left = (g(J.l_ear) ? 1 : 0) + (g(J.l_eye) ? 1 : 0);
    sideSign = Math.sign(right - left);
  }
  const sin = sideSign * Math.sqrt(Math.max(0, 1 - cos * cos));

  const joints = completeSkeleton(identity, given, scale, cos);
  const frames: (SurfaceFrame | null)[] = SURFACE_FRAMES.map(() => null);
  const geometry: FigureGeometry = { scale, facing: { cos, sin }, joints, defs: '', parts: [], frames };
  const place = (id: number, origin: V, toward: V, fallback: V): void => { frames[id] = { origin, axis: unit(toward, fallback) }; };
  const neck = joints[J.neck];
  if (!neck) return geometry;
  const p = (j: number): V => joints[j] as V;
  const rs = p(J.r_shoulder);
  const ls = p(J.l_shoulder);
  const rh = p(J.r_hip);
  const lh = p(J.l_hip);
  const midHip = mid(rh, lh);
  const down = unit(sub(midHip, neck), { x: 0, y: 1 });
  const q = perp(down); // image-left when upright: the person's right in a frontal view
  const px = (units: number): number => units * scale;

  // Paints.
  const defs: string[] = [];
  let upperPaint = rgb(identity.upper.color);
  if (identity.upper.pattern !== 'solid') {
    defs.push(patternDef('up', identity.upper.pattern, identity.upper.color, identity.upper.color2, px(identity.upper.period)));
    upperPaint = 'url(#up)';
  }
  let lowerPaint = rgb(identity.lower.color);
  if (identity.lower.pattern !== 'solid') {
    defs.push(patternDef('lo', identity.lower.pattern, identity.lower.color, identity.lower.color2, px(identity.lower.period)));
    lowerPaint = 'url(#lo)';
  }
  const skin = rgb(identity.skin);
  const hair = rgb(identity.hair);
  const parts: Part[] = [];

  // Head geometry.
  const headR = px(b.headRadius);
  let head: V;
  let r = headR;
  const faceGiven = facePts.length > 0;
  if (faceGiven) {
    head = mul(facePts.reduce((a, c) => add(a, c), { x: 0, y: 0 }), 1 / facePts.length);
    for (const fp of facePts) r = Math.max(r, len(sub(fp, head)) + 1.2);
  } else {
    head = sub(neck, mul(down, px(b.neckLength) + headR));
  }
  const headUp = unit(sub(head, neck), mul(down, -1));
  place(F.head, head, mul(headUp, -1), down);
  const fwd: V = { x: sin, y: 0 };
  const frontView = !!(g(J.nose) || g(J.r_eye) || g(J.l_eye)) || (!faceGiven && cos > 0);
  const longHair = identity.hairStyle === 'long';
  const longHairPart = (): Part => attach(F.head, [capsule(add(head, mul(fwd, -0.2 * r)), add(head, mul(down, 2.1 * r)), 1.9 * r, LABELS.hair, hair)])[0] as Part;
  if (longHair && frontView) parts.push(longHairPart());

  // Arms.
  const arm = (right: boolean): Part[] => {
    const label = right ? LABELS.rightArm : LABELS.leftArm;
    const s = p(right ? J.r_shoulder : J.l_shoulder);
    const e = p(right ? J.r_elbow : J.l_elbow);
    const w = p(right ? J.r_wrist : J.l_wrist);
    const wu = px(b.upperArmWidth);
    const wf = px(b.forearmWidth);
    const [fu, ff, fh] = right ? [F.r_upper_arm, F.r_forearm, F.r_hand] : [F.l_upper_arm, F.l_forearm, F.l_hand];
    place(fu, s, sub(e, s), { x: 0, y: 1 });
    place(ff, e, sub(w, e), { x: 0, y: 1 });
    place(fh, w, sub(w, e), down);
    const out: Part[] = [
      ...attach(fu, [capsule(s, e, wu, label, skin)]),
      ...attach(ff, [capsule(e, w, wf, label, skin)]),
      ...attach(fh, [circle(add(w, mul(unit(sub(w, e), down), 0.35 * wf)), 0.52 * wu, label, skin)]),
    ];
    if (identity.upper.sleeves === 'short') {
      out.push(...attach(fu, [capsule(s, lerp(s, e, 0.55), wu * 1.2, LABELS.upperClothes, upperPaint)]));
    } else {
      out.push(...attach(fu, [capsule(s, e, wu * 1.18, LABELS.upperClothes, upperPaint)]));
      out.push(...attach(ff, [capsule(e, lerp(e, w, 0.75), wf * 1.25, LABELS.upperClothes, upperPaint)]));
    }
    return out;
  };
  const zRight = cos + 2 * sin;
  const zLeft = cos - 2 * sin;
  const arms = [{ z: zRight, right: true }, { z: zLeft, right: false }].sort((a, c) => a.z - c.z);
  for (const a of arms) if (a.z < 0) parts.push(...arm(a.right));

  // Legs, far one first.
  const leg = (right: boolean): Part[] => {
    const label = right ? LABELS.rightLeg : LABELS.leftLeg;
    const h = p(right ? J.r_hip : J.l_hip);
    const k = p(right ? J.r_knee : J.l_knee);
    const a = p(right ? J.r_ankle : J.l_ankle);
    const wt = px(b.thighWidth);
    const ws = px(b.shinWidth);
    const [ft, fs, ffoot] = right ? [F.r_thigh, F.r_shin, F.r_foot] : [F.l_thigh, F.l_shin, F.l_foot];
    const footDir: V = { x: sin * 0.9, y: 0.25 };
    place(ft, h, sub(k, h), { x: 0, y: 1 });
    place(fs, k, sub(a, k), { x: 0, y: 1 });
    place(ffoot, a, footDir, { x: 0, y: 1 });
    const out: Part[] = [...attach(ft, [capsule(h, k, wt, label, skin)]), ...attach(fs, [capsule(k, a, ws, label, skin)])];
    const kind = identity.lower.kind;
    if (kind === 'trousers') {
      out.push(...attach(ft, [capsule(h, k, wt * 1.1, LABELS.pants, lowerPaint)]));
      out.push(...attach(fs, [capsule(k, lerp(k, a, 0.93), ws * 1.2, LABELS.pants, lowerPaint)]));
    } else if (kind === 'shorts') {
      out.push(...attach(ft, [capsule(h, lerp(h, k, 0.55), wt * 1.18, LABELS.pants, lowerPaint)]));
    }
    const toe = add(a, mul(footDir, px(b.foot)));
    out.push(...attach(ffoot, [capsule(add(a, mul(down, -0.1 * ws)), toe, ws * 1.05, label, rgb(identity.shoes))]));
    return out;
  };
  const legs = [{ z: sin, right: true }, { z: -sin, right: false }].sort((a, c) => a.z - c.z);
  for (const l of legs) parts.push(...leg(l.right));

  // Torso frame and outline; a side view is at least as wide as the trunk is deep.
  const torso: Frame = { o: neck, u: down };
  place(F.torso, neck, down, down);
  const widen = (r0: V, l0: V, minW: number): [V, V] => {
    const w = dot(sub(r0, l0), q);
    if (Math.abs(w) >= minW) return [r0, l0];
    const sgn = w === 0 ? (cos >= 0 ? 1 : -1) : Math.sign(w);
    const push = mul(q, (sgn * (minW - Math.abs(w))) / 2);
    return [add(r0, push), sub(l0, push)];
  };
  const [trs, tls] = widen(rs, ls, px(b.torsoDepth));
  const [trh, tlh] = widen(rh, lh, px(b.torsoDepth) * 0.9);
  const outward = (pt: V, centre: V): V => unit(sub(pt, centre), q);
  const wu = px(b.upperArmWidth);
  const wt = px(b.thighWidth);
  const torsoLen = Math.max(dot(sub(midHip, neck), down), px(0.1));
  const outRS = outward(trs, mid(trs, tls));
  const outLS = outward(tls, mid(trs, tls));
  const outRH = outward(trh, mid(trh, tlh));
  const outLH = outward(tlh, mid(trh, tlh));

  // Lower garment trunk.
  const waistR = add(sub(trh, mul(down, 0.22 * torsoLen)), mul(outRH, 0.4 * wt));
  const waistL = add(sub(tlh, mul(down, 0.22 * torsoLen)), mul(outLH, 0.4 * wt));
  if (identity.lower.kind === 'skirt') {
    const rk = p(J.r_knee);
    const lk = p(J.l_knee);
    const hemR = add(lerp(rh, rk, 0.75), mul(outRH, 0.6 * wt + px(0.02)));
    const hemL = add(lerp(lh, lk, 0.75), mul(outLH, 0.6 * wt + px(0.02)));
    parts.push(...attach(F.torso, [polygon(torso, [waistR, waistL, add(tlh, mul(outLH, 0.55 * wt)), hemL, hemR, add(trh, mul(outRH, 0.55 * wt))], LABELS.skirt, lowerPaint)]));
  } else {
    const crotch = add(midHip, mul(down, 0.5 * wt));
    parts.push(...attach(F.torso, [polygon(torso, [waistR, waistL, add(tlh, mul(outLH, 0.55 * wt)), crotch, add(trh, mul(outRH, 0.55 * wt))], LABELS.pants, lowerPaint)]));
  }

  // Neck, upper garment trunk, head.
  place(F.neck, neck, sub(head, neck), mul(down, -1));
  parts.push(...attach(F.neck, [capsule(neck, head, px(b.neckWidth), LABELS.face, skin)]));
  const topR = sub(add(trs, mul(outRS, 0.3 * wu)), mul(down, 0.35 * wu));
  const topL = sub(add(tls, mul(outLS, 0.3 * wu)), mul(down, 0.35 * wu));
  const hemR = add(add(trh, mul(outRH, 0.5 * wt)), mul(down, -0.08 * torsoLen));
  const hemL = add(add(tlh, mul(outLH, 0.5 * wt)), mul(down, -0.08 * torsoLen));
  const chestR = add(lerp(trs, trh, 0.45), mul(outRS, 0.3 * wu));
  const chestL = add(lerp(tls, tlh, 0.45), mul(outLS, 0.3 * wu));
  parts.push(...attach(F.torso, [polygon(torso, [topR, topL, chestL, hemL, hemR, chestR], LABELS.upperClothes, upperPaint)]));
  // A neckline showing skin below the neck on the chest side: with the face, it tells a detector which way the
  // body faces (a back view shows none), so it does not swap left and right.
  if (cos > 0.3) {
    const half = 0.6 * px(b.neckWidth) * cos;
    const dip = 0.13 * torsoLen;
    parts.push(...attach(F.torso, [polygon(torso, [add(neck, mul(q, half)), sub(neck, mul(q, half)), add(neck, mul(down, dip))], LABELS.face, skin)]));
  }
  const headStart = parts.length;

  if (frontView) {
    parts.push(circle(add(add(head, mul(headUp, 0.15 * r)), mul(fwd, -0.25 * r)), 1.05 * r, LABELS.hair, hair));
    parts.push(circle(add(add(head, mul(headUp, -0.05 * r)), mul(fwd, 0.12 * r)), 0.93 * r, LABELS.face, skin));
    parts.push(ellipse(add(head, mul(headUp, 0.68 * r)), 0.45 * r, 0.92 * r, headUp, LABELS.hair, hair));
    for (const j of [J.nose, J.r_eye, J.l_eye]) {
      const fp = g(j);
      if (fp) parts.push(circle(fp, 0.33 * r, LABELS.face, skin));
    }
  } else {
    parts.push(circle(head, 0.95 * r, LABELS.face, skin));
    if (longHair) parts.push(longHairPart());
    parts.push(circle(add(head, mul(headUp, 0.05 * r)), 1.02 * r, LABELS.hair, hair));
    // Strands combed from the crown to the nape (paint only, over the hair): a plain shaded ball of hair reads as a
    // bald face, and the detector then swaps left and right.
    const strand = rgb(identity.hair.map((v) => Math.round(v * 0.55)) as unknown as RGB);
    const crown = add(head, mul(headUp, 0.05 * r));
    for (const o of [-0.6, -0.3, 0, 0.3, 0.6]) {
      const reach = 0.9 * r * Math.sqrt(1 - o * o);
      const across = add(crown, mul(q, o * r));
      const top = add(across, mul(headUp, reach));
      const bottom = sub(add(across, mul(q, 0.15 * o * r)), mul(headUp, reach));
      parts.push({
        label: -1, frame: F.head, paint: strand,
        el: (fill) => `<line x1="${f2(top.x)}" y1="${f2(top.y)}" x2="${f2(bottom.x)}" y2="${f2(bottom.y)}" stroke="${fill}" stroke-width="${f2(Math.max(0.4, 0.07 * r))}" stroke-linecap="round"/>`,
      });
    }
    // Ears stick out of the back of the head: without them a back view's head is a plain ball of hair.
    for (const side of [1, -1]) parts.push(ellipse(add(head, mul(q, side * 1.0 * r)), 0.24 * r, 0.13 * r, headUp, LABELS.face, skin));
  }
  for (const j of [J.r_ear, J.l_ear]) {
    const fp = g(j);
    if (fp && len(sub(fp, head)) > 0.8 * r) parts.push(circle(fp, 0.25 * r, LABELS.face, skin));
  }
  // Eyes are paint only: the parsing label there stays face.
  const eyeR = Math.max(0.45, 0.13 * r);
  const dark = '#1a1410';
  for (const j of [J.r_eye, J.l_eye]) {
    const fp = g(j);
    if (fp) parts.push({ label: -1, frame: F.head, paint: dark, el: (fill) => `<circle cx="${f2(fp.x)}" cy="${f2(fp.y)}" r="${f2(eyeR)}" fill="${fill}"/>` });
  }
  // A mouth below the nose, as far below it as the eyes are above: paint only, like the eyes.
  const nose = g(J.nose);
  const eyes = [g(J.r_eye), g(J.l_eye)].filter((e): e is V => e !== null);
  if (nose && eyes.length > 0) {
    const eyeMid = mul(eyes.reduce((a, c) => add(a, c), { x: 0, y: 0 }), 1 / eyes.length);
    const below = sub(nose, eyeMid);
    const mouth = add(nose, mul(below, 0.9));
    const along = unit(perp(below), q);
    const halfW = Math.max(0.5, 0.22 * r);
    const m0 = add(mouth, mul(along, halfW));
    const m1 = sub(mouth, mul(along, halfW));
    const lip = '#7a2e2a';
    parts.push({
      label: -1, frame: F.head, paint: lip,
      el: (fill) => `<line x1="${f2(m0.x)}" y1="${f2(m0.y)}" x2="${f2(m1.x)}" y2="${f2(m1.y)}" stroke="${fill}" stroke-width="${f2(Math.max(0.5, 0.09 * r))}" stroke-linecap="round"/>`,
    });
  }

  attach(F.head, parts.slice(headStart));
  for (const a of arms) if (a.z >= 0) parts.push(...arm(a.right));
  geometry.defs = defs.join('');
  geometry.parts = parts;
  return geometry;
}

/**
 * Fills in the joints a pose leaves out, so that the whole figure can be drawn: the neck from the shoulders (or
 * hips, or head), a shoulder or hip mirrored across the trunk's axis, an elbow or knee hanging along the trunk, a
 * wrist or ankle continuing its limb, each at the identity's lengths. Returns null everywhere when the pose has no
 * trunk or head joint to hang a body on. Face joints are not completed (the head is placed from whichever exist).
 */
export function completeSkeleton(identity: Identity, given: readonly (V | null)[], scale: number, cos: number): (V | null)[] {
  const b = identity.body;
  const px = (u: number): number => u * scale;
  const out = given.slice();
  const at = (j: number): V | null => out[j] ?? null;
  const cw = Math.sign(cos || 1) * Math.max(Math.abs(cos), 0.3);
  const faceIdx = [J.nose, J.r_eye, J.l_eye, J.r_ear, J.l_ear];
  const face = faceIdx.map(at).filter((v): v is V => v !== null);
  const up0: V = { x: 0, y: -1 };
  const right0: V = perp({ x: 0, y: 1 }); // person's right in a frontal upright view: image-left

  let neck = at(J.neck);
  const rs = at(J.r_shoulder);
  const ls = at(J.l_shoulder);
  const rh = at(J.r_hip);
  const lh = at(J.l_hip);
  if (!neck) {
    if (rs && ls) neck = mid(rs, ls);
    else if (rh && lh) neck = add(mid(rh, lh), mul(up0, px(b.torsoLength)));
    else if (rs) neck = sub(rs, mul(right0, cw * px(b.shoulderWidth / 2)));
    else if (ls) neck = add(ls, mul(right0, cw * px(b.shoulderWidth / 2)));
    else if (rh || lh) neck = add((rh ?? lh) as V, mul(up0, px(b.torsoLength)));
    else if (face.length > 0) {
      const c = mul(face.reduce((a, v) => add(a, v), { x: 0, y: 0 }), 1 / face.length);
      neck = sub(c, mul(up0, px(b.headRadius + b.neckLength)));
    }
  }
  if (!neck) return out.map(() => null);
  out[J.neck] = neck;

  // The trunk's downward axis, from whichever hips exist.
  const hipGuess = rh && lh ? mid(rh, lh) : (rh ?? lh);
  let down = hipGuess ? unit(sub(hipGuess, neck), { x: 0, y: 1 }) : { x: 0, y: 1 };
  if (hipGuess && !(rh && lh)) {
    // One hip: the axis passes between it and its mirror; tilt toward the middle by half the hip width.
    const toMid = mul(perp(down), (rh ? -1 : 1) * cw * px(b.hipWidth / 2));
    down = unit(sub(add(hipGuess, toMid), neck), { x: 0, y: 1 });
  }
  const right = perp(down);
  const mirror = (pt: V): V => {
    const m = add(neck as V, mul(down, dot(sub(pt, neck as V), down)));
    return sub(mul(m, 2), pt);
  };
  if (!rs && !ls) {
    out[J.r_shoulder] = add(neck, mul(right, cw * px(b.shoulderWidth / 2)));
    out[J.l_shoulder] = sub(neck, mul(right, cw * px(b.shoulderWidth / 2)));
  } else if (!rs) out[J.r_shoulder] = mirror(ls as V);
  else if (!ls) out[J.l_shoulder] = mirror(rs);
  if (!rh && !lh) {
    const m = add(neck, mul(down, px(b.torsoLength)));
    out[J.r_hip] = add(m, mul(right, cw * px(b.hipWidth / 2)));
    out[J.l_hip] = sub(m, mul(right, cw * px(b.hipWidth / 2)));
  } else if (!rh) out[J.r_hip] = mirror(lh as V);
  else if (!lh) out[J.l_hip] = mirror(rh);

  const chain = (root: number, middle: number, end: number, l1: number, l2: number, side: number): void => {
    const r0 = out[root] as V;
    if (!at(middle)) {
      const endP = at(end);
      // With the end known, bend halfway; otherwise hang along the trunk, slightly outward.
      out[middle] = endP ? lerp(r0, endP, 0.5) : add(r0, mul(unit(add(down, mul(right, 0.12 * side)), down), px(l1)));
    }
    if (!at(end)) {
      const m = out[middle] as V;
      out[end] = add(m, mul(unit(sub(m, r0), down), px(l2)));
    }
  };
  chain(J.r_shoulder, J.r_elbow, J.r_wrist, b.upperArm, b.forearm, cw);
  chain(J.l_shoulder, J.l_elbow, J.l_wrist, b.upperArm, b.forearm, -cw);
  chain(J.r_hip, J.r_knee, J.r_ankle, b.thigh, b.shin, 0.2 * cw);
  chain(J.l_hip, J.l_knee, J.l_ankle, b.thigh, b.shin, -0.2 * cw);
  return out;
}

/** The background of the painted image. */
function backgroundSvg(identity: Identity, height: number, width: number): string {
  const bg = identity.background;
  const hy = bg.horizon * height;
  const bands = bg.bands.map((band) =>
    `<rect x="${f2(band.x * width)}" y="0" width="${f2(band.w * width)}" height="${f2(hy)}" fill="${rgb(band.color)}"/>`).join('');
  return `<linearGradient id="wall" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${rgb(bg.wall)}"/>` +
    `<stop offset="1" stop-color="${rgb(bg.wall2)}"/></linearGradient>` +
    `<rect width="${width}" height="${height}" fill="url(#wall)"/>${bands}` +
    `<rect y="${f2(hy)}" width="${width}" height="${f2(height - hy)}" fill="${rgb(bg.floor)}"/>`;
}

/**
 * One SVG, `width` x (2 * `height`): the painted figure on its background in the top half, and in the bottom half
 * the same geometry filled flat on transparent, without antialiasing: red is the parsing label, green the part's
 * surface frame id (SURFACE_FRAMES). Rasterising it once gives the image, the parsing map and the frame map.
 */
export function figureSvg(identity: Identity, pose: Pose, height: number, width: number): string {
  return layoutSvg(layoutFigure(identity, pose, height, width), identity, height, width);
}

// Shading gradients in each shape's own bounding box: 'across' runs over the local y axis, which for capsules and
// trunk polygons is across the limb, so edges darken and the middle catches light from the upper left; 'ball'
// lights a head or hand from the upper left. Dark edges are what separates an arm from a torso of its colour.
const SHADING_DEFS =
  '<linearGradient id="shade-across" x1="0" y1="0" x2="0" y2="1">' +
  '<stop offset="0" stop-color="#000" stop-opacity="0.5"/><stop offset="0.22" stop-color="#000" stop-opacity="0.08"/>' +
  '<stop offset="0.4" stop-color="#fff" stop-opacity="0.12"/><stop offset="0.7" stop-color="#000" stop-opacity="0.1"/>' +
  '<stop offset="1" stop-color="#000" stop-opacity="0.55"/></linearGradient>' +
  '<radialGradient id="shade-ball" cx="0.4" cy="0.38" r="0.62">' +
  '<stop offset="0" stop-color="#fff" stop-opacity="0.1"/><stop offset="0.7" stop-color="#000" stop-opacity="0.08"/>' +
  '<stop offset="1" stop-color="#000" stop-opacity="0.45"/></radialGradient>';

/** figureSvg of a layout already made (the renderer keeps the layout for its surface frames). */
export function layoutSvg(fig: FigureGeometry, identity: Identity, height: number, width: number): string {
  const painted = fig.parts.map((pt) => pt.el(pt.paint) + (pt.shade ? pt.el(`url(#shade-${pt.shade})`) : '')).join('');
  const labels = fig.parts.filter((pt) => pt.label >= 0).map((pt) => pt.el(labelFill(pt.label, pt.frame))).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${2 * height}">` +
    `<defs>${SHADING_DEFS}${fig.defs}</defs>` +
    `<svg width="${width}" height="${height}">${backgroundSvg(identity, height, width)}${painted}</svg>` +
    `<svg y="${height}" width="${width}" height="${height}" shape-rendering="crispEdges">${labels}</svg></svg>`;
}
