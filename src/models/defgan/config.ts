// Deformable GAN (Siarohin et al., CVPR 2018) hyper-parameters, from the official Keras code
// (AliaksandrSiarohin/pose-gan: cmd.py defaults, conditional_gan.py, and the README's per-experiment commands).
import { DEFAULT_VGG19_PATH } from '../layers/vgg.js';
import type { BaseModelConfig, Preset } from '../registry.js';
import type { WarpMode } from './deformable.js';

/**
 * The paper's ablation (Table 1):
 * - 'baseline': one U-Net stream on concat(source image, source pose, target pose), plain skips, L1;
 * - 'dsc': two encoders with deformable skip connections, L1;
 * - 'full': deformable skips and the nearest-neighbour loss on VGG19 conv1_2 features.
 */
export type DefGanVariant = 'baseline' | 'dsc' | 'full';

export interface DefGanConfig extends BaseModelConfig {
  model: 'defgan';
  variant: DefGanVariant;
  /** (H, W): 128x64 for Market-1501, 256x256 for DeepFashion (the official data). */
  imageSize: [number, number];
  poseChannels: number;
  /** Encoder widths per level (the first is a 3x3 conv at full resolution; each later one halves the size). */
  encoderChannels: number[];
  /** Decoder widths per level, deepest first; the last is the output's 3 channels. Same length as encoderChannels. */
  decoderChannels: number[];
  /** How many of the highest-resolution skips are deformable (the official code warps the first 4). */
  deformableSkips: number;
  /** Sampling of the part warps: the official tf.contrib.image.transform samples nearest (its default). */
  warpMode: WarpMode;
  /** Conditional D's first width; it then has 2x, 4x, 8x and a 1-channel patch output. */
  dDim: number;
  /** Weights: adversarial term, pixel L1 ('baseline', 'dsc'), nearest-neighbour loss ('full'). */
  ganWeight: number;
  l1Weight: number;
  nnWeight: number;
  /** The nearest-neighbour loss's neighbourhood, n x n: 5 for DeepFashion, 3 for Market. */
  nnSize: number;
  /**
   * The VGG19 layer it compares: Keras's `block1_conv2` output, which is after its ReLU, i.e. torchvision's
   * relu1_2 (features.3).
   */
  nnLayer: string;
  /** torchvision's vgg19 ImageNet weights (.pth); only the 'full' variant needs them. "random": random weights (tests). */
  vggWeights: string;
  batchSize: number;
  epochs: number;
  /** Adam for G and D (lr 2e-4, betas 0.5, 0.999). */
  optim: { lr: number; beta1: number; beta2: number };
}

export function defganDefaults(preset: Preset): DefGanConfig {
  const common = {
    model: 'defgan' as const, preset, variant: 'full' as DefGanVariant, poseChannels: 18, deformableSkips: 4, warpMode: 'nearest' as WarpMode,
    dDim: 64, ganWeight: 1, l1Weight: 100, nnWeight: 0.01, nnLayer: 'relu1_2', vggWeights: DEFAULT_VGG19_PATH, epochs: 90,
    optim: { lr: 2e-4, beta1: 0.5, beta2: 0.999 },
  };
  switch (preset) {
    case 'deepfashion':
      return {
        ...common, imageSize: [256, 256], encoderChannels: [64, 128, 256, 512, 512, 512, 512],
        decoderChannels: [512, 512, 512, 512, 256, 128, 3], nnSize: 5, batchSize: 2,
      };
    case 'market':
      return {
        ...common, imageSize: [128, 64], encoderChannels: [64, 128, 256, 512, 512, 512],
        decoderChannels: [512, 512, 512, 256, 128, 3], nnSize: 3, batchSize: 4,
      };
    case 'small':
      // Market's layout at a quarter of the width (about 4 M parameters in G), for CPU training.
      return {
        ...common, imageSize: [128, 64], encoderChannels: [16, 32, 64, 128, 128, 128],
        decoderChannels: [128, 128, 128, 64, 32, 3], nnSize: 3, dDim: 16, batchSize: 4, epochs: 20,
      };
    case 'tiny':
      // Tests: 64x64 (the smallest size the 5-conv patch D still scores), a few thousand parameters per level.
      return {
        ...common, imageSize: [64, 64], encoderChannels: [8, 8, 16, 16, 16, 16],
        decoderChannels: [16, 16, 16, 8, 8, 3], nnSize: 3, dDim: 8, batchSize: 2, epochs: 1, vggWeights: 'random',
        optim: { lr: 1e-3, beta1: 0.5, beta2: 0.999 },
      };
  }
}

export function validateDefGanConfig(cfg: DefGanConfig): void {
  const L = cfg.encoderChannels.length;
  if (cfg.decoderChannels.length !== L) {
    throw new Error(`defgan: decoderChannels has ${cfg.decoderChannels.length} entries, encoderChannels ${L}; they must match`);
  }
  if (cfg.decoderChannels[L - 1] !== 3) throw new Error('defgan: the last decoderChannels entry is the output image and must be 3');
  const f = 2 ** (L - 1);
  const [h, w] = cfg.imageSize;
  if (h % f !== 0 || w % f !== 0) throw new Error(`defgan: imageSize [${h},${w}] must be divisible by 2^(levels-1) = ${f}`);
  if (cfg.deformableSkips < 0 || cfg.deformableSkips > L) throw new Error(`defgan: deformableSkips ${cfg.deformableSkips} must be in [0, ${L}]`);
  if (!['baseline', 'dsc', 'full'].includes(cfg.variant)) throw new Error(`defgan: variant '${cfg.variant}' is not one of baseline, dsc, full`);
  if (cfg.nnSize < 1 || cfg.nnSize % 2 !== 1) throw new Error(`defgan: nnSize ${cfg.nnSize} must be odd and >= 1`);
}
