// `reposer demo` (what `make demo` runs): synthesise people, train a narrowed PATN on them with the trainer, then
// generate held-out people in new poses. Everything goes through the library: writeSynthDataset, train, loadModel.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import * as torch from '../torch/index.js';
import { writeSynthDataset } from '../synth/index.js';
import { openDataset, PairLoader, type LoaderBatch } from '../data/index.js';
import { getModel, loaderOptions, resolveModelConfig, type TrainableModel } from '../models/registry.js';
import { DEFAULT_VGG19_WEIGHTS } from '../models/layers/vgg.js';
import { train } from '../train/index.js';
import { writeSampleGrid } from '../train/samples.js';
import { loadModel } from '../generate/index.js';
import { nonNegativeInt, positiveInt } from './options.js';
import '../models/index.js';

export interface DemoOptions {
  out: string;
  steps: number;
  identities: number;
  seed: number;
}

/** Mean |generated - target| over a list of batches, images in [-1,1] (the field's L1). */
function heldOutL1(model: TrainableModel, batches: LoaderBatch[]): number {
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    sum += torch.scope(() => torch.l1Loss(model.generate(b), b.imageB).item() * (b.imageB.shape[0] as number));
    n += b.imageB.shape[0] as number;
  }
  return sum / n;
}

export async function demo(o: DemoOptions): Promise<void> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  const seconds = (): string => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
  console.log(`reposer demo: libtorch ${torch.libtorchVersion()}, ${torch.getNumThreads()} threads, output in ${out}`);

  // 1. Data: synthetic people in the Market-1501 layout, split by identity.
  const data = join(out, 'data');
  const summary = await writeSynthDataset({ out: data, size: { height: 128, width: 64 }, identities: o.identities, poses: 6, seed: o.seed });
  console.log(`[${seconds()}] synthesised ${summary.train.images} training and ${summary.test.images} test images ` +
    `(${summary.train.identities} + ${summary.test.identities} people, ${summary.train.pairs} training pairs)`);

  // 2. Model: PATN at the CPU-sized preset. The perceptual term needs torchvision's VGG19 weights, which cannot ship;
  // without them the demo says so and trains with L1 + GAN only.
  const sets: string[] = [];
  if (!existsSync(DEFAULT_VGG19_WEIGHTS)) {
    console.log(`[${seconds()}] no VGG19 weights at ${DEFAULT_VGG19_WEIGHTS}: training without the perceptual term ` +
      `(put torchvision's vgg19 ImageNet state dict there to enable it)`);
    sets.push('loss.lambdaPerceptual=0', 'loss.vgg.weights=random');
  }
  // Narrower than the 'small' preset so that a few hundred steps fit in minutes on two cores.
  sets.push('data.batchSize=8', 'generator.ngf=16', 'generator.nBlocks=4', 'discriminator.ndf=16', 'discriminator.nBlocks=1');
  const family = getModel('patn');
  const cfg = resolveModelConfig({ model: 'patn', preset: 'small', sets });

  // Held-out pairs, and the untrained model's error on them (the trainer seeds the same initial weights).
  const testLoader = new PairLoader(await openDataset(data, { split: 'test' }), { ...loaderOptions(family, cfg, { seed: o.seed + 1, workers: 0, shuffle: false }), augment: null });
  const held: LoaderBatch[] = [];
  for await (const b of testLoader.batches(0)) {
    if (held.length < 4) held.push(b);
    else torch.dispose(Object.values(b));
  }
  await testLoader.close();
  torch.manualSeed(o.seed);
  const untrained = family.create(cfg);
  const before = heldOutL1(untrained, held);
  console.log(`[${seconds()}] PATN (small preset, narrowed): generator ${(untrained.generator.numParameters() / 1e6).toFixed(2)} M parameters; ` +
    `held-out L1 before training: ${before.toFixed(4)}`);
  untrained.dispose();

  // 3. Training, with the trainer: checkpoints, log.jsonl and sample grids in RUN_DIR.
  const runDir = join(out, 'run');
  // The demo's own scratch run: a second `make demo` starts afresh rather than refusing to overwrite it.
  rmSync(runDir, { recursive: true, force: true });
  const every = Math.max(1, Math.floor(o.steps / 8));
  const r = await train({
    model: 'patn', preset: 'small', sets, data, out: runDir, steps: o.steps, seed: o.seed, workers: 1,
    saveEvery: o.steps, sampleEvery: every, logEvery: every, keep: 1,
    onStep: (p) => {
      if (p.step % every === 0 || p.step === p.totalSteps) {
        console.log(`[${seconds()}] step ${String(p.step).padStart(4)}  ${Object.entries(p.losses).map(([k, v]) => `${k} ${v.toFixed(3)}`).join('  ')}`);
      }
    },
  });

  // 4. Generation on held-out people, and the artefacts.
  const trained = loadModel(runDir);
  try {
    const after = heldOutL1(trained.model, held);
    console.log(`[${seconds()}] held-out L1 after ${r.step} steps: ${after.toFixed(4)} (before: ${before.toFixed(4)})`);
    const sheet = join(out, 'samples.png');
    await writeSampleGrid(trained.model, held[0] as LoaderBatch, sheet);
    console.log(`[${seconds()}] wrote ${sheet} (columns: source, target pose, generated, real target) and the run in ${runDir}; ` +
      `'reposer report ${runDir}' renders its curves`);
  } finally {
    trained.model.dispose();
    for (const b of held) torch.dispose(Object.values(b));
  }
}

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('synthesise people, train a narrowed PATN on them, write held-out samples (what `make demo` runs)')
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--steps <n>', 'training steps', positiveInt, 150)
    .option('--identities <n>', 'synthetic people', positiveInt, 40)
    .option('--seed <s>', 'seed', nonNegativeInt, 0)
    .addHelpText('after', '\nExample:\n  reposer demo --steps 200 --identities 20')
    .action((o: DemoOptions) => demo(o));
}
