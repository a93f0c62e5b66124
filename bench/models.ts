// `make bench-models`: for every registered model family, at 128x64 with batch 1 and 4, the generator's inference
// time, one training step's time (all of the family's D and G updates), the FLOPs of each and the GFLOP/s achieved.
// Prints one JSON object per model, one per line.
//
// FLOP rule: every Conv2d, ConvTranspose2d and Linear forward call made during the measured work is counted, by
// wrapping those classes' forward for one untimed run (so layers inside loss networks such as VGG19 count too):
//   Conv2d: N·Cout·Hout·Wout · (Cin/groups)·kH·kW MACs; ConvTranspose2d: N·Cin·Hin·Win · (Cout/groups)·kH·kW MACs;
//   Linear: rows · in · out MACs. FLOPs = 2·MACs.
// Backward: a call made with gradients enabled costs its forward MACs once more for the weight gradient when the
// layer's weight requires grad, and once more for the input gradient when its input requires grad (so a frozen
// VGG19 on the fake image counts 2x, a discriminator judging a detached fake 2x, the generator 3x). Norms,
// activations, pooling, grid sampling and elementwise ops are not counted, so GFLOP/s is a lower bound on the work.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { listModels, type FamilyConfig, type PairBatch, type Preset, type TrainableModel, type VggSection } from '../src/models/index.js';
import { DEFAULT_VGG19_WEIGHTS, VGG_WEIGHTS_KEY } from '../src/models/layers/vgg.js';

const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';

interface Options {
  models: string[] | null;
  batches: number[];
  reps: number;
  preset: Preset;
  height: number;
  width: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { models: null, batches: [1, 4], reps: 3, preset: 'market', height: 128, width: 64 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`bench-models: ${a} needs a value`);
      return x;
    };
    if (a === '--models') o.models = v().split(',');
    else if (a === '--batches') o.batches = v().split(',').map(Number);
    else if (a === '--reps') o.reps = Number(v());
    else if (a === '--preset') o.preset = v() as Preset;
    else if (a === '--size') {
      const m = /^(\d+)x(\d+)$/.exec(v());
      if (!m) throw new Error('bench-models: --size expects HEIGHTxWIDTH, e.g. 128x64');
      o.height = Number(m[1]);
      o.width = Number(m[2]);
    }
    else throw new Error(`bench-models: unknown argument '${a}'. Options: --models a,b --batches 1,4 --reps N --preset market --size 128x64`);
  }
  return o;
}

/**
 * Counts conv/linear MACs while `fn` runs, by wrapping the layer classes' forward: `macs` of the forward calls and
 * `backwardMacs` the backward pass will cost (weight gradient when the weight requires grad, input gradient when the
 * input does, only for calls made with gradients enabled).
 */
export function countMacs<T>(fn: () => T): { result: T; macs: number; backwardMacs: number } {
  let macs = 0;
  let backwardMacs = 0;
  const nn = torch.nn;
  const restore: (() => void)[] = [];
  type Layer = { weight: torch.Tensor };
  const wrap = <C extends { prototype: { forward: (x: torch.Tensor) => torch.Tensor } }>(cls: C, count: (self: never, x: torch.Tensor, y: torch.Tensor) => number): void => {
    const orig = cls.prototype.forward;
    cls.prototype.forward = function (this: never, x: torch.Tensor): torch.Tensor {
      const y = orig.call(this, x);
      const m = count(this, x, y);
      macs += m;
      if (torch.isGradEnabled()) {
        if ((this as Layer).weight.requiresGrad) backwardMacs += m;
        if (x.requiresGrad) backwardMacs += m;
      }
      return y;
    };
    restore.push(() => { cls.prototype.forward = orig; });
  };
  const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  wrap(nn.Conv2d, (m: torch.nn.Conv2d, _x, y) => prod(y.shape) * (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1]);
  wrap(nn.ConvTranspose2d, (m: torch.nn.ConvTranspose2d, x) => prod(x.shape) * (m.outChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1]);
  wrap(nn.Linear, (m: torch.nn.Linear, x) => prod(x.shape) * m.outFeatures);
  try {
    return { result: fn(), macs, backwardMacs };
  } finally {
    for (const r of restore) r();
  }
}

/** A PairBatch of plausible random content: images in [-1,1], keypoints inside the frame, Gaussian-ish heatmaps, masks. */
function randomBatch(n: number, h: number, w: number): PairBatch {
  return torch.scope(() => {
    const kp = (): torch.Tensor => torch.rand([n, 18, 2]).mul(torch.tensor([h - 1, w - 1], [1, 1, 2]));
    return {
      imageA: torch.rand([n, 3, h, w]).mul(2).sub(1),
      imageB: torch.rand([n, 3, h, w]).mul(2).sub(1),
      keypointsA: kp(),
      keypointsB: kp(),
      poseMapA: torch.rand([n, 18, h, w]),
      poseMapB: torch.rand([n, 18, h, w]),
      maskB: torch.rand([n, 1, h, w]).gt(0.5).to('float32'),
      parsingA: torch.randint(0, 10, [n, h, w]),
      parsingB: torch.randint(0, 10, [n, h, w]),
    };
  });
}

/** When the VGG19 file is absent, a random-valued one in torchvision's layout (timing does not depend on values). */
export function randomVggFile(dir: string): string {
  const path = join(dir, 'vgg19-random.pth');
  const code = `
import torch
cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M']
sd, i, c = {}, 0, 3
for v in cfg:
    if v == 'M':
        i += 1
        continue
    sd['features.%d.weight' % i] = torch.randn(v, c, 3, 3) * (2.0 / (9 * c)) ** 0.5
    sd['features.%d.bias' % i] = torch.zeros(v)
    c, i = v, i + 2
torch.save(sd, ${JSON.stringify(path)})
`;
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`bench-models: ${DEFAULT_VGG19_WEIGHTS} is missing and writing random VGG19 weights with ${PYTHON} failed: ${r.stderr}`);
  }
  return path;
}

function timeMs(fn: () => void, reps: number): number {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number; // median
}

function benchOne(model: TrainableModel, batch: PairBatch, reps: number): Record<string, number> {
  // Untimed counting runs double as warm-up.
  const inf = countMacs(() => model.generate(batch));
  inf.result.dispose();
  const train = countMacs(() => model.trainStep(batch));
  const inferenceMs = timeMs(() => model.generate(batch).dispose(), reps);
  const trainStepMs = timeMs(() => { model.trainStep(batch); }, reps);
  const inferenceFlops = 2 * inf.macs;
  const trainFlops = 2 * (train.macs + train.backwardMacs);
  const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
  return {
    generatorInferenceMs: round(inferenceMs),
    trainStepMs: round(trainStepMs),
    inferenceGFlops: round(inferenceFlops / 1e9, 3),
    trainStepGFlops: round(trainFlops / 1e9, 3),
    inferenceGFlopPerS: round(inferenceFlops / 1e9 / (inferenceMs / 1e3)),
    trainGFlopPerS: round(trainFlops / 1e9 / (trainStepMs / 1e3)),
  };
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const families = listModels().filter((f) => !o.models || o.models.includes(f.name));
  if (families.length === 0) throw new Error(`bench-models: no registered model matches ${o.models?.join(',')}`);
  let tmp: string | null = null;
  let vggPath: string | null = null;
  try {
    for (const family of families) {
      const cfg: FamilyConfig = family.defaults(o.preset);
      // GFLA's first stage pre-trains the flow estimator alone; time the whole model's step instead.
      if (family.name === 'gfla') (cfg.schedule.stages[0] as { epochs: number }).epochs = 0;
      // SPT's first steps are its semantic stage alone; time its heaviest, the end-to-end joint stage.
      if (family.name === 'spt') cfg.schedule.stages.forEach((s) => { if (s.name !== 'joint') s.epochs = s.decayEpochs = 0; });
      let vggNote = 'none';
      // Every family names its VGG19 file at loss.vgg.weights (models/sections.ts).
      const vgg = (cfg.loss as { vgg?: VggSection }).vgg;
      if (vgg) {
        if (existsSync(vgg.weights)) vggNote = vgg.weights;
        else {
          tmp ??= mkdtempSync(join(tmpdir(), 'bench-models-'));
          vggPath ??= randomVggFile(tmp);
          vgg.weights = vggPath;
          vggNote = `random weights (no ${DEFAULT_VGG19_WEIGHTS}) via ${VGG_WEIGHTS_KEY}`;
        }
      }
      const head = { model: family.name, preset: o.preset, height: o.height, width: o.width, threads: torch.getNumThreads(), reps: o.reps };
      let model: TrainableModel;
      try {
        model = family.create(cfg);
      } catch (err) {
        console.log(JSON.stringify({ ...head, error: (err as Error).message }));
        continue;
      }
      const params = Object.fromEntries([...model.modules()].map(([k, m]) => [k, m.numParameters()]));
      const batches: Record<string, number | string>[] = [];
      try {
        for (const n of o.batches) {
          torch.manualSeed(0);
          const batch = randomBatch(n, o.height, o.width);
          try {
            batches.push({ batch: n, ...benchOne(model, batch, o.reps) });
          } catch (err) {
            // One family rejecting the size (its preset trains at another resolution) must not stop the others.
            batches.push({ batch: n, error: (err as Error).message });
          } finally {
            torch.dispose(batch);
          }
        }
      } finally {
        model.dispose();
      }
      console.log(JSON.stringify({
        ...head, params, vgg: vggNote, batches,
        flopRule: '2*MACs of Conv2d/ConvTranspose2d/Linear calls; backward +1x per call for the weight grad (weight requires grad) and +1x for the input grad (input requires grad)',
      }));
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

// Runs as a command; importing the module (tests of countMacs) does not start the benchmark.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
