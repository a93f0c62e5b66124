// Deformable GAN (Siarohin et al., CVPR 2018) hyper-parameters, from the official Keras code
// (AliaksandrSiarohin/pose-gan: cmd.py defaults, conditional_gan.py, and the README's per-experiment commands).
import { DEFAULT_VGG19_WEIGHTS } from '../layers/vgg.js';
import type { Preset } from '../registry.js';
import { validateSchedule, type FamilyConfig, type VggSection } from '../sections.js';
import type { WarpMode } from './deformable.js';

/**
 * The paper's ablation (Table 1):
 * - 'baseline': one U-Net stream on concat(source image, source pose, target pose), plain skips, L1;
 * - 'dsc': two encoders with deformable skip connections, L1;
 * - 'full': deformable skips and the nearest-neighbour loss on VGG19 conv1_2 features.
 */
export type DefGanVariant = 'baseline' | 'dsc' | 'full';
export const DEFGAN_VARIANTS: readonly DefGanVariant[] = ['baseline', 'dsc', 'full'];

export interface DefGanConfig extends FamilyConfig {
  model: 'defgan';
  variant: DefGanVariant;
  generator: {
    poseChannels: number;
    /** Encoder widths per level (the first is a 3x3 conv at full resolution; each later one halves the size). */
    encoderChannels: number[];
    /** Decoder widths per level, deepest first; the last is the output's 3 channels. Same length as encoderChannels. */
    decoderChannels: number[];
    /** How many of the highest-resolution skips are deformable (the official code warps the first 4). */
    deformableSkips: number;
    /** Sampling of the part warps: the official tf.contrib.image.transform samples nearest (its default). */
    warpMode: WarpMode;
  };
  discriminator: {
    /** Conditional D's first width; it then has 2x, 4x, 8x and a 1-channel patch output. */
    dim: number;
  };
  loss: {
    /** Weight of the adversarial term. */
    gan: number;
    /** Weight of pixel L1 ('baseline', 'dsc'). */
    l1: number;
    /**
     * Weight of the nearest-neighbour loss ('full'). The official 0.01 was tuned on Keras's Caffe VGG19 (BGR 0-255
     * minus the mean); our torchvision VGG19 on ImageNet-normalised RGB gives a loss about 59-61x smaller
     * (bench/nn_loss_scale.py), so 0.6 keeps the official balance against the GAN term. docs/models-pg2-defgan.md.
     */
    nn: number;
    /** The nearest-neighbour loss's neighbourhood, n x n: 5 for DeepFashion, 3 for Market. */
    nnSize: number;
    /**
     * VGG19 for the nearest-neighbour loss ('full' only): Keras's `block1_conv2` output, which is after its ReLU,
     * i.e. torchvision's relu1_2 (features.3).
     */
    vgg: VggSection;
  };
}

export function defganDefaults(preset: Preset): DefGanConfig {
  const official = (fashion: boolean): DefGanConfig => ({
    model: 'defgan',
    preset: fashion ? 'deepfashion' : 'market',
    variant: 'full',
    image: fashion ? { height: 256, width: 256 } : { height: 128, width: 64 },
    data: { batchSize: fashion ? 2 : 4, flip: false, syncBatchNorm: false, pose: { kind: 'gaussian', sigma: 6 } },
    generator: {
      poseChannels: 18,
      encoderChannels: fashion ? [64, 128, 256, 512, 512, 512, 512] : [64, 128, 256, 512, 512, 512],
      decoderChannels: fashion ? [512, 512, 512, 512, 256, 128, 3] : [512, 512, 512, 256, 128, 3],
      deformableSkips: 4,
      warpMode: 'nearest',
    },
    discriminator: { dim: 64 },
    loss: { gan: 1, l1: 100, nn: 0.6, nnSize: fashion ? 5 : 3, vgg: { weights: DEFAULT_VGG19_WEIGHTS, layers: ['relu1_2'] } },
    // Adam for G and D (lr 2e-4, betas 0.5, 0.999), constant.
    optim: { lr: 2e-4, beta1: 0.5, beta2: 0.999 },
    // The official loop counts epochs of 1000 iterations; the README's commands train 90 of them.
    schedule: { unit: 'iterations', epochSize: 1000, stages: [{ name: 'main', epochs: 90, decayEpochs: 0 }] },
  });
  switch (preset) {
    case 'deepfashion':
      return official(true);
    case 'market':
      return official(false);
    case 'small': {
      // Market's layout at a quarter of the width (about 4 M parameters in G), for CPU training.
      const c = official(false);
      c.preset = 'small';
      c.generator.encoderChannels = [16, 32, 64, 128, 128, 128];
      c.generator.decoderChannels = [128, 128, 128, 64, 32, 3];
      c.discriminator.dim = 16;
      c.schedule.stages = [{ name: 'main', epochs: 20, decayEpochs: 0 }];
      return c;
    }
    case 'synth': {
      // The shipped synthetic checkpoint (README): the small widths; the nearest-neighbour loss reads the fixed random
      // VGG's conv1_2 (weights "random"); 2200 iterations (1.6 s each) in the hour on one core.
      const c = defganDefaults('small');
      c.preset = 'synth';
      c.loss.vgg.weights = 'random';
      c.schedule = { unit: 'iterations', epochSize: 100, stages: [{ name: 'main', epochs: 22, decayEpochs: 0 }] };
      return c;
    }
    case 'tiny': {
      // Tests: 64x64 (the smallest size the 5-conv patch D still scores), a few thousand parameters per level.
      const c = official(false);
      c.preset = 'tiny';
      c.image = { height: 64, width: 64 };
      c.data.batchSize = 2;
      c.generator.encoderChannels = [8, 8, 16, 16, 16, 16];
      c.generator.decoderChannels = [16, 16, 16, 8, 8, 3];
      c.discriminator.dim = 8;
      c.loss.vgg.weights = 'random';
      c.optim.lr = 1e-3;
      c.schedule = { unit: 'iterations', epochSize: 4, stages: [{ name: 'main', epochs: 1, decayEpochs: 0 }] };
      return c;
    }
  }
}

export function validateDefGanConfig(cfg: DefGanConfig): void {
  const { encoderChannels, decoderChannels, deformableSkips } = cfg.generator;
  const L = encoderChannels.length;
  if (decoderChannels.length !== L) {
    throw new Error(`defgan: generator.decoderChannels has ${decoderChannels.length} entries, encoderChannels ${L}; they must match`);
  }
  if (decoderChannels[L - 1] !== 3) throw new Error('defgan: the last generator.decoderChannels entry is the output image and must be 3');
  const f = 2 ** (L - 1);
  const { height: h, width: w } = cfg.image;
  if (h % f !== 0 || w % f !== 0) throw new Error(`defgan: image ${h}x${w} must be divisible by 2^(levels-1) = ${f}`);
  if (deformableSkips < 0 || deformableSkips > L) throw new Error(`defgan: generator.deformableSkips ${deformableSkips} must be in [0, ${L}]`);
  if (!DEFGAN_VARIANTS.includes(cfg.variant)) throw new Error(`defgan: variant '${cfg.variant}' is not one of ${DEFGAN_VARIANTS.join(', ')}`);
  if (cfg.loss.nnSize < 1 || cfg.loss.nnSize % 2 !== 1) throw new Error(`defgan: loss.nnSize ${cfg.loss.nnSize} must be odd and >= 1`);
  validateSchedule(cfg.schedule, 'defgan');
}
