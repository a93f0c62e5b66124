// What every model family consumes: one batch of same-person pairs (A = source, B = target).
// The data loader produces it; the synthetic world's tiny datasets produce it for smoke tests.
import type * as torch from '../torch/index.js';

export interface PairBatch {
  /** Source and target images, (N,3,H,W) float32 in [-1,1]. */
  imageA: torch.Tensor;
  imageB: torch.Tensor;
  /** Keypoints, (N,18,2) float32 as (y,x) in pixels of the image frame; -1 marks a missing joint. */
  keypointsA: torch.Tensor;
  keypointsB: torch.Tensor;
  /** Pose heatmaps, (N,18,H,W) float32: one Gaussian per joint (sigma 6 by default), zeros for a missing joint. */
  heatmapA: torch.Tensor;
  heatmapB: torch.Tensor;
  /** PG2's pose mask of the target, (N,1,H,W) float32 in {0,1}; present when the model asks for it. */
  maskB?: torch.Tensor;
  /** SPT's 10-label parsing maps, (N,H,W) int64; present when the dataset has them. */
  parsingA?: torch.Tensor;
  parsingB?: torch.Tensor;
  /** Image names, for samples and evaluation. */
  namesA?: string[];
  namesB?: string[];
}
