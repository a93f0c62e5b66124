// GFLA's building blocks (official model/networks/base_function.py), each laid out with the official attribute and
// nn.Sequential indices so that the released state dicts map by name: EncoderBlock `model.{0..5}`, ResBlock
// `model.*` (+ `shortcut.0`), ResBlockDecoder `model.*` + `shortcut.0`, ResBlockEncoder `model.*` + `shortcut.1`,
// Jump / Output `model.*`, and the local attention's `fully_connect_layer.{0,2}`. Normalisation is instance norm with
// affine parameters and the activation LeakyReLU(0.1), as the released generator (norm='instance',
// activation='LeakyReLU'); the discriminator has no normalisation and spectral norm on every conv.
import * as torch from '../../torch/index.js';
import { blockExtractor, contentAwareSample } from './ops.js';

type Tensor = torch.Tensor;
type UnaryModule = torch.nn.UnaryModule;

/** The official get_nonlinearity_layer('LeakyReLU'). */
export const LEAKY_SLOPE = 0.1;

const act = (): torch.nn.LeakyReLU => new torch.nn.LeakyReLU(LEAKY_SLOPE);
const norm = (c: number): torch.nn.InstanceNorm2d => new torch.nn.InstanceNorm2d(c, { affine: true });

/** Softmax over channels (the attention coefficients), a module so that it can sit in a Sequential. */
class ChannelSoftmax extends torch.nn.Module {
  forward(x: Tensor): Tensor {
    return x.softmax(1);
  }
}

/** Spectral norm where the official code asks for it (use_spect); otherwise the module itself. */
function maybeSpectral<M extends torch.nn.Module>(m: M, spectral: boolean): M {
  return spectral ? torch.nn.spectralNorm(m) : m;
}

/** norm → act → conv 4x4/2 → norm → act → conv 3x3: (N, in, H, W) -> (N, out, H/2, W/2). */
export class EncoderBlock extends torch.nn.Module {
  readonly model: torch.nn.Sequential;

  constructor(inC: number, outC: number) {
    super();
    this.model = this.module('model', new torch.nn.Sequential(
      norm(inC), act(), new torch.nn.Conv2d(inC, outC, 4, { stride: 2, padding: 1 }),
      norm(outC), act(), new torch.nn.Conv2d(outC, outC, 3, { padding: 1 }),
    ));
  }

  forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }
}

/** Pre-activation residual block at constant size; a 1x1 conv shortcut when the widths differ. */
export class ResBlock extends torch.nn.Module {
  readonly model: torch.nn.Sequential;
  readonly shortcut: torch.nn.Sequential | null;

  constructor(inC: number, outC = inC, hidden = inC) {
    super();
    this.model = this.module('model', new torch.nn.Sequential(
      norm(inC), act(), new torch.nn.Conv2d(inC, hidden, 3, { padding: 1 }),
      norm(hidden), act(), new torch.nn.Conv2d(hidden, outC, 3, { padding: 1 }),
    ));
    this.shortcut = inC === outC ? null : this.module('shortcut', new torch.nn.Sequential(new torch.nn.Conv2d(inC, outC, 1)));
  }

  forward(x: Tensor): Tensor {
    return torch.scope(() => this.model.forward(x).add(this.shortcut ? this.shortcut.forward(x) : x));
  }
}

/** `n` residual blocks of constant width in a Sequential named `model` (official ResBlocks). */
export class ResBlocks extends torch.nn.Module {
  readonly model: torch.nn.Sequential;

  constructor(n: number, channels: number) {
    super();
    this.model = this.module('model', new torch.nn.Sequential());
    for (let i = 0; i < n; i++) this.model.append(new ResBlock(channels, channels, channels));
  }

  forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }
}

/**
 * Upsampling residual block: [norm →] act → conv 3x3 → [norm →] act → convT 3x3/2, plus a convT 3x3/2 shortcut:
 * (N, in, H, W) -> (N, out, 2H, 2W).
 */
export class ResBlockDecoder extends torch.nn.Module {
  readonly model: torch.nn.Sequential;
  readonly shortcut: torch.nn.Sequential;

  constructor(inC: number, outC: number, hidden = inC) {
    super();
    const up = (i: number): torch.nn.ConvTranspose2d => new torch.nn.ConvTranspose2d(i, outC, 3, { stride: 2, padding: 1, outputPadding: 1 });
    this.model = this.module('model', new torch.nn.Sequential(
      norm(inC), act(), new torch.nn.Conv2d(inC, hidden, 3, { padding: 1 }), norm(hidden), act(), up(hidden),
    ));
    this.shortcut = this.module('shortcut', new torch.nn.Sequential(up(inC)));
  }

  forward(x: Tensor): Tensor {
    return torch.scope(() => this.model.forward(x).add(this.shortcut.forward(x)));
  }
}

/**
 * The discriminator's downsampling residual block, without normalisation: act → conv 3x3 → act → conv 4x4/2, plus
 * avg-pool 2 → conv 1x1; every conv spectrally normalised when `spectral`. (N, in, H, W) -> (N, out, H/2, W/2).
 */
export class ResBlockEncoder extends torch.nn.Module {
  readonly model: torch.nn.Sequential;
  readonly shortcut: torch.nn.Sequential;

  constructor(inC: number, outC: number, hidden: number, spectral: boolean) {
    super();
    const sn = <M extends torch.nn.Module>(m: M): M => maybeSpectral(m, spectral);
    this.model = this.module('model', new torch.nn.Sequential(
      act(), sn(new torch.nn.Conv2d(inC, hidden, 3, { padding: 1 })), act(), sn(new torch.nn.Conv2d(hidden, outC, 4, { stride: 2, padding: 1 })),
    ));
    this.shortcut = this.module('shortcut', new torch.nn.Sequential(new torch.nn.AvgPool2d(2, { stride: 2 }), sn(new torch.nn.Conv2d(inC, outC, 1))));
  }

  forward(x: Tensor): Tensor {
    return torch.scope(() => this.model.forward(x).add(this.shortcut.forward(x)));
  }
}

/** norm → act → reflection pad → conv k x k (the flow estimator's skip "Jump"); with `tanh`, the image "Output". */
export class PreActConv extends torch.nn.Module {
  readonly model: torch.nn.Sequential;

  constructor(inC: number, outC: number, kernelSize: number, tanh: boolean) {
    super();
    const layers: UnaryModule[] = [
      norm(inC), act(), new torch.nn.ReflectionPad2d(Math.floor(kernelSize / 2)), new torch.nn.Conv2d(inC, outC, kernelSize),
    ];
    if (tanh) layers.push(new torch.nn.Tanh());
    this.model = this.module('model', new torch.nn.Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }
}

/**
 * The local attention block (official ExtractorAttn): k x k source blocks around each flow target and the target's
 * own k x k blocks go through conv k x k / k → LeakyReLU → conv 1x1 → softmax, giving k² coefficients per position;
 * the output is the content-aware sample of the source blocks (ops.ts contentAwareSample).
 */
export class LocalAttention extends torch.nn.Module {
  readonly fully_connect_layer: torch.nn.Sequential;

  /** channels: the feature width C; kernelSize: k; hidden: the official 128. */
  constructor(readonly channels: number, readonly kernelSize: number, hidden = 128) {
    super();
    const k = kernelSize;
    this.fully_connect_layer = this.module('fully_connect_layer', new torch.nn.Sequential(
      new torch.nn.Conv2d(2 * channels, hidden, k, { stride: k }), act(), new torch.nn.Conv2d(hidden, k * k, 1), new ChannelSoftmax(),
    ));
  }

  /** source, target (N, C, h, w), flow (N, 2, h, w) -> (N, C, h, w). */
  forward(source: Tensor, target: Tensor, flow: Tensor): Tensor {
    return torch.scope(() => {
      const k = this.kernelSize;
      const sourceBlocks = blockExtractor(source, flow, k);
      const targetBlocks = blockExtractor(target, torch.zerosLike(flow), k);
      const coefficients = this.fully_connect_layer.forward(torch.cat([targetBlocks, sourceBlocks], 1));
      return contentAwareSample(sourceBlocks, coefficients, k);
    });
  }
}

/**
 * Global attention (the ablation's "Global-Attn"): every target position attends over all source positions,
 * softmax(q(target)ᵀ k(source)) v(source), and adds the result scaled by a learnt gamma (initially 0) to the target.
 * Queries and keys have C/8 channels. The released GlobalAttentionBlock is not wired into any released model and
 * takes its queries from the source; here the target asks and the source answers, as the paper describes.
 */
export class GlobalAttention extends torch.nn.Module {
  readonly query_conv: torch.nn.Conv2d;
  readonly key_conv: torch.nn.Conv2d;
  readonly value_conv: torch.nn.Conv2d;
  readonly gamma: Tensor;

  constructor(readonly channels: number) {
    super();
    const inner = Math.max(1, Math.floor(channels / 8));
    this.query_conv = this.module('query_conv', new torch.nn.Conv2d(channels, inner, 1));
    this.key_conv = this.module('key_conv', new torch.nn.Conv2d(channels, inner, 1));
    this.value_conv = this.module('value_conv', new torch.nn.Conv2d(channels, channels, 1));
    this.gamma = this.param('gamma', torch.zeros([1]));
  }

  /** source, target (N, C, h, w) -> (N, C, h, w). */
  forward(source: Tensor, target: Tensor): Tensor {
    return torch.scope(() => {
      const [n, c, h, w] = target.shape as [number, number, number, number];
      const q = this.query_conv.forward(target).reshape([n, -1, h * w]).transpose(1, 2);
      const k = this.key_conv.forward(source).reshape([n, -1, h * w]);
      const attention = torch.bmm(q, k).softmax(2);
      const v = this.value_conv.forward(source).reshape([n, c, h * w]);
      const out = torch.bmm(v, attention.transpose(1, 2)).reshape([n, c, h, w]);
      return target.add(out.mul(this.gamma));
    });
  }
}

/** The official ResDiscriminator's and generator's init: orthogonal(gain) conv weights, zero biases. */
export function orthogonalInit<M extends torch.nn.Module>(module: M, gain: number): M {
  for (const [, m] of module.namedModules()) {
    if (!(m instanceof torch.nn.Conv2d || m instanceof torch.nn.ConvTranspose2d)) continue;
    // After spectralNorm the raw weight is registered as weight_orig; m.weight is the same tensor until a forward.
    const named = new Map(m.namedParameters());
    const weight = named.get('weight') ?? named.get('weight_orig');
    if (!weight) throw new Error(`gfla: ${m.constructor.name} has neither 'weight' nor 'weight_orig' to initialise`);
    torch.nn.init.orthogonal_(weight, gain);
    if (m.bias) torch.nn.init.zeros_(m.bias);
  }
  return module;
}
