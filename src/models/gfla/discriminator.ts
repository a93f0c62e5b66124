// GFLA's discriminator (official model/networks/discriminator.py ResDiscriminator): downsampling residual blocks
// without normalisation, spectral norm on every conv, LeakyReLU(0.1), then a 1x1 conv to one score per patch. It sees
// the image alone (real target or generated). DeepFashion: ndf 32, img_f 128, 4 blocks; Market: 3 blocks.
import * as torch from '../../torch/index.js';
import { LEAKY_SLOPE, ResBlockEncoder } from './layers.js';

export interface ResDiscriminatorOptions {
  inChannels: number;
  /** Official 32. */
  ndf: number;
  /** Widest block (official 128). */
  imgF: number;
  /** Downsampling blocks (official 4 DeepFashion, 3 Market). */
  layers: number;
  /** Spectral norm on every conv (official --use_spect_d, on). */
  spectralNorm: boolean;
}

/** (N, 3, H, W) -> scores (N, 1, H/2^layers, W/2^layers). */
export class ResDiscriminator extends torch.nn.Module {
  readonly block0: ResBlockEncoder;
  readonly encoders: ResBlockEncoder[] = [];
  readonly conv: torch.nn.Conv2d;

  constructor(readonly options: ResDiscriminatorOptions) {
    super();
    const { inChannels, ndf, imgF, layers, spectralNorm } = options;
    if (!Number.isInteger(layers) || layers < 1) throw new Error(`gfla: discriminator.layers must be a positive integer, got ${layers}`);
    this.block0 = this.module('block0', new ResBlockEncoder(inChannels, ndf, ndf, spectralNorm));
    let mult = 1;
    for (let i = 0; i < layers - 1; i++) {
      const prev = mult;
      mult = Math.min(2 ** (i + 1), Math.floor(imgF / ndf));
      this.encoders.push(this.module(`encoder${i}`, new ResBlockEncoder(ndf * prev, ndf * mult, ndf * prev, spectralNorm)));
    }
    // The official head is spectrally normalised whatever use_spect says.
    this.conv = this.module('conv', torch.nn.spectralNorm(new torch.nn.Conv2d(ndf * mult, 1, 1)));
  }

  forward(x: torch.Tensor): torch.Tensor {
    const c = this.options.inChannels;
    if (x.ndim !== 4 || x.shape[1] !== c) throw new Error(`ResDiscriminator: input must be (N,${c},H,W), got [${x.shape.join(',')}]`);
    return torch.scope(() => {
      let h = this.block0.forward(x);
      for (const e of this.encoders) h = e.forward(h);
      return this.conv.forward(h.leakyRelu(LEAKY_SLOPE));
    });
  }
}
