// Deformable GAN's losses: the nearest-neighbour loss (official nn_loss) and the GAN terms.
import * as torch from '../../torch/index.js';

/**
 * Nearest-neighbour loss between generated features x and real features y, both (N,C,H,W): for every position p of
 * x, the smallest L1 distance (summed over channels) between x(p) and y(q) over the n x n neighbourhood q of p;
 * averaged over N, H, W. Positions outside y never win (the official code pads y with -10000).
 * With n = 1 it is the channel-summed L1, mean over positions: C times torch.l1Loss.
 */
export function nearestNeighbourLoss(x: torch.Tensor, y: torch.Tensor, n: number): torch.Tensor {
  if (x.ndim !== 4 || x.shape.join(',') !== y.shape.join(',')) {
    throw new Error(`nearestNeighbourLoss: generated [${x.shape.join(',')}] and real [${y.shape.join(',')}] features must be the same (N,C,H,W)`);
  }
  if (n < 1 || n % 2 !== 1) throw new Error(`nearestNeighbourLoss: neighbourhood ${n} must be odd and >= 1`);
  const r = (n - 1) / 2;
  const [, , h, w] = x.shape as [number, number, number, number];
  return torch.scope(() => {
    const padded = r > 0 ? torch.pad(y, [r, r, r, r], 'constant', -10000) : y;
    // One (N,H,W) distance map per offset keeps memory at N*H*W*n*n instead of N*C*H*W*n*n.
    const dists: torch.Tensor[] = [];
    for (let dy = 0; dy < n; dy++) {
      for (let dx = 0; dx < n; dx++) {
        const shifted = padded.narrow(2, dy, h).narrow(3, dx, w);
        dists.push(shifted.sub(x).abs().sum([1]));
      }
    }
    return torch.stack(dists, 0).amin([0]).mean();
  });
}

/** Sigmoid cross-entropy of logits against a constant label, averaged over every patch. */
export function bceLogits(logits: torch.Tensor, label: 0 | 1): torch.Tensor {
  return torch.scope(() => torch.binaryCrossEntropyWithLogits(logits, label === 1 ? torch.onesLike(logits) : torch.zerosLike(logits)));
}
