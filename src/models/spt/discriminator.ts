// SPT's discriminators: the official NLayerDiscriminator (pix2pix/CycleGAN PatchGAN) with instance norm, for parsing
// maps (D_S, ours: the semantic D is not released), images with their parsing (the official netD on image ++ 9
// parsing channels) and face crops (the official netD_face). forward() returns the patch scores; the losses are LSGAN
// (the official GANLoss with use_lsgan, the CycleGAN default).
import * as torch from '../../torch/index.js';

/**
 * 4x4 stride-2 conv (bias) + LeakyReLU(0.2); (layers - 1) x [4x4 stride-2 conv, instance norm, LeakyReLU]; a 4x4
 * stride-1 conv, instance norm, LeakyReLU; a 4x4 stride-1 conv to one channel. Widths ndf * min(2^i, 8); every conv
 * has padding 1 and a bias (the official use_bias is true with instance norm).
 * (N, inChannels, H, W) -> (N, 1, H / 2^layers - 2, W / 2^layers - 2).
 */
export class PatchDiscriminator extends torch.nn.Module {
  readonly convs: torch.nn.ModuleList<torch.nn.Conv2d>;
  readonly norms: torch.nn.ModuleList<torch.nn.InstanceNorm2d>;

  constructor(readonly inChannels: number, ndf: number, readonly layers: number) {
    super();
    if (!(Number.isInteger(layers) && layers >= 1)) throw new Error(`spt PatchDiscriminator: layers must be an integer >= 1, got ${layers}`);
    const w = (i: number): number => ndf * Math.min(2 ** i, 8);
    this.convs = this.module('convs', new torch.nn.ModuleList<torch.nn.Conv2d>());
    this.norms = this.module('norms', new torch.nn.ModuleList<torch.nn.InstanceNorm2d>());
    this.convs.push(new torch.nn.Conv2d(inChannels, ndf, 4, { stride: 2, padding: 1 }));
    for (let i = 1; i <= layers; i++) {
      this.convs.push(new torch.nn.Conv2d(w(i - 1), w(i), 4, { stride: i < layers ? 2 : 1, padding: 1 }));
      this.norms.push(new torch.nn.InstanceNorm2d(w(i)));
    }
    this.convs.push(new torch.nn.Conv2d(w(layers), 1, 4, { stride: 1, padding: 1 }));
  }

  /** x (N, inChannels, H, W) -> patch scores (N, 1, h, w). */
  forward(x: torch.Tensor): torch.Tensor {
    const [hh, ww] = [x.shape[2] as number, x.shape[3] as number];
    const min = 2 ** this.layers * 3;
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || hh < min || ww < min) {
      throw new Error(`spt PatchDiscriminator: input [${x.shape.join(',')}] must be (N,${this.inChannels},H,W) with H, W >= ${min} for ${this.layers} layers; lower discriminator.layers or faceLayers`);
    }
    return torch.scope(() => {
      let h = this.convs.at(0).forward(x).leakyRelu(0.2);
      for (let i = 1; i < this.convs.length - 1; i++) h = this.norms.at(i - 1).forward(this.convs.at(i).forward(h)).leakyRelu(0.2);
      return this.convs.at(-1).forward(h);
    });
  }
}
