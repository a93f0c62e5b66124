// Pose helpers of the editor: JSON in and out, frames carried over as a letterbox does, keyframes interpolated, and
// named poses that stand inside the frame with every joint present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { J, NUM_JOINTS, isVisible, jointX, jointY, setJoint, emptyPose } from '../../../src/pose/skeleton.js';
import { fitPose, interpolatePoses, NAMED_POSES, namedPose, poseFromJson, poseToJson } from '../../../src/serve/poses.js';

test('poses go to [x, y] JSON and back; bad JSON names the field', () => {
  const p = emptyPose();
  setJoint(p, J.r_wrist, 40, 10);
  const json = poseToJson(p);
  assert.deepEqual(json[J.r_wrist], [10, 40]);
  assert.deepEqual(json[J.nose], [-1, -1]);
  assert.deepEqual(poseFromJson(json, 'targetPose'), p);
  assert.throws(() => poseFromJson([[1, 2]], 'targetPose'), /targetPose must be a list of 18 \[x, y\] pairs/);
  assert.throws(() => poseFromJson(json.map(() => [1, Number.NaN]), 'sourcePose'), /sourcePose must be/);
});

test('fitPose scales by the smaller ratio and centres, as a letterbox', () => {
  const p = emptyPose();
  setJoint(p, 0, 0, 0);
  setJoint(p, 1, 127, 63);
  // 128x64 into 256x256: scale 2, 64 px of margin each side.
  const q = fitPose(p, [128, 64], [256, 256]);
  assert.deepEqual([jointY(q, 0), jointX(q, 0), jointY(q, 1), jointX(q, 1)], [0, 64, 254, 190]);
  assert.equal(isVisible(q, 2), false);
});

test('interpolation gives (k - 1)(between + 1) + 1 poses, linear, with the keyframes in place', () => {
  const a = emptyPose();
  const b = emptyPose();
  setJoint(a, 0, 0, 0);
  setJoint(b, 0, 30, 60);
  setJoint(a, 1, 5, 5);
  const out = interpolatePoses([a, b, a], 2);
  assert.equal(out.length, 7);
  assert.deepEqual([jointY(out[1]!, 0), jointX(out[1]!, 0)], [10, 20]);
  assert.deepEqual(out[3], b);
  assert.deepEqual(out[6], a);
  assert.equal(isVisible(out[1]!, 1), false, 'a joint missing at either end is missing between');
  assert.throws(() => interpolatePoses([], 2), /at least one keyframe/);
});

test('every named pose lies inside the frame; standing has all 18 joints, upright', () => {
  for (const name of NAMED_POSES) {
    const p = namedPose(name, [256, 128]);
    for (let j = 0; j < NUM_JOINTS; j++) {
      if (!isVisible(p, j)) continue;
      assert.ok(jointY(p, j) >= 0 && jointY(p, j) < 256 && jointX(p, j) >= 0 && jointX(p, j) < 128, `${name} joint ${j}`);
    }
  }
  const s = namedPose('standing', [256, 128]);
  assert.equal(poseToJson(s).filter(([x]) => x >= 0).length, NUM_JOINTS);
  assert.ok(jointY(s, J.nose) < jointY(s, J.neck) && jointY(s, J.neck) < jointY(s, J.r_hip) && jointY(s, J.r_hip) < jointY(s, J.r_ankle));
  assert.ok(jointX(s, J.r_shoulder) < jointX(s, J.l_shoulder), "facing the camera, the person's right is image-left");
  const up = namedPose('arms up', [256, 128]);
  assert.ok(jointY(up, J.r_wrist) < jointY(up, J.nose), 'arms up: wrists above the head');
  assert.throws(() => namedPose('moonwalk', [256, 128]), /no pose named 'moonwalk'; known: standing/);
});
