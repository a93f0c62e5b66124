// Stateless layers: activations, Identity and dropout. Each maps a tensor to a tensor of the same shape.
import type { Tensor } from '../tensor.js';
import '../gen/ops.js';
import { Module } from './module.js';

/** max(x, 0). */
export class ReLU extends Module {
  forward(input: Tensor): Tensor {
    return input.relu();
  }
}

/** x for x >= 0, negativeSlope * x otherwise. Default negativeSlope 0.01 (pix2pix-style models pass 0.2). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (!Number.isFinite(negativeSlope)) throw new Error(`LeakyReLU: negativeSlope must be a finite number, got ${negativeSlope}`);
  }

  forward(input: Tensor): Tensor {
    return input.leakyRelu(this.negativeSlope);
  }
}

export class Tanh extends Module {
  forward(input: Tensor): Tensor {
    return input.tanh();
  }
}

export class Sigmoid extends Module {
  forward(input: Tensor): Tensor {
    return input.sigmoid();
  }
}

/** Returns its input unchanged (the same tensor object, as PyTorch). */
export class Identity extends Module {
  forward(input: Tensor): Tensor {
    return input;
  }
}

function checkP(layer: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`${layer}: p must be a probability in [0, 1], got ${p}`);
  return p;
}

/** In training mode, zeroes each element with probability p and scales the rest by 1/(1-p); identity in eval mode. Default p 0.5. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkP('Dropout', p);
  }

  forward(input: Tensor): Tensor {
    return input.dropout(this.p, this.training);
  }
}

/** As Dropout, but zeroes whole channels of an (N, C, H, W) input. Default p 0.5. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkP('Dropout2d', p);
  }

  forward(input: Tensor): Tensor {
    return input.dropout2d(this.p, this.training);
  }
}
