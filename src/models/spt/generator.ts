// SPT's generators and the pose-loss estimator.
// - SemanticGenerator (G_S): source parsing (one-hot), source pose and mask, target pose and mask -> target parsing
//   logits. Not released; ours is a U-Net (7x7 stem, stride-2 3x3 convs, residual bottleneck, transposed-conv
//   decoder with skips, 7x7 head), instance norm, run at frame / scale and upsampled (the paper predicts
//   DeepFashion parsing at 128x128).
// - AppearanceGenerator (G_A): the official Global_Generator, which is Deformable GAN's two-stream generator with
//   parsing added to both streams; so it is defgan's DefGanGenerator with 18 + 9 "pose" channels.
// - PoseEstimator: the pose loss's heat-map regressor (our substitute for the unreleased pose detector).
// SptGenerator holds all three so that one module (netG) checkpoints them.
import * as torch from '../../torch/index.js';
import { DefGanGenerator } from '../defgan/generator.js';
import type { WarpMode } from '../defgan/deformable.js';
import { ConvNormRelu, makeNorm } from '../patn/generator.js';
import { NUM_LABELS } from './parsing.js';

const POSE_CHANNELS = 18;
/** G_S input: source one-hot (10), source pose (18), source mask (1), target pose (18), target mask (1). */
export const SEMANTIC_IN = NUM_LABELS + 2 * (POSE_CHANNELS + 1);

const conv = (i: number, o: number, k: number, stride = 1): torch.nn.Conv2d =>
  new torch.nn.Conv2d(i, o, k, { stride, padding: (k - 1) / 2, paddingMode: k === 7 || stride === 1 ? 'reflect' : 'zeros' });
const cnr = (i: number, o: number, k: number, stride = 1): ConvNormRelu => new ConvNormRelu(conv(i, o, k, stride), makeNorm('instance', o));
const upCnr = (i: number, o: number): ConvNormRelu =>
  new ConvNormRelu(new torch.nn.ConvTranspose2d(i, o, 3, { stride: 2, padding: 1, outputPadding: 1 }), makeNorm('instance', o));

/** x + (reflect conv3x3 -> instance norm -> ReLU -> reflect conv3x3 -> instance norm)(x), as CycleGAN's ResnetBlock. */
export class ResBlock extends torch.nn.Module {
  readonly conv1: ConvNormRelu;
  readonly conv2: torch.nn.Conv2d;
  readonly norm2: torch.nn.InstanceNorm2d;

  constructor(c: number) {
    super();
    this.conv1 = this.module('conv1', cnr(c, c, 3));
    this.conv2 = this.module('conv2', conv(c, c, 3));
    this.norm2 = this.module('norm2', new torch.nn.InstanceNorm2d(c));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => x.add(this.norm2.forward(this.conv2.forward(this.conv1.forward(x)))));
  }
}

export interface SemanticGeneratorOptions {
  ngf: number;
  downs: number;
  blocks: number;
  /** Runs at the frame / scale; inputs are average-pooled and the logits upsampled bilinearly. */
  scale: number;
}

/** Width of level i (0 = stem): ngf * 2^i, at most 8 * ngf. */
const width = (ngf: number, i: number): number => ngf * Math.min(2 ** i, 8);

export class SemanticGenerator extends torch.nn.Module {
  readonly stem: ConvNormRelu;
  readonly downs: torch.nn.ModuleList<ConvNormRelu>;
  readonly blocks: torch.nn.ModuleList<ResBlock>;
  readonly ups: torch.nn.ModuleList<ConvNormRelu>;
  readonly head: torch.nn.Conv2d;

  constructor(readonly opts: SemanticGeneratorOptions) {
    super();
    const { ngf, downs } = opts;
    this.stem = this.module('stem', cnr(SEMANTIC_IN, ngf, 7));
    this.downs = this.module('downs', new torch.nn.ModuleList<ConvNormRelu>());
    for (let i = 0; i < downs; i++) this.downs.push(cnr(width(ngf, i), width(ngf, i + 1), 3, 2));
    const deep = width(ngf, downs);
    this.blocks = this.module('blocks', new torch.nn.ModuleList<ResBlock>());
    for (let i = 0; i < opts.blocks; i++) this.blocks.push(new ResBlock(deep));
    // ups[j] takes level (downs - j) back to level (downs - j - 1), reading that level's skip beside the decoder.
    this.ups = this.module('ups', new torch.nn.ModuleList<ConvNormRelu>());
    for (let j = 0; j < downs; j++) {
      const level = downs - j;
      const inC = j === 0 ? deep : 2 * width(ngf, level);
      this.ups.push(upCnr(inC, width(ngf, level - 1)));
    }
    this.head = this.module('head', conv(2 * ngf, NUM_LABELS, 7));
  }

  /**
   * Target parsing logits at the network's resolution.
   * @param x (N, 48, h, w): see SEMANTIC_IN
   * @returns (N, 10, h, w)
   */
  forward(x: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      const skips = [this.stem.forward(x)];
      for (const d of this.downs) skips.push(d.forward(skips[skips.length - 1] as torch.Tensor));
      let h = skips[skips.length - 1] as torch.Tensor;
      for (const b of this.blocks) h = b.forward(h);
      for (let j = 0; j < this.ups.length; j++) {
        const input = j === 0 ? h : torch.cat([h, skips[skips.length - 1 - j] as torch.Tensor], 1);
        h = this.ups.at(j).forward(input);
      }
      return this.head.forward(torch.cat([h, skips[0] as torch.Tensor], 1));
    });
  }

  /**
   * Target parsing logits at the frame's resolution from full-resolution inputs.
   * @param parsingA (N,10,H,W) one-hot source parsing; poseA, poseB (N,18,H,W); maskA, maskB (N,1,H,W)
   * @returns (N,10,H,W) logits (softmax over dim 1 gives the per-pixel label distribution)
   */
  predict(parsingA: torch.Tensor, poseA: torch.Tensor, maskA: torch.Tensor, poseB: torch.Tensor, maskB: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      const [h, w] = [parsingA.shape[2] as number, parsingA.shape[3] as number];
      let x = torch.cat([parsingA, poseA, maskA, poseB, maskB], 1);
      const s = this.opts.scale;
      if (s > 1) x = torch.avgPool2d(x, s, s);
      const logits = this.forward(x);
      return s > 1 ? torch.interpolate(logits, { size: [h, w], mode: 'bilinear', alignCorners: false }) : logits;
    });
  }
}

export interface AppearanceGeneratorOptions {
  encoderChannels: readonly number[];
  decoderChannels: readonly number[];
  deformableSkips: number;
  warpMode: WarpMode;
}

/** Inputs of G_A for one direction (A -> B). */
export interface AppearanceInputs {
  /** Source image (N,3,H,W) in [-1,1]. */
  image: torch.Tensor;
  /** Source and target parsing as the 9 foreground channels (N,9,H,W) (one-hot, or G_S's probabilities). */
  parsingA: torch.Tensor;
  parsingB: torch.Tensor;
  /** Source and target pose maps (N,18,H,W). */
  poseA: torch.Tensor;
  poseB: torch.Tensor;
  /** Target -> source part affines (N,10,2,3) and the parts' target masks (N,10,H,W) (src/pose/parts.ts). */
  affines: torch.Tensor;
  masks: torch.Tensor;
}

export class AppearanceGenerator extends torch.nn.Module {
  readonly net: DefGanGenerator;

  constructor(o: AppearanceGeneratorOptions) {
    super();
    this.net = this.module('net', new DefGanGenerator({ variant: 'dsc', poseChannels: POSE_CHANNELS + NUM_LABELS - 1, ...o }));
  }

  /** The generated target image (N,3,H,W) in [-1,1]. Streams as the official: [image, parsing, pose] and [pose, parsing]. */
  forward(x: AppearanceInputs): torch.Tensor {
    return torch.scope(() => this.net.forward({
      image: x.image,
      poseA: torch.cat([x.parsingA, x.poseA], 1),
      poseB: torch.cat([x.poseB, x.parsingB], 1),
      affines: x.affines,
      masks: x.masks,
    }));
  }
}

/**
 * The pose loss's estimator: image (N,3,H,W) -> 18 heat maps (N,18,H,W) in [0,1]. A ResnetGenerator-shaped
 * network (7x7 stem, two stride-2 convs, residual blocks, two transposed convs, 7x7 head, sigmoid), as the
 * official pose detector (define_G(..., pose_cnt, ...), a ResnetGenerator) was.
 */
export class PoseEstimator extends torch.nn.Module {
  readonly stem: ConvNormRelu;
  readonly downs: torch.nn.ModuleList<ConvNormRelu>;
  readonly blocks: torch.nn.ModuleList<ResBlock>;
  readonly ups: torch.nn.ModuleList<ConvNormRelu>;
  readonly head: torch.nn.Conv2d;

  constructor(ngf: number, blocks: number) {
    super();
    this.stem = this.module('stem', cnr(3, ngf, 7));
    this.downs = this.module('downs', new torch.nn.ModuleList<ConvNormRelu>([cnr(ngf, 2 * ngf, 3, 2), cnr(2 * ngf, 4 * ngf, 3, 2)]));
    this.blocks = this.module('blocks', new torch.nn.ModuleList<ResBlock>());
    for (let i = 0; i < blocks; i++) this.blocks.push(new ResBlock(4 * ngf));
    this.ups = this.module('ups', new torch.nn.ModuleList<ConvNormRelu>([upCnr(4 * ngf, 2 * ngf), upCnr(2 * ngf, ngf)]));
    this.head = this.module('head', conv(ngf, POSE_CHANNELS, 7));
  }

  forward(image: torch.Tensor): torch.Tensor {
    return torch.scope(() => {
      let h = this.stem.forward(image);
      for (const m of [...this.downs, ...this.blocks, ...this.ups]) h = m.forward(h);
      return this.head.forward(h).sigmoid();
    });
  }
}

export interface SptGeneratorOptions {
  semantic: SemanticGeneratorOptions;
  appearance: AppearanceGeneratorOptions;
  poseEstimator: { ngf: number; blocks: number };
}

/** G_S, G_A and the pose estimator under one module (checkpoint names 'semantic.*', 'appearance.*', 'poseEstimator.*'). */
export class SptGenerator extends torch.nn.Module {
  readonly semantic: SemanticGenerator;
  readonly appearance: AppearanceGenerator;
  readonly poseEstimator: PoseEstimator;
  /** Training steps taken, so a resumed checkpoint continues in the right stage. */
  readonly trainSteps: torch.Tensor;

  constructor(o: SptGeneratorOptions) {
    super();
    this.semantic = this.module('semantic', new SemanticGenerator(o.semantic));
    this.appearance = this.module('appearance', new AppearanceGenerator(o.appearance));
    this.poseEstimator = this.module('poseEstimator', new PoseEstimator(o.poseEstimator.ngf, o.poseEstimator.blocks));
    this.trainSteps = this.buffer('trainSteps', torch.zeros([], 'float64'));
  }

  forward(x: torch.Tensor): torch.Tensor {
    throw new Error(`SptGenerator: call semantic.predict() and appearance.forward() (or the model's generate()), not forward() (got [${x.shape.join(',')}])`);
  }
}
