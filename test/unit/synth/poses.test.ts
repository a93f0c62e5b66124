import { test } from 'node:test';
import assert from 'node:assert/strict';
import { J, NUM_JOINTS, isVisible } from '../../../src/pose/skeleton.js';
import { Rng, bodyJoints, layoutFigure, limitAngles, makeIdentity, sampleAngles, samplePose } from '../../../src/synth/index.js';

const SIZE = { height: 128, width: 64 };

test('the random stream is deterministic for a seed and differs between seeds', () => {
  const a = new Rng(5);
  const b = new Rng(5);
  const c = new Rng(6);
  const sa = Array.from({ length: 8 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 8 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.next()));
  for (const v of sa) assert.ok(v >= 0 && v < 1);
});

test('identities are pure functions of (seed, id) and vary', () => {
  assert.deepEqual(makeIdentity(3, 17), makeIdentity(3, 17));
  assert.notDeepEqual(makeIdentity(3, 17), makeIdentity(4, 17));
  const kinds = new Set<string>();
  const patterns = new Set<string>();
  for (let id = 1; id <= 60; id++) {
    const i = makeIdentity(1, id);
    kinds.add(i.lower.kind);
    patterns.add(i.upper.pattern);
    assert.ok(i.body.shoulderWidth > i.body.hipWidth * 0.9);
  }
  assert.deepEqual([...kinds].sort(), ['shorts', 'skirt', 'trousers']);
  assert.deepEqual([...patterns].sort(), ['checks', 'dots', 'solid', 'stripes']);
});

test('sampled joint angles stay within the limits', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 300; i++) {
    const a = sampleAngles(rng);
    assert.deepEqual(limitAngles(a), a, `sample ${i} was outside the joint limits`);
    for (const arm of [a.rArm, a.lArm]) assert.ok(arm.bend >= 0 && arm.bend <= 140 && arm.flex >= -50 && arm.flex <= 170);
    for (const leg of [a.rLeg, a.lLeg]) assert.ok(leg.bend >= 0 && leg.bend <= 130 && leg.flex >= -30 && leg.flex <= 100);
  }
});

test('the 3D body keeps the identity\'s bone lengths', () => {
  const id = makeIdentity(2, 9);
  const rng = new Rng(1);
  for (let i = 0; i < 20; i++) {
    const { joints } = bodyJoints(id, sampleAngles(rng));
    const d = (a: number, b: number): number => Math.hypot(...[0, 1, 2].map((k) => (joints[a] as number[])[k]! - (joints[b] as number[])[k]!));
    assert.ok(Math.abs(d(J.r_shoulder, J.r_elbow) - id.body.upperArm) < 1e-9);
    assert.ok(Math.abs(d(J.l_elbow, J.l_wrist) - id.body.forearm) < 1e-9);
    assert.ok(Math.abs(d(J.r_hip, J.r_knee) - id.body.thigh) < 1e-9);
    assert.ok(Math.abs(d(J.l_knee, J.l_ankle) - id.body.shin) < 1e-9);
    assert.ok(Math.abs(d(J.r_shoulder, J.l_shoulder) - id.body.shoulderWidth) < 1e-9);
  }
});

test('sampled poses: integer keypoints inside the frame or missing, deterministic, some joints missing', () => {
  const id = makeIdentity(4, 2);
  const rng = new Rng(21);
  let missing = 0;
  let heights = 0;
  const n = 300;
  for (let i = 0; i < n; i++) {
    const p = samplePose(id, SIZE, rng);
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let j = 0; j < NUM_JOINTS; j++) {
      const y = p[2 * j] as number;
      const x = p[2 * j + 1] as number;
      if (!isVisible(p, j)) { missing++; assert.equal(y, -1); assert.equal(x, -1); continue; }
      assert.ok(Number.isInteger(y) && Number.isInteger(x), `joint ${j} is not on the pixel grid`);
      assert.ok(y >= 0 && y < 128 && x >= 0 && x < 64, `joint ${j} at (${y}, ${x}) is outside the frame`);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    assert.ok(isVisible(p, J.neck) || isVisible(p, J.r_hip) || isVisible(p, J.l_hip), `pose ${i} has no trunk`);
    heights += y1 - y0;
  }
  assert.ok(missing > 0.05 * n, `only ${missing} missing joints in ${n} poses`);
  const meanHeight = heights / n;
  assert.ok(meanHeight > 70 && meanHeight < 125, `mean keypoint span ${meanHeight} px of 128`);
  assert.deepEqual(samplePose(id, SIZE, new Rng(99)), samplePose(id, SIZE, new Rng(99)));
});

test('the renderer reads the facing of sampled poses back', () => {
  // Facing θ is sampled; the renderer's depth rule re-reads cos θ and the sign of sin θ from the 2D keypoints.
  const id = makeIdentity(4, 3);
  const rng = new Rng(5);
  let checked = 0;
  for (let i = 0; i < 200; i++) {
    const seed = rng.int(0, 1e9);
    const angles = sampleAngles(new Rng(seed));
    const p = samplePose(id, SIZE, new Rng(seed), { cropChance: 0, dropChance: 0 });
    const th = (angles.facing * Math.PI) / 180;
    const g = layoutFigure(id, p, 128, 64);
    if (Math.abs(Math.cos(th)) > 0.5 && isVisible(p, J.r_shoulder) && isVisible(p, J.l_shoulder)) {
      assert.equal(Math.sign(g.facing.cos), Math.sign(Math.cos(th)), `pose ${i}: facing ${angles.facing.toFixed(0)}° read as cos ${g.facing.cos}`);
      checked++;
    }
    if (Math.abs(Math.sin(th)) > 0.8 && isVisible(p, J.nose) && Math.abs(angles.headYaw) < 20) {
      assert.equal(Math.sign(g.facing.sin), Math.sign(Math.sin(th)), `pose ${i}: facing ${angles.facing.toFixed(0)}° read as sin ${g.facing.sin}`);
      checked++;
    }
  }
  assert.ok(checked > 50, `only ${checked} checks ran`);
});
