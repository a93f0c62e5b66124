// SPT test batches from the synthetic world: rendered same-person pairs with their keypoints, pose maps and
// 10-label parsing maps (src/synth), built in memory.
import * as torch from '../../src/torch/index.js';
import { heatmaps, posesToTensor } from '../../src/pose/index.js';
import { Rng, makeIdentity, renderFigure, samplePose, type Render } from '../../src/synth/index.js';
import type { Pose } from '../../src/pose/index.js';
import type { PairBatch } from '../../src/models/batch.js';

/** n pairs of (height, width) renders, identity i in two random poses; every tensor belongs to the caller. */
export async function sptSynthBatch(n: number, [height, width]: [number, number], seed = 1): Promise<PairBatch> {
  const rng = new Rng(seed);
  const size = { height, width };
  const renders: Render[] = [];
  const poses: Pose[] = [];
  for (let i = 0; i < n; i++) {
    const identity = makeIdentity(seed, i + 1);
    for (let k = 0; k < 2; k++) {
      const pose = samplePose(identity, size, rng, { cropChance: 0, dropChance: 0 });
      poses.push(pose);
      renders.push(await renderFigure(identity, pose, size));
    }
  }
  const side = (k: 0 | 1): { image: torch.Tensor; parsing: torch.Tensor; kp: torch.Tensor } => {
    const rs = renders.filter((_, j) => j % 2 === k);
    const px = new Uint8Array(n * height * width * 3);
    const lab = new BigInt64Array(n * height * width);
    rs.forEach((r, i) => {
      px.set(r.image, i * height * width * 3);
      r.parsing.forEach((v: number, j: number) => { lab[i * height * width + j] = BigInt(v); });
    });
    return torch.scope(() => ({
      image: torch.tensor(px, [n, height, width, 3]).to('float32').div(127.5).sub(1).permute([0, 3, 1, 2]).contiguous(),
      parsing: torch.tensor(lab, [n, height, width]),
      kp: posesToTensor(poses.filter((_, j) => j % 2 === k)),
    }));
  };
  const a = side(0);
  const b = side(1);
  return torch.scope(() => ({
    imageA: a.image, imageB: b.image, keypointsA: a.kp, keypointsB: b.kp, parsingA: a.parsing, parsingB: b.parsing,
    poseMapA: heatmaps(a.kp, [height, width]), poseMapB: heatmaps(b.kp, [height, width]),
  }));
}
