// InceptionV3 in torchvision's layout (module names as torchvision.models.inception_v3, so its state dict and
// pytorch-fid's pt_inception one load by name), for FID's 2048-d pool3 features and IS's softmax.
//
// Two variants: 'torchvision' is torchvision's network (FID in GFLA, PIDM and CFLD); 'fid' is pytorch-fid's
// FIDInceptionV3, the port of TensorFlow's 2015-12-05 graph: its pooling branches average without counting padding
// (FIDInceptionA/C/E_1), Mixed_7c pools by max (FIDInceptionE_2), and its classifier has 1008 classes.
import * as torch from '../torch/index.js';
import type { InceptionInput } from './protocols.js';
import { loadWeights, WEIGHTS_DIR, type WeightName } from './weights.js';

const { Module, Conv2d, BatchNorm2d, Linear } = torch.nn;

export type InceptionVariant = 'torchvision' | 'fid';

type Pair = number | [number, number];

/** torchvision's BasicConv2d: bias-free conv, BatchNorm (eps 0.001), ReLU; keys `conv.*` and `bn.*`. */
class BasicConv2d extends Module {
  readonly conv: torch.nn.Conv2d;
  readonly bn: torch.nn.BatchNorm2d;

  constructor(inC: number, outC: number, kernel: Pair, options: { stride?: Pair; padding?: Pair } = {}) {
    super();
    this.conv = this.module('conv', new Conv2d(inC, outC, kernel, { ...options, bias: false }));
    this.bn = this.module('bn', new BatchNorm2d(outC, { eps: 0.001 }));
  }

  forward(x: torch.Tensor): torch.Tensor {
    if (this.training) return this.bn.forward(this.conv.forward(x)).relu();
    // In eval mode BatchNorm is an affine map per channel, so it folds into the convolution's weight and a bias:
    // one pass over the activations instead of two. Folded on every call (a few small ops on the weights), so it
    // always follows the loaded statistics.
    const bn = this.bn;
    const gain = (bn.weight as torch.Tensor).div((bn.runningVar as torch.Tensor).add(bn.eps).sqrt());
    const weight = this.conv.weight.mul(gain.view([-1, 1, 1, 1]));
    const bias = (bn.bias as torch.Tensor).sub((bn.runningMean as torch.Tensor).mul(gain));
    return torch.conv2d(x, weight, bias, this.conv.stride, this.conv.padding).relu();
  }
}

/** The 3x3 stride-1 average pool in front of a branch_pool conv; pytorch-fid's blocks leave padding out of the count. */
function avgPool3(x: torch.Tensor, variant: InceptionVariant): torch.Tensor {
  return torch.avgPool2d(x, 3, 1, 1, false, variant === 'torchvision');
}

abstract class Block extends Module {
  constructor(protected readonly variant: InceptionVariant) {
    super();
  }

  protected conv(name: string, inC: number, outC: number, kernel: Pair, options: { stride?: Pair; padding?: Pair } = {}): BasicConv2d {
    return this.module(name, new BasicConv2d(inC, outC, kernel, options));
  }

  abstract override forward(x: torch.Tensor): torch.Tensor;
}

class InceptionA extends Block {
  private readonly b1: BasicConv2d; private readonly b5a: BasicConv2d; private readonly b5b: BasicConv2d;
  private readonly d1: BasicConv2d; private readonly d2: BasicConv2d; private readonly d3: BasicConv2d;
  private readonly pool: BasicConv2d;

  constructor(inC: number, poolFeatures: number, variant: InceptionVariant) {
    super(variant);
    this.b1 = this.conv('branch1x1', inC, 64, 1);
    this.b5a = this.conv('branch5x5_1', inC, 48, 1);
    this.b5b = this.conv('branch5x5_2', 48, 64, 5, { padding: 2 });
    this.d1 = this.conv('branch3x3dbl_1', inC, 64, 1);
    this.d2 = this.conv('branch3x3dbl_2', 64, 96, 3, { padding: 1 });
    this.d3 = this.conv('branch3x3dbl_3', 96, 96, 3, { padding: 1 });
    this.pool = this.conv('branch_pool', inC, poolFeatures, 1);
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.cat([
      this.b1.forward(x),
      this.b5b.forward(this.b5a.forward(x)),
      this.d3.forward(this.d2.forward(this.d1.forward(x))),
      this.pool.forward(avgPool3(x, this.variant)),
    ], 1);
  }
}

class InceptionB extends Block {
  private readonly b3: BasicConv2d; private readonly d1: BasicConv2d; private readonly d2: BasicConv2d; private readonly d3: BasicConv2d;

  constructor(inC: number, variant: InceptionVariant) {
    super(variant);
    this.b3 = this.conv('branch3x3', inC, 384, 3, { stride: 2 });
    this.d1 = this.conv('branch3x3dbl_1', inC, 64, 1);
    this.d2 = this.conv('branch3x3dbl_2', 64, 96, 3, { padding: 1 });
    this.d3 = this.conv('branch3x3dbl_3', 96, 96, 3, { stride: 2 });
  }

  forward(x: torch.Tensor): torch.Tensor {
    return torch.cat([this.b3.forward(x), this.d3.forward(this.d2.forward(this.d1.forward(x))), torch.maxPool2d(x, 3, 2)], 1);
  }
}

class InceptionC extends Block {
  private readonly b1: BasicConv2d; private readonly s: BasicConv2d[]; private readonly d: BasicConv2d[]; private readonly pool: BasicConv2d;

  constructor(inC: number, c7: number, variant: InceptionVariant) {
    super(variant);
    this.b1 = this.conv('branch1x1', inC, 192, 1);
    this.s = [
      this.conv('branch7x7_1', inC, c7, 1),
      this.conv('branch7x7_2', c7, c7, [1, 7], { padding: [0, 3] }),
      this.conv('branch7x7_3', c7, 192, [7, 1], { padding: [3, 0] }),
    ];
    this.d = [
      this.conv('branch7x7dbl_1', inC, c7, 1),
      this.conv('branch7x7dbl_2', c7, c7, [7, 1], { padding: [3, 0] }),
      this.conv('branch7x7dbl_3', c7, c7, [1, 7], { padding: [0, 3] }),
      this.conv('branch7x7dbl_4', c7, c7, [7, 1], { padding: [3, 0] }),
      this.conv('branch7x7dbl_5', c7, 192, [1, 7], { padding: [0, 3] }),
    ];
    this.pool = this.conv('branch_pool', inC, 192, 1);
  }

  forward(x: torch.Tensor): torch.Tensor {
    const chain = (convs: BasicConv2d[]) => convs.reduce((h, c) => c.forward(h), x);
    return torch.cat([this.b1.forward(x), chain(this.s), chain(this.d), this.pool.forward(avgPool3(x, this.variant))], 1);
  }
}

class InceptionD extends Block {
  private readonly a: BasicConv2d[]; private readonly b: BasicConv2d[];

  constructor(inC: number, variant: InceptionVariant) {
    super(variant);
    this.a = [this.conv('branch3x3_1', inC, 192, 1), this.conv('branch3x3_2', 192, 320, 3, { stride: 2 })];
    this.b = [
      this.conv('branch7x7x3_1', inC, 192, 1),
      this.conv('branch7x7x3_2', 192, 192, [1, 7], { padding: [0, 3] }),
      this.conv('branch7x7x3_3', 192, 192, [7, 1], { padding: [3, 0] }),
      this.conv('branch7x7x3_4', 192, 192, 3, { stride: 2 }),
    ];
  }

  forward(x: torch.Tensor): torch.Tensor {
    const chain = (convs: BasicConv2d[]) => convs.reduce((h, c) => c.forward(h), x);
    return torch.cat([chain(this.a), chain(this.b), torch.maxPool2d(x, 3, 2)], 1);
  }
}

class InceptionE extends Block {
  private readonly b1: BasicConv2d; private readonly t1: BasicConv2d; private readonly t2a: BasicConv2d; private readonly t2b: BasicConv2d;
  private readonly d1: BasicConv2d; private readonly d2: BasicConv2d; private readonly d3a: BasicConv2d; private readonly d3b: BasicConv2d;
  private readonly pool: BasicConv2d;

  /** `maxPool`: pytorch-fid's FIDInceptionE_2 (Mixed_7c) pools its last branch by max. */
  constructor(inC: number, variant: InceptionVariant, private readonly maxPool = false) {
    super(variant);
    this.b1 = this.conv('branch1x1', inC, 320, 1);
    this.t1 = this.conv('branch3x3_1', inC, 384, 1);
    this.t2a = this.conv('branch3x3_2a', 384, 384, [1, 3], { padding: [0, 1] });
    this.t2b = this.conv('branch3x3_2b', 384, 384, [3, 1], { padding: [1, 0] });
    this.d1 = this.conv('branch3x3dbl_1', inC, 448, 1);
    this.d2 = this.conv('branch3x3dbl_2', 448, 384, 3, { padding: 1 });
    this.d3a = this.conv('branch3x3dbl_3a', 384, 384, [1, 3], { padding: [0, 1] });
    this.d3b = this.conv('branch3x3dbl_3b', 384, 384, [3, 1], { padding: [1, 0] });
    this.pool = this.conv('branch_pool', inC, 192, 1);
  }

  forward(x: torch.Tensor): torch.Tensor {
    const t = this.t1.forward(x);
    const d = this.d2.forward(this.d1.forward(x));
    const pooled = this.maxPool ? torch.maxPool2d(x, 3, 1, 1) : avgPool3(x, this.variant);
    return torch.cat([
      this.b1.forward(x),
      torch.cat([this.t2a.forward(t), this.t2b.forward(t)], 1),
      torch.cat([this.d3a.forward(d), this.d3b.forward(d)], 1),
      this.pool.forward(pooled),
    ], 1);
  }
}

/** What one forward pass gives. */
export interface InceptionOutput {
  /** (N,2048) pool3 features (after the global average pool) */
  pool: torch.Tensor;
  /** (N,classes) classifier logits: 1000 classes for 'torchvision', 1008 for 'fid' */
  logits: torch.Tensor;
}

/** InceptionV3 without the auxiliary classifier, in eval mode. */
export class InceptionV3 extends Module {
  readonly stem: BasicConv2d[];
  readonly mixed: Block[];
  readonly fc: torch.nn.Linear;

  constructor(readonly variant: InceptionVariant) {
    super();
    const v = variant;
    const conv = (name: string, inC: number, outC: number, kernel: Pair, options: { stride?: Pair; padding?: Pair } = {}) =>
      this.module(name, new BasicConv2d(inC, outC, kernel, options));
    this.stem = [
      conv('Conv2d_1a_3x3', 3, 32, 3, { stride: 2 }),
      conv('Conv2d_2a_3x3', 32, 32, 3),
      conv('Conv2d_2b_3x3', 32, 64, 3, { padding: 1 }),
      conv('Conv2d_3b_1x1', 64, 80, 1),
      conv('Conv2d_4a_3x3', 80, 192, 3),
    ];
    const blocks: [string, Block][] = [
      ['Mixed_5b', new InceptionA(192, 32, v)], ['Mixed_5c', new InceptionA(256, 64, v)], ['Mixed_5d', new InceptionA(288, 64, v)],
      ['Mixed_6a', new InceptionB(288, v)],
      ['Mixed_6b', new InceptionC(768, 128, v)], ['Mixed_6c', new InceptionC(768, 160, v)],
      ['Mixed_6d', new InceptionC(768, 160, v)], ['Mixed_6e', new InceptionC(768, 192, v)],
      ['Mixed_7a', new InceptionD(768, v)], ['Mixed_7b', new InceptionE(1280, v)], ['Mixed_7c', new InceptionE(2048, v, v === 'fid')],
    ];
    this.mixed = blocks.map(([name, b]) => this.module(name, b));
    this.fc = this.module('fc', new Linear(2048, variant === 'fid' ? 1008 : 1000));
    this.eval();
  }

  /**
   * Loads torchvision's inception_v3 weights ('torchvision') or pytorch-fid's pt_inception ones ('fid') from `dir`;
   * the auxiliary classifier's keys (AuxLogits.*) are dropped. Throws naming a missing file.
   */
  static fromWeights(variant: InceptionVariant, dir: string = WEIGHTS_DIR): InceptionV3 {
    const name: WeightName = variant === 'fid' ? 'inceptionFid' : 'inceptionTorchvision';
    const model = new InceptionV3(variant);
    const state = loadWeights(name, dir);
    try {
      for (const [k, t] of state) if (k.startsWith('AuxLogits.')) { t.dispose(); state.delete(k); }
      model.loadStateDict(state);
    } finally {
      torch.dispose([...state.values()]);
    }
    return model;
  }

  /**
   * @param x (N,3,299,299), already prepared by `prepareInceptionInput`
   */
  forward(x: torch.Tensor): InceptionOutput {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new Error(`InceptionV3: expected (N,3,H,W) input, got [${x.shape}]`);
    return torch.noGrad(() => torch.scope(() => {
      const [c1a, c2a, c2b, c3b, c4a] = this.stem as [BasicConv2d, BasicConv2d, BasicConv2d, BasicConv2d, BasicConv2d];
      let h = torch.maxPool2d(c2b.forward(c2a.forward(c1a.forward(x))), 3, 2);
      h = torch.maxPool2d(c4a.forward(c3b.forward(h)), 3, 2);
      for (const b of this.mixed) h = b.forward(h);
      const pool = torch.adaptiveAvgPool2d(h, 1).flatten(1);
      return { pool, logits: this.fc.forward(pool) };
    }));
  }
}

/**
 * Resizes images to 299x299 (bilinear, align_corners=False, as F.interpolate's default) and maps them to the network's
 * input range as the protocol's script does.
 * @param images (N,3,H,W) float in [0,1]
 * @returns (N,3,299,299) float32
 */
export function prepareInceptionInput(images: torch.Tensor, input: InceptionInput): torch.Tensor {
  return torch.scope(() => {
    const x = torch.interpolate(images.to('float32'), { size: [299, 299], mode: 'bilinear', alignCorners: false });
    if (input === 'minus-one-to-one') return x.mul(2).sub(1);
    // torchvision's transform_input, as CFLD's forward_inception writes it out.
    const scale = torch.tensor([0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5]).view([1, 3, 1, 1]);
    const shift = torch.tensor([(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5]).view([1, 3, 1, 1]);
    return x.mul(scale).add(shift);
  });
}

/**
 * The Inception score of a set of class-probability rows: split the rows into `splits` consecutive parts, and in each
 * take exp(mean over rows of KL(p(y|x) || p(y))); returns the mean and standard deviation over splits, as the
 * official get_inception_score (Salimans et al.).
 * @param logits (N,C) classifier logits
 */
export function inceptionScore(logits: torch.Tensor, splits = 10): { mean: number; std: number } {
  const n = logits.shape[0] as number;
  if (n < splits) throw new Error(`inceptionScore: ${n} images cannot make ${splits} splits; score at least ${splits} images`);
  return torch.scope(() => {
    const p = logits.to('float64').softmax(1);
    const scores: number[] = [];
    for (let i = 0; i < splits; i++) {
      const start = Math.floor((i * n) / splits);
      const end = Math.floor(((i + 1) * n) / splits);
      const part = p.narrow(0, start, end - start);
      const py = part.mean([0], true);
      const kl = part.mul(part.log().sub(py.log())).sum([1]).mean();
      scores.push(Math.exp(kl.item()));
    }
    const mean = scores.reduce((a, b) => a + b, 0) / splits;
    const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
    return { mean, std };
  });
}
