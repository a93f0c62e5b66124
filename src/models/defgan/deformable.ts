// Deformable skip connections (Siarohin et al., CVPR 2018, sec. 3.2).
//
// Tensor contract (what the pose code hands the model, per pair A -> B):
// - affines (N,10,2,3) float32: for each of the 10 body parts (torso, head, right/left upper leg, right/left lower
//   leg, right/left upper arm, right/left forearm: the official order) the affine that maps a point of the TARGET
//   frame to the SOURCE frame, in affine_grid's normalised convention (x, y in [-1,1], align_corners=false, x
//   first). So grid_sample(sourceFeatures, affine_grid(theta)) moves the source's part to where the target has it.
//   The same theta serves every resolution (normalised coordinates do not depend on the map size). A missing
//   part may be any theta whose samples fall outside the image (the official code uses a 1000-pixel translation),
//   and/or an all-zero mask.
// - masks (N,10,H,W) float32 in {0,1}: each part's region in the TARGET pose at image resolution; resized by
//   nearest neighbour to each skip level, as the official code does.
import * as torch from '../../torch/index.js';

export const NUM_PARTS = 10;

export type WarpMode = 'nearest' | 'bilinear';

/** Checks the affine and mask tensors against the contract above; errors name the tensor and the expected shape. */
export function checkPartInputs(affines: torch.Tensor, masks: torch.Tensor, n: number, h: number, w: number, who = 'deformable skip'): void {
  const a = affines.shape;
  if (a.length !== 4 || a[0] !== n || a[1] !== NUM_PARTS || a[2] !== 2 || a[3] !== 3) {
    throw new Error(`${who}: part affines have shape [${a.join(',')}], expected (${n},${NUM_PARTS},2,3) (target->source, affine_grid convention)`);
  }
  const m = masks.shape;
  if (m.length !== 4 || m[0] !== n || m[1] !== NUM_PARTS || m[2] !== h || m[3] !== w) {
    throw new Error(`${who}: part masks have shape [${m.join(',')}], expected (${n},${NUM_PARTS},${h},${w}) (target pose, image resolution)`);
  }
}

/**
 * Warps features (N,C,h,w) with each part's affine, multiplies by that part's mask and takes the max over the parts.
 * Returns (N,C,h,w). Outside the source image the samples are zero.
 */
export function deformableSkip(features: torch.Tensor, affines: torch.Tensor, masks: torch.Tensor, mode: WarpMode = 'nearest'): torch.Tensor {
  const [n, c, h, w] = features.shape as [number, number, number, number];
  const k = affines.shape[1] as number;
  return torch.scope(() => {
    const tiled = features.unsqueeze(1).expand([n, k, c, h, w]).reshape([n * k, c, h, w]);
    const grid = torch.affineGrid(affines.reshape([n * k, 2, 3]), [n * k, c, h, w], false);
    const warped = torch.gridSample(tiled, grid, mode, 'zeros', false).view([n, k, c, h, w]);
    const m = masks.shape[2] === h && masks.shape[3] === w ? masks : torch.interpolate(masks, { size: [h, w], mode: 'nearest' });
    return warped.mul(m.unsqueeze(2)).amax([1]);
  });
}

/** Affines (N,10,2,3) that leave every part where it is. */
export function identityAffines(n: number, parts = NUM_PARTS): torch.Tensor {
  return torch.scope(() => torch.tensor([1, 0, 0, 0, 1, 0], [1, 1, 2, 3]).expand([n, parts, 2, 3]).contiguous());
}

/**
 * Affines that translate the content by (dy, dx) pixels of a (h, w) map (positive: down, right): the output at
 * (y, x) samples the input at (y - dy, x - dx).
 */
export function translationAffines(n: number, h: number, w: number, dy: number, dx: number, parts = NUM_PARTS): torch.Tensor {
  return torch.scope(() => torch.tensor([1, 0, (-2 * dx) / w, 0, 1, (-2 * dy) / h], [1, 1, 2, 3]).expand([n, parts, 2, 3]).contiguous());
}
