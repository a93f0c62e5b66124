// PATN's discriminators (official ResnetDiscriminator): the generator's encoder stream followed by residual blocks.
// There is no final 1-channel conv: every one of the ndf·4 output channels at every position is a real/fake score,
// and the GAN loss compares them all with 1 or 0. Two instances: the shape discriminator D_PB sees
// (image, target pose heatmaps), the appearance discriminator D_PP sees (image, source image).
import * as torch from '../../torch/index.js';
import type { NormKind } from './config.js';
import { Encoder, convBias, makeNorm } from './generator.js';

type Norm = torch.nn.BatchNorm2d | torch.nn.InstanceNorm2d;

/** x + (conv3x3 → norm → ReLU → [dropout] → conv3x3 → norm)(x), reflect-padded. */
export class ResBlock extends torch.nn.Module {
  readonly conv1: torch.nn.Conv2d;
  readonly norm1: Norm;
  readonly conv2: torch.nn.Conv2d;
  readonly norm2: Norm;
  readonly dropout: torch.nn.Dropout | null;

  constructor(channels: number, norm: NormKind, dropout: boolean) {
    super();
    const bias = convBias(norm);
    const conv = (): torch.nn.Conv2d => new torch.nn.Conv2d(channels, channels, 3, { padding: 1, paddingMode: 'reflect', bias });
    this.conv1 = this.module('conv1', conv());
    this.norm1 = this.module('norm1', makeNorm(norm, channels));
    this.conv2 = this.module('conv2', conv());
    this.norm2 = this.module('norm2', makeNorm(norm, channels));
    this.dropout = dropout ? this.module('dropout', new torch.nn.Dropout(0.5)) : null;
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      let h = this.norm1.forward(this.conv1.forward(x)).relu();
      if (this.dropout) h = this.dropout.forward(h);
      return x.add(this.norm2.forward(this.conv2.forward(h)));
    });
  }
}

export interface PATNDiscriminatorOptions {
  inChannels: number;
  ndf: number;
  nBlocks: number;
  nDownsampling: number;
  norm: NormKind;
  dropout: boolean;
}

/**
 * (N, inChannels, H, W) -> raw scores (N, ndf·2^n, H/2^n, W/2^n). The official BCE variant ends in a sigmoid; here the
 * scores stay logits and the BCE loss applies the sigmoid itself (the same function, numerically safer).
 */
export class PATNDiscriminator extends torch.nn.Module {
  readonly encoder: Encoder;
  readonly blocks: torch.nn.ModuleList<ResBlock>;

  constructor(readonly options: PATNDiscriminatorOptions) {
    super();
    const { inChannels, ndf, nBlocks, nDownsampling, norm, dropout } = options;
    if (nDownsampling > 2) {
      throw new Error(`patn: discriminator.nDownsampling ${nDownsampling} is not supported (the official code widens differently above 2); use 0, 1 or 2`);
    }
    this.encoder = this.module('encoder', new Encoder(inChannels, ndf, nDownsampling, norm));
    this.blocks = this.module('blocks', new torch.nn.ModuleList<ResBlock>());
    for (let i = 0; i < nBlocks; i++) this.blocks.push(new ResBlock(this.encoder.outChannels, norm, dropout));
  }

  forward(x: torch.Tensor): torch.Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.options.inChannels) {
      throw new Error(`PATNDiscriminator: input must be (N,${this.options.inChannels},H,W), got [${x.shape.join(',')}]`);
    }
    return torch.scope(() => {
      let h = this.encoder.forward(x);
      for (const b of this.blocks) h = b.forward(h);
      return h;
    });
  }
}
