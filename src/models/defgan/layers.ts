// Building blocks of Deformable GAN as the official Keras code (pose-gan/conditional_gan.py) builds them.
import * as torch from '../../torch/index.js';

/**
 * keras_contrib's InstanceNormalization() with its default axis=None, which the official code uses: each sample is
 * normalised over all of (C,H,W) together, then scaled and shifted by ONE learned scalar pair (gamma, beta), eps 1e-3.
 * (Per-channel instance norm would be axis=-1; the official models do not use it.)
 */
export class SampleNorm extends torch.nn.Module {
  readonly weight: torch.Tensor;
  readonly bias: torch.Tensor;

  constructor(readonly eps = 1e-3) {
    super();
    this.weight = this.param('weight', torch.ones([1]));
    this.bias = this.param('bias', torch.zeros([1]));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => torch.groupNorm(x, 1, null, null, this.eps).mul(this.weight).add(this.bias));
  }
}

/** Encoder step: LeakyReLU(0.2), zero-pad 1, 4x4 stride-2 conv without bias, then SampleNorm unless `norm` is false. */
export class DownBlock extends torch.nn.Module {
  readonly conv: torch.nn.Conv2d;
  readonly norm: SampleNorm | null;

  constructor(inC: number, outC: number, norm = true) {
    super();
    this.conv = this.module('conv', new torch.nn.Conv2d(inC, outC, 4, { stride: 2, padding: 1, bias: false }));
    this.norm = norm ? this.module('norm', new SampleNorm()) : null;
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      const h = this.conv.forward(x.leakyRelu(0.2));
      return this.norm ? this.norm.forward(h) : h;
    });
  }
}

/**
 * Decoder step: ReLU, 4x4 stride-2 transposed conv without bias (Keras crops 1 on each side: padding 1), SampleNorm,
 * optional dropout 0.5.
 */
export class UpBlock extends torch.nn.Module {
  readonly conv: torch.nn.ConvTranspose2d;
  readonly norm: SampleNorm;
  readonly dropout: torch.nn.Dropout | null;

  constructor(inC: number, outC: number, dropout: boolean) {
    super();
    this.conv = this.module('conv', new torch.nn.ConvTranspose2d(inC, outC, 4, { stride: 2, padding: 1, bias: false }));
    this.norm = this.module('norm', new SampleNorm());
    this.dropout = dropout ? this.module('dropout', new torch.nn.Dropout(0.5)) : null;
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      const h = this.norm.forward(this.conv.forward(x.relu()));
      return this.dropout ? this.dropout.forward(h) : h;
    });
  }
}
