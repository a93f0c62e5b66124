// PG2's two generators, laid out as the official TF code (models.py, models256.py) builds them:
// - G1 (GeneratorCNN_Pose_UAEAfterResidual): a U-Net-like encoder/decoder on concat(source image, target pose) with
//   residual levels, a fully connected bottleneck (z) and skips; ReLU after every conv but the last.
// - G2 (UAE_noFC_After2Noise at 128x64, UAE_noFC_AfterNoise at 256): a U-Net without FC on concat(G1 output,
//   source image) that predicts a difference image; the refined output is G1 + difference.
// Convolutions use TF 'SAME' padding; upsampling is nearest-neighbour x2 as tf.image.resize_nearest_neighbor.
import * as torch from '../../torch/index.js';
import { TfSameConv2d } from './tf-same-conv.js';

/** Two 3x3 convs with ReLU, optionally around a residual add (the official "residual" level). */
class ConvPair extends torch.nn.Module {
  readonly conv1: TfSameConv2d;
  readonly conv2: TfSameConv2d;

  constructor(inC: number, outC: number) {
    super();
    this.conv1 = this.module('conv1', new TfSameConv2d(inC, outC, 3));
    this.conv2 = this.module('conv2', new TfSameConv2d(outC, outC, 3));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => this.conv2.forward(this.conv1.forward(x).relu()).relu());
  }
}

function upsample2(x: torch.Tensor): torch.Tensor {
  return torch.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
}

export interface Pg2G1Options {
  /** Input channels: image (3) + target pose (18). */
  inChannels: number;
  outChannels: number;
  hidden: number;
  repeatNum: number;
  zNum: number;
  /** The bottleneck map (H, W): the image size / 2^(repeatNum-1). */
  bottleneck: [number, number];
}

/** G1: image + target pose -> coarse target image, (N,3,H,W) (no output activation, as the official code). */
export class Pg2G1 extends torch.nn.Module {
  readonly convIn: TfSameConv2d;
  readonly enc: torch.nn.ModuleList<ConvPair>;
  readonly down: torch.nn.ModuleList<TfSameConv2d>;
  readonly fcEnc: torch.nn.Linear;
  readonly fcDec: torch.nn.Linear;
  readonly dec: torch.nn.ModuleList<ConvPair>;
  readonly up: torch.nn.ModuleList<TfSameConv2d>;
  readonly convOut: TfSameConv2d;
  readonly opts: Pg2G1Options;

  constructor(o: Pg2G1Options) {
    super();
    this.opts = o;
    const n = o.hidden;
    const R = o.repeatNum;
    const [bh, bw] = o.bottleneck;
    this.convIn = this.module('convIn', new TfSameConv2d(o.inChannels, n, 3));
    this.enc = this.module('enc', new torch.nn.ModuleList<ConvPair>());
    this.down = this.module('down', new torch.nn.ModuleList<TfSameConv2d>());
    const skipC: number[] = [];
    for (let i = 0; i < R; i++) {
      const c = n * (i + 1);
      this.enc.push(new ConvPair(c, c));
      skipC.push(c);
      if (i < R - 1) this.down.push(new TfSameConv2d(c, n * (i + 2), 3, 2));
    }
    this.fcEnc = this.module('fcEnc', new torch.nn.Linear(bh * bw * n * R, o.zNum));
    this.fcDec = this.module('fcDec', new torch.nn.Linear(o.zNum, bh * bw * n));
    this.dec = this.module('dec', new torch.nn.ModuleList<ConvPair>());
    this.up = this.module('up', new torch.nn.ModuleList<TfSameConv2d>());
    let c = n;
    for (let i = 0; i < R; i++) {
      c += skipC[R - 1 - i] as number;
      this.dec.push(new ConvPair(c, c));
      if (i < R - 1) {
        this.up.push(new TfSameConv2d(c, n * (R - i - 1), 1));
        c = n * (R - i - 1);
      }
    }
    this.convOut = this.module('convOut', new TfSameConv2d(c, o.outChannels, 3));
  }

  /** image (N,3,H,W) in [-1,1], pose (N,18,H,W) in [-1,1] -> (N,3,H,W). */
  forward(image: torch.Tensor, pose: torch.Tensor): torch.Tensor {
    const { repeatNum: R, hidden: n, bottleneck: [bh, bw] } = this.opts;
    return torch.scope(() => {
      let h = this.convIn.forward(torch.cat([image, pose], 1)).relu();
      const skips: torch.Tensor[] = [];
      for (let i = 0; i < R; i++) {
        h = this.enc.at(i).forward(h).add(h);
        skips.push(h);
        if (i < R - 1) h = this.down.at(i).forward(h).relu();
      }
      if (h.shape[2] !== bh || h.shape[3] !== bw) {
        throw new Error(`pg2 G1: the bottleneck map is ${h.shape[2]}x${h.shape[3]}, expected ${bh}x${bw}; the input must be ${bh * 2 ** (R - 1)}x${bw * 2 ** (R - 1)}`);
      }
      const z = this.fcEnc.forward(h.flatten(1));
      h = this.fcDec.forward(z).view([-1, n, bh, bw]);
      for (let i = 0; i < R; i++) {
        h = torch.cat([h, skips[R - 1 - i] as torch.Tensor], 1);
        h = this.dec.at(i).forward(h).add(h);
        if (i < R - 1) h = this.up.at(i).forward(upsample2(h)).relu();
      }
      return this.convOut.forward(h);
    });
  }
}

export interface Pg2G2Options {
  /** Input channels: G1 output (3) + source image (3). */
  inChannels: number;
  outChannels: number;
  hidden: number;
  /** Levels: G1's repeatNum - 2. */
  repeatNum: number;
  skips: 'all' | 'skipFirst';
}

/** G2: concat(G1 output, source image) -> difference image (N,3,H,W). */
export class Pg2G2 extends torch.nn.Module {
  readonly convIn: TfSameConv2d;
  readonly enc: torch.nn.ModuleList<ConvPair>;
  readonly down: torch.nn.ModuleList<TfSameConv2d>;
  readonly dec: torch.nn.ModuleList<ConvPair>;
  readonly convOut: TfSameConv2d;
  readonly opts: Pg2G2Options;

  constructor(o: Pg2G2Options) {
    super();
    this.opts = o;
    const n = o.hidden;
    const R = o.repeatNum;
    this.convIn = this.module('convIn', new TfSameConv2d(o.inChannels, n, 3));
    this.enc = this.module('enc', new torch.nn.ModuleList<ConvPair>());
    this.down = this.module('down', new torch.nn.ModuleList<TfSameConv2d>());
    const skipC: number[] = [];
    let c = n;
    for (let i = 0; i < R; i++) {
      const out = n * (i + 1);
      this.enc.push(new ConvPair(c, out));
      c = out;
      if (i > 0 || o.skips === 'all') skipC.push(c);
      if (i < R - 1) this.down.push(new TfSameConv2d(c, c, 3, 2));
    }
    this.dec = this.module('dec', new torch.nn.ModuleList<ConvPair>());
    for (let i = 0; i < R; i++) {
      if (o.skips === 'all' || i < R - 1) c += skipC[skipC.length - 1 - i] as number;
      this.dec.push(new ConvPair(c, n));
      c = n;
    }
    this.convOut = this.module('convOut', new TfSameConv2d(c, o.outChannels, 3));
  }

  forward(g1: torch.Tensor, source: torch.Tensor): torch.Tensor {
    const { repeatNum: R, skips: mode } = this.opts;
    return torch.scope(() => {
      let h = this.convIn.forward(torch.cat([g1, source], 1)).relu();
      const skips: torch.Tensor[] = [];
      for (let i = 0; i < R; i++) {
        h = this.enc.at(i).forward(h);
        if (i > 0 || mode === 'all') skips.push(h);
        if (i < R - 1) h = this.down.at(i).forward(h).relu();
      }
      for (let i = 0; i < R; i++) {
        if (mode === 'all' || i < R - 1) h = torch.cat([h, skips[skips.length - 1 - i] as torch.Tensor], 1);
        h = this.dec.at(i).forward(h);
        if (i < R - 1) h = upsample2(h);
      }
      return this.convOut.forward(h);
    });
  }
}

export interface Pg2GeneratorOptions {
  imageSize: [number, number];
  poseChannels: number;
  hidden: number;
  repeatNum: number;
  zNum: number;
  g2Skips: 'all' | 'skipFirst';
}

/** G1 and G2 together (state dict names `g1.*`, `g2.*`); forward gives both outputs. */
export class Pg2Generator extends torch.nn.Module {
  readonly g1: Pg2G1;
  readonly g2: Pg2G2;
  /** Training steps taken, a buffer so that a checkpoint knows which stage it was in. */
  readonly trainSteps: torch.Tensor;

  constructor(o: Pg2GeneratorOptions) {
    super();
    this.trainSteps = this.buffer('trainSteps', torch.zeros([], 'float64')) as torch.Tensor;
    const f = 2 ** (o.repeatNum - 1);
    this.g1 = this.module('g1', new Pg2G1({
      inChannels: 3 + o.poseChannels, outChannels: 3, hidden: o.hidden, repeatNum: o.repeatNum, zNum: o.zNum,
      bottleneck: [o.imageSize[0] / f, o.imageSize[1] / f],
    }));
    this.g2 = this.module('g2', new Pg2G2({ inChannels: 6, outChannels: 3, hidden: o.hidden, repeatNum: o.repeatNum - 2, skips: o.g2Skips }));
  }

  /** Returns [G1 output, refined output G1 + G2 difference], each (N,3,H,W). */
  forward(image: torch.Tensor, pose: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      const g1 = this.g1.forward(image, pose);
      return g1.add(this.g2.forward(g1, image));
    });
  }
}
