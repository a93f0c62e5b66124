// Deformable GAN's generator (make_generator in the official conditional_gan.py):
// - 'dsc'/'full': an appearance encoder on concat(source image, source pose) and a pose encoder on the target pose;
//   at each of the first `deformableSkips` (highest-resolution) levels the appearance features are warped part by
//   part to the target pose (deformable skip) and concatenated with the pose features; deeper levels concatenate
//   both unwarped.
// - 'baseline': one encoder on concat(source image, source pose, target pose), plain skips.
// The decoder upsamples from the deepest skip with transposed convs (dropout on its first three), concatenating
// the skip of each level, and ends with ReLU, a 3x3 conv and tanh.
import * as torch from '../../torch/index.js';
import type { DefGanVariant } from './config.js';
import { deformableSkip, type WarpMode } from './deformable.js';
import { DownBlock, UpBlock } from './layers.js';

/** The first level is a 3x3 conv with bias; each later one a DownBlock (the deepest without norm). */
export class DefGanEncoder extends torch.nn.Module {
  readonly convIn: torch.nn.Conv2d;
  readonly blocks: torch.nn.ModuleList<DownBlock>;

  constructor(inC: number, channels: readonly number[]) {
    super();
    this.convIn = this.module('convIn', new torch.nn.Conv2d(inC, channels[0] as number, 3, { padding: 1 }));
    this.blocks = this.module('blocks', new torch.nn.ModuleList<DownBlock>());
    for (let i = 1; i < channels.length; i++) {
      this.blocks.push(new DownBlock(channels[i - 1] as number, channels[i] as number, i !== channels.length - 1));
    }
  }

  /** Returns every level's output, full resolution first. */
  forward(x: torch.Tensor): torch.Tensor[] {
    return torch.scope(() => {
      const out = [this.convIn.forward(x)];
      for (const b of this.blocks) out.push(b.forward(out[out.length - 1] as torch.Tensor));
      return out;
    });
  }
}

export interface DefGanGeneratorOptions {
  variant: DefGanVariant;
  poseChannels: number;
  encoderChannels: readonly number[];
  decoderChannels: readonly number[];
  deformableSkips: number;
  warpMode: WarpMode;
}

/** Inputs of one forward pass. Affines and masks follow the contract in deformable.ts; 'baseline' ignores them. */
export interface DefGanInputs {
  /** Source image (N,3,H,W) in [-1,1]. */
  image: torch.Tensor;
  /** Source and target pose heatmaps (N,18,H,W). */
  poseA: torch.Tensor;
  poseB: torch.Tensor;
  /** (N,10,2,3) target->source part affines. */
  affines?: torch.Tensor;
  /** (N,10,H,W) target part masks. */
  masks?: torch.Tensor;
}

export class DefGanGenerator extends torch.nn.Module {
  readonly encoderApp: DefGanEncoder;
  readonly encoderPose: DefGanEncoder | null;
  readonly decoder: torch.nn.ModuleList<UpBlock>;
  readonly convOut: torch.nn.Conv2d;
  readonly opts: DefGanGeneratorOptions;

  constructor(o: DefGanGeneratorOptions) {
    super();
    this.opts = o;
    const enc = o.encoderChannels;
    const dec = o.decoderChannels;
    const L = enc.length;
    const twoStream = o.variant !== 'baseline';
    this.encoderApp = this.module('encoderApp', new DefGanEncoder(3 + o.poseChannels * (twoStream ? 1 : 2), enc));
    this.encoderPose = twoStream ? this.module('encoderPose', new DefGanEncoder(o.poseChannels, enc)) : null;
    const skipC = enc.map((c) => c * (twoStream ? 2 : 1)).reverse();
    this.decoder = this.module('decoder', new torch.nn.ModuleList<UpBlock>());
    let c = 0;
    for (let i = 0; i < L - 1; i++) {
      const inC = c + (skipC[i] as number);
      this.decoder.push(new UpBlock(inC, dec[i] as number, i < 3));
      c = dec[i] as number;
    }
    this.convOut = this.module('convOut', new torch.nn.Conv2d(c + (skipC[L - 1] as number), dec[L - 1] as number, 3, { padding: 1 }));
  }

  /** The skip tensors, full resolution first. */
  private skips(x: DefGanInputs): torch.Tensor[] {
    if (this.encoderPose === null) return this.encoderApp.forward(torch.cat([x.image, x.poseA, x.poseB], 1));
    if (x.affines === undefined || x.masks === undefined) {
      throw new Error(`defgan generator (${this.opts.variant}): the deformable skips need the part affines (N,10,2,3) and part masks (N,10,H,W) of the pair`);
    }
    const app = this.encoderApp.forward(torch.cat([x.image, x.poseA], 1));
    const pose = this.encoderPose.forward(x.poseB);
    return app.map((a, i) => {
      const warped = i < this.opts.deformableSkips ? deformableSkip(a, x.affines as torch.Tensor, x.masks as torch.Tensor, this.opts.warpMode) : a;
      return torch.cat([warped, pose[i] as torch.Tensor], 1);
    });
  }

  /** Generated target image (N,3,H,W) in [-1,1]. */
  forward(x: DefGanInputs): torch.Tensor {
    return torch.scope(() => {
      const skips = this.skips(x).reverse();
      let h = this.decoder.at(0).forward(skips[0] as torch.Tensor);
      for (let i = 1; i < this.decoder.length; i++) h = this.decoder.at(i).forward(torch.cat([h, skips[i] as torch.Tensor], 1));
      h = torch.cat([h, skips[skips.length - 1] as torch.Tensor], 1).relu();
      return this.convOut.forward(h).tanh();
    });
  }
}
