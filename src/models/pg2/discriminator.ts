// PG2's DCGAN discriminator (tflib's DCGANDiscriminator / DCGANDiscriminator_256 in wgan_gp_128x64.py):
// stride-2 5x5 convs with LeakyReLU(0.2), batch norm from the second conv on, channels dim * 2^i capped at 8*dim,
// then one linear unit. It scores single images (it is not conditioned on the source).
import * as torch from '../../torch/index.js';
import { TfSameConv2d } from './tf-same-conv.js';

export interface Pg2DiscriminatorOptions {
  imageSize: [number, number];
  dim: number;
  /** Number of stride-2 convs: 4 at 128x64, 5 at 256x256. */
  layers: number;
}

export class Pg2Discriminator extends torch.nn.Module {
  readonly convs: torch.nn.ModuleList<TfSameConv2d>;
  /** Batch norms after convs 1 .. layers-1 (the first conv has none). */
  readonly norms: torch.nn.ModuleList<torch.nn.BatchNorm2d>;
  readonly fc: torch.nn.Linear;

  constructor(o: Pg2DiscriminatorOptions) {
    super();
    this.convs = this.module('convs', new torch.nn.ModuleList<TfSameConv2d>());
    this.norms = this.module('norms', new torch.nn.ModuleList<torch.nn.BatchNorm2d>());
    let c = 3;
    for (let i = 0; i < o.layers; i++) {
      const out = o.dim * Math.min(2 ** i, 8);
      this.convs.push(new TfSameConv2d(c, out, 5, 2));
      if (i > 0) this.norms.push(new torch.nn.BatchNorm2d(out));
      c = out;
    }
    const f = 2 ** o.layers;
    this.fc = this.module('fc', new torch.nn.Linear(c * Math.ceil(o.imageSize[0] / f) * Math.ceil(o.imageSize[1] / f), 1));
  }

  /** images (N,3,H,W) -> logits (N). */
  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      let h = x;
      for (let i = 0; i < this.convs.length; i++) {
        h = this.convs.at(i).forward(h);
        if (i > 0) h = this.norms.at(i - 1).forward(h);
        h = h.leakyRelu(0.2);
      }
      return this.fc.forward(h.flatten(1)).view([-1]);
    });
  }
}
