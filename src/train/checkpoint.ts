// Checkpoints: everything a run needs to continue exactly where it stopped.
//
//   RUN_DIR/checkpoints/step-00000120/
//     <module>.safetensors              every module of the model (netG, netD_PB, ...)
//     <optimizer>.safetensors / .json   every optimiser's tensors and hyper-parameters
//     training.safetensors / .json      the model's training state (image pools, schedules)
//     rng.safetensors                   libtorch's CPU generator state
//     trainer.json                      step, loader position, seed, the resolved config
//
// A checkpoint is written into a temporary folder beside its final name and renamed into place, so a folder named
// step-* is always complete, whatever moment the process is killed at; the last `keep` are kept.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { flattenOptimizerState, unflattenOptimizerState, type FlatOptimizerState } from '../torch/optim/optimizer.js';
import type { Json } from '../models/config.js';
import type { TrainableModel } from '../models/registry.js';

export const CHECKPOINTS_DIR = 'checkpoints';

/** Where the data stream stands: the next batch to train on is batch `index` of loader epoch `epoch`. */
export interface LoaderPosition {
  epoch: number;
  index: number;
}

/** What trainer.json holds. */
export interface TrainerState {
  /** Training iterations completed. */
  step: number;
  loader: LoaderPosition;
  seed: number;
  /** Data-parallel ranks that trained it (absent: 1); a run resumes with the same number. */
  worldSize?: number;
  config: Json;
}

const stepName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** Checkpoint folders of a run, oldest first, as [step, path]. */
export function listCheckpoints(runDir: string): [number, string][] {
  const dir = join(runDir, CHECKPOINTS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^step-(\d{8})$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [number, string] => [Number(m[1]), join(dir, m[0])])
    .sort((a, b) => a[0] - b[0]);
}

/** Writes a JSON file atomically (temporary file, then rename). */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/**
 * Saves a checkpoint of `model` at `state.step` and keeps the newest `keep`; returns its folder. `rng` holds the
 * generator states to save ('cpu', and 'cpu.rank<r>' of a data-parallel run's other ranks); default this process's.
 */
export function saveCheckpoint(runDir: string, model: TrainableModel, state: TrainerState, keep: number, rng?: ReadonlyMap<string, torch.Tensor>): string {
  const root = join(runDir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  const final = join(root, stepName(state.step));
  // Half-written folders of a killed run (any process) are garbage: a complete checkpoint is always renamed.
  for (const name of readdirSync(root)) if (/^\.step-\d{8}\.tmp-\d+$/.test(name)) rmSync(join(root, name), { recursive: true, force: true });
  const tmp = join(root, `.${stepName(state.step)}.tmp-${process.pid}`);
  mkdirSync(tmp);
  for (const [name, m] of model.modules()) torch.io.saveSafetensors(join(tmp, `${name}.safetensors`), m.stateDict());
  for (const [name, opt] of model.optimizers()) {
    const flat = flattenOptimizerState(opt.stateDict() as Parameters<typeof flattenOptimizerState>[0]);
    torch.io.saveSafetensors(join(tmp, `${name}.safetensors`), flat.tensors);
    writeFileSync(join(tmp, `${name}.json`), JSON.stringify(flat.json));
  }
  const training = model.trainingState();
  torch.io.saveSafetensors(join(tmp, 'training.safetensors'), training.tensors);
  writeFileSync(join(tmp, 'training.json'), JSON.stringify(training.json));
  if (rng) {
    torch.io.saveSafetensors(join(tmp, 'rng.safetensors'), new Map(rng));
  } else {
    const own = torch.getRngState();
    try {
      torch.io.saveSafetensors(join(tmp, 'rng.safetensors'), new Map([['cpu', own]]));
    } finally {
      own.dispose();
    }
  }
  writeFileSync(join(tmp, 'trainer.json'), `${JSON.stringify(state, null, 2)}\n`);
  // A resumed run that saves the same step again replaces the older folder.
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  const all = listCheckpoints(runDir);
  for (const [, path] of all.slice(0, Math.max(0, all.length - keep))) rmSync(path, { recursive: true, force: true });
  return final;
}

function readTensors(path: string): Map<string, torch.Tensor> {
  if (!existsSync(path)) throw new Error(`checkpoint file ${path} is missing; the checkpoint is incomplete or from another model`);
  return torch.io.loadSafetensors(path).tensors;
}

/**
 * Restores `model`'s modules, optimisers, training state and the generator state from a checkpoint folder;
 * `rngKey` picks the generator state (a data-parallel rank r > 0 reads 'cpu.rank<r>').
 */
export function loadCheckpoint(dir: string, model: TrainableModel, rngKey = 'cpu'): TrainerState {
  const state = JSON.parse(readFileSync(join(dir, 'trainer.json'), 'utf8')) as TrainerState;
  const scoped = (path: string, fn: (t: Map<string, torch.Tensor>) => void): void => {
    const tensors = readTensors(path);
    try {
      fn(tensors);
    } finally {
      torch.dispose([...tensors.values()]);
    }
  };
  for (const [name, m] of model.modules()) {
    scoped(join(dir, `${name}.safetensors`), (t) => {
      const r = torch.noGrad(() => m.loadStateDict(t));
      if (r.missingKeys.length > 0 || r.unexpectedKeys.length > 0) {
        throw new Error(`checkpoint ${dir}: ${name} does not match this model (missing ${r.missingKeys.slice(0, 3).join(', ')}; unexpected ${r.unexpectedKeys.slice(0, 3).join(', ')})`);
      }
    });
  }
  for (const [name, opt] of model.optimizers()) {
    const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as FlatOptimizerState['json'];
    scoped(join(dir, `${name}.safetensors`), (tensors) => opt.loadStateDict(unflattenOptimizerState({ tensors, json })));
  }
  const trainingJson = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8')) as Json;
  scoped(join(dir, 'training.safetensors'), (tensors) => model.loadTrainingState({ tensors, json: trainingJson }));
  scoped(join(dir, 'rng.safetensors'), (t) => {
    const rng = t.get(rngKey);
    if (!rng) throw new Error(`checkpoint ${dir}: rng.safetensors lacks the '${rngKey}' generator state (a data-parallel run resumes with the world size it was saved with)`);
    torch.setRngState(rng);
  });
  return state;
}
