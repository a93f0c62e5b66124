// GFLA's typed defaults per preset, from the official code (RenYurui/Global-Flow-Local-Attention): model/pose_model.py
// (loss weights, Adam betas (0, 0.999), D lr = lr · ratio_g2d 0.1, G: ngf 64, img_f 512, 3 layers, 2 blocks, instance
// norm, LeakyReLU; D: ndf 32, img_f 128, 4 layers DeepFashion / 3 Market, spectral norm), model/poseflownet_model.py
// (flow stage: correctness 20, regularisation 0.01), generator.py (flow estimator: ngf 32, img_f 256, 5 layers),
// options/*.py (batch 8, lr 1e-4, lsgan, orthogonal init, niter 5M at a constant rate) and PERSON_IMAGE_GENERATION.md
// (DeepFashion --attn_layer=2,3 --kernel_size=2=5,3=3; Market --attn_layer=2 --kernel_size=2=3).
import { DEFAULT_VGG19_WEIGHTS } from '../layers/vgg.js';
import type { Preset } from '../registry.js';
import { validateSchedule, type FamilyConfig, type OptimSection, type VggSection } from '../sections.js';
import type { AttentionKind } from './generator.js';
import { CONTENT_TAPS, STYLE_TAPS, type VggInput } from './losses.js';

/**
 * The paper's ablation (Table 3): 'baseline' (no flow, no attention: an encoder-decoder fed
 * the target pose, source image and source pose together), 'global-attn' (global attention instead of
 * the flow), 'bi-sample' (the flow with bilinear sampling instead of local attention), 'full'.
 */
export type GflaVariant = 'baseline' | 'global-attn' | 'bi-sample' | 'full';
export const GFLA_VARIANTS: readonly GflaVariant[] = ['baseline', 'global-attn', 'bi-sample', 'full'];

/** How each variant's target network reads the source. */
export function attentionOf(variant: GflaVariant): AttentionKind {
  switch (variant) {
    case 'full': return 'local';
    case 'bi-sample': return 'bilinear';
    case 'global-attn': return 'global';
    case 'baseline': return 'none';
    default: throw new Error(`gfla: variant '${String(variant)}' is not one of ${GFLA_VARIANTS.join(', ')}`);
  }
}

/** Whether a variant has the flow estimator (and so the flow stage, correctness and regularisation losses). */
export function usesFlow(variant: GflaVariant): boolean {
  const a = attentionOf(variant);
  return a === 'local' || a === 'bilinear';
}

export interface GflaConfig extends FamilyConfig {
  model: 'gfla';
  variant: GflaVariant;
  generator: {
    imageChannels: number;
    /** Pose heatmap channels per pose (official structure_nc 18). */
    poseChannels: number;
    /** Official 64. */
    ngf: number;
    /** Widest feature (official img_f 512). */
    imgF: number;
    /** Encoder / decoder levels of the source and target networks (official --layers 3). */
    layers: number;
    /** Per decoder level: numBlocks - 1 residual blocks, then the upsampling block (official 2). */
    numBlocks: number;
    /** Decoder levels that attend, counted from the output (official --attn_layer: [2, 3] DeepFashion, [2] Market). */
    attnLayers: number[];
    /** Local-attention window per attention layer, parallel to attnLayers (official --kernel_size 2=5,3=3 / 2=3). */
    kernelSizes: number[];
    /** Flow estimator widths (official ngf 32, img_f 256) and encoder depth (official 5). */
    flowNgf: number;
    flowImgF: number;
    flowLayers: number;
    /** Gain of the orthogonal init of every conv (official init_weights('orthogonal', gain=0.02)). */
    initGain: number;
  };
  discriminator: {
    ndf: number;
    imgF: number;
    layers: number;
    spectralNorm: boolean;
  };
  loss: {
    /** Main stage (pose_model.py): --lambda_rec 5, --lambda_correct 5, --lambda_g 2, --lambda_style 500,
     * --lambda_content 0.5, --lambda_regularization 0.0025. */
    lambdaRec: number;
    lambdaCorrect: number;
    lambdaGan: number;
    lambdaStyle: number;
    lambdaContent: number;
    lambdaRegularization: number;
    /** Flow stage (poseflownet_model.py): --lambda_correct 20, --lambda_regularization 0.01. */
    flowLambdaCorrect: number;
    flowLambdaRegularization: number;
    /**
     * The flow stage ends early once the weighted correctness term (as logged, i.e. × flowLambdaCorrect), averaged
     * over the last flowStopWindow steps, falls below this. The authors stopped at about 2 (DeepFashion) and 1.5
     * (Market) (issue #25 of the official repository); 0 turns the early stop off.
     */
    flowStopCorrectness: number;
    flowStopWindow: number;
    /** The VGG tap the correctness loss compares at attention layer l is correctnessTaps[l] (official relu{l+1}_1). */
    correctnessTaps: string[];
    /** The content loss's VGG taps (official relu{1..5}_1) and the style loss's (official relu2_2, relu3_4, relu4_4, relu5_2). */
    contentTaps: string[];
    styleTaps: string[];
    /** 'raw': VGG19 sees the [-1, 1] images as they are, as the released code; 'imagenet' normalises first. */
    vggInput: VggInput;
    vgg: VggSection;
  };
  optim: OptimSection & {
    /** The discriminator's learning rate is lr × this (official --ratio_g2d 0.1). */
    lrRatioD: number;
  };
}

const MARKET_AFFINE = { rotate: 5, shift: 5, scale: [0.95, 1.05], target: { rotate: 1, shift: 2.5, scale: [1, 1] } };

const VGG_TAPS = ['relu1_1', 'relu2_1', 'relu2_2', 'relu3_1', 'relu3_4', 'relu4_1', 'relu4_4', 'relu5_1', 'relu5_2'];

export function gflaDefaults(preset: Preset): GflaConfig {
  const official = (fashion: boolean): GflaConfig => ({
    model: 'gfla',
    preset: fashion ? 'deepfashion' : 'market',
    variant: 'full',
    image: fashion ? { height: 256, width: 176 } : { height: 128, width: 64 },
    // The official pose maps are Gaussians of sigma 6 (util/pose_utils.py cords_to_map). Market trains on random
    // affines (data/market_dataset.py, base_dataset.py): the source ±5°, ±5 px, scale 0.95-1.05; the target a
    // reduced draw (angle x0.2, shift x0.5, scale 1). The official fill is grey; the loader's is the border pixel.
    data: { batchSize: 8, flip: false, syncBatchNorm: false, pose: { kind: 'gaussian', sigma: 6 }, affine: fashion ? null : structuredClone(MARKET_AFFINE) },
    generator: {
      imageChannels: 3, poseChannels: 18, ngf: 64, imgF: 512, layers: 3, numBlocks: 2,
      attnLayers: fashion ? [2, 3] : [2], kernelSizes: fashion ? [5, 3] : [3],
      flowNgf: 32, flowImgF: 256, flowLayers: 5, initGain: 0.02,
    },
    discriminator: { ndf: 32, imgF: 128, layers: fashion ? 4 : 3, spectralNorm: true },
    loss: {
      lambdaRec: 5, lambdaCorrect: 5, lambdaGan: 2, lambdaStyle: 500, lambdaContent: 0.5, lambdaRegularization: 0.0025,
      flowLambdaCorrect: 20, flowLambdaRegularization: 0.01,
      flowStopCorrectness: fashion ? 2 : 1.5, flowStopWindow: 1000,
      correctnessTaps: ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1'],
      contentTaps: [...CONTENT_TAPS],
      styleTaps: [...STYLE_TAPS],
      vggInput: 'raw',
      vgg: { weights: DEFAULT_VGG19_WEIGHTS, layers: [...VGG_TAPS] },
    },
    optim: { lr: 1e-4, beta1: 0, beta2: 0.999, lrRatioD: 0.1 },
    // The official trainer counts iterations at a constant rate (niter 5M, niter_decay 0) and was stopped by hand;
    // an epoch here is 1000 iterations (the official print/save interval). Caps: 200k flow, 1M whole model.
    schedule: {
      unit: 'iterations', epochSize: 1000,
      stages: [{ name: 'flow', epochs: 200, decayEpochs: 0 }, { name: 'main', epochs: 1000, decayEpochs: 0 }],
    },
  });
  switch (preset) {
    case 'deepfashion':
      return official(true);
    case 'market':
      return official(false);
    case 'small': {
      // Market's recipe at half the widths: trainable on a 2-core CPU.
      const c = official(false);
      c.preset = 'small';
      c.generator = { ...c.generator, ngf: 32, imgF: 256, flowNgf: 16, flowImgF: 128 };
      c.discriminator = { ...c.discriminator, ndf: 16, imgF: 64 };
      c.schedule.stages = [{ name: 'flow', epochs: 20, decayEpochs: 0 }, { name: 'main', epochs: 100, decayEpochs: 0 }];
      return c;
    }
    case 'synth': {
      // The shipped synthetic checkpoint (README): a quarter of Market's widths; every VGG term reads the fixed random
      // VGG (weights "random") up to relu3_1 only, since deeper layers cost more than the rest of the model here.
      // 300 flow iterations (2 s each), then 700 of the whole model (4 s each): the hour on one core.
      const c = official(false);
      c.preset = 'synth';
      c.generator = { ...c.generator, ngf: 16, imgF: 128, flowNgf: 16, flowImgF: 64 };
      c.discriminator = { ...c.discriminator, ndf: 16, imgF: 64 };
      c.loss.contentTaps = ['relu1_1', 'relu2_1', 'relu3_1'];
      c.loss.styleTaps = ['relu2_2', 'relu3_1'];
      c.loss.vgg = { weights: 'random', layers: ['relu1_1', 'relu2_1', 'relu2_2', 'relu3_1'] };
      c.schedule = { unit: 'iterations', epochSize: 100, stages: [{ name: 'flow', epochs: 3, decayEpochs: 0 }, { name: 'main', epochs: 7, decayEpochs: 0 }] };
      return c;
    }
    case 'tiny': {
      // For tests: DeepFashion's structure (both attention layers, windows 5 and 3) at 64x32, the smallest frame the
      // 5-level flow encoder and a 3x3 regularisation window at 1/8 scale fit, with Market's augmentation; random
      // VGG weights; one-step stages.
      const c = official(true);
      c.preset = 'tiny';
      c.image = { height: 64, width: 32 };
      c.data.batchSize = 2;
      c.generator = { ...c.generator, ngf: 8, imgF: 32, flowNgf: 8, flowImgF: 16 };
      c.discriminator = { ...c.discriminator, ndf: 8, imgF: 16, layers: 2 };
      c.data.affine = structuredClone(MARKET_AFFINE);
      c.loss.flowStopWindow = 2;
      c.loss.vgg.weights = 'random';
      c.schedule = { unit: 'iterations', epochSize: 1, stages: [{ name: 'flow', epochs: 1, decayEpochs: 0 }, { name: 'main', epochs: 1, decayEpochs: 0 }] };
      return c;
    }
    default:
      throw new Error(`gfla: unknown preset '${String(preset)}'`);
  }
}

/** Checks what the networks and the schedule need; errors name the key. */
export function validateGflaConfig(cfg: GflaConfig): void {
  attentionOf(cfg.variant);
  validateSchedule(cfg.schedule, 'gfla');
  const names = cfg.schedule.stages.map((s) => s.name);
  if (names.length !== 2 || names[0] !== 'flow' || names[1] !== 'main') {
    throw new Error(`gfla: schedule.stages must be [flow, main] (flow-estimator pre-training, then the whole model), got [${names.join(', ')}]`);
  }
  const g = cfg.generator;
  if (g.attnLayers.length !== g.kernelSizes.length) {
    throw new Error(`gfla: generator.kernelSizes [${g.kernelSizes}] needs one window per generator.attnLayers entry [${g.attnLayers}]`);
  }
  for (const l of g.attnLayers) {
    if (!Number.isInteger(l) || l < 1 || l > g.layers) throw new Error(`gfla: generator.attnLayers entry ${l} must be a decoder level in 1..${g.layers}`);
    if (cfg.loss.correctnessTaps[l] === undefined) throw new Error(`gfla: loss.correctnessTaps has no VGG tap for attention layer ${l}`);
  }
  if (new Set(g.attnLayers).size !== g.attnLayers.length) throw new Error(`gfla: generator.attnLayers [${g.attnLayers}] repeats a layer`);
}
