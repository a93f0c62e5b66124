// Stochastic gradient descent with momentum, as torch.optim.SGD in PyTorch 1.13 (foreach=False).
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamState, type Params } from './optimizer.js';

export interface SGDOptions {
  /** Required. */
  lr: number;
  /** Default 0 (plain SGD, no state). */
  momentum: number;
  /** Scales the new gradient in the momentum buffer by (1 - dampening). Default 0. */
  dampening: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov: boolean;
}

/**
 * State per parameter (with momentum): 'momentum_buffer'. Update: g += weightDecay·p; b = g on the first step, else
 * b = momentum·b + (1-dampening)·g; d = nesterov ? g + momentum·b : b (or g without momentum); p -= lr·d.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    if (options?.lr === undefined) throw new Error('SGD: lr is required, e.g. new SGD(params, { lr: 0.01 })');
    super('SGD', params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    });
  }

  protected validate(g: SGDOptions, i: number): void {
    if (!(g.lr >= 0)) throw new Error(`SGD: lr of group ${i} must be >= 0, got ${g.lr}`);
    if (!(g.momentum >= 0)) throw new Error(`SGD: momentum of group ${i} must be >= 0, got ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new Error(`SGD: weightDecay of group ${i} must be >= 0, got ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new Error(`SGD: nesterov (group ${i}) needs momentum > 0 and dampening 0, got momentum ${g.momentum}, dampening ${g.dampening}`);
    }
  }

  protected update(p: Tensor, grad0: Tensor, g: SGDOptions, s: ParamState): void {
    let d = g.weightDecay !== 0 ? grad0.add(p, g.weightDecay) : grad0;
    if (g.momentum !== 0) {
      let buf = s.momentum_buffer as Tensor | undefined;
      if (buf === undefined) {
        buf = d.clone().keep();
        s.momentum_buffer = buf;
      } else {
        buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      }
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}
