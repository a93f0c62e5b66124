// SPT (Song et al., "Unsupervised Person Image Generation with Semantic Parsing Transformation", CVPR 2019)
// hyper-parameters. The official release (SijieSong/person_generation_spt) publishes the DeepFashion appearance
// model's demo (models/PoseGuidedGenerationDemo_model.py, GlobalLocalPRDemo_models.py, networks.py, VGG_multi.py,
// GramMatrix_bodypart.py); the semantic generator, the pose detector and the training scripts are not released.
// Every value the release does not show is marked "chosen" with the reason.
import type { Preset } from '../registry.js';
import { validateSchedule, type FamilyConfig, type StageSection, type VggSection } from '../sections.js';
import type { WarpMode } from '../defgan/deformable.js';

/**
 * The paper's generation ablation (Table 3):
 * - 'ts-pred': two-stage, the appearance generator reads the semantic generator's predicted target parsing (detached);
 * - 'ts-gt': two-stage, it reads the dataset's ground-truth target parsing (an upper bound, needs target parsing);
 * - 'e2e': the paper's full model, the two stages then both networks end to end (appearance losses reach G_S).
 */
export type SptVariant = 'ts-pred' | 'ts-gt' | 'e2e';
export const SPT_VARIANTS: readonly SptVariant[] = ['ts-pred', 'ts-gt', 'e2e'];

/**
 * The style term's regions (the paper's loss ablation):
 * - 'mask-style': one Gram matrix over the whole person (parsing foreground);
 * - 'patch-style': one per body part of the pose (Deformable GAN's 10 part rectangles);
 * - 'semantic-aware': one per parsing label except background and face (the official patch_gram_matrix over
 *   B_parsing[:, 1:], 8 regions).
 */
export type SptStyleKind = 'mask-style' | 'patch-style' | 'semantic-aware';
export const SPT_STYLE_KINDS: readonly SptStyleKind[] = ['mask-style', 'patch-style', 'semantic-aware'];

/** Where the semantic stage's target parsing comes from. */
export type SptPseudoLabelSource = 'warped' | 'searched';

/** The stages, in order: G_S alone, G_A alone, then both (joint). */
export const SPT_STAGES = ['semantic', 'appearance', 'joint'] as const;
export type SptStage = (typeof SPT_STAGES)[number];

export interface SptConfig extends FamilyConfig {
  model: 'spt';
  variant: SptVariant;
  generator: {
    /** Semantic generator G_S (not released; chosen: a U-Net with a residual bottleneck, instance norm). */
    semantic: {
      /** First width; each down level doubles it up to 8x. */
      ngf: number;
      /** Stride-2 levels. */
      downs: number;
      /** Residual blocks at the bottleneck. */
      blocks: number;
      /** G_S runs at the frame divided by this (DeepFashion: 2, the paper's 128x128; Market: 1) and is upsampled. */
      scale: number;
    };
    /**
     * Appearance generator G_A: the official Global_Generator, i.e. Deformable GAN's two-stream U-Net whose
     * appearance stream reads image ++ source parsing (9 foreground labels) ++ source pose, pose stream target pose ++
     * target parsing, with part-warped skips on the first `deformableSkips` levels.
     */
    appearance: {
      encoderChannels: number[];
      decoderChannels: number[];
      deformableSkips: number;
      warpMode: WarpMode;
    };
    /**
     * The pose loss's estimator. The official code loads a separately trained pose detector (a ResnetGenerator
     * regressing the 18 pose maps) that is not released; our substitute is the same kind of network (ResNet
     * encoder-decoder, sigmoid heat maps) trained online on the real images of each batch against their pose maps,
     * and frozen inside G's pose loss.
     */
    poseEstimator: { ngf: number; blocks: number };
  };
  discriminator: {
    /** PatchGAN (official NLayerDiscriminator, instance norm): first width and stride-2 layers. */
    ndf: number;
    layers: number;
    /** Face discriminator on crops of the head box (official netD_face); off for Market (no faces to speak of). */
    face: boolean;
    /** Side of the square face crop (chosen: the official stretches the box to the full 256x256 frame). */
    faceSize: number;
    faceLayers: number;
  };
  loss: {
    /** Semantic stage: masked cross-entropy against the pseudo-label, and the parsing discriminator's LSGAN term. */
    crossEntropy: number;
    semanticGan: number;
    /** Where the pseudo-label comes from: 'warped' (the source parsing moved part by part to the target pose) or 'searched' (batch.parsingPseudoB from the dataset search, pseudo-labels.ts). */
    pseudoLabel: SptPseudoLabelSource;
    /** Appearance stage (official weights): LSGAN of D(image ++ parsing) and of the face D, each weight 1. */
    appearanceGan: number;
    faceGan: number;
    /** Pose loss: MSE of the estimator's heat maps of both generated images against the poses (official x700). */
    pose: number;
    /** Content loss on the cycle (A -> B -> A): MSE of VGG16 relu2_1 features (official x0.03). */
    content: number;
    /** The style term (official x1, mean squared Gram difference). */
    style: number;
    styleKind: SptStyleKind;
    /**
     * VGG16 for the content and style terms: torchvision's vgg16-397923af.pth, features up to relu2_1 (the official
     * VGG_multi slices features[0:7]; the paper says conv2_1, the code reads it after its ReLU).
     */
    vgg: VggSection;
  };
}

/** The default place for torchvision's VGG16 weights (config key `loss.vgg.weights`). */
export const DEFAULT_VGG16_WEIGHTS = 'weights/vgg16-397923af.pth';

export function sptDefaults(preset: Preset): SptConfig {
  const official = (fashion: boolean): SptConfig => ({
    model: 'spt',
    preset: fashion ? 'deepfashion' : 'market',
    variant: 'e2e',
    image: fashion ? { height: 256, width: 256 } : { height: 128, width: 64 },
    // Chosen by the brief from the paper: batch 4 DeepFashion, 16 Market.
    data: { batchSize: fashion ? 4 : 16, flip: false, syncBatchNorm: false, pose: { kind: 'gaussian', sigma: 6 } },
    generator: {
      semantic: { ngf: 64, downs: 3, blocks: fashion ? 6 : 4, scale: fashion ? 2 : 1 },
      appearance: {
        encoderChannels: [64, 128, 256, 512, 512, 512],
        decoderChannels: [512, 512, 512, 256, 128, 3],
        deformableSkips: 4,
        // The official AffineLayer samples with F.grid_sample's default, bilinear.
        warpMode: 'bilinear',
      },
      poseEstimator: { ngf: 32, blocks: 4 },
    },
    discriminator: { ndf: 64, layers: 3, face: fashion, faceSize: fashion ? 64 : 32, faceLayers: fashion ? 3 : 2 },
    loss: {
      // Chosen: the semantic stage's weights are not released; cross-entropy leads as in the paper (lambda_ce 10).
      crossEntropy: 10,
      semanticGan: 1,
      pseudoLabel: 'warped',
      appearanceGan: 1,
      faceGan: 1,
      pose: 700,
      content: 0.03,
      style: 1,
      styleKind: 'semantic-aware',
      vgg: { weights: DEFAULT_VGG16_WEIGHTS, layers: ['relu2_1'] },
    },
    // Official: Adam(opt.lr, beta1, 0.999) for G, D and the pose detector; CycleGAN's defaults lr 2e-4, beta1 0.5.
    optim: { lr: 2e-4, beta1: 0.5, beta2: 0.999 },
    // Chosen: the epochs per stage are not released; CycleGAN's base (niter + niter_decay) per stage, in pairs.
    schedule: {
      unit: 'pairs',
      epochSize: fashion ? 4000 : 12000,
      stages: [
        { name: 'semantic', epochs: 50, decayEpochs: 50 },
        { name: 'appearance', epochs: 50, decayEpochs: 50 },
        { name: 'joint', epochs: 10, decayEpochs: 10 },
      ],
    },
  });
  switch (preset) {
    case 'deepfashion':
      return official(true);
    case 'market':
      return official(false);
    case 'small': {
      // Market's layout at a quarter of the width, for CPU training.
      const c = official(false);
      c.preset = 'small';
      c.data.batchSize = 8;
      c.generator.semantic = { ngf: 16, downs: 3, blocks: 2, scale: 1 };
      c.generator.appearance.encoderChannels = [16, 32, 64, 128, 128, 128];
      c.generator.appearance.decoderChannels = [128, 128, 128, 64, 32, 3];
      c.generator.poseEstimator = { ngf: 16, blocks: 2 };
      c.discriminator.ndf = 16;
      c.schedule.epochSize = 2000;
      c.schedule.stages = c.schedule.stages.map((s): StageSection => ({ ...s, epochs: 10, decayEpochs: 10 }));
      return c;
    }
    case 'synth': {
      // The shipped synthetic checkpoint (README): the small widths; the content term reads the fixed random VGG
      // (weights "random"). Batch 4; the three stages split the hour on one core.
      const c = sptDefaults('small');
      c.preset = 'synth';
      c.data.batchSize = 4;
      c.loss.vgg.weights = 'random';
      c.schedule = { unit: 'iterations', epochSize: 100, stages: [{ name: 'semantic', epochs: 6, decayEpochs: 0 }, { name: 'appearance', epochs: 5, decayEpochs: 0 }, { name: 'joint', epochs: 2, decayEpochs: 0 }] };
      return c;
    }
    case 'tiny': {
      // Tests: 64x32, a few thousand parameters per network, the face D on (so every path runs), random VGG16.
      const c = official(false);
      c.preset = 'tiny';
      c.image = { height: 64, width: 32 };
      c.data.batchSize = 2;
      c.generator.semantic = { ngf: 8, downs: 2, blocks: 1, scale: 2 };
      c.generator.appearance = { encoderChannels: [8, 8, 16, 16, 16], decoderChannels: [16, 16, 8, 8, 3], deformableSkips: 2, warpMode: 'bilinear' };
      c.generator.poseEstimator = { ngf: 4, blocks: 1 };
      c.discriminator = { ndf: 8, layers: 2, face: true, faceSize: 16, faceLayers: 1 };
      c.loss.vgg.weights = 'random';
      c.optim.lr = 1e-3;
      c.schedule = {
        unit: 'iterations',
        epochSize: 1,
        stages: [{ name: 'semantic', epochs: 1, decayEpochs: 0 }, { name: 'appearance', epochs: 1, decayEpochs: 0 }, { name: 'joint', epochs: 1, decayEpochs: 1 }],
      };
      return c;
    }
  }
}

/** Checks sizes, names and switches fit together; errors name the key. */
export function validateSptConfig(cfg: SptConfig): void {
  const { height: h, width: w } = cfg.image;
  const s = cfg.generator.semantic;
  if (!SPT_VARIANTS.includes(cfg.variant)) throw new Error(`spt: variant '${cfg.variant}' is not one of ${SPT_VARIANTS.join(', ')}`);
  if (!SPT_STYLE_KINDS.includes(cfg.loss.styleKind)) throw new Error(`spt: loss.styleKind '${cfg.loss.styleKind}' is not one of ${SPT_STYLE_KINDS.join(', ')}`);
  if (!['warped', 'searched'].includes(cfg.loss.pseudoLabel)) throw new Error(`spt: loss.pseudoLabel '${cfg.loss.pseudoLabel}' is not one of warped, searched`);
  const fs = s.scale * 2 ** s.downs;
  if (h % fs !== 0 || w % fs !== 0) {
    throw new Error(`spt: image ${h}x${w} must be divisible by generator.semantic.scale * 2^downs = ${fs}; change the image size, scale or downs`);
  }
  const a = cfg.generator.appearance;
  const L = a.encoderChannels.length;
  if (a.decoderChannels.length !== L || a.decoderChannels[L - 1] !== 3) {
    throw new Error(`spt: generator.appearance.decoderChannels needs ${L} entries (as encoderChannels) ending in 3, got [${a.decoderChannels.join(', ')}]`);
  }
  const fa = 2 ** (L - 1);
  if (h % fa !== 0 || w % fa !== 0) throw new Error(`spt: image ${h}x${w} must be divisible by 2^(appearance levels - 1) = ${fa}`);
  const names = cfg.schedule.stages.map((st) => st.name).join(',');
  if (names !== SPT_STAGES.join(',')) {
    throw new Error(`spt: schedule.stages must be [${SPT_STAGES.join(', ')}] in this order, got [${names}]; set a stage's epochs to 0 to skip it`);
  }
  validateSchedule(cfg.schedule, 'spt');
}
