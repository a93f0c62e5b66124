// The model registry: each family (src/models/<family>/index.ts) registers one ModelFamily by name. Training, import,
// `reposer models` and the benchmarks go through this interface only, so a new family needs no changes elsewhere.
import type * as torch from '../torch/index.js';
import type { BatchFeatures, LoaderOptions } from '../data/index.js';
import type { AugmentOptions } from '../pose/augment.js';
import type { PairBatch } from './batch.js';
import { ConfigError, readConfigFile, resolveConfig, parseSet, type Json } from './config.js';
import type { FamilyConfig } from './sections.js';

/**
 * The named starting points every family provides: the two papers' datasets, a CPU-trainable size, the shipped
 * checkpoints' recipe for the synthetic world (128x64, sized to train within the hour on two cores, no weights that
 * cannot ship), and a test size.
 */
export type Preset = 'deepfashion' | 'market' | 'small' | 'synth' | 'tiny';
export const PRESETS: readonly Preset[] = ['deepfashion', 'market', 'small', 'synth', 'tiny'];

/** Every family's config carries its own name and preset, so a saved config.json says which family to rebuild. */
export interface BaseModelConfig {
  model: string;
  preset: Preset;
}

/** What a model needs of an optimiser for checkpointing; torch.optim's Adam and SGD satisfy it. */
export interface OptimizerLike {
  step(): void;
  zeroGrad(): void;
  stateDict(): unknown;
  loadStateDict(state: unknown): void;
}

/** What a checkpoint holds of a model beyond its modules and optimisers (image pools, LR schedules). */
export interface TrainingState {
  /** Tensors by name; from trainingState() they are live references, loadTrainingState() copies them. */
  tensors: Map<string, torch.Tensor>;
  json: Json;
}

/** The training state of a model that keeps nothing beyond its modules and optimisers. */
export function emptyTrainingState(): TrainingState {
  return { tensors: new Map(), json: {} };
}

/** One built model with its optimisers. */
export interface TrainableModel {
  /** The generator; its state dict is what inference and `reposer import` need. */
  readonly generator: torch.nn.Module;
  /** The discriminators by name (e.g. 'appearance', 'shape'); empty for a family without one. */
  readonly discriminators: ReadonlyMap<string, torch.nn.Module>;
  /** Eval-mode inference under noGrad: the generated target image, (N,3,H,W) in [-1,1]. The caller owns the result. */
  generate(batch: PairBatch): torch.Tensor;
  /**
   * For families that estimate a flow field (GFLA): eval-mode, under noGrad, for each target pixel of its finest flow
   * the source position it samples, (N,2,h,w) as (x, y) in pixels of the full-size source image (docs/eval.md's flow
   * format); null for a variant without flow. The caller owns the result.
   */
  generateFlow?(batch: PairBatch): torch.Tensor | null;
  /**
   * One training iteration: the discriminator and generator updates, in the order of the family's official code
   * (PATN: G then D_PP then D_PB; Deformable GAN: D then G), with the model's own optimisers.
   * Returns every loss term as a number (names such as 'G_L1', 'D_app'). Throws an error naming the loss when one
   * is NaN or infinite. Leaves no tensors behind.
   */
  trainStep(batch: PairBatch): Record<string, number>;
  /** Every module to checkpoint, by a stable name ('netG', 'netD_app', ...). */
  modules(): Map<string, torch.nn.Module>;
  /** Every optimiser to checkpoint, by a stable name ('optimizer_G', ...). */
  optimizers(): Map<string, OptimizerLike>;
  /** Advances the learning-rate schedule by one epoch (the official code's update_learning_rate). */
  endEpoch(): void;
  /** The stage the model trains now, for a model that switches stages itself (GFLA's flow stage can end early). */
  stageName?(): string;
  /** The rest of the training state: together with modules() and optimizers() a checkpoint resumes exactly. */
  trainingState(): TrainingState;
  loadTrainingState(state: TrainingState): void;
  /** Releases every parameter, buffer and optimiser state. */
  dispose(): void;
}

/**
 * What a family needs in its batches beyond the common `data` section (batch size, flip, pose encoding): target
 * masks, part affines, parsing maps. The loader builds exactly this (loaderOptions), so the model and the loader
 * cannot drift apart.
 */
export type BatchNeeds = Pick<BatchFeatures, 'masks' | 'affines' | 'affineMaskSize' | 'parsing' | 'pseudoParsing'>;

/** Converting a family's officially released checkpoint into a run directory. */
export interface OfficialImportRequest {
  /** The official files by our module name: 'netG' is required; the family's `officialModules` name the others. */
  files: ReadonlyMap<string, string>;
  /** The run directory to write: one <module>.safetensors per file, and config.json. */
  out: string;
  /** Without it the family chooses the preset the file implies. */
  preset?: Preset;
  /** A config file and `key=value` overrides laid over the preset. */
  configFile?: string;
  sets?: readonly string[];
  log?: (line: string) => void;
}

export interface OfficialImportResult {
  dir: string;
  config: string;
  preset: Preset;
  /** Written weight files by module name ('netG' -> RUN_DIR/netG.safetensors). */
  written: Record<string, string>;
  /** Tensors loaded into the generator, and file entries that were dropped (with the reason in the family's docs). */
  loaded: number;
  dropped: string[];
  parameters: number;
}

/** A model family: its typed defaults per preset and a constructor. */
export interface ModelFamily<C extends FamilyConfig = FamilyConfig> {
  /** Registry name, e.g. 'patn'. */
  readonly name: string;
  /** One line for `reposer models`. */
  readonly summary: string;
  /** The ablation variants a config's `variant` key selects, for a family that has them (Deformable GAN's Table 1). */
  readonly variants?: readonly string[];
  /** Fully typed defaults for a preset; the `model` and `preset` fields are filled. */
  defaults(preset: Preset): C;
  /** Builds the model (fresh random weights) and its optimisers from a resolved config. */
  create(cfg: C): TrainableModel;
  /**
   * Parameter counts of the trainable networks by module name ('netG', 'netD_PB', ...), without loading loss networks
   * (VGG) or building optimisers. Optional: without it, `countParameters` builds the model with create().
   */
  parameterCounts?(cfg: C): Record<string, number>;
  /** What its batches must carry besides the common data section. */
  batchNeeds(cfg: C): BatchNeeds;
  /** Modules other than 'netG' that `importOfficial` accepts, with what each is ('netD_PB': 'shape discriminator'). */
  readonly officialModules?: Readonly<Record<string, string>>;
  /** Imports the official release's weights (only families whose authors released checkpoints). */
  importOfficial?(request: OfficialImportRequest): OfficialImportResult;
}

/**
 * The loader options a config asks for: the family's batch needs, the common data section (batch size, pose
 * encoding, flips) and the caller's seed and workers.
 */
export function loaderOptions(family: ModelFamily, cfg: FamilyConfig, extra: Pick<LoaderOptions, 'seed' | 'workers' | 'shuffle' | 'dropLast' | 'prefetch'> = {}): LoaderOptions {
  return {
    ...family.batchNeeds(cfg),
    batchSize: cfg.data.batchSize,
    pose: cfg.data.pose,
    ...augmentOptions(cfg.data),
    ...extra,
  };
}

/** The loader's augmentation from the data section: flips, and data.affine's ranges for source and target images. */
function augmentOptions(data: FamilyConfig['data']): Pick<LoaderOptions, 'augment' | 'augmentB'> {
  const flip = data.flip ? 0.5 : 0;
  const a = data.affine;
  if (!a) return { augment: data.flip ? { flip } : null };
  const range = (r: { rotate: number; shift: number; scale: number[] }): AugmentOptions => ({
    flip, rotate: r.rotate, shiftPixels: r.shift, scale: [r.scale[0] ?? 1, r.scale[1] ?? 1],
  });
  return { augment: range(a), augmentB: range(a.target) };
}

// Families are stored type-erased; the registering module keeps the typed handle.
const families = new Map<string, ModelFamily>();

/** Registers a family; a second registration under the same name is a programming error. */
export function registerModel<C extends FamilyConfig>(family: ModelFamily<C>): ModelFamily<C> {
  if (families.has(family.name)) throw new Error(`registerModel: a model family named '${family.name}' is already registered`);
  families.set(family.name, family as unknown as ModelFamily);
  return family;
}

/** The family registered as `name`; the error lists the registered names. */
export function getModel(name: string): ModelFamily {
  const f = families.get(name);
  if (!f) {
    const known = [...families.keys()].sort().join(', ') || '(none: import src/models/index.js to register them)';
    throw new Error(`unknown model '${name}'. Registered models: ${known}`);
  }
  return f;
}

/** Registered families, sorted by name. */
export function listModels(): ModelFamily[] {
  return [...families.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function isPreset(v: unknown): v is Preset {
  return typeof v === 'string' && (PRESETS as readonly string[]).includes(v);
}

export interface ModelConfigRequest {
  /** Family name; else taken from the file's "model" key. */
  model?: string;
  /** Preset whose defaults are the base layer; else the file's "preset", else a `--set preset=...`. */
  preset?: Preset;
  /** A config JSON file laid over the preset's defaults. */
  file?: string;
  /** `key.sub=value` overrides after the file. */
  sets?: readonly string[];
}

/**
 * Resolves a config through the layers: family.defaults(preset) ← file ← sets. The family and preset come from the
 * request, the file's "model"/"preset" keys, or `--set model=`/`--set preset=`, in that order.
 */
export function resolveModelConfig(req: ModelConfigRequest): FamilyConfig {
  const fileObj = req.file === undefined ? undefined : readConfigFile(req.file);
  const fromSets = (key: string): Json | undefined => {
    let found: Json | undefined;
    for (const s of req.sets ?? []) {
      const p = parseSet(s);
      if (p.path.length === 1 && p.path[0] === key) found = p.raw;
    }
    return found;
  };
  const model = req.model ?? fromSets('model') ?? fileObj?.['model'];
  if (typeof model !== 'string') {
    throw new ConfigError('no model named: pass --model <name>, or give a config file with a "model" key');
  }
  const family = getModel(model);
  const preset = req.preset ?? fromSets('preset') ?? fileObj?.['preset'] ?? 'deepfashion';
  if (!isPreset(preset)) throw new ConfigError(`unknown preset ${JSON.stringify(preset)}: use one of ${PRESETS.join(', ')}`);
  const cfg = resolveConfig(family.defaults(preset), { file: req.file, sets: req.sets });
  if (cfg.model !== family.name) {
    throw new ConfigError(`config says model '${cfg.model}' but was resolved for '${family.name}': the file's "model" key and --model disagree`);
  }
  if (cfg.preset !== preset) {
    throw new ConfigError(`config says preset '${cfg.preset}' but its defaults came from '${preset}': the file's "preset" key and --preset disagree`);
  }
  return cfg;
}

/** Converts a scalar loss tensor to a number, throwing an error that names the loss when it is NaN or infinite. */
export function lossValue(family: string, name: string, loss: torch.Tensor): number {
  const v = loss.item();
  if (!Number.isFinite(v)) {
    throw new Error(`${family}: loss '${name}' is ${v} (not finite). Lower the learning rate, check the inputs are in [-1,1], or resume from an earlier checkpoint`);
  }
  return v;
}

/** Parameter counts per module for a config: the family's parameterCounts, else by building the model. */
export function countParameters(family: ModelFamily, cfg: FamilyConfig): Record<string, number> {
  if (family.parameterCounts) return family.parameterCounts(cfg);
  const model = family.create(cfg);
  try {
    return Object.fromEntries([...model.modules()].map(([name, m]) => [name, m.numParameters()]));
  } finally {
    model.dispose();
  }
}
