// GFLA's generator (official model/networks/generator.py PoseGenerator): a source encoder, the global flow-field
// estimator (PoseFlowNet) and the target network, whose decoder warps the source features into the target pose with
// local attention at the configured layers. Attribute names follow the official ones (`source`, `target`,
// `flow_net`, `block0`, `encoder{i}`, `decoder{i}`, `jump{i}`, `output{i}`, `mask{i}`, `attn{i}`, `outconv`), so
// the released state dict maps by name (official.ts).
import * as torch from '../../torch/index.js';
import { EncoderBlock, GlobalAttention, LocalAttention, PreActConv, ResBlockDecoder, ResBlocks } from './layers.js';
import { bilinearWarp, occlusionBlend } from './ops.js';
import type { GflaConfig } from './config.js';

type Tensor = torch.Tensor;

/**
 * How the target network reads the source features at the attention layers (the paper's ablation, Table 3):
 * - 'local': the flow-guided local attention with the occlusion-mask blend (the full model);
 * - 'bilinear': the flow's bilinear warp of the source features, blended by the mask ("Bi-Sample");
 * - 'global': global attention over all source positions, no flow ("Global-Attn");
 * - 'none': the target network alone, an auto-encoder of the target pose ("Baseline").
 */
export type AttentionKind = 'local' | 'bilinear' | 'global' | 'none';

/** Widths of an encoder that halves the size at each of `layers` blocks: ngf·min(2^i, imgF/ngf). */
function width(ngf: number, imgF: number, i: number): number {
  return ngf * Math.min(2 ** i, Math.floor(imgF / ngf));
}

/** The source encoder (PoseSourceNet): image -> [deepest feature, ..., first block's output, the image itself]. */
export class PoseSourceNet extends torch.nn.Module {
  readonly block0: EncoderBlock;
  readonly encoders: EncoderBlock[] = [];

  constructor(readonly imageChannels: number, ngf: number, imgF: number, readonly layers: number) {
    super();
    this.block0 = this.module('block0', new EncoderBlock(imageChannels, ngf));
    for (let i = 0; i < layers - 1; i++) {
      this.encoders.push(this.module(`encoder${i}`, new EncoderBlock(width(ngf, imgF, i), width(ngf, imgF, i + 1))));
    }
  }

  /** (N, 3, H, W) -> features deepest first: [(N, C_L, H/2^L, W/2^L), ..., (N, ngf, H/2, W/2), the image]. */
  forward(image: Tensor): Tensor[] {
    return torch.scope(() => {
      const out = [image];
      let h = this.block0.forward(image);
      out.push(h);
      for (const e of this.encoders) {
        h = e.forward(h);
        out.push(h);
      }
      return out.reverse();
    });
  }
}

export interface FlowNetOptions {
  imageChannels: number;
  poseChannels: number;
  /** Official 32. */
  ngf: number;
  /** Official 256. */
  imgF: number;
  /** Encoder blocks (official 5); H and W must divide by 2^encoderLayers. */
  encoderLayers: number;
  /** Target-network layers that attend (counted from the output, e.g. [2, 3]). */
  attnLayers: number[];
}

/**
 * The global flow-field estimator (PoseFlowNet): encoder over (source image, source pose, target pose), decoder with
 * skip "jumps", and at each attention layer's resolution a flow (conv 3x3 to 2 channels) and an occlusion mask
 * (conv 3x3, sigmoid).
 */
export class PoseFlowNet extends torch.nn.Module {
  readonly block0: EncoderBlock;
  readonly encoders: EncoderBlock[] = [];
  readonly decoders: ResBlockDecoder[] = [];
  readonly jumps: PreActConv[] = [];
  readonly heads = new Map<number, { flow: torch.nn.Conv2d; mask: torch.nn.Sequential }>();
  readonly decoderLayers: number;

  constructor(readonly options: FlowNetOptions) {
    super();
    const { imageChannels, poseChannels, ngf, imgF, encoderLayers, attnLayers } = options;
    if (attnLayers.length === 0) throw new Error('gfla: the flow estimator needs at least one attention layer (generator.attnLayers)');
    this.decoderLayers = encoderLayers - Math.min(...attnLayers);
    if (this.decoderLayers < 1) {
      throw new Error(`gfla: generator.flowLayers (${encoderLayers}) must exceed the smallest attention layer (${Math.min(...attnLayers)})`);
    }
    this.block0 = this.module('block0', new EncoderBlock(2 * poseChannels + imageChannels, ngf));
    for (let i = 0; i < encoderLayers - 1; i++) {
      this.encoders.push(this.module(`encoder${i}`, new EncoderBlock(width(ngf, imgF, i), width(ngf, imgF, i + 1))));
    }
    let mult = width(ngf, imgF, encoderLayers - 1);
    for (let i = 0; i < this.decoderLayers; i++) {
      const prev = mult;
      mult = i !== encoderLayers - 1 ? width(ngf, imgF, encoderLayers - i - 2) : ngf;
      this.decoders.push(this.module(`decoder${i}`, new ResBlockDecoder(prev, mult, mult)));
      this.jumps.push(this.module(`jump${i}`, new PreActConv(mult, mult, 3, false)));
      if (attnLayers.includes(encoderLayers - i - 1)) {
        const flow = this.module(`output${i}`, new torch.nn.Conv2d(mult, 2, 3, { padding: 1 }));
        const mask = this.module(`mask${i}`, new torch.nn.Sequential(new torch.nn.Conv2d(mult, 1, 3, { padding: 1 }), new torch.nn.Sigmoid()));
        this.heads.set(i, { flow, mask });
      }
    }
  }

  forward(): never {
    throw new Error('PoseFlowNet: call flows(source, sourcePose, targetPose)');
  }

  /**
   * source (N, 3, H, W), sourcePose / targetPose (N, 18, H, W) -> flows (N, 2, h_l, w_l) and masks (N, 1, h_l, w_l),
   * coarsest layer first (the order of the target network's attention layers).
   */
  flows(source: Tensor, sourcePose: Tensor, targetPose: Tensor): { flows: Tensor[]; masks: Tensor[] } {
    return torch.scope(() => {
      const flows: Tensor[] = [];
      const masks: Tensor[] = [];
      let out = this.block0.forward(torch.cat([source, sourcePose, targetPose], 1));
      const skips = [out];
      for (const e of this.encoders) {
        out = e.forward(out);
        skips.push(out);
      }
      const L = this.options.encoderLayers;
      for (let i = 0; i < this.decoderLayers; i++) {
        out = (this.decoders[i] as ResBlockDecoder).forward(out).add((this.jumps[i] as PreActConv).forward(skips[L - i - 2] as Tensor));
        const head = this.heads.get(i);
        if (head) {
          flows.push(head.flow.forward(out));
          masks.push(head.mask.forward(out));
        }
      }
      return { flows, masks };
    });
  }
}

export interface TargetNetOptions {
  /** Channels of the first block's input: the target pose's, or for the flow-free baseline (see GflaGenerator) the
   * target pose's, the source image's and the source pose's together. */
  inputChannels: number;
  outChannels: number;
  ngf: number;
  imgF: number;
  /** Encoder blocks, and decoder blocks (official --layers 3). */
  layers: number;
  /** Residual blocks per decoder level: numBlocks - 1 ResBlocks then a ResBlockDecoder (official 2). */
  numBlocks: number;
  attnLayers: number[];
  /** Local-attention window per attention layer, parallel to attnLayers. */
  kernelSizes: number[];
  attention: AttentionKind;
}

/** The target network (PoseTargetNet): target-pose encoder, decoder that attends to the source at attnLayers. */
export class PoseTargetNet extends torch.nn.Module {
  readonly block0: EncoderBlock;
  readonly encoders: EncoderBlock[] = [];
  readonly decoders: torch.nn.Sequential[] = [];
  readonly attns = new Map<number, LocalAttention | GlobalAttention | null>();
  readonly outconv: PreActConv;

  constructor(readonly options: TargetNetOptions) {
    super();
    const { inputChannels, outChannels, ngf, imgF, layers, numBlocks, attnLayers, kernelSizes, attention } = options;
    if (kernelSizes.length !== attnLayers.length) {
      throw new Error(`gfla: generator.kernelSizes [${kernelSizes}] must give one window per attention layer [${attnLayers}]`);
    }
    this.block0 = this.module('block0', new EncoderBlock(inputChannels, ngf));
    for (let i = 0; i < layers - 1; i++) {
      this.encoders.push(this.module(`encoder${i}`, new EncoderBlock(width(ngf, imgF, i), width(ngf, imgF, i + 1))));
    }
    let mult = width(ngf, imgF, layers - 1);
    for (let i = 0; i < layers; i++) {
      const prev = mult;
      mult = i !== layers - 1 ? width(ngf, imgF, layers - i - 2) : ngf;
      const up = new torch.nn.Sequential();
      if (numBlocks > 1) up.append(new ResBlocks(numBlocks - 1, prev));
      up.append(new ResBlockDecoder(prev, mult));
      this.decoders.push(this.module(`decoder${i}`, up));
      const at = attnLayers.indexOf(layers - i);
      if (at >= 0 && attention !== 'none') {
        const attn = attention === 'local' ? new LocalAttention(prev, kernelSizes[at] as number)
          : attention === 'global' ? new GlobalAttention(prev) : null;
        this.attns.set(i, attn ? this.module(`attn${i}`, attn) : null);
      }
    }
    this.outconv = this.module('outconv', new PreActConv(ngf, outChannels, 3, true));
  }

  forward(): never {
    throw new Error('PoseTargetNet: call decode(targetPose, sourceFeatures, flows, masks)');
  }

  /**
   * input (N, inputChannels, H, W): the target pose, or the baseline's concatenation; sourceFeatures from
   * PoseSourceNet (deepest first; empty for 'none'); flows / masks from PoseFlowNet (coarsest first; empty for
   * 'global' and 'none') -> the image (N, 3, H, W) in [-1, 1].
   */
  decode(input: Tensor, sourceFeatures: Tensor[], flows: Tensor[], masks: Tensor[]): Tensor {
    return torch.scope(() => {
      let out = this.block0.forward(input);
      for (const e of this.encoders) out = e.forward(out);
      let used = 0;
      for (let i = 0; i < this.options.layers; i++) {
        if (this.attns.has(i)) {
          const attn = this.attns.get(i);
          const source = sourceFeatures[i] as Tensor;
          if (attn instanceof GlobalAttention) {
            out = attn.forward(source, out);
          } else {
            const flow = flows[used];
            const mask = masks[used];
            if (!flow || !mask) throw new Error(`gfla: the target network needs a flow and a mask for decoder level ${i}, got ${flows.length} flows`);
            const attended = attn instanceof LocalAttention ? attn.forward(source, out, flow) : bilinearWarp(source, flow);
            out = occlusionBlend(out, attended, mask);
            used++;
          }
        }
        out = (this.decoders[i] as torch.nn.Sequential).forward(out);
      }
      return this.outconv.forward(out);
    });
  }
}

/** The config's generator section (initGain is applied by the model) plus the variant's attention. */
export type GflaGeneratorOptions = Omit<GflaConfig['generator'], 'initGain'> & { attention: AttentionKind };

/** What the generator computes: the image, and the flow fields and occlusion masks it used (empty without flow). */
export interface GflaOutput {
  /** (N, 3, H, W) in [-1, 1]. */
  image: Tensor;
  /** Per attention layer, coarsest first: (N, 2, h, w) offsets in that layer's pixels (channel 0: x, 1: y). */
  flows: Tensor[];
  /** Per attention layer: (N, 1, h, w) in [0, 1], the weight of the warped source against the target's own features. */
  masks: Tensor[];
}

/** GFLA's generator: (source image, source pose, target pose) -> target image, via flow fields and local attention. */
export class GflaGenerator extends torch.nn.Module {
  /** The source encoder, whose features the attention layers read; null for the baseline, which has none. */
  readonly source: PoseSourceNet | null;
  readonly target: PoseTargetNet;
  readonly flow_net: PoseFlowNet | null;

  constructor(readonly options: GflaGeneratorOptions) {
    super();
    const o = options;
    // The paper's Baseline has neither flow nor attention: an encoder-decoder that reads the source image and both
    // poses, concatenated, as its input.
    const baseline = o.attention === 'none';
    this.source = baseline ? null : this.module('source', new PoseSourceNet(o.imageChannels, o.ngf, o.imgF, o.layers));
    this.target = this.module('target', new PoseTargetNet({
      inputChannels: baseline ? 2 * o.poseChannels + o.imageChannels : o.poseChannels,
      outChannels: o.imageChannels, ngf: o.ngf, imgF: o.imgF, layers: o.layers, numBlocks: o.numBlocks,
      attnLayers: o.attnLayers, kernelSizes: o.kernelSizes, attention: o.attention,
    }));
    const usesFlow = o.attention === 'local' || o.attention === 'bilinear';
    this.flow_net = usesFlow ? this.module('flow_net', new PoseFlowNet({
      imageChannels: o.imageChannels, poseChannels: o.poseChannels, ngf: o.flowNgf, imgF: o.flowImgF,
      encoderLayers: o.flowLayers, attnLayers: o.attnLayers,
    })) : null;
  }

  private check(source: Tensor, sourcePose: Tensor, targetPose: Tensor): void {
    const { imageChannels: ic, poseChannels: pc, layers, flowLayers } = this.options;
    const s = source.shape;
    if (s.length !== 4 || s[1] !== ic) throw new Error(`GflaGenerator: source must be (N,${ic},H,W), got [${s.join(',')}]`);
    for (const [name, p] of [['sourcePose', sourcePose], ['targetPose', targetPose]] as const) {
      const q = p.shape;
      if (q.length !== 4 || q[0] !== s[0] || q[1] !== pc || q[2] !== s[2] || q[3] !== s[3]) {
        throw new Error(`GflaGenerator: ${name} must be (${s[0]},${pc},${s[2]},${s[3]}), got [${q.join(',')}]`);
      }
    }
    const depth = this.flow_net ? Math.max(layers, flowLayers) : layers;
    const f = 2 ** depth;
    if ((s[2] as number) % f !== 0 || (s[3] as number) % f !== 0) {
      throw new Error(`GflaGenerator: image ${s[2]}x${s[3]} must divide by ${f} (2^${depth} downsamplings); resize it or lower generator.layers / generator.flowLayers`);
    }
  }

  /** The flow fields and occlusion masks alone (the flow stage trains only these). Empty lists without flow. */
  flows(source: Tensor, sourcePose: Tensor, targetPose: Tensor): { flows: Tensor[]; masks: Tensor[] } {
    this.check(source, sourcePose, targetPose);
    return this.flow_net ? this.flow_net.flows(source, sourcePose, targetPose) : { flows: [], masks: [] };
  }

  /** source (N, 3, H, W), sourcePose / targetPose (N, 18, H, W) -> image, flows and masks (see GflaOutput). */
  forwardWithFlows(source: Tensor, sourcePose: Tensor, targetPose: Tensor): GflaOutput {
    return torch.scope(() => {
      const { flows, masks } = this.flows(source, sourcePose, targetPose);
      const image = this.source
        ? this.target.decode(targetPose, this.source.forward(source), flows, masks)
        : this.target.decode(torch.cat([targetPose, source, sourcePose], 1), [], flows, masks);
      return { image, flows, masks };
    });
  }

  /** The generated image (N, 3, H, W) in [-1, 1]. */
  forward(source: Tensor, sourcePose: Tensor, targetPose: Tensor): Tensor {
    return torch.scope(() => this.forwardWithFlows(source, sourcePose, targetPose).image);
  }
}
