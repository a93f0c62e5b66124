// PATN's typed defaults per preset. The deepfashion and market presets carry the official hyper-parameters: the
// options' defaults (options/base_options.py, options/train_options.py) overridden by the released command lines
// (scripts/train_star.sh: DeepFashion `--norm instance --batchSize 7 --pool_size 0 --lambda_A 1 --lambda_B 1`, LSGAN;
// Market `--norm batch --batchSize 32 --no_lsgan --lambda_A 10 --lambda_B 10`, pool 50; both `--lambda_GAN 5
// --niter 500 --niter_decay 200 --L1_type l1_plus_perL1 --n_layers_D 3`, dropout on in G and D).
import type { Preset } from '../registry.js';
import type { FamilyConfig, VggSection } from '../sections.js';
import { DEFAULT_VGG19_WEIGHTS } from '../layers/vgg.js';

export type NormKind = 'instance' | 'batch';
export type GanLossKind = 'lsgan' | 'bce';

export interface PATNConfig extends FamilyConfig {
  model: 'patn';
  generator: {
    /** Channels of the first conv (official --ngf 64); doubled at each downsampling. */
    ngf: number;
    /** Pose-Attentional Transfer Blocks (official: 9). */
    nBlocks: number;
    /** Stride-2 convs per encoder stream (official --G_n_downsampling 2). H and W must be divisible by 2^this. */
    nDownsampling: number;
    norm: NormKind;
    /** Dropout(0.5) after the first ReLU of each block stream (official: on, no --no_dropout). */
    dropout: boolean;
    /** Image channels (official --P_input_nc 3). */
    imageChannels: number;
    /** Pose map channels per pose (official --BP_input_nc 18); the pose stream sees source + target. */
    poseChannels: number;
    /** Std of the N(0, std) init of G's conv weights (official --init_type normal: 0.02). */
    initStd: number;
  };
  discriminator: {
    /** Official --ndf 64. */
    ndf: number;
    /** Residual blocks (official --n_layers_D 3). */
    nBlocks: number;
    nDownsampling: number;
    norm: NormKind;
    /** Dropout in the residual blocks (official: on, no --no_dropout_D). */
    dropout: boolean;
    /** The shape discriminator D_PB on (image, target pose) (official --with_D_PB 1). */
    shape: boolean;
    /** The appearance discriminator D_PP on (image, source image) (official --with_D_PP 1). */
    appearance: boolean;
    /** History of generated images the discriminators also see (official --pool_size); 0 disables it. */
    poolSize: number;
    /** D updates per G update (official --DG_ratio 1). */
    dgRatio: number;
  };
  loss: {
    /** 'lsgan' (MSE) or 'bce' (official --no_lsgan). */
    gan: GanLossKind;
    /** Weight of the GAN terms (official --lambda_GAN 5). */
    lambdaGAN: number;
    /** Weight of pixel L1 (official --lambda_A). */
    lambdaL1: number;
    /** Weight of the perceptual term (official --lambda_B); 0 drops it and VGG19 is not loaded. */
    lambdaPerceptual: number;
    /** L1 (official --percep_is_l1 1) or MSE on the VGG features. */
    perceptualL1: boolean;
    /** The perceptual term reads vgg.layers[0]: relu1_2 officially (--perceptual_layers 3: features[0..3]). */
    vgg: VggSection;
  };
}

/** The official figures and the two CPU-sized presets. Every key here is a key a config file may set. */
export function patnDefaults(preset: Preset): PATNConfig {
  const official = (dataset: 'deepfashion' | 'market'): PATNConfig => {
    const fashion = dataset === 'deepfashion';
    const norm: NormKind = fashion ? 'instance' : 'batch';
    return {
      model: 'patn',
      preset: dataset,
      image: fashion ? { height: 256, width: 176 } : { height: 128, width: 64 },
      // DeepFashion's official pose maps were stored as uint8 (only each joint's pixel survives); Market's as
      // float Gaussians of sigma 6 (tool/generate_pose_map_{fashion,market}.py).
      data: { batchSize: fashion ? 7 : 32, flip: false, syncBatchNorm: false, pose: fashion ? { kind: 'peak' } : { kind: 'gaussian', sigma: 6 } },
      generator: { ngf: 64, nBlocks: 9, nDownsampling: 2, norm, dropout: true, imageChannels: 3, poseChannels: 18, initStd: 0.02 },
      discriminator: { ndf: 64, nBlocks: 3, nDownsampling: 2, norm, dropout: true, shape: true, appearance: true, poolSize: fashion ? 0 : 50, dgRatio: 1 },
      loss: {
        gan: fashion ? 'lsgan' : 'bce',
        lambdaGAN: 5,
        lambdaL1: fashion ? 1 : 10,
        lambdaPerceptual: fashion ? 1 : 10,
        perceptualL1: true,
        vgg: { weights: DEFAULT_VGG19_WEIGHTS, layers: ['relu1_2'] },
      },
      // Adam for G and both Ds (official --lr 0.0002, --beta1 0.5, beta2 0.999).
      optim: { lr: 2e-4, beta1: 0.5, beta2: 0.999 },
      // The official dataset reports a length of 4000 and draws each pair at random, so an epoch is 4000 pairs;
      // --niter 500 epochs at the initial rate, then --niter_decay 200 of linear decay to zero.
      schedule: { unit: 'pairs', epochSize: 4000, stages: [{ name: 'main', epochs: 500, decayEpochs: 200 }] },
    };
  };
  switch (preset) {
    case 'deepfashion':
    case 'market':
      return official(preset);
    case 'small': {
      // Market's recipe at half the width and about half the depth (5.7 M generator parameters, about 45 GFLOP per
      // training image at 128x64): trainable on a 2-core CPU on the synthetic world or a subset of Market.
      const c = official('market');
      c.preset = 'small';
      c.data.batchSize = 8;
      c.generator = { ...c.generator, ngf: 32, nBlocks: 5 };
      c.discriminator = { ...c.discriminator, ndf: 32, nBlocks: 2 };
      c.schedule.stages = [{ name: 'main', epochs: 50, decayEpochs: 50 }];
      return c;
    }
    case 'synth': {
      // The shipped synthetic checkpoint (README): Market's recipe narrowed to ngf 16 and 4 blocks so that 900
      // iterations (4 s each) fit in the hour on one core; perceptual L1 on the fixed random VGG (weights "random").
      const c = patnDefaults('small');
      c.preset = 'synth';
      c.generator = { ...c.generator, ngf: 16, nBlocks: 4 };
      c.discriminator = { ...c.discriminator, ndf: 16, nBlocks: 1 };
      c.loss.vgg.weights = 'random';
      c.schedule = { unit: 'iterations', epochSize: 100, stages: [{ name: 'main', epochs: 6, decayEpochs: 3 }] };
      return c;
    }
    case 'tiny': {
      // For tests: a few thousand parameters, 32x16 images, random VGG weights.
      const c = official('market');
      c.preset = 'tiny';
      c.image = { height: 32, width: 16 };
      c.data.batchSize = 2;
      c.generator = { ...c.generator, ngf: 8, nBlocks: 2 };
      c.discriminator = { ...c.discriminator, ndf: 8, nBlocks: 1, poolSize: 4 };
      c.loss.vgg.weights = 'random';
      c.schedule = { unit: 'pairs', epochSize: 8, stages: [{ name: 'main', epochs: 2, decayEpochs: 2 }] };
      return c;
    }
    default:
      throw new Error(`patn: unknown preset '${String(preset)}'`);
  }
}
