// PG2 (Ma et al., NIPS 2017) hyper-parameters. The official values come from the authors' TensorFlow code
// (charliememory/Pose-Guided-Person-Image-Generation: config.py, run_{market,DF}_train.sh, trainer.py,
// trainer256.py, models.py, models256.py).
import type { Preset } from '../registry.js';
import { iterationsPerEpoch, validateSchedule, type FamilyConfig } from '../sections.js';

export interface Pg2Config extends FamilyConfig {
  model: 'pg2';
  generator: {
    /** Pose channels (18, one per joint). G1 reads the target's pose maps mapped to [-1,1] (maps * 2 - 1). */
    poseChannels: number;
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
  };
  discriminator: {
    /** DCGAN discriminator: channels of its first conv (`DIM`). */
    dim: number;
    /** Stride-2 5x5 convs: 4 at 128x64, 5 at 256x256. */
    layers: number;
    /**
     * Whether G1's output is in D's batch. Market's trainer.py feeds D [target, source, G1, G2] and
     * DeepFashion's trainer256.py [target, G2, source]; G1 is never scored, but D's batch norm takes its statistics
     * over the whole batch, so it changes every logit.
     */
    seesG1: boolean;
  };
  loss: {
    /** Weight of G2's L1 + pose-mask L1 against its adversarial term: 10 (Market), 50 (DeepFashion). */
    lambdaL1: number;
  };
}

export function pg2Defaults(preset: Preset): Pg2Config {
  // Adam for G1, G2 and D alike (the official 'dcgan' mode: lr 2e-5, beta1 0.5, TF's default beta2 0.999).
  // The official trainer counts steps: G1 alone for the first 22000, then G2 and D until max_step.
  const official = (fashion: boolean): Pg2Config => ({
    model: 'pg2',
    preset: fashion ? 'deepfashion' : 'market',
    image: fashion ? { height: 256, width: 256 } : { height: 128, width: 64 },
    data: { batchSize: fashion ? 1 : 16, flip: false, syncBatchNorm: false, pose: { kind: 'disks', radius: 4 } },
    generator: { poseChannels: 18, hidden: 128, zNum: 64, repeatNum: fashion ? 6 : 5, g2Skips: fashion ? 'all' : 'skipFirst' },
    discriminator: { dim: 64, layers: fashion ? 5 : 4, seesG1: !fashion },
    loss: { lambdaL1: fashion ? 50 : 10 },
    optim: { lr: 2e-5, beta1: 0.5, beta2: 0.999 },
    schedule: {
      unit: 'steps',
      epochSize: 1,
      stages: [{ name: 'G1', epochs: 22000, decayEpochs: 0 }, { name: 'G2', epochs: fashion ? 58000 : 38000, decayEpochs: 0 }],
    },
  });
  switch (preset) {
    case 'deepfashion':
      return official(true);
    case 'market':
      return official(false);
    case 'small': {
      // Market's layout at 128x64 with a quarter of the width: about 5 M parameters, trainable on a CPU.
      const c = official(false);
      c.preset = 'small';
      c.data.batchSize = 4;
      c.generator.hidden = 32;
      c.discriminator.dim = 32;
      c.optim.lr = 1e-4;
      c.schedule.stages = [{ name: 'G1', epochs: 2000, decayEpochs: 0 }, { name: 'G2', epochs: 4000, decayEpochs: 0 }];
      return c;
    }
    case 'synth': {
      // The shipped synthetic checkpoint (README): Market's layout at an eighth of the width; G1, then G2, 2200
      // iterations (1.6 s each) in the hour on one core.
      const c = pg2Defaults('small');
      c.preset = 'synth';
      c.data.batchSize = 8;
      c.generator.hidden = 16;
      c.discriminator.dim = 16;
      c.schedule = { unit: 'iterations', epochSize: 100, stages: [{ name: 'G1', epochs: 12, decayEpochs: 0 }, { name: 'G2', epochs: 10, decayEpochs: 0 }] };
      return c;
    }
    case 'tiny': {
      // Tests: 64x32 images, 4 levels (bottleneck 8x4 as the official layout, G2 with 2 levels), ~60 k parameters.
      const c = official(false);
      c.preset = 'tiny';
      c.image = { height: 64, width: 32 };
      c.data.batchSize = 2;
      c.generator = { ...c.generator, hidden: 8, zNum: 16, repeatNum: 4 };
      c.discriminator = { ...c.discriminator, dim: 8, layers: 3 };
      c.optim.lr = 1e-3;
      c.schedule.stages = [{ name: 'G1', epochs: 4, decayEpochs: 0 }, { name: 'G2', epochs: 4, decayEpochs: 0 }];
      return c;
    }
  }
}

/** Steps of stage 1 (G1 alone); the model switches to G2 after them. */
export function pg2Stage1Steps(cfg: Pg2Config): number {
  const g1 = cfg.schedule.stages[0];
  if (cfg.schedule.stages.length !== 2 || g1?.name !== 'G1' || cfg.schedule.stages[1]?.name !== 'G2') {
    throw new Error(`pg2: schedule.stages must be [G1, G2], got [${cfg.schedule.stages.map((s) => s.name).join(', ')}]`);
  }
  return (g1.epochs + g1.decayEpochs) * iterationsPerEpoch(cfg.schedule, cfg.data.batchSize);
}

/** Checks the sizes fit together: the encoder halves H and W (repeatNum - 1) times, the D `layers` times. */
export function validatePg2Config(cfg: Pg2Config): void {
  const { height: h, width: w } = cfg.image;
  const { repeatNum } = cfg.generator;
  const f = 2 ** (repeatNum - 1);
  if (!(h % f === 0 && w % f === 0)) {
    throw new Error(`pg2: image ${h}x${w} must be divisible by 2^(generator.repeatNum-1) = ${f}; change the image size or repeatNum`);
  }
  if (repeatNum < 3) throw new Error(`pg2: generator.repeatNum ${repeatNum} < 3; G2 has repeatNum - 2 levels and needs at least 1`);
  const fd = 2 ** cfg.discriminator.layers;
  if (!(h % fd === 0 && w % fd === 0)) {
    throw new Error(`pg2: image ${h}x${w} must be divisible by 2^discriminator.layers = ${fd}; change discriminator.layers`);
  }
  validateSchedule(cfg.schedule, 'pg2');
}
