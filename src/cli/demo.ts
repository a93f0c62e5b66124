// `reposer demo`: the main job on the embedded default data. It synthesises a small Market-like dataset with the
// synthetic figure world, trains a CPU-sized PATN on it for a few minutes, generates held-out people in new poses,
// and writes a sample sheet (source | target pose | generated | real target) and the trained generator.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { writeSynthDataset } from '../synth/index.js';
import { openDataset, PairLoader, type LoaderBatch } from '../data/index.js';
import { drawSkeletons, type Pose } from '../pose/index.js';
import { getModel, loaderOptions, resolveModelConfig, type TrainableModel } from '../models/registry.js';
import { DEFAULT_VGG19_WEIGHTS } from '../models/layers/vgg.js';
import { saveResolvedConfig } from '../models/config.js';
import '../models/index.js';
import type { Command } from 'commander';
import { nonNegativeInt, positiveInt } from './options.js';

export interface DemoOptions {
  out: string;
  steps: number;
  identities: number;
  seed: number;
}

function disposeBatch(b: LoaderBatch): void {
  torch.dispose(Object.values(b));
}

/** Mean |generated - target| over a list of batches, images in [-1,1] (the field's L1). */
function heldOutL1(model: TrainableModel, batches: LoaderBatch[]): number {
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    sum += torch.scope(() => {
      const fake = model.generate(b);
      return torch.l1Loss(fake, b.imageB).item() * (b.imageB.shape[0] as number);
    });
    n += b.imageB.shape[0] as number;
  }
  return sum / n;
}

/** (N,3,H,W) in [-1,1] -> (N,3,H,W) uint8. */
function toBytes(images: torch.Tensor): torch.Tensor {
  return torch.scope(() => images.add(1).mul(127.5).round().clamp(0, 255).to('uint8'));
}

async function sampleSheet(model: TrainableModel, batch: LoaderBatch, path: string): Promise<void> {
  const n = batch.imageA.shape[0] as number;
  const [h, w] = [batch.imageA.shape[2] as number, batch.imageA.shape[3] as number];
  const poses: Pose[] = [];
  const kp = batch.keypointsB.data() as Float32Array;
  for (let i = 0; i < n; i++) poses.push(kp.slice(i * 36, (i + 1) * 36) as Pose);
  const skeletons = await drawSkeletons(poses, [h, w]);
  const sheet = torch.scope(() => {
    const fake = model.generate(batch);
    // Columns: source, target pose, generated, real target; one row per pair.
    const row = torch.cat([toBytes(batch.imageA), skeletons, toBytes(fake), toBytes(batch.imageB)], 3);
    return row.permute([0, 2, 3, 1]).reshape([n * h, 4 * w, 3]).contiguous();
  });
  skeletons.dispose();
  const bytes = sheet.data() as Uint8Array;
  sheet.dispose();
  await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width: 4 * w, height: n * h, channels: 3 } })
    .resize(6 * w, Math.round(1.5 * n * h), { kernel: 'nearest' })
    .png()
    .toFile(path);
}

export async function demo(o: DemoOptions): Promise<void> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  torch.manualSeed(o.seed);
  const t0 = Date.now();
  const seconds = (): string => ((Date.now() - t0) / 1000).toFixed(0) + 's';
  console.log(`reposer demo: libtorch ${torch.libtorchVersion()}, ${torch.getNumThreads()} threads, output in ${out}`);

  // 1. Data: synthetic people in the Market-1501 layout, split by identity.
  const dataDir = join(out, 'data');
  const summary = await writeSynthDataset({ out: dataDir, size: { height: 128, width: 64 }, identities: o.identities, poses: 6, seed: o.seed });
  console.log(`[${seconds()}] synthesised ${summary.train.images} training and ${summary.test.images} test images ` +
    `(${summary.train.identities} + ${summary.test.identities} people, ${summary.train.pairs} training pairs)`);
  const train = await openDataset(dataDir, { split: 'train' });
  const test = await openDataset(dataDir, { split: 'test' });

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
  const cfg = resolveModelConfig({ model: 'patn', preset: 'small', sets });
  const family = getModel('patn');
  const model = family.create(cfg);
  console.log(`[${seconds()}] PATN (small preset, narrowed): generator ${(model.generator.numParameters() / 1e6).toFixed(2)} M parameters`);

  const loader = new PairLoader(train, loaderOptions(family, cfg, { seed: o.seed, workers: 1 }));
  const testLoader = new PairLoader(test, loaderOptions(family, cfg, { seed: o.seed + 1, workers: 0 }));
  const held: LoaderBatch[] = [];
  for await (const b of testLoader.batches(0)) {
    if (held.length < 4) held.push(b);
    else disposeBatch(b);
  }
  await testLoader.close();
  const before = heldOutL1(model, held);
  console.log(`[${seconds()}] held-out L1 before training: ${before.toFixed(4)}`);

  // 3. Training.
  let step = 0;
  let epoch = 0;
  const running: Record<string, number> = {};
  while (step < o.steps) {
    for await (const batch of loader.batches(epoch)) {
      let losses: Record<string, number>;
      try {
        losses = model.trainStep(batch);
      } finally {
        disposeBatch(batch);
      }
      for (const [k, v] of Object.entries(losses)) running[k] = (running[k] ?? 0) + v;
      step++;
      if (step % 20 === 0) {
        const text = Object.entries(running).map(([k, v]) => `${k} ${(v / 20).toFixed(3)}`).join('  ');
        console.log(`[${seconds()}] step ${String(step).padStart(4)}  ${text}`);
        for (const k of Object.keys(running)) running[k] = 0;
      }
      if (step >= o.steps) break;
    }
    epoch++;
  }
  await loader.close();

  // 4. Generation on held-out people, and the artefacts.
  const after = heldOutL1(model, held);
  console.log(`[${seconds()}] held-out L1 after ${step} steps: ${after.toFixed(4)} (before: ${before.toFixed(4)})`);
  const sheet = join(out, 'samples.png');
  await sampleSheet(model, held[0] as LoaderBatch, sheet);
  const runDir = join(out, 'run');
  mkdirSync(runDir, { recursive: true });
  torch.io.saveSafetensors(join(runDir, 'netG.safetensors'), model.generator.stateDict(), { model: 'patn', steps: String(step) });
  saveResolvedConfig(runDir, cfg);
  console.log(`[${seconds()}] wrote ${sheet} (columns: source, target pose, generated, real target) and ${runDir}`);
  for (const b of held) disposeBatch(b);
  model.dispose();
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
