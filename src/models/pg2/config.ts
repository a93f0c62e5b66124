// PG2 (Ma et al., NIPS 2017) hyper-parameters. The official values come from the authors' TensorFlow code
// (charliememory/Pose-Guided-Person-Image-Generation: config.py, run_{market,DF}_train.sh, trainer.py,
// trainer256.py, models.py, models256.py).
import type { BaseModelConfig, Preset } from '../registry.js';

export interface Pg2Config extends BaseModelConfig {
  model: 'pg2';
  /** Image size (H, W): 128x64 for Market-1501, 256x256 for DeepFashion (the official PG2 data). */
  imageSize: [number, number];
  /** Pose channels (18, one per joint). */
  poseChannels: number;
  /**
   * G1's pose input: 'disks', the official solid disks of radius `poseRadius` around each joint (pose_sparse_r4),
   * drawn from keypointsB; or 'heatmaps', the batch's Gaussian heatmapB. Either is mapped to [-1,1] (x*2-1).
   */
  poseInput: 'disks' | 'heatmaps';
  poseRadius: number;
  /** n in the paper (`conv_hidden_num`): channels of the first level; level i has n*(i+1). */
  hidden: number;
  /** Width of G1's fully connected bottleneck (`z_num`). */
  zNum: number;
  /**
   * G1's levels (`repeat_num`): log2(H) - 2 officially, so the bottleneck map is 8 pixels high.
   * G2 has repeatNum - 2 levels.
   */
  repeatNum: number;
  /**
   * G2's skips: 'all' concatenates an encoder map at every decoder level (models256: UAE_noFC_AfterNoise);
   * 'skipFirst' leaves out the full-resolution level (models.py: UAE_noFC_After2Noise, used for 128x64).
   */
  g2Skips: 'all' | 'skipFirst';
  /** DCGAN discriminator: channels of its first conv (`DIM`) and number of stride-2 5x5 convs (4 at 128x64, 5 at 256). */
  dDim: number;
  dLayers: number;
  /** Weight of G2's L1 + pose-mask L1 against its adversarial term: 10 (Market), 50 (DeepFashion). */
  lambdaL1: number;
  /** Steps of stage 1 (G1 alone with L1 + pose-mask L1) before stage 2 (G2 and D adversarially). */
  stage1Steps: number;
  /** Total training steps (`max_step`). */
  maxSteps: number;
  batchSize: number;
  /** Adam for G1, G2 and D alike (the official 'dcgan' mode: lr 2e-5, beta1 0.5, TF's default beta2 0.999). */
  optim: { lr: number; beta1: number; beta2: number };
}

export function pg2Defaults(preset: Preset): Pg2Config {
  const common = { model: 'pg2' as const, preset, poseChannels: 18, poseInput: 'disks' as const, poseRadius: 4, hidden: 128, zNum: 64, dDim: 64, optim: { lr: 2e-5, beta1: 0.5, beta2: 0.999 } };
  switch (preset) {
    case 'deepfashion':
      return { ...common, imageSize: [256, 256], repeatNum: 6, g2Skips: 'all', dLayers: 5, lambdaL1: 50, stage1Steps: 22000, maxSteps: 80000, batchSize: 1 };
    case 'market':
      return { ...common, imageSize: [128, 64], repeatNum: 5, g2Skips: 'skipFirst', dLayers: 4, lambdaL1: 10, stage1Steps: 22000, maxSteps: 60000, batchSize: 16 };
    case 'small':
      // Market's layout at 128x64 with a quarter of the width: about 5 M parameters, trainable on a CPU.
      return { ...common, imageSize: [128, 64], hidden: 32, repeatNum: 5, g2Skips: 'skipFirst', dDim: 32, dLayers: 4, lambdaL1: 10, stage1Steps: 2000, maxSteps: 6000, batchSize: 4, optim: { lr: 1e-4, beta1: 0.5, beta2: 0.999 } };
    case 'tiny':
      // Tests: 64x32 images, 4 levels (bottleneck 8x4 as the official layout, G2 with 2 levels), ~60 k parameters.
      return { ...common, imageSize: [64, 32], hidden: 8, zNum: 16, repeatNum: 4, g2Skips: 'skipFirst', dDim: 8, dLayers: 3, lambdaL1: 10, stage1Steps: 4, maxSteps: 8, batchSize: 2, optim: { lr: 1e-3, beta1: 0.5, beta2: 0.999 } };
  }
}

/** Checks the sizes fit together: the encoder halves H and W (repeatNum - 1) times, the D dLayers times. */
export function validatePg2Config(cfg: Pg2Config): void {
  const [h, w] = cfg.imageSize;
  const f = 2 ** (cfg.repeatNum - 1);
  if (!(h % f === 0 && w % f === 0)) {
    throw new Error(`pg2: imageSize [${h},${w}] must be divisible by 2^(repeatNum-1) = ${f}; change imageSize or repeatNum`);
  }
  if (cfg.repeatNum < 3) throw new Error(`pg2: repeatNum ${cfg.repeatNum} < 3; G2 has repeatNum - 2 levels and needs at least 1`);
  const fd = 2 ** cfg.dLayers;
  if (!(h % fd === 0 && w % fd === 0)) {
    throw new Error(`pg2: imageSize [${h},${w}] must be divisible by 2^dLayers = ${fd}; change dLayers`);
  }
}
