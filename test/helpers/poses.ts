// Deterministic test poses: a standing figure with per-sample jitter, for smoke tests that need plausible keypoints.
import * as torch from '../../src/torch/index.js';
import { diskMaps, pg2Mask } from '../../src/pose/index.js';
import type { PairBatch } from '../../src/models/batch.js';

/** A standing figure, (y, x) as fractions of the frame, OpenPose-18 order. */
export const FIGURE: [number, number][] = [
  [0.12, 0.5], [0.22, 0.5], [0.22, 0.35], [0.38, 0.3], [0.52, 0.28], [0.22, 0.65], [0.38, 0.7], [0.52, 0.72],
  [0.52, 0.42], [0.72, 0.42], [0.92, 0.42], [0.52, 0.58], [0.72, 0.58], [0.92, 0.58], [0.1, 0.46], [0.1, 0.54],
  [0.11, 0.42], [0.11, 0.58],
];

/** n copies of FIGURE in an (h, w) frame, each moved by up to `jitter` of the frame: (n,18,2) float32 (y, x) pixels. */
export function figureKeypoints(n: number, [h, w]: [number, number], jitter: number): torch.Tensor {
  const kp = new Float32Array(n * 36);
  for (let i = 0; i < n; i++) {
    FIGURE.forEach(([y, x], j) => {
      kp[i * 36 + 2 * j] = Math.round((y + jitter * Math.sin(7 * i + j)) * (h - 1));
      kp[i * 36 + 2 * j + 1] = Math.round((x + jitter * Math.cos(5 * i + 3 * j)) * (w - 1));
    });
  }
  return torch.tensor(kp, [n, 18, 2]);
}

/** PG2's batch: smooth random images and two jittered poses as disks, with the target's pose mask; the target image is the source shifted by one pixel. */
export function pg2TinyBatch(n: number, frame: [number, number]): PairBatch {
  const [h, w] = frame;
  return torch.scope(() => {
    const imageA = torch.interpolate(torch.randn([n, 3, h / 8, w / 8]), { size: [h, w], mode: 'bilinear' }).tanh();
    const imageB = imageA.roll([1], [2]);
    const keypointsA = figureKeypoints(n, frame, 0);
    const keypointsB = figureKeypoints(n, frame, 0.03);
    return {
      imageA, imageB, keypointsA, keypointsB,
      poseMapA: diskMaps(keypointsA, frame), poseMapB: diskMaps(keypointsB, frame), maskB: pg2Mask(keypointsB, frame),
    };
  });
}
