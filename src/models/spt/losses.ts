// SPT's loss terms. Semantic stage: masked cross-entropy against the pseudo-label and LSGAN. Appearance stage (the
// official backward_G): LSGAN of the image and face discriminators, the pose loss through a heat-map estimator,
// the content loss on the cycle A -> B -> A in VGG16 relu2_1 features, and the style loss on region-wise Gram
// matrices (patch_gram_matrix), each as the official code computes it.
import * as torch from '../../torch/index.js';

/** The official GANLoss with use_lsgan: MSE of the scores against 1 (real) or 0 (fake), averaged over patches. */
export function lsgan(scores: torch.Tensor, real: boolean): torch.Tensor {
  return torch.scope(() => torch.mseLoss(scores, real ? torch.onesLike(scores) : torch.zerosLike(scores)));
}

/** A discriminator's loss, as the official backward_D_basic: (LSGAN(real, 1) + LSGAN(fake, 0)) / 2. */
export function discriminatorLoss(realScores: torch.Tensor, fakeScores: torch.Tensor): torch.Tensor {
  return torch.scope(() => lsgan(realScores, true).add(lsgan(fakeScores, false)).mul(0.5));
}

/**
 * Masked cross-entropy of the semantic generator: the per-pixel cross-entropy of `logits` against `target`,
 * weighted by `mask` and averaged over the mask's area (1 where the mask is empty, so an empty mask gives 0).
 *
 * @param logits (N,10,H,W); target (N,H,W) int64 labels; mask (N,1,H,W) in [0,1]
 */
export function maskedCrossEntropy(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor): torch.Tensor {
  const [n, , h, w] = logits.shape as [number, number, number, number];
  if (target.shape.join(',') !== [n, h, w].join(',') || mask.shape.join(',') !== [n, 1, h, w].join(',')) {
    throw new Error(`maskedCrossEntropy: logits [${logits.shape.join(',')}] need target (${n},${h},${w}) and mask (${n},1,${h},${w}), got [${target.shape.join(',')}] and [${mask.shape.join(',')}]`);
  }
  return torch.scope(() => {
    const perPixel = torch.crossEntropy(logits, target, null, 'none');
    const m = mask.squeeze(1);
    return perPixel.mul(m).sum().div(m.sum().clamp(1, Infinity));
  });
}

/**
 * Gram matrices of features inside regions (the official patch_gram_matrix): for each region k,
 * G_k = F_k F_k^T / (h w) with F_k = features * region_k flattened to (C, h w).
 *
 * @param features (N,C,h,w); regions (N,K,h,w) soft or binary masks at the features' resolution
 * @returns (N,K,C,C)
 */
export function regionGrams(features: torch.Tensor, regions: torch.Tensor): torch.Tensor {
  const [n, c, h, w] = features.shape as [number, number, number, number];
  const k = regions.shape[1] as number;
  if (regions.shape.join(',') !== [n, k, h, w].join(',')) {
    throw new Error(`regionGrams: regions [${regions.shape.join(',')}] must be (${n},K,${h},${w}) to match features [${features.shape.join(',')}]`);
  }
  return torch.scope(() => {
    const masked = features.unsqueeze(1).mul(regions.unsqueeze(2)).reshape([n * k, c, h * w]);
    return torch.bmm(masked, masked.transpose(1, 2)).div(h * w).view([n, k, c, c]);
  });
}

/**
 * The style loss (official loss_patch_style): with visibility v_k = [region k present in both A and B],
 * MSE(v G(fakeB, regionsB), v G(realA, regionsA)) + mean((v G(fakeA, regionsA) - v G(fakeB, regionsB))^2).
 *
 * @param fakeB, realA, fakeA features (N,C,h,w); regionsB (regions of B, for fakeB), regionsA (of A) (N,K,h,w)
 */
export function styleLoss(fakeB: torch.Tensor, realA: torch.Tensor, fakeA: torch.Tensor, regionsB: torch.Tensor, regionsA: torch.Tensor): torch.Tensor {
  return torch.scope(() => {
    const visible = regionsA.amax([2, 3], true).mul(regionsB.amax([2, 3], true));
    const gFakeB = regionGrams(fakeB, regionsB).mul(visible);
    const gRealA = regionGrams(realA, regionsA).mul(visible);
    const gFakeA = regionGrams(fakeA, regionsA).mul(visible);
    return torch.mseLoss(gFakeB, gRealA).add(gFakeA.sub(gFakeB).square().mean());
  });
}

/**
 * The pose loss (official backward_pose_det without its weight): MSE of the estimator's heat maps of the two
 * generated images against the poses they were generated for.
 * @param estimatedA, estimatedB (N,18,H,W) heat maps of fakeA, fakeB; poseA, poseB (N,18,H,W)
 */
export function poseLoss(estimatedA: torch.Tensor, poseA: torch.Tensor, estimatedB: torch.Tensor, poseB: torch.Tensor): torch.Tensor {
  return torch.scope(() => torch.mseLoss(estimatedA, poseA).add(torch.mseLoss(estimatedB, poseB)));
}
