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
 * D's loss: half on real targets, half on the fakes, where the fakes are the refined output and the source image
 * (the official code shows D the source image as a negative too). With equal batch sizes this equals Market's
 * 0.5 real + 0.25 source + 0.25 G2 and DeepFashion's (real + fakes) / 2 alike.
 */
export function pg2DiscriminatorLoss(realLogits: torch.Tensor, fakeLogits: torch.Tensor): torch.Tensor {
  return torch.scope(() => bceLogits(realLogits, 1).mul(0.5).add(bceLogits(fakeLogits, 0).mul(0.5)));
}
