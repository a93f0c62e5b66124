// The training-free baseline: move each of Deformable GAN's 10 body parts of the source onto the target pose by its
// part affine (src/pose/parts.ts), composite them by the parts' target-frame masks, and keep the source image
// wherever no part lands. Deformable GAN's torso mask is the whole frame (its torso affine moves the background
// too); here the torso moves only inside the target's body mask (the Market mask of the target pose, limbs and
// joints widened by `bodyRadius`), so the background stays the source's. It is what a warping model must beat without learning anything, and because it is a warp
// it has a flow, which flow-epe scores against the synthetic world's true correspondence.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { openDataset } from '../data/index.js';
import { marketMask, partAffines, posesToTensor, type Frame } from '../pose/index.js';
import { flowPath, readRgb, writeFlow } from '../eval/index.js';

/**
 * Which part wins where masks overlap: later in this list is drawn over earlier (torso, legs, head, then arms, which
 * are in front of the trunk in most poses). Indices into PARTS.
 */
export const COMPOSITE_ORDER: readonly number[] = [0, 2, 3, 4, 5, 1, 6, 7, 8, 9];
const TORSO = 0;

export interface WarpBaselineOptions {
  /** Where a part samples outside the source frame: 'border' (default) repeats the edge, 'zeros' gives black. */
  padding?: 'border' | 'zeros';
  /** Half-width in pixels of the target body mask the torso moves in. Default round(H / 32), at least 4. */
  bodyRadius?: number;
}

export interface WarpBaselineResult {
  /** (N,C,H,W) the source warped onto the target pose, in the source's dtype family (float32). */
  image: torch.Tensor;
  /** (N,2,H,W) float32: for each target pixel, the (x, y) source pixel it is taken from (docs/eval.md's flow format). */
  flow: torch.Tensor;
  /** (N,1,H,W) float32: 1 where a body part was moved, 0 where the source is kept. */
  moved: torch.Tensor;
}

/**
 * Warps `sourceImage` from `sourcePose` to `targetPose` part by part.
 * @param sourceImage (N,C,H,W) any float or uint8 range (sampled bilinearly as float32)
 * @param sourcePose (N,18,2) (y, x) keypoints in pixels of the H x W frame, -1 for a missing joint
 * @param targetPose (N,18,2) likewise
 * @returns image, flow and moved mask (see WarpBaselineResult); the caller owns them
 */
export function warpBaseline(sourceImage: torch.Tensor, sourcePose: torch.Tensor, targetPose: torch.Tensor, options: WarpBaselineOptions = {}): WarpBaselineResult {
  if (sourceImage.ndim !== 4) throw new Error(`warpBaseline: sourceImage must be (N,C,H,W), got [${sourceImage.shape}]`);
  const [n, , h, w] = sourceImage.shape as [number, number, number, number];
  if (sourcePose.shape[0] !== n || targetPose.shape[0] !== n) {
    throw new Error(`warpBaseline: ${n} images but ${sourcePose.shape[0]} source and ${targetPose.shape[0]} target poses; give one of each per image`);
  }
  const frame: Frame = [h, w];
  return torch.scope(() => {
    const parts = partAffines(sourcePose, targetPose, frame, { space: 'pixels' });
    // Homogeneous target pixel coordinates (x, y, 1), (3, H*W).
    const xs = torch.arange(0, w, 1, 'float32').view([1, w]).expand([h, w]).flatten();
    const ys = torch.arange(0, h, 1, 'float32').view([h, 1]).expand([h, w]).flatten();
    const grid = torch.stack([xs, ys, torch.onesLike(xs)]);
    let flow = torch.stack([xs, ys]).view([1, 2, h, w]).expand([n, 2, h, w]);
    let moved = torch.zeros([n, 1, h, w]);
    const valid = parts.valid.to('float32').view([n, -1, 1, 1]);
    const body = marketMask(targetPose, frame, { radius: options.bodyRadius ?? Math.max(4, Math.round(h / 32)) });
    for (const k of COMPOSITE_ORDER) {
      const theta = parts.theta.select(1, k).to('float32'); // (N,2,3) target pixel -> source pixel
      const partFlow = theta.matmul(grid).view([n, 2, h, w]);
      const region = k === TORSO ? body : parts.masks.narrow(1, k, 1);
      const mask = region.mul(valid.narrow(1, k, 1));
      flow = torch.where(mask.gt(0), partFlow, flow);
      moved = moved.maximum(mask);
    }
    // grid_sample's normalized coordinates with align_corners = false: u = (2 x + 1) / W - 1.
    const scale = torch.tensor([2 / w, 2 / h], [1, 2, 1, 1]);
    const offset = torch.tensor([1 / w - 1, 1 / h - 1], [1, 2, 1, 1]);
    const sampling = flow.mul(scale).add(offset).permute([0, 2, 3, 1]);
    const image = torch.gridSample(sourceImage.to('float32'), sampling, 'bilinear', options.padding ?? 'border', false);
    return { image, flow: flow.contiguous(), moved };
  });
}

export interface BaselinePredictionOptions {
  /** Dataset folder as openDataset opens it. */
  data: string;
  /** Output folder: <out>/<from>___<to>.png and <out>/flows/<from>___<to>.npy, what `reposer eval` reads. */
  out: string;
  /** Split whose pairs are warped. Default 'test'. */
  split?: string;
  /** At most this many pairs, in the pairs file's order. Default all. */
  limit?: number;
}

/**
 * Writes the baseline's prediction for every pair of a dataset split, as a model's `reposer test` would, so that
 * `reposer eval --pred <out>` scores it (SSIM, L1, ... and, on synthetic data, flow-epe). Returns the pair count.
 */
export async function writeBaselinePredictions(o: BaselinePredictionOptions): Promise<number> {
  const ds = await openDataset(o.data, { split: o.split ?? 'test' });
  const pairs = ds.pairs.slice(0, o.limit ?? ds.pairs.length);
  if (pairs.length === 0) throw new Error(`baseline: ${o.data} has no pairs in its '${ds.split}' split`);
  await mkdir(join(o.out, 'flows'), { recursive: true });
  for (const p of pairs) {
    const from = ds.annotations.get(p.from);
    const to = ds.annotations.get(p.to);
    if (!from || !to) throw new Error(`baseline: pair ${p.from} -> ${p.to} has no keypoints in ${ds.annotationFile}; annotate both images`);
    const source = await readRgb(join(ds.imageDir as string, p.from));
    let r: WarpBaselineResult;
    try {
      r = torch.scope(() => warpBaseline(source.unsqueeze(0), posesToTensor([from.pose]), posesToTensor([to.pose])));
    } finally {
      source.dispose();
    }
    try {
      const [, c, h, w] = r.image.shape as [number, number, number, number];
      const pixels = torch.scope(() => r.image.squeeze(0).round().clamp(0, 255).to('uint8').permute([1, 2, 0]).contiguous().data() as Uint8Array);
      await writeFile(join(o.out, `${p.from}___${p.to}.png`), await sharp(pixels, { raw: { width: w, height: h, channels: c as 3 } }).png().toBuffer());
      const flow = r.flow.squeeze(0);
      await writeFlow(flowPath(o.out, p.from, p.to), flow).finally(() => flow.dispose());
    } finally {
      torch.dispose([r.image, r.flow, r.moved]);
    }
  }
  return pairs.length;
}
