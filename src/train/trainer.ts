// The trainer: one loop for every family, running its official schedule in the official code's own units, staged
// where the paper stages it (the stages are data in the config; the model knows what each trains). It writes the run
// directory (docs/run-dir.md): config.json, log.jsonl, samples/, checkpoints/, which `reposer report` reads.
//
// Exact resume: a checkpoint holds every module and optimiser, the model's training state (image pools, schedules),
// libtorch's generator state, the loader's position and the step. The loader's batches depend only on
// (seed, epoch, index), so a run resumed from step k draws the same batches, dropout masks and pool choices as an
// uninterrupted one: on CPU with the same thread count the weights are bitwise equal.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../torch/index.js';
import { openDataset, PairLoader, type Dataset, type LoaderBatch } from '../data/index.js';
import { loadResolvedConfig, saveResolvedConfig, type Json } from '../models/config.js';
import {
  getModel, loaderOptions, resolveModelConfig, type ModelFamily, type Preset, type TrainableModel,
} from '../models/registry.js';
import { iterationsPerEpoch, stageAt, totalEpochs, type FamilyConfig } from '../models/sections.js';
import '../models/index.js';
import { listCheckpoints, loadCheckpoint, saveCheckpoint, type LoaderPosition } from './checkpoint.js';
import { writeSampleGrid } from './samples.js';
import { runAt, type Precision } from './precision.js';
import { RankGroup, rngKey, synchroniseBatchNorm, type DataParallelOptions } from './distributed.js';
import { deriveSeed } from '../random.js';

export interface TrainOptions {
  /** The dataset folder (any layout `openDataset` reads); its train split trains, its test split (if any) gives samples. */
  data: string;
  /** The run directory. */
  out: string;
  /** Family name; with `preset`, `configFile` and `sets` it resolves the config (not with `resume`). */
  model?: string;
  preset?: Preset;
  configFile?: string;
  sets?: readonly string[];
  /** Stop after this many iterations in all (a cap on the schedule's length). */
  steps?: number;
  /** Seeds initialisation, dropout, sampling and the loader's shuffles and augmentation. Default 0. */
  seed?: number;
  /** Checkpoint interval in iterations (also at the end and when stopped). Default 1000. */
  saveEvery?: number;
  /** Checkpoints kept. Default 3. */
  keep?: number;
  /** Log interval in iterations. Default 10. */
  logEvery?: number;
  /** Sample-grid interval in iterations; 0 for none. Default saveEvery. */
  sampleEvery?: number;
  /** Continue from the newest checkpoint in `out`; its config.json is the config. */
  resume?: boolean;
  /** Loader worker threads. Default 1. */
  workers?: number;
  /**
   * 'bf16' runs each step under CPU autocast (bfloat16 convolutions and matrix products; master weights, optimiser
   * state and losses stay fp32). On a CPU without native bf16 it says so once, through `notice`, and runs fp32.
   */
  precision?: Precision;
  /** Messages for the user (the CLI prints them). */
  notice?: (line: string) => void;
  /** Aborting it checkpoints and returns (SIGINT/SIGTERM in the CLI). */
  signal?: AbortSignal;
  /** Called after every iteration. */
  onStep?: (progress: StepProgress) => void;
  /**
   * This process is one rank of a data-parallel run (src/train/distributed.ts): it trains on its share of every
   * batch (the config's data.batchSize is the combined batch, split evenly), and only rank 0 writes the run directory.
   */
  distributed?: DataParallelOptions;
}

export interface StepProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  stage: string;
  losses: Record<string, number>;
  /** Milliseconds waiting for the batch, and training on it. */
  dataMs: number;
  stepMs: number;
  imagesPerSec: number;
}

export interface TrainResult {
  runDir: string;
  step: number;
  totalSteps: number;
  /** 'done': the schedule (or --steps) is complete; 'stopped': the signal was aborted. */
  reason: 'done' | 'stopped';
  checkpoint: string;
}

/** A training run that stopped on a non-finite loss or another error, with the step and the last good checkpoint. */
export class TrainingError extends Error {
  override name = 'TrainingError';
  constructor(message: string, readonly step: number, readonly checkpoint: string | null) {
    super(message);
  }
}

function positiveInt(v: number | undefined, fallback: number, what: string, allowZero = false): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new Error(`train: ${what} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${v}`);
  return n;
}

/** The config of a new run (resolved from the options) or of a resumed one (its saved config.json). */
function runConfig(o: TrainOptions, runDir: string, resuming: boolean): { family: ModelFamily; cfg: FamilyConfig } {
  if (resuming) {
    if (o.model !== undefined || o.preset !== undefined || o.configFile !== undefined || (o.sets?.length ?? 0) > 0) {
      throw new Error(`train: --resume continues with ${join(runDir, 'config.json')}; drop --model/--preset/--config/--set (or start a new --out)`);
    }
    const saved = loadResolvedConfig(runDir);
    const family = getModel(String(saved.model));
    return { family, cfg: resolveModelConfig({ model: family.name, preset: saved.preset as Preset, file: join(runDir, 'config.json') }) };
  }
  const cfg = resolveModelConfig({ model: o.model, preset: o.preset, file: o.configFile, sets: o.sets });
  return { family: getModel(cfg.model), cfg };
}

function disposeBatch(b: LoaderBatch): void {
  torch.dispose(Object.values(b));
}

/** The first batch of the test split (or of the training data) at the sample size, for sample grids over time. */
async function sampleBatch(data: string, train: Dataset, family: ModelFamily, cfg: FamilyConfig, seed: number): Promise<LoaderBatch> {
  let ds = train;
  try {
    ds = await openDataset(data, { split: 'test' });
  } catch (err) {
    // Only a missing test split falls back to the training pairs; a broken one is the user's to know about.
    if (!/no annotation CSV for split 'test'/.test((err as Error).message)) throw err;
  }
  const loader = new PairLoader(ds, { ...loaderOptions(family, cfg, { seed, workers: 0, shuffle: false }), batchSize: Math.min(4, cfg.data.batchSize), augment: null });
  try {
    for await (const b of loader.batches(0)) return b;
    throw new Error(`train: ${data} has no pairs for samples`);
  } finally {
    await loader.close();
  }
}

/** A killed run can leave half a line at the end of the log; a resumed run cuts it before appending. */
function cutTornLogLine(path: string): void {
  if (!existsSync(path)) return;
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
}

/** Learning rates of the model's optimisers by name (those that expose one). */
function learningRates(model: TrainableModel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, o] of model.optimizers()) {
    const lr = (o as { lr?: unknown }).lr;
    if (typeof lr === 'number') out[name] = lr;
  }
  return out;
}

/**
 * Trains a model on a dataset into a run directory, or resumes one. Returns when the schedule (or `steps`) is done or
 * the signal is aborted, after writing a checkpoint. A non-finite loss throws a TrainingError naming the loss and the
 * step; the last good checkpoint is kept.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const runDir = resolve(o.out);
  const seed = positiveInt(o.seed, 0, '--seed', true);
  const saveEvery = positiveInt(o.saveEvery, 1000, '--save-every');
  const keep = positiveInt(o.keep, 3, 'keep');
  const logEvery = positiveInt(o.logEvery, 10, 'logEvery');
  const sampleEvery = positiveInt(o.sampleEvery, saveEvery, 'sampleEvery', true);
  const existing = listCheckpoints(runDir);
  if (o.resume && existing.length === 0) throw new Error(`train: --resume given but ${runDir} has no checkpoints; drop --resume to start a run there`);
  if (!o.resume && existing.length > 0) {
    throw new Error(`train: ${runDir} already holds a run (${existing.length} checkpoints); pass --resume to continue it, or choose another --out`);
  }
  const { family, cfg } = runConfig(o, runDir, o.resume === true);
  const worldSize = o.distributed?.worldSize ?? 1;
  if (cfg.data.batchSize % worldSize !== 0) {
    throw new Error(`train: data.batchSize ${cfg.data.batchSize} is the combined batch and must split evenly over ${worldSize} ranks; set data.batchSize to a multiple of ${worldSize}`);
  }
  const train = await openDataset(o.data, { split: 'train' });
  if (train.frame[0] !== cfg.image.height || train.frame[1] !== cfg.image.width) {
    throw new Error(`train: ${o.data} holds ${train.frame[0]}x${train.frame[1]} images but the config's image is ${cfg.image.height}x${cfg.image.width}; ` +
      `set image.height/image.width (and a preset that fits) or use data of that size`);
  }
  const perEpoch = iterationsPerEpoch(cfg.schedule, cfg.data.batchSize);
  const scheduled = totalEpochs(cfg.schedule) * perEpoch;
  const totalSteps = o.steps === undefined ? scheduled : Math.min(positiveInt(o.steps, 1, '--steps'), scheduled);

  const group = o.distributed ? new RankGroup(o.distributed) : null;
  const leader = group === null || group.isLeader;
  if (leader) mkdirSync(join(runDir, 'samples'), { recursive: true });
  torch.manualSeed(seed);
  const model = family.create(cfg);
  // Every rank initialises as rank 0 does; the others then draw their own dropout masks and samples.
  if (group && !leader) torch.manualSeed(deriveSeed(seed, group.rank));
  let step = 0;
  let position: LoaderPosition = { epoch: 0, index: 0 };
  // Held in an object: checkpoint() below updates it, and TypeScript does not follow assignments in closures.
  const saved: { last: string | null } = { last: null };
  if (o.resume) {
    const [, dir] = existing[existing.length - 1] as [number, string];
    const state = loadCheckpoint(dir, model, rngKey(group?.rank ?? 0));
    if (state.seed !== seed) {
      model.dispose();
      throw new Error(`train: the run was started with --seed ${state.seed}; resume it with the same seed (got ${seed})`);
    }
    if ((state.worldSize ?? 1) !== worldSize) {
      model.dispose();
      throw new Error(`train: the run was trained by ${state.worldSize ?? 1} data-parallel processes; resume it with the same number (got ${worldSize})`);
    }
    step = state.step;
    position = state.loader;
    saved.last = dir;
    if (leader) cutTornLogLine(join(runDir, 'log.jsonl'));
  } else if (leader) {
    saveResolvedConfig(runDir, cfg);
  }
  if (group) group.attach(model, cfg.data.syncBatchNorm);
  else if (cfg.data.syncBatchNorm) synchroniseBatchNorm(model, (t) => t.clone());
  const runStep = runAt(o.precision ?? 'fp32', 'train', o.notice ?? ((line) => console.warn(line)));
  const loader = new PairLoader(train, {
    ...loaderOptions(family, cfg, { seed, workers: o.workers ?? 1 }),
    ...(group ? { batchSize: cfg.data.batchSize / worldSize, shard: { rank: group.rank, count: worldSize } } : {}),
  });
  const samples = sampleEvery > 0 && leader ? await sampleBatch(o.data, train, family, cfg, seed) : null;
  const checkpoint = (): void => {
    const state = { step, loader: position, seed, ...(group ? { worldSize } : {}), config: cfg as unknown as Json };
    const rng = group ? group.gatherRngStates() : undefined;
    try {
      if (leader) saved.last = saveCheckpoint(runDir, model, state, keep, rng ?? undefined);
      else saved.last = join(runDir, 'checkpoints', `step-${String(step).padStart(8, '0')}`);
    } finally {
      if (rng) torch.dispose([...rng.values()]);
    }
  };
  const log = (entry: Record<string, unknown>): void => {
    if (leader) appendFileSync(join(runDir, 'log.jsonl'), `${JSON.stringify(entry)}\n`);
  };
  let reason: TrainResult['reason'] = 'done';
  try {
    if (step < totalSteps) {
      let waitStart = performance.now();
      for await (const { epoch, index, batch } of loader.stream(position.epoch, position.index)) {
        const started = performance.now();
        const dataMs = started - waitStart;
        let losses: Record<string, number>;
        const modelStage = model.stageName?.();
        try {
          losses = runStep(() => model.trainStep(batch));
        } catch (err) {
          throw new TrainingError(`train: stopped at step ${step + 1}: ${(err as Error).message}` +
            `${saved.last ? `. The last good checkpoint is ${saved.last}` : '. No checkpoint was written yet'}`, step + 1, saved.last);
        } finally {
          disposeBatch(batch);
        }
        step++;
        position = index + 1 < loader.numBatches ? { epoch, index: index + 1 } : { epoch: epoch + 1, index: 0 };
        if (step % perEpoch === 0) model.endEpoch();
        const stepMs = performance.now() - started;
        const n = cfg.data.batchSize;
        const progress: StepProgress = {
          step, totalSteps, epoch: Math.floor((step - 1) / perEpoch), stage: modelStage ?? stageAt(cfg.schedule, Math.floor((step - 1) / perEpoch)).stage.name,
          losses, dataMs, stepMs, imagesPerSec: (1000 * n) / (dataMs + stepMs),
        };
        o.onStep?.(progress);
        if (step % logEvery === 0 || step === totalSteps) {
          log({
            step, epoch: progress.epoch, stage: progress.stage, losses, lr: learningRates(model),
            time: { dataMs: +dataMs.toFixed(3), stepMs: +stepMs.toFixed(3) }, imagesPerSec: +progress.imagesPerSec.toFixed(3), wall: new Date().toISOString(),
          });
        }
        if (samples && (step % sampleEvery === 0 || step === totalSteps)) {
          await writeSampleGrid(model, samples, join(runDir, 'samples', `step-${String(step).padStart(8, '0')}.png`));
        }
        // Prefetched batches resolve as microtasks, so without this the loop would never let the event loop run:
        // signal handlers (SIGINT/SIGTERM) and timers would wait until training ended.
        await new Promise((res) => setImmediate(res));
        const stopped = group ? group.anyStopping(o.signal?.aborted === true) : o.signal?.aborted === true;
        if (step % saveEvery === 0 || step === totalSteps || stopped) checkpoint();
        if (stopped) {
          reason = 'stopped';
          break;
        }
        if (step >= totalSteps) break;
        waitStart = performance.now();
      }
    } else if (saved.last === null) {
      checkpoint();
    }
  } finally {
    await loader.close();
    if (samples) disposeBatch(samples);
    model.dispose();
    group?.close();
  }
  if (saved.last === null) throw new Error('train: finished without writing a checkpoint (a bug: please report it)');
  return { runDir, step, totalSteps, reason, checkpoint: saved.last };
}

/** The newest checkpoint of a run directory, or null. */
export function latestCheckpoint(runDir: string): string | null {
  const all = listCheckpoints(runDir);
  return all.length ? (all[all.length - 1] as [number, string])[1] : null;
}

