// The config sections every family shares, so that a config file reads the same whatever the model:
//
//   { model, preset,
//     image:         the frame the model trains at,
//     data:          what the loader builds for it (batch size, flip, pose-map encoding),
//     generator:     the family's generator architecture,
//     discriminator: the family's discriminator(s),
//     loss:          the loss weights, with one `vgg` sub-section where a loss reads VGG19 features,
//     optim:         Adam for every network,
//     schedule:      how long, in the official code's own units, staged where the paper stages it }
//
// `generator`, `discriminator` and `loss` are the family's own types; the other sections are these.
import type { PoseEncoding } from '../pose/heatmaps.js';
import type { BaseModelConfig } from './registry.js';

/** The image size the model trains and generates at. */
export interface ImageSection {
  height: number;
  width: number;
}

/** What the loader builds for the model, beyond what the family itself declares (ModelFamily.batchNeeds). */
export interface DataSection {
  /** Pairs per training batch (the official --batchSize / batch_size). */
  batchSize: number;
  /** Random horizontal flips of both images with their keypoints (left/right joints swapped), probability 0.5. */
  flip: boolean;
  /** How the pose maps the model reads are drawn from the keypoints (see src/pose/heatmaps.ts poseMaps). */
  pose: PoseEncoding;
  /**
   * Data-parallel training only: batch norm layers normalise with the statistics of the combined batch over every rank
   * (PyTorch's SyncBatchNorm) instead of each rank's share. Off by default, as DDP leaves it.
   */
  syncBatchNorm: boolean;
  /** Random affine per image (GFLA's Market training); absent or null for none. */
  affine?: AffineSection | null;
}

/** Random affine augmentation: source images draw from the first ranges, target images from `target`'s. */
export interface AffineSection {
  /** Largest rotation in degrees, uniform in [-rotate, rotate]. */
  rotate: number;
  /** Largest shift in pixels on each axis. */
  shift: number;
  /** Scale range [min, max]. */
  scale: number[];
  target: { rotate: number; shift: number; scale: number[] };
}

/** VGG19 for the losses that compare VGG features: torchvision's weights file and the layers the losses read. */
export interface VggSection {
  /**
   * torchvision's vgg19 state dict (.pth), or "random": a fixed random feature network (He-normal weights from a fixed
   * seed; randomVgg19StateDict), the shippable substitute the `synth` presets train with.
   */
  weights: string;
  /** The feature taps the losses read, e.g. ['relu1_2']; the network is built up to the deepest. */
  layers: string[];
}

/** Adam, shared by every network of the model (all three families use one setting for G and D). */
export interface OptimSection {
  lr: number;
  beta1: number;
  beta2: number;
}

/**
 * What one epoch is in the official code:
 * - 'pairs': `epochSize` pairs drawn at random (PATN's dataset reports a length of 4000), so ceil(epochSize / batch)
 *   iterations;
 * - 'iterations': `epochSize` iterations (Deformable GAN: 1000 per epoch);
 * - 'steps': the official code counts single steps (PG2), so an epoch is one iteration and `epochSize` is 1.
 */
export type EpochUnit = 'pairs' | 'iterations' | 'steps';

/** One stage of training: which part of the model trains, and for how many epochs. */
export interface StageSection {
  /** The stage's name, which the model knows (PG2: 'G1', 'G2'; one-stage families: 'main'). */
  name: string;
  /** Epochs at the initial learning rate (PATN's --niter). */
  epochs: number;
  /** Then epochs of linear decay of the learning rate to zero (PATN's --niter_decay); 0 for a constant rate. */
  decayEpochs: number;
}

export interface ScheduleSection {
  unit: EpochUnit;
  epochSize: number;
  /** Run in order. */
  stages: StageSection[];
}

/** A config in the shared layout; each family narrows the `generator`, `discriminator` and `loss` sections. */
export interface FamilyConfig extends BaseModelConfig {
  image: ImageSection;
  data: DataSection;
  generator: object;
  discriminator: object;
  loss: object;
  optim: OptimSection;
  schedule: ScheduleSection;
}

/** Training iterations in one epoch of `schedule` at `batchSize` pairs per batch. */
export function iterationsPerEpoch(schedule: ScheduleSection, batchSize: number): number {
  switch (schedule.unit) {
    case 'pairs':
      return Math.ceil(schedule.epochSize / batchSize);
    case 'iterations':
      return schedule.epochSize;
    case 'steps':
      return 1;
    default:
      throw new Error(`schedule.unit '${String(schedule.unit)}' is not one of pairs, iterations, steps`);
  }
}

/** Epochs in the whole schedule (every stage's constant and decay epochs). */
export function totalEpochs(schedule: ScheduleSection): number {
  return schedule.stages.reduce((sum, s) => sum + s.epochs + s.decayEpochs, 0);
}

/** The stage that epoch `epoch` (0-based, counted over the whole schedule) falls in, and its first epoch. */
export function stageAt(schedule: ScheduleSection, epoch: number): { stage: StageSection; index: number; firstEpoch: number } {
  let first = 0;
  for (const [index, stage] of schedule.stages.entries()) {
    const len = stage.epochs + stage.decayEpochs;
    if (epoch < first + len || index === schedule.stages.length - 1) return { stage, index, firstEpoch: first };
    first += len;
  }
  throw new Error('schedule.stages is empty: give at least one stage');
}

/** Checks a schedule: a known unit, a positive epoch size, named stages with non-negative lengths. */
export function validateSchedule(schedule: ScheduleSection, family: string): void {
  if (!['pairs', 'iterations', 'steps'].includes(schedule.unit)) {
    throw new Error(`${family}: schedule.unit '${schedule.unit}' is not one of pairs, iterations, steps`);
  }
  if (!(Number.isInteger(schedule.epochSize) && schedule.epochSize >= 1)) {
    throw new Error(`${family}: schedule.epochSize must be a positive integer, got ${schedule.epochSize}`);
  }
  if (schedule.stages.length === 0) throw new Error(`${family}: schedule.stages is empty; give at least one stage`);
  const names = schedule.stages.map((s) => s.name);
  if (names.some((n) => typeof n !== 'string' || n === '') || new Set(names).size !== names.length) {
    throw new Error(`${family}: schedule.stages need distinct, non-empty names, got [${names.join(', ')}]`);
  }
  for (const [i, s] of schedule.stages.entries()) {
    if (!(Number.isInteger(s.epochs) && s.epochs >= 0 && Number.isInteger(s.decayEpochs) && s.decayEpochs >= 0)) {
      throw new Error(`${family}: schedule.stages[${i}] ('${s.name}') needs whole, non-negative epochs and decayEpochs`);
    }
  }
}
