// Adam (Kingma & Ba 2015), step for step as torch.optim.Adam in PyTorch 1.13 (foreach=False, amsgrad=False).
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamState, type Params } from './optimizer.js';

export interface AdamOptions {
  /** Default 1e-3. */
  lr: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps: number;
  /** L2 penalty added to the gradient (not decoupled: that is AdamW). Default 0. */
  weightDecay: number;
}

/**
 * State per parameter: 'step' (number), 'exp_avg' and 'exp_avg_sq' (tensors shaped as the parameter).
 * Update: g += weightDecay·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
 * p -= lr / (1-β1^t) · m / (sqrt(v) / sqrt(1-β2^t) + eps).
 */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    });
  }

  protected validate(g: AdamOptions, i: number): void {
    const [b1, b2] = g.betas;
    if (!(g.lr >= 0)) throw new Error(`Adam: lr of group ${i} must be >= 0, got ${g.lr}`);
    if (!(g.eps >= 0)) throw new Error(`Adam: eps of group ${i} must be >= 0, got ${g.eps}`);
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new Error(`Adam: betas of group ${i} must be in [0, 1), got ${JSON.stringify(g.betas)}`);
    if (!(g.weightDecay >= 0)) throw new Error(`Adam: weightDecay of group ${i} must be >= 0, got ${g.weightDecay}`);
  }

  protected update(p: Tensor, grad0: Tensor, g: AdamOptions, s: ParamState): void {
    const [b1, b2] = g.betas;
    if (s.step === undefined) {
      s.step = 0;
      s.exp_avg = p.zerosLike().keep();
      s.exp_avg_sq = p.zerosLike().keep();
    }
    const step = (s.step as number) + 1;
    s.step = step;
    const expAvg = s.exp_avg as Tensor;
    const expAvgSq = s.exp_avg_sq as Tensor;
    const grad = g.weightDecay !== 0 ? grad0.add(p, g.weightDecay) : grad0;
    expAvg.mul_(b1).add_(grad, 1 - b1);
    expAvgSq.mul_(b2).addcmul_(grad, grad, 1 - b2);
    const stepSize = g.lr / (1 - b1 ** step);
    const denom = expAvgSq.sqrt().div(Math.sqrt(1 - b2 ** step)).add_(g.eps);
    p.addcdiv_(expAvg, denom, -stepSize);
  }
}
