import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { augmentImages, augmentPose, flipKeypoints, sampleAugment, IDENTITY_AUGMENT, type AugmentParams } from '../../../src/pose/augment.js';
import { heatmaps, posesToTensor } from '../../../src/pose/heatmaps.js';
import { drawSkeleton, drawSkeletonTensor, skeletonSvg } from '../../../src/pose/draw.js';
import { J, JOINT_COLORS, emptyPose, flipPose, isVisible, jointX, jointY, setJoint, type Pose } from '../../../src/pose/skeleton.js';

const Y = [8, 23, 23, 43, 60, 23, 43, 60, 64, 92, 118, 65, 89, 108, 5, 6, 7, 8];
const X = [39, 37, 20, 12, 8, 53, 59, 53, 22, 24, 24, 43, 43, 45, 36, 42, 31, 47];
function base(): Pose {
  const p = emptyPose();
  Y.forEach((y, j) => setJoint(p, j, y, X[j]!));
  return p;
}

function peak(map: torch.Tensor, w: number): [number, number] {
  const i = map.flatten().argmax().item();
  return [Math.floor(i / w), i % w];
}

test('a flip moves image and keypoints together and swaps left and right', () => {
  torch.scope(() => {
    const p = base();
    const flip: AugmentParams = { ...IDENTITY_AUGMENT, flip: true };
    const img = heatmaps(posesToTensor([p]), [128, 64], 2);
    const out = augmentImages(img, [flip]);
    const q = augmentPose(p, flip, [128, 64]);
    assert.deepEqual(Array.from(q), Array.from(flipPose(p, 64)));
    // Exact: flipping an image by grid_sample equals torch.flip.
    assert.ok(out.sub(img.flip([3])).abs().max().item() < 1e-5);
    // The image's r_shoulder channel (now on the person's left side) peaks where the new l_shoulder is.
    assert.deepEqual(peak(out.select(1, J.r_shoulder), 64), [jointY(q, J.l_shoulder), jointX(q, J.l_shoulder)]);
    // The batched tensor flip agrees with the per-pose one, missing joints included.
    const withMissing = base();
    setJoint(withMissing, J.l_wrist, -1, -1);
    const flipped = flipKeypoints(posesToTensor([p, withMissing]), 64);
    assert.deepEqual(Array.from(flipped.data() as Float32Array),
      [...Array.from(flipPose(p, 64)), ...Array.from(flipPose(withMissing, 64))]);
  });
});

test('rotation, scale and shift move each keypoint onto its Gaussian in the warped image', () => {
  torch.scope(() => {
    const p = base();
    let seed = 7;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const params = [0, 1, 2].map(() => sampleAugment(random, [128, 64], { flip: 0.5, rotate: 10, scale: [0.9, 1.1], translate: 0.05 }));
    const img = heatmaps(posesToTensor([p, p, p]), [128, 64], 2);
    const out = augmentImages(img, params);
    params.forEach((par, i) => {
      const q = augmentPose(p, par, [128, 64]);
      for (const j of [J.neck, J.r_hip, J.l_knee, J.r_wrist]) {
        const src = par.flip ? [J.neck, J.l_hip, J.r_knee, J.l_wrist][[J.neck, J.r_hip, J.l_knee, J.r_wrist].indexOf(j)]! : j;
        if (!isVisible(q, j)) continue;
        const [py, px] = peak(out.select(0, i).select(0, src), 64);
        assert.ok(Math.abs(py - jointY(q, j)) <= 1 && Math.abs(px - jointX(q, j)) <= 1,
          `sample ${i} joint ${j}: image peak (${py}, ${px}), keypoint (${jointY(q, j)}, ${jointX(q, j)})`);
      }
    });
    // Joints pushed out of the frame become missing.
    const far = augmentPose(p, { ...IDENTITY_AUGMENT, tx: 30 }, [128, 64]);
    assert.ok(!isVisible(far, J.l_elbow) && isVisible(far, J.r_wrist));
  });
});

test('skeleton drawing: coloured limbs and joints as an RGB image and a (3,H,W) uint8 tensor', async () => {
  const p = base();
  const svg = skeletonSvg(p, [128, 64]);
  assert.match(svg, /<line /);
  const rgb = await drawSkeleton(p, [128, 64], { jointRadius: 2, limbWidth: 2 });
  assert.equal(rgb.length, 128 * 64 * 3);
  const px = (y: number, x: number): number[] => Array.from(rgb.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
  // The nose dot has the nose colour; an empty corner is black.
  assert.deepEqual(px(8, 39), [...JOINT_COLORS[0]!]);
  assert.deepEqual(px(126, 1), [0, 0, 0]);
  // Mid-limb pixel of the right shin (limb 8: r_knee - r_ankle, colour 8 at 0.6 opacity over black).
  const mid = px(105, 24);
  assert.ok(mid[1]! > 100 && mid[0]! < 60, `right shin drawn in its colour: ${mid}`);
  const t = await drawSkeletonTensor(p, [128, 64]);
  assert.deepEqual(t.shape, [3, 128, 64]);
  assert.equal(t.dtype, 'uint8');
  assert.equal(t.select(1, 8).select(1, 39).toArray().toString(), JOINT_COLORS[0]!.toString());
  t.dispose();
});
