import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { heatmaps, posesToTensor } from '../../../src/pose/heatmaps.js';
import { EMPTY_SHIFT, NUM_PARTS, PARTS, fitAffine, limbRectangle, partAffines, type BodyPart, type Limb } from '../../../src/pose/parts.js';
import { J, emptyPose, isVisible, jointX, jointY, setJoint, type Pose } from '../../../src/pose/skeleton.js';

// A frontal Market-sized pose (row 2 of market-annotation-train.csv).
const Y = [8, 23, 23, 43, 60, 23, 43, 60, 64, 92, 118, 65, 89, 108, 5, 6, 7, 8];
const X = [39, 37, 20, 12, 8, 53, 59, 53, 22, 24, 24, 43, 43, 45, 36, 42, 31, 47];
const FRAME: [number, number] = [128, 64];

function base(): Pose {
  const p = emptyPose();
  Y.forEach((y, j) => setJoint(p, j, y, X[j]!));
  return p;
}

/** Moves every joint by the pixel-space map (x, y) -> (a x + b y + c, d x + e y + f). */
function mapPose(p: Pose, m: number[]): Pose {
  const out = emptyPose();
  for (let j = 0; j < 18; j++) {
    if (!isVisible(p, j)) continue;
    const x = jointX(p, j); const y = jointY(p, j);
    setJoint(out, j, m[3]! * x + m[4]! * y + m[5]!, m[0]! * x + m[1]! * y + m[2]!);
  }
  return out;
}

function apply(theta: ArrayLike<number>, x: number, y: number): [number, number] {
  return [theta[0]! * x + theta[1]! * y + theta[2]!, theta[3]! * x + theta[4]! * y + theta[5]!];
}

const point = (p: Pose, j: number): [number, number] => [jointX(p, j), jointY(p, j)];
const limbOf = (k: number): Limb => (PARTS[k] as BodyPart).limb as Limb;
const torsoSize = (p: Pose): number => Math.sqrt(((jointX(p, J.r_hip) - jointX(p, J.r_shoulder)) ** 2 + (jointY(p, J.r_hip) - jointY(p, J.r_shoulder)) ** 2 +
  (jointX(p, J.l_hip) - jointX(p, J.l_shoulder)) ** 2 + (jointY(p, J.l_hip) - jointY(p, J.l_shoulder)) ** 2) / 2);

test('under a similarity between the poses every part\'s affine is its inverse (pixel space)', () => {
  torch.scope(() => {
    const source = base();
    // Rotate by 0.2 rad, scale by 0.9, shift: rectangles, torso size and head all follow, so every fit is exact.
    const [c, s] = [0.9 * Math.cos(0.2), 0.9 * Math.sin(0.2)];
    const target = mapPose(source, [c, -s, 8, s, c, 5]);
    const { theta, masks, valid } = partAffines(posesToTensor([source]), posesToTensor([target]), FRAME, { space: 'pixels' });
    assert.deepEqual(theta.shape, [1, NUM_PARTS, 2, 3]);
    assert.deepEqual(masks.shape, [1, NUM_PARTS, 128, 64]);
    assert.deepEqual(valid.toArray(), [Array(10).fill(1)]);
    const th = theta.data() as Float32Array;
    PARTS.forEach((part, k) => {
      const m = th.subarray(k * 6, k * 6 + 6);
      for (let j = 0; j < 18; j++) {
        const [sx, sy] = apply(m, jointX(target, j), jointY(target, j));
        assert.ok(Math.abs(sx - jointX(source, j)) < 1e-3 && Math.abs(sy - jointY(source, j)) < 1e-3,
          `${part.name}: target joint ${j} -> (${sx}, ${sy}), source is (${jointX(source, j)}, ${jointY(source, j)})`);
      }
    });
  });
});

test('a limb\'s affine maps the target\'s limb rectangle onto the source\'s, each with its own torso size', () => {
  torch.scope(() => {
    const source = base();
    const target = mapPose(source, [1.1, 0, 2, 0, 1.1, -4]);
    setJoint(target, J.r_wrist, jointY(target, J.r_elbow) + 5, jointX(target, J.r_elbow) - 15); // bend the forearm
    const { theta } = partAffines(posesToTensor([source]), posesToTensor([target]), FRAME, { space: 'pixels' });
    const k = 8; // r_forearm
    const l = limbOf(k);
    const m = (theta.data() as Float32Array).subarray(k * 6, k * 6 + 6);
    const from = limbRectangle(point(target, l.from), point(target, l.to), torsoSize(target), l.reachAffine);
    const to = limbRectangle(point(source, l.from), point(source, l.to), torsoSize(source), l.reachAffine);
    from.forEach(([x, y], v) => {
      const [sx, sy] = apply(m, x, y);
      assert.ok(Math.abs(sx - to[v]![0]) < 1e-3 && Math.abs(sy - to[v]![1]) < 1e-3, `vertex ${v}: (${sx}, ${sy}) vs (${to[v]})`);
    });
    // The forearm's rectangle reaches 0.3 past the wrist for the affine, 0.5 for the mask.
    assert.deepEqual([l.reachAffine, l.reachMask], [0.3, 0.5]);
  });
});

test('limbRectangle extends the limb at both ends and is 0.2 torso sizes wide on each side', () => {
  // Vertical limb (20, 60) -> (20, 80): start 60 - 2 = 58, end 80 + 0.1 * 22 = 82.2; half width 0.2 * 50 = 10.
  const r = limbRectangle([20, 60], [20, 80], 50, 0.1);
  const want = [[30, 58], [10, 58], [10, 82.2], [30, 82.2]];
  r.forEach(([x, y], v) => assert.ok(Math.abs(x - want[v]![0]!) < 1e-12 && Math.abs(y - want[v]![1]!) < 1e-12, `vertex ${v}: ${x}, ${y}`));
  // Coincident joints: the released 2-pixel diagonal, no area.
  assert.deepEqual(limbRectangle([5, 7], [5, 7], 50, 0.3), [[6, 8], [4, 6], [4, 6], [6, 8]]);
});

test('masks: torso the whole frame, head a square around the head keypoints, limbs their rectangles (top/left edges in)', () => {
  torch.scope(() => {
    // A pose with a vertical right upper leg and torso size exactly 50: the rectangle is x in [10, 30], y in [58, 82.2].
    const p = emptyPose();
    setJoint(p, J.r_shoulder, 10, 20); setJoint(p, J.l_shoulder, 10, 40);
    setJoint(p, J.r_hip, 60, 20); setJoint(p, J.l_hip, 60, 40);
    setJoint(p, J.r_knee, 80, 20);
    setJoint(p, J.nose, 5, 31); setJoint(p, J.r_eye, 4, 28); // head centroid (29.5, 4.5) -> (29, 4)
    const kp = posesToTensor([p]);
    const { masks, valid } = partAffines(kp, kp, FRAME);
    assert.deepEqual((valid.toArray() as number[][])[0], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    const m = masks.select(0, 0);
    assert.equal(m.select(0, 0).sum().item(), 128 * 64);
    const at = (part: number, y: number, x: number): number => m.select(0, part).select(0, y).select(0, x).item();
    // Head: b = trunc(0.4 * 50) = 20: rows max(4 - 20, 0) <= y < 24, columns 9 <= x < 49.
    assert.equal(m.select(0, 1).sum().item(), 24 * 40);
    assert.deepEqual([at(1, 23, 9), at(1, 24, 9), at(1, 0, 48), at(1, 0, 49)], [1, 0, 1, 0]);
    // Leg: columns 10..29 (the right edge x = 30 is out), rows 58..82 (58 is on the top edge: in).
    assert.equal(m.select(0, 2).sum().item(), 20 * 25);
    assert.deepEqual([at(2, 58, 10), at(2, 57, 10), at(2, 82, 29), at(2, 83, 29), at(2, 70, 30)], [1, 0, 1, 0, 0]);
    assert.equal(m.narrow(0, 3, 7).sum().item(), 0, 'the parts without a transform have empty masks');
  });
});

test('smaller masks pick the frame-size masks\' pixels by nearest neighbour, as PyTorch\'s nearest interpolation', () => {
  torch.scope(() => {
    const source = base();
    const target = mapPose(source, [0.95, 0.05, 3, -0.05, 1, 2]);
    const [s, t] = [posesToTensor([source]), posesToTensor([target])];
    const full = partAffines(s, t, FRAME).masks;
    for (const size of [[64, 32], [40, 24], [17, 9]] as const) {
      const small = partAffines(s, t, FRAME, { maskSize: size }).masks;
      assert.deepEqual(small.shape, [1, 10, size[0], size[1]]);
      const viaTorch = torch.interpolate(full, { size: [size[0], size[1]], mode: 'nearest' });
      assert.equal(small.ne(viaTorch).sum().item(), 0, `${size}: differs from interpolate(nearest)`);
    }
    // Half size: pixel (i, j) is the frame-size pixel (2i, 2j).
    const half = partAffines(s, t, FRAME, { maskSize: [64, 32] }).masks;
    for (const [i, j] of [[20, 10], [31, 7], [50, 20]] as const) {
      for (let k = 0; k < NUM_PARTS; k++) {
        assert.equal(half.select(1, k).select(1, i).select(1, j).item(), full.select(1, k).select(1, 2 * i).select(1, 2 * j).item());
      }
    }
  });
});

test('a missing limb uses its mirror in the source; with neither, the transform is empty and the mask zero', () => {
  torch.scope(() => {
    const source = base();
    const target = base();
    setJoint(source, J.r_elbow, -1, -1); // source lacks the right upper arm and forearm
    const noArms = base();
    for (const j of [J.r_elbow, J.l_elbow]) setJoint(noArms, j, -1, -1);
    const r = partAffines(posesToTensor([source, noArms]), posesToTensor([target, target]), FRAME, { space: 'pixels' });
    const th = r.theta.data() as Float32Array;
    const valid = r.valid.toArray() as number[][];
    // Pair 0: r_upper_arm (6) maps the target's right upper-arm rectangle onto the source's LEFT one.
    const st = torsoSize(target);
    const [right, left] = [limbOf(6), limbOf(7)];
    const from = limbRectangle(point(target, right.from), point(target, right.to), st, right.reachAffine);
    const to = limbRectangle(point(source, left.from), point(source, left.to), st, left.reachAffine);
    from.forEach(([x, y], v) => {
      const [sx, sy] = apply(th.subarray(6 * 6, 7 * 6), x, y);
      assert.ok(Math.abs(sx - to[v]![0]) < 1e-3 && Math.abs(sy - to[v]![1]) < 1e-3, `mirror vertex ${v}: (${sx}, ${sy}) vs (${to[v]})`);
    });
    assert.equal(valid[0]![6], 1);
    assert.equal(valid[0]![8], 1, 'the right forearm borrows the left one too');
    // Pair 1: both elbows missing: upper arms and forearms are empty.
    for (const k of [6, 7, 8, 9]) {
      assert.equal(valid[1]![k], 0, `part ${k} empty`);
      assert.deepEqual(Array.from(th.subarray((NUM_PARTS + k) * 6, (NUM_PARTS + k + 1) * 6)), [1, 0, EMPTY_SHIFT, 0, 1, EMPTY_SHIFT]);
      assert.equal(r.masks.select(0, 1).select(0, k).sum().item(), 0);
    }
    assert.equal(valid[1]![0], 1, 'the torso is still there');
  });
});

test('the head fits the head keypoints both poses have, plus the shoulders; none in common: empty', () => {
  torch.scope(() => {
    const source = base();
    const target = mapPose(source, [1, 0, 3, 0, 1, 2]);
    setJoint(target, J.nose, jointY(target, J.nose) + 4, jointX(target, J.nose) - 6); // the head turns
    for (const j of [J.l_eye, J.r_ear, J.l_ear]) setJoint(source, j, -1, -1); // source: nose and right eye only
    const noHead = base();
    for (const j of [J.nose, J.r_eye, J.l_eye, J.r_ear, J.l_ear]) setJoint(noHead, j, -1, -1);
    const r = partAffines(posesToTensor([source, noHead]), posesToTensor([target, target]), FRAME, { space: 'pixels' });
    const th = r.theta.data() as Float32Array;
    // Four points (nose, r_eye, shoulders) fitted in the total least-squares sense: fitAffine's answer.
    const joints = [J.nose, J.r_eye, J.l_shoulder, J.r_shoulder];
    const want = fitAffine(joints.map((j) => point(target, j)), joints.map((j) => point(source, j)))!;
    Array.from(th.subarray(6, 12)).forEach((v, e) => assert.ok(Math.abs(v - want[e]!) < 1e-3, `head entry ${e}: ${v} vs ${want[e]}`));
    assert.deepEqual((r.valid.toArray() as number[][]).map((v) => v[1]), [1, 0]);
    assert.equal(r.masks.select(0, 1).select(0, 1).sum().item(), 0);
  });
});

test('fitAffine is exact on an affine image of 3+ points, total least squares otherwise, and null on a line', () => {
  const from: [number, number][] = [[0, 0], [10, 0], [0, 20], [12, 25]];
  const to = from.map(([x, y]) => [2 * x - y + 3, 0.5 * x + y - 7] as [number, number]);
  const m = fitAffine(from, to)!;
  [2, -1, 3, 0.5, 1, -7].forEach((v, e) => assert.ok(Math.abs(m[e]! - v) < 1e-9, `entry ${e}: ${m[e]}`));
  assert.equal(fitAffine([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 0], [0, 1]]), null);
  // Inconsistent points: like ordinary least squares, the fit maps centroid onto centroid (both sets are centred
  // before the fit), but its linear part is the total least-squares one, not ordinary least squares'.
  const noisy = to.map(([x, y], i) => [x + (i % 2 ? 3 : -3), y + (i < 2 ? 2 : -2)] as [number, number]);
  const t = fitAffine(from, noisy)!;
  const [cx, cy] = [from.reduce((s, p) => s + p[0], 0) / 4, from.reduce((s, p) => s + p[1], 0) / 4];
  const [nx, ny] = [noisy.reduce((s, p) => s + p[0], 0) / 4, noisy.reduce((s, p) => s + p[1], 0) / 4];
  const [fx, fy] = apply(t, cx, cy);
  assert.ok(Math.abs(fx - nx) < 1e-9 && Math.abs(fy - ny) < 1e-9, 'centroid onto centroid');
  torch.scope(() => {
    const a = torch.tensor(from.flatMap(([x, y]) => [x, y, 1]), [4, 3]).to('float64');
    const b = torch.tensor(noisy.flat(), [4, 2]).to('float64');
    const ols = torch.linalgLstsq(a, b).transpose(0, 1).contiguous().data() as Float64Array; // [L00, L01, tx, L10, L11, ty]
    const gap = Math.max(...[0, 1, 3, 4].map((e) => Math.abs(t[e]! - ols[e]!)));
    assert.ok(gap > 5e-4, `the linear part differs from ordinary least squares' (by ${gap})`);
  });
});

test('a target limb whose two joints coincide is empty (its rectangle has no area)', () => {
  torch.scope(() => {
    const target = base();
    setJoint(target, J.r_wrist, jointY(target, J.r_elbow), jointX(target, J.r_elbow));
    const r = partAffines(posesToTensor([base()]), posesToTensor([target]), FRAME);
    assert.deepEqual(r.valid.toArray(), [[1, 1, 1, 1, 1, 1, 1, 1, 0, 1]]);
    assert.equal(r.masks.select(1, 8).sum().item(), 0);
  });
});

test('a pair without all four torso joints has every part empty; bad sizes are errors', () => {
  torch.scope(() => {
    const source = base();
    setJoint(source, J.l_hip, -1, -1);
    const r = partAffines(posesToTensor([source]), posesToTensor([base()]), FRAME);
    assert.deepEqual(r.valid.toArray(), [Array(10).fill(0)]);
    assert.equal(r.masks.sum().item(), 0);
    const kp = posesToTensor([base()]);
    assert.throws(() => partAffines(kp, kp, [128, 64.5]), /frame must be two positive integers/);
    assert.throws(() => partAffines(kp, kp, FRAME, { maskSize: [0, 8] }), /maskSize must be two positive integers/);
    assert.throws(() => partAffines(kp, posesToTensor([base(), base()]), FRAME), /give one target per source/);
  });
});

test('partAffines leaves no tensors behind', () => {
  const kp = posesToTensor([base(), base()]);
  const before = torch.memory().numTensors;
  const r = partAffines(kp, kp, FRAME, { maskSize: [32, 16] });
  assert.equal(torch.memory().numTensors, before + 3);
  torch.dispose([r.theta, r.masks, r.valid, kp]);
});

test('normalized theta warps the source with grid_sample onto the target pose, at two resolutions', () => {
  torch.scope(() => {
    const source = base();
    const target = mapPose(source, [1, 0, 6, 0, 1, -10]); // shift right by 6, up by 10
    const { theta } = partAffines(posesToTensor([source]), posesToTensor([target]), FRAME);
    const hm = heatmaps(posesToTensor([source]), FRAME, 2);
    for (const [h, w] of [[128, 64], [32, 16]] as const) {
      const src = torch.interpolate(hm, { size: [h, w], mode: 'bilinear' });
      const grid = torch.affineGrid(theta.select(1, 0), [1, 18, h, w], false);
      const warped = torch.gridSample(src, grid, 'bilinear', 'zeros', false);
      // The l_hip channel's peak lands on the target's l_hip (scaled to this resolution).
      const ch = warped.select(1, J.l_hip).flatten();
      const at = ch.argmax().item();
      const py = Math.floor(at / w); const px = at % w;
      const ty = (jointY(target, J.l_hip) + 0.5) * (h / 128) - 0.5;
      const tx = (jointX(target, J.l_hip) + 0.5) * (w / 64) - 0.5;
      assert.ok(Math.abs(py - ty) <= 1 && Math.abs(px - tx) <= 1, `${h}x${w}: peak at (${py}, ${px}), target (${ty}, ${tx})`);
    }
  });
});
