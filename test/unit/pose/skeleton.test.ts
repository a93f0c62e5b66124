import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COCO17_NAMES, J, JOINT_NAMES, LIMBS, MIRROR, cocoToOpenPose, emptyPose, flipPose, isVisible, jointX, jointY,
  poseFromYX, poseToYX, type Coco17Point,
} from '../../../src/pose/skeleton.js';

test('joint order follows the data README, with right = the person\'s right', () => {
  assert.equal(JOINT_NAMES.length, 18);
  assert.deepEqual([J.nose, J.neck, J.r_shoulder, J.l_shoulder, J.r_hip, J.l_ankle, J.r_eye, J.l_eye, J.r_ear, J.l_ear],
    [0, 1, 2, 5, 8, 13, 14, 15, 16, 17]);
  assert.equal(LIMBS.length, 19);
  for (let j = 0; j < 18; j++) assert.equal(MIRROR[MIRROR[j]!], j, `mirror of mirror of ${j}`);
  for (let j = 0; j < 18; j++) {
    const name = JOINT_NAMES[j]!;
    const m = JOINT_NAMES[MIRROR[j]!]!;
    if (name.startsWith('r_')) assert.equal(m, `l_${name.slice(2)}`);
    if (name.startsWith('l_')) assert.equal(m, `r_${name.slice(2)}`);
  }
});

test('flip mirrors x and swaps left and right joints', () => {
  const y = Array.from({ length: 18 }, (_, j) => 10 + j);
  const x = Array.from({ length: 18 }, (_, j) => (j === 7 ? -1 : j));
  const p = poseFromYX(y, x);
  const f = flipPose(p, 64);
  // r_shoulder (2) at (12, 2) becomes the l_shoulder (5) at (12, 61).
  assert.equal(jointY(f, J.l_shoulder), 12);
  assert.equal(jointX(f, J.l_shoulder), 61);
  assert.equal(jointX(f, J.nose), 63);
  assert.ok(!isVisible(f, J.r_wrist), 'the missing l_wrist becomes a missing r_wrist');
  assert.ok(isVisible(f, J.l_wrist));
  assert.deepEqual(Array.from(flipPose(f, 64)), Array.from(p), 'flipping twice is the identity');
});

test('COCO-17 converts to OpenPose-18, neck at the shoulders\' midpoint', () => {
  assert.equal(COCO17_NAMES.length, 17);
  const pts: Coco17Point[] = COCO17_NAMES.map((_, i) => ({ x: i * 2, y: 100 + i }));
  const p = cocoToOpenPose(pts);
  assert.equal(jointX(p, J.l_shoulder), 10); // COCO 5
  assert.equal(jointX(p, J.r_shoulder), 12); // COCO 6
  assert.equal(jointX(p, J.neck), 11);
  assert.equal(jointY(p, J.neck), 105.5);
  assert.equal(jointX(p, J.r_eye), 4); // COCO 2
  assert.equal(jointX(p, J.l_ear), 6); // COCO 3
  assert.equal(jointX(p, J.r_ankle), 32); // COCO 16
  const noShoulder = pts.slice();
  noShoulder[6] = { x: 1, y: 1, score: 0.1 };
  const q = cocoToOpenPose(noShoulder, 0.3);
  assert.ok(!isVisible(q, J.r_shoulder) && !isVisible(q, J.neck), 'a low-score shoulder is missing, and so is the neck');
  assert.throws(() => cocoToOpenPose(pts.slice(0, 16)), /17 COCO keypoints/);
});

test('poseFromYX round-trips and marks half-missing joints missing', () => {
  const p = emptyPose();
  assert.equal(p.length, 36);
  const y = Array(18).fill(3); const x = Array(18).fill(4);
  x[5] = -1;
  const q = poseFromYX(y, x);
  assert.ok(!isVisible(q, 5));
  assert.deepEqual(poseToYX(q)[0][5], -1);
  assert.throws(() => poseFromYX([1], [2]), /18 y/);
});
