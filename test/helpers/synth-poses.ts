// Hand-placed poses for the synthetic renderer's tests, in a 128x64 frame.
import assert from 'node:assert/strict';
import { poseFromPoints, NUM_JOINTS, type Pose } from '../../src/pose/skeleton.js';

export const SIZE = { height: 128, width: 64 };

export type YX = [number, number];

/** Builds a pose from 18 [y, x] pairs (null = missing), in joint order. */
export function pose(points: (YX | null)[]): Pose {
  assert.equal(points.length, NUM_JOINTS);
  return poseFromPoints(points.map((p) => (p ? { y: p[0], x: p[1] } : null)));
}

/** A person standing, facing the camera: their right is image-left. */
export const FRONT: (YX | null)[] = [
  [20, 32], [32, 32], // nose, neck
  [34, 24], [52, 21], [68, 20], // right shoulder, elbow, wrist
  [34, 40], [52, 43], [68, 44], // left
  [66, 27], [90, 27], [114, 27], // right hip, knee, ankle
  [66, 37], [90, 37], [114, 37], // left
  [18, 30], [18, 34], [19, 27], [19, 37], // eyes, ears
];
