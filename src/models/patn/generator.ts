// PATN's generator (Zhu et al., CVPR 2019): an image stream and a pose stream are each encoded (7x7 conv, then
// stride-2 convs), a chain of Pose-Attentional Transfer Blocks updates both codes, and a decoder turns the final
// image code into the target image. Each block computes an attention mask from the pose code, gates a residual
// update of the image code with it, and hands the next block the pose code concatenated with the new image code.
import * as torch from '../../torch/index.js';
import type { NormKind } from './config.js';

type Norm = torch.nn.BatchNorm2d | torch.nn.InstanceNorm2d;

/** The official norm layers: BatchNorm2d(affine) or InstanceNorm2d(no affine, no running stats). */
export function makeNorm(kind: NormKind, channels: number): Norm {
  if (kind === 'batch') return new torch.nn.BatchNorm2d(channels);
  if (kind === 'instance') return new torch.nn.InstanceNorm2d(channels);
  throw new Error(`patn: norm '${String(kind)}' must be 'instance' or 'batch'`);
}

/** Convs carry a bias only when the norm after them has no affine shift of its own (instance norm), as the official code. */
export const convBias = (kind: NormKind): boolean => kind === 'instance';

/** conv (or transposed conv) → norm → ReLU. */
export class ConvNormRelu extends torch.nn.Module {
  readonly conv: torch.nn.Conv2d | torch.nn.ConvTranspose2d;
  readonly norm: Norm;

  constructor(conv: torch.nn.Conv2d | torch.nn.ConvTranspose2d, norm: Norm) {
    super();
    this.conv = this.module('conv', conv);
    this.norm = this.module('norm', norm);
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => this.norm.forward(this.conv.forward(x)).relu());
  }
}

/**
 * One encoder stream: 7x7 reflect-padded conv to `ngf` channels, then `nDownsampling` stride-2 3x3 convs doubling
 * the channels. (N, inChannels, H, W) -> (N, ngf·2^n, H/2^n, W/2^n). Shared by the generator and the discriminators.
 */
export class Encoder extends torch.nn.Module {
  readonly stem: ConvNormRelu;
  readonly downs: torch.nn.ModuleList<ConvNormRelu>;

  constructor(inChannels: number, ngf: number, nDownsampling: number, norm: NormKind) {
    super();
    const bias = convBias(norm);
    this.stem = this.module('stem', new ConvNormRelu(
      new torch.nn.Conv2d(inChannels, ngf, 7, { padding: 3, paddingMode: 'reflect', bias }), makeNorm(norm, ngf)));
    this.downs = this.module('downs', new torch.nn.ModuleList<ConvNormRelu>());
    for (let i = 0; i < nDownsampling; i++) {
      const c = ngf * 2 ** i;
      this.downs.push(new ConvNormRelu(new torch.nn.Conv2d(c, 2 * c, 3, { stride: 2, padding: 1, bias }), makeNorm(norm, 2 * c)));
    }
  }

  get outChannels(): number {
    return (this.downs.length ? this.downs.at(-1).conv.outChannels : this.stem.conv.outChannels);
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      let h = this.stem.forward(x);
      for (const d of this.downs) h = d.forward(h);
      return h;
    });
  }
}

/**
 * One Pose-Attentional Transfer Block at width C.
 * - image path: conv3x3 → norm → ReLU → [dropout] → conv3x3 → norm, on the image code (N,C,h,w);
 * - pose path: conv3x3 → norm → ReLU → [dropout] → conv3x3 to C channels, on the pose code (N,C or 2C,h,w): the
 *   attention logits. The first block's pose code has C channels; later blocks get 2C (previous logits ++ image code).
 * forward returns [new image code = x + image_path(x)·σ(logits), next pose code = logits ++ new image code,
 * attention mask σ(logits) in [0,1]]. All 3x3 convs are reflect-padded.
 */
export class PATBlock extends torch.nn.Module {
  readonly imageConv1: torch.nn.Conv2d;
  readonly imageNorm1: Norm;
  readonly imageConv2: torch.nn.Conv2d;
  readonly imageNorm2: Norm;
  readonly poseConv1: torch.nn.Conv2d;
  readonly poseNorm1: Norm;
  readonly poseConv2: torch.nn.Conv2d;
  readonly dropout: torch.nn.Dropout | null;

  constructor(readonly channels: number, readonly catedPose: boolean, norm: NormKind, dropout: boolean) {
    super();
    const bias = convBias(norm);
    const c = channels;
    const p = catedPose ? 2 * c : c;
    const conv = (i: number, o: number): torch.nn.Conv2d => new torch.nn.Conv2d(i, o, 3, { padding: 1, paddingMode: 'reflect', bias });
    this.imageConv1 = this.module('imageConv1', conv(c, c));
    this.imageNorm1 = this.module('imageNorm1', makeNorm(norm, c));
    this.imageConv2 = this.module('imageConv2', conv(c, c));
    this.imageNorm2 = this.module('imageNorm2', makeNorm(norm, c));
    this.poseConv1 = this.module('poseConv1', conv(p, p));
    this.poseNorm1 = this.module('poseNorm1', makeNorm(norm, p));
    this.poseConv2 = this.module('poseConv2', conv(p, c));
    this.dropout = dropout ? this.module('dropout', new torch.nn.Dropout(0.5)) : null;
  }

  forward(image: torch.Tensor, pose: torch.Tensor): [torch.Tensor, torch.Tensor, torch.Tensor] {
    return torch.scope(() => {
      const drop = (t: torch.Tensor): torch.Tensor => (this.dropout ? this.dropout.forward(t) : t);
      let u = drop(this.imageNorm1.forward(this.imageConv1.forward(image)).relu());
      u = this.imageNorm2.forward(this.imageConv2.forward(u));
      let a = drop(this.poseNorm1.forward(this.poseConv1.forward(pose)).relu());
      a = this.poseConv2.forward(a);
      const attention = a.sigmoid();
      const next = image.add(u.mul(attention));
      return [next, torch.cat([a, next], 1), attention];
    });
  }
}

/** Decoder: `nDownsampling` stride-2 transposed convs halving the channels, then a 7x7 reflect-padded conv and tanh. */
export class Decoder extends torch.nn.Module {
  readonly ups: torch.nn.ModuleList<ConvNormRelu>;
  readonly out: torch.nn.Conv2d;

  constructor(ngf: number, nDownsampling: number, outChannels: number, norm: NormKind) {
    super();
    const bias = convBias(norm);
    this.ups = this.module('ups', new torch.nn.ModuleList<ConvNormRelu>());
    for (let i = 0; i < nDownsampling; i++) {
      const c = ngf * 2 ** (nDownsampling - i);
      this.ups.push(new ConvNormRelu(
        new torch.nn.ConvTranspose2d(c, c / 2, 3, { stride: 2, padding: 1, outputPadding: 1, bias }), makeNorm(norm, c / 2)));
    }
    // The output conv always has a bias (no norm follows it).
    this.out = this.module('out', new torch.nn.Conv2d(ngf, outChannels, 7, { padding: 3, paddingMode: 'reflect' }));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      let h = x;
      for (const u of this.ups) h = u.forward(h);
      return this.out.forward(h).tanh();
    });
  }
}

export interface PATNGeneratorOptions {
  ngf: number;
  nBlocks: number;
  nDownsampling: number;
  norm: NormKind;
  dropout: boolean;
  imageChannels: number;
  poseChannels: number;
}

/**
 * generator.forward(imageA (N,3,H,W) in [-1,1], poses (N, 2·18, H, W) = poseMapA ++ poseMapB) -> (N,3,H,W) in [-1,1].
 * H and W must be divisible by 2^nDownsampling.
 */
export class PATNGenerator extends torch.nn.Module {
  readonly imageEncoder: Encoder;
  readonly poseEncoder: Encoder;
  readonly blocks: torch.nn.ModuleList<PATBlock>;
  readonly decoder: Decoder;

  constructor(readonly options: PATNGeneratorOptions) {
    super();
    const { ngf, nBlocks, nDownsampling, norm, dropout, imageChannels, poseChannels } = options;
    if (!(nBlocks >= 1)) throw new Error(`patn: generator.nBlocks must be at least 1, got ${nBlocks}`);
    this.imageEncoder = this.module('imageEncoder', new Encoder(imageChannels, ngf, nDownsampling, norm));
    this.poseEncoder = this.module('poseEncoder', new Encoder(2 * poseChannels, ngf, nDownsampling, norm));
    const width = ngf * 2 ** nDownsampling;
    this.blocks = this.module('blocks', new torch.nn.ModuleList<PATBlock>());
    for (let i = 0; i < nBlocks; i++) this.blocks.push(new PATBlock(width, i > 0, norm, dropout));
    this.decoder = this.module('decoder', new Decoder(ngf, nDownsampling, imageChannels, norm));
  }

  private check(image: torch.Tensor, poses: torch.Tensor): void {
    const { imageChannels, poseChannels, nDownsampling } = this.options;
    const f = 2 ** nDownsampling;
    if (image.ndim !== 4 || image.shape[1] !== imageChannels) {
      throw new Error(`PATNGenerator: image must be (N,${imageChannels},H,W), got [${image.shape.join(',')}]`);
    }
    const [n, , h, w] = image.shape as [number, number, number, number];
    if (poses.ndim !== 4 || poses.shape[0] !== n || poses.shape[1] !== 2 * poseChannels || poses.shape[2] !== h || poses.shape[3] !== w) {
      throw new Error(`PATNGenerator: poses must be (${n},${2 * poseChannels},${h},${w}) (source ++ target heatmaps), got [${poses.shape.join(',')}]`);
    }
    if (h % f || w % f) throw new Error(`PATNGenerator: H and W (${h}x${w}) must be divisible by ${f} (2^nDownsampling); resize or crop the images`);
  }

  forward(image: torch.Tensor, poses: torch.Tensor): torch.Tensor {
    return this.forwardWithAttention(image, poses, false).image;
  }

  /** As forward; with keepAttention, also returns every block's attention mask (N,C,h,w), in [0,1]. */
  forwardWithAttention(image: torch.Tensor, poses: torch.Tensor, keepAttention = true): { image: torch.Tensor; attention: torch.Tensor[] } {
    this.check(image, poses);
    return torch.scope(() => {
      const attention: torch.Tensor[] = [];
      let x = this.imageEncoder.forward(image);
      let p = this.poseEncoder.forward(poses);
      for (const block of this.blocks) {
        const [nx, np, att] = block.forward(x, p);
        x = nx;
        p = np;
        if (keepAttention) attention.push(att);
      }
      return { image: this.decoder.forward(x), attention };
    });
  }
}

/** Official G init (init_type normal): conv and transposed-conv weights N(0, std); BatchNorm weight N(1, 0.02), bias 0. */
export function initPATNGenerator(g: torch.nn.Module, std: number): void {
  for (const [, m] of g.namedModules()) {
    if (m instanceof torch.nn.Conv2d || m instanceof torch.nn.ConvTranspose2d) torch.nn.init.normal_(m.weight, 0, std);
    else if (m instanceof torch.nn.BatchNorm2d && m.weight && m.bias) {
      torch.nn.init.normal_(m.weight, 1, 0.02);
      torch.nn.init.constant_(m.bias, 0);
    }
  }
}
