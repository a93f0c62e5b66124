// PG2's losses, as trainer.py / trainer256.py compute them.
import * as torch from '../../torch/index.js';

/**
 * The pose-mask L1: mean over all (N,3,H,W) elements of |pred - target| * mask, mask (N,1,H,W) in {0,1}
 * broadcast over channels (the official `reduce_mean(abs(G - x_target) * mask_target)`).
 */
export function poseMaskL1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor): torch.Tensor {
  return torch.scope(() => pred.sub(target).abs().mul(mask).mean());
}

/** L1 plus pose-mask L1: G1's whole loss in stage 1, and G2's reconstruction term in stage 2. */
export function pg2Reconstruction(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor): { l1: torch.Tensor; maskL1: torch.Tensor; total: torch.Tensor } {
  return torch.scope(() => {
    const l1 = torch.l1Loss(pred, target);
    const maskL1 = poseMaskL1(pred, target, mask);
    return { l1, maskL1, total: l1.add(maskL1) };
  });
}

/** Sigmoid cross-entropy of logits against a constant label (0 or 1), averaged. */
export function bceLogits(logits: torch.Tensor, label: 0 | 1): torch.Tensor {
  return torch.scope(() => torch.binaryCrossEntropyWithLogits(logits, label === 1 ? torch.onesLike(logits) : torch.zerosLike(logits)));
}

/**
 * D's loss as the official dcgan mode: 0.5 on real targets, 0.25 on the source image (shown as a negative) and 0.25
 * on G2's output. (DeepFashion's trainer256.py averages over [G2, source] as one negative batch: the same sum.)
 */
export function pg2DiscriminatorLoss(realLogits: torch.Tensor, sourceLogits: torch.Tensor, refinedLogits: torch.Tensor): torch.Tensor {
  return torch.scope(() => bceLogits(realLogits, 1).mul(0.5).add(bceLogits(sourceLogits, 0).mul(0.25)).add(bceLogits(refinedLogits, 0).mul(0.25)));
}
