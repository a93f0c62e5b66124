// PATN's typed defaults per preset. The deepfashion and market presets carry the official hyper-parameters: the
// options' defaults (options/base_options.py, options/train_options.py) overridden by the released command lines
// (scripts/train_star.sh: DeepFashion `--norm instance --batchSize 7 --pool_size 0 --lambda_A 1 --lambda_B 1`, LSGAN;
// Market `--norm batch --batchSize 32 --no_lsgan --lambda_A 10 --lambda_B 10`, pool 50; both `--lambda_GAN 5
// --niter 500 --niter_decay 200 --L1_type l1_plus_perL1 --n_layers_D 3`, dropout on in G and D).
import type { BaseModelConfig, Preset } from '../registry.js';

export type NormKind = 'instance' | 'batch';
export type GanLossKind = 'lsgan' | 'bce';

export interface PATNConfig extends BaseModelConfig {
  /** The image size the model trains at; H and W must be divisible by 2^nDownsampling. */
  image: { height: number; width: number };
  generator: {
    /** Channels of the first conv (official --ngf 64); doubled at each downsampling. */
    ngf: number;
    /** Pose-Attentional Transfer Blocks (official: 9). */
    nBlocks: number;
    /** Stride-2 convs per encoder stream (official --G_n_downsampling 2). */
    nDownsampling: number;
    norm: NormKind;
    /** Dropout(0.5) after the first ReLU of each block stream (official: on, no --no_dropout). */
    dropout: boolean;
    /** Image channels (official --P_input_nc 3). */
    imageChannels: number;
    /** Pose heatmap channels per pose (official --BP_input_nc 18); the pose stream sees source + target. */
    poseChannels: number;
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
  };
  loss: {
    /** 'lsgan' (MSE) or 'bce' (official --no_lsgan). */
    gan: GanLossKind;
    /** Weight of the GAN terms (official --lambda_GAN 5). */
    lambdaGAN: number;
    /** Weight of pixel L1 (official --lambda_A). */
    lambdaL1: number;
    /** Weight of the perceptual term (official --lambda_B). */
    lambdaPerceptual: number;
    /** VGG19 layer of the perceptual term: relu1_2 (official --perceptual_layers 3: features[0..3]). */
    perceptualLayer: string;
    /** L1 (official --percep_is_l1 1) or MSE on the VGG features. */
    perceptualL1: boolean;
    /**
     * torchvision's vgg19 state dict (.pth). The special value "random" uses randomly initialised VGG weights
     * (tests only: the perceptual term is then meaningless).
     */
    vggWeights: string;
  };
  train: {
    batchSize: number;
    /** Adam for G and both Ds (official --lr 0.0002, --beta1 0.5, beta2 0.999). */
    lr: number;
    beta1: number;
    beta2: number;
    /** Epochs at the initial learning rate (official --niter), then epochs of linear decay to 0 (--niter_decay). */
    niter: number;
    niterDecay: number;
    /** History of generated images the discriminators also see (official --pool_size); 0 disables it. */
    poolSize: number;
    /** D updates per G update (official --DG_ratio 1). */
    dgRatio: number;
    /** Std of the N(0, std) init of G's conv weights (official --init_type normal: 0.02). */
    initStd: number;
    /** Horizontal flip augmentation (official --no_flip: off). */
    flip: boolean;
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
      generator: { ngf: 64, nBlocks: 9, nDownsampling: 2, norm, dropout: true, imageChannels: 3, poseChannels: 18 },
      discriminator: { ndf: 64, nBlocks: 3, nDownsampling: 2, norm, dropout: true, shape: true, appearance: true },
      loss: {
        gan: fashion ? 'lsgan' : 'bce',
        lambdaGAN: 5,
        lambdaL1: fashion ? 1 : 10,
        lambdaPerceptual: fashion ? 1 : 10,
        perceptualLayer: 'relu1_2',
        perceptualL1: true,
        vggWeights: 'weights/vgg19-dcbb9e9d.pth',
      },
      train: {
        batchSize: fashion ? 7 : 32,
        lr: 2e-4,
        beta1: 0.5,
        beta2: 0.999,
        niter: 500,
        niterDecay: 200,
        poolSize: fashion ? 0 : 50,
        dgRatio: 1,
        initStd: 0.02,
        flip: false,
      },
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
      c.generator = { ...c.generator, ngf: 32, nBlocks: 5 };
      c.discriminator = { ...c.discriminator, ndf: 32, nBlocks: 2 };
      c.train = { ...c.train, batchSize: 8, niter: 50, niterDecay: 50 };
      return c;
    }
    case 'tiny': {
      // For tests: a few thousand parameters, 32x16 images, random VGG weights.
      const c = official('market');
      c.preset = 'tiny';
      c.image = { height: 32, width: 16 };
      c.generator = { ...c.generator, ngf: 8, nBlocks: 2 };
      c.discriminator = { ...c.discriminator, ndf: 8, nBlocks: 1 };
      c.loss = { ...c.loss, vggWeights: 'random' };
      c.train = { ...c.train, batchSize: 2, niter: 2, niterDecay: 2, poolSize: 4 };
      return c;
    }
    default:
      throw new Error(`patn: unknown preset '${String(preset)}'`);
  }
}
