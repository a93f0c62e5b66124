// PATN's losses: the GAN loss (LSGAN or BCE against all-ones / all-zeros targets) and the "L1 plus perceptual L1"
// reconstruction loss: λ_L1·|fake − real|₁ + λ_P·|φ(fake) − φ(real)|₁, φ = VGG19 up to relu1_2 on ImageNet-normalised
// input, with the real image's features detached (official losses/L1_plus_perceptualLoss.py).
import * as torch from '../../torch/index.js';
import type { Vgg19Features } from '../layers/vgg.js';
import type { GanLossKind } from './config.js';

/**
 * GAN loss of discriminator scores against a constant target: 'lsgan' is the mean squared error, 'bce' the binary
 * cross-entropy of sigmoid(scores) (computed from the logits, which is the same value without overflow).
 */
export function ganLoss(kind: GanLossKind, scores: torch.Tensor, real: boolean): torch.Tensor {
  return torch.scope(() => {
    const target = torch.fullLike(scores, real ? 1 : 0);
    if (kind === 'lsgan') return torch.mseLoss(scores, target);
    if (kind === 'bce') return torch.binaryCrossEntropyWithLogits(scores, target);
    throw new Error(`patn: loss.gan '${String(kind)}' must be 'lsgan' or 'bce'`);
  });
}

export interface ReconstructionLoss {
  /** λ_L1·L1 + λ_P·perceptual: what the generator minimises. */
  total: torch.Tensor;
  /** The two weighted terms, for logging. */
  l1: torch.Tensor;
  perceptual: torch.Tensor;
}

export interface ReconstructionOptions {
  lambdaL1: number;
  lambdaPerceptual: number;
  /** VGG19 tap, 'relu1_2' officially. */
  layer: string;
  /** L1 on the features (official), else MSE. */
  l1: boolean;
}

/** fake, real: (N,3,H,W) in [-1,1]. The VGG's weights stay frozen; gradients flow to `fake` only. */
export function reconstructionLoss(fake: torch.Tensor, real: torch.Tensor, vgg: Vgg19Features | null, o: ReconstructionOptions): ReconstructionLoss {
  return torch.scope(() => {
    const l1 = torch.l1Loss(fake, real).mul(o.lambdaL1);
    let perceptual: torch.Tensor;
    if (o.lambdaPerceptual === 0) {
      perceptual = torch.zeros([]);
    } else {
      if (!vgg) throw new Error('patn: loss.lambdaPerceptual is not 0 but no VGG19 was built');
      const [ff] = vgg.forward(fake, [o.layer]) as [torch.Tensor];
      const fr = torch.noGrad(() => (vgg.forward(real, [o.layer]) as [torch.Tensor])[0]);
      perceptual = (o.l1 ? torch.l1Loss(ff, fr) : torch.mseLoss(ff, fr)).mul(o.lambdaPerceptual);
    }
    return { total: l1.add(perceptual), l1, perceptual };
  });
}

/**
 * The history of generated samples the discriminators are also shown (Shrivastava et al.; official util/image_pool.py).
 * Until full, each query stores and returns its samples; then each sample, with probability 1/2, is swapped for a
 * random stored one (which is returned instead). Size 0 passes samples through. Stored tensors are detached copies
 * owned by the pool.
 */
export class ImagePool {
  private readonly images: torch.Tensor[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`patn: train.poolSize must be an integer >= 0, got ${size}`);
  }

  /** samples (N,...) -> (N,...), detached; a new tensor the caller owns. */
  query(samples: torch.Tensor): torch.Tensor {
    if (this.size === 0) return samples.detach();
    return torch.scope(() => {
      const out: torch.Tensor[] = [];
      const n = samples.shape[0] as number;
      // One draw per sample from libtorch's generator, so torch.manualSeed makes runs repeatable.
      const draws = torch.rand([n, 2]).data();
      for (let i = 0; i < n; i++) {
        const s = torch.noGrad(() => samples.narrow(0, i, 1).detach().clone());
        if (this.images.length < this.size) {
          this.images.push(s.clone().keep());
          out.push(s);
        } else if ((draws[2 * i] as number) > 0.5) {
          const j = Math.min(this.size - 1, Math.floor((draws[2 * i + 1] as number) * this.size));
          const old = this.images[j] as torch.Tensor;
          this.images[j] = s.clone().keep();
          out.push(old.clone());
          old.dispose();
        } else {
          out.push(s);
        }
      }
      return torch.cat(out, 0);
    });
  }

  get length(): number {
    return this.images.length;
  }

  /** The stored images, oldest slot first (live references). */
  stateTensors(): torch.Tensor[] {
    return [...this.images];
  }

  /** Replaces the stored images with copies of `images`. */
  loadStateTensors(images: readonly torch.Tensor[]): void {
    if (images.length > this.size) throw new Error(`patn: an image pool of size ${this.size} cannot hold ${images.length} saved images`);
    this.dispose();
    for (const t of images) this.images.push(torch.scope(() => torch.noGrad(() => t.detach().clone().keep())));
  }

  dispose(): void {
    for (const t of this.images) t.dispose();
    this.images.length = 0;
  }
}
