import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { heatmaps, posesToTensor } from '../../../src/pose/heatmaps.js';
import { EMPTY_SHIFT, NUM_PARTS, PARTS, partAffines } from '../../../src/pose/parts.js';
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

function apply(theta: number[], x: number, y: number): [number, number] {
  return [theta[0]! * x + theta[1]! * y + theta[2]!, theta[3]! * x + theta[4]! * y + theta[5]!];
}

test('each part\'s affine maps the target\'s corners onto the source\'s (pixel space)', () => {
  torch.scope(() => {
    const source = base();
    // A per-limb different target: bend the right forearm and move the head, so parts differ.
    const target = mapPose(source, [0.9, 0.1, 3, -0.05, 1.1, 2]);
    setJoint(target, J.r_wrist, jointY(target, J.r_elbow) + 5, jointX(target, J.r_elbow) - 15);
    setJoint(target, J.nose, jointY(target, J.nose) - 3, jointX(target, J.nose) + 4);
    const { theta, masks, valid } = partAffines(posesToTensor([source]), posesToTensor([target]), FRAME, { space: 'pixels' });
    assert.deepEqual(theta.shape, [1, NUM_PARTS, 2, 3]);
    assert.deepEqual(masks.shape, [1, NUM_PARTS, 128, 64]);
    assert.deepEqual(valid.toArray(), [Array(10).fill(1)]);
    const th = theta.data() as Float32Array;
    PARTS.forEach((part, k) => {
      const m = Array.from(th.subarray(k * 6, k * 6 + 6));
      for (const j of part.corners) {
        const [sx, sy] = apply(m, jointX(target, j), jointY(target, j));
        // The torso has 4 corners (least squares, exact here since the whole torso moved by one affine).
        assert.ok(Math.abs(sx - jointX(source, j)) < 1e-2 && Math.abs(sy - jointY(source, j)) < 1e-2,
          `${part.name}: target joint ${j} -> (${sx}, ${sy}), source is (${jointX(source, j)}, ${jointY(source, j)})`);
      }
    });
  });
});

test('masks are the target\'s part boxes grown by a share of the torso size, at any resolution', () => {
  torch.scope(() => {
    const p = base();
    const kp = posesToTensor([p]);
    const { masks } = partAffines(kp, kp, FRAME);
    // Torso size of this pose: sqrt((|rhip - rsho|^2 + |lhip - lsho|^2) / 2).
    const st = Math.sqrt((((64 - 23) ** 2 + (22 - 20) ** 2) + ((65 - 23) ** 2 + (43 - 53) ** 2)) / 2);
    const g = Math.trunc(0.1 * st);
    const torso = masks.select(1, 0).select(0, 0);
    // Torso box: y in [23 - g, 65 + g), x in [20 - g, 53 + g).
    assert.equal(torso.sum().item(), (65 + g - (23 - g)) * (53 + g - (20 - g)));
    assert.equal(torso.select(0, 23 - g).select(0, 20 - g).item(), 1);
    assert.equal(torso.select(0, 65 + g).select(0, 30).item(), 0);
    const head = masks.select(1, 1).select(0, 0);
    const gh = Math.trunc(0.3 * st);
    assert.equal(head.sum().item(), (8 + gh - Math.max(0, 8 - gh)) * (39 + gh - (39 - gh)));
    // Half resolution: the same boxes, sampled at the half-size pixel centres.
    const half = partAffines(kp, kp, FRAME, { maskSize: [64, 32] }).masks;
    assert.deepEqual(half.shape, [1, 10, 64, 32]);
    const halfTorso = half.select(1, 0).select(0, 0);
    for (const [yy, xx] of [[Math.ceil((23 - g) / 2), Math.ceil((20 - g) / 2)], [20, 10]]) {
      const cy = (yy! + 0.5) * 2 - 0.5; const cx = (xx! + 0.5) * 2 - 0.5;
      const expect = cy >= 23 - g && cy < 65 + g && cx >= 20 - g && cx < 53 + g ? 1 : 0;
      assert.equal(halfTorso.select(0, yy!).select(0, xx!).item(), expect);
    }
    assert.ok(Math.abs(halfTorso.sum().item() * 4 - torso.sum().item()) < 0.1 * torso.sum().item());
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
    // Pair 0: r_upper_arm (6) maps the target's right arm onto the source's LEFT arm.
    const m = Array.from(th.subarray(6 * 6, 7 * 6));
    const [sx, sy] = apply(m, jointX(target, J.r_elbow), jointY(target, J.r_elbow));
    assert.ok(Math.abs(sx - X[J.l_elbow]!) < 1e-2 && Math.abs(sy - Y[J.l_elbow]!) < 1e-2, `mirror used: (${sx}, ${sy})`);
    assert.equal(valid[0]![6], 1);
    // Pair 1: both elbows missing: upper arms and forearms are empty.
    for (const k of [6, 7, 8, 9]) {
      assert.equal(valid[1]![k], 0, `part ${k} empty`);
      assert.deepEqual(Array.from(th.subarray((NUM_PARTS + k) * 6, (NUM_PARTS + k + 1) * 6)), [1, 0, EMPTY_SHIFT, 0, 1, EMPTY_SHIFT]);
      assert.equal(r.masks.select(0, 1).select(0, k).sum().item(), 0);
    }
    assert.equal(valid[1]![0], 1, 'the torso is still there');
  });
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
