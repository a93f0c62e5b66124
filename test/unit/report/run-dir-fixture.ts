// A run directory as `reposer train` writes it (docs/run-dir.md), built in a temp folder for the report tests:
// a first run that reached step 200 and diverged, a resume from step 150 to 300, and a torn last line.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

export const LAST_STEP = 300;
export const RESUME_FROM = 151;
export const FIRST_RUN_END = 200;
/** The first run's G_L1 for the steps the resume logs again: far above anything the resumed run logs. */
export const DIVERGED_G_L1 = 1000;
/** Steps whose G_GAN is logged as NaN ("NaN" and null) and whose D_PP is Infinity. */
export const NAN_STEPS = [40, 41, 250];
export const INF_STEPS = [260];
export const SAMPLE_STEPS = [100, 200, 300];
export const SAMPLE_SIZE = { width: 64, height: 64 };
export const CONFIG = {
  model: 'patn', preset: 'tiny', image: { height: 32, width: 16 }, data: { batchSize: 2 },
  generator: { ngf: 8, nBlocks: 2 }, discriminator: { ndf: 8 }, loss: { gan: 'bce', lambdaL1: 10 },
  optim: { lr: 0.0002 }, schedule: { unit: 'pairs', stages: [{ name: 'warmup', epochs: 1 }, { name: 'main', epochs: 2 }] },
};
export const EVALS = [
  { protocol: 'patn', metrics: { ssim: 0.773, l1: 0.181, mask_ssim: 0.811 }, count: 12000, settings: { split: 'test' } },
  { protocol: 'pg2', metrics: { ssim: 0.762, is: 3.20934 }, count: 12000 },
];

function logLine(step: number, diverged: boolean): string {
  const nan = NAN_STEPS.indexOf(step);
  return JSON.stringify({
    step,
    epoch: Math.floor(step / 100),
    stage: step < 100 ? 'warmup' : 'main',
    losses: {
      G_L1: diverged ? DIVERGED_G_L1 : 0.5 / Math.sqrt(step),
      // JSON has no NaN: the trainer writes "NaN", and null is what JSON.stringify would have made of it.
      G_GAN: nan === -1 ? 1 + 0.1 * Math.sin(step) : nan % 2 === 0 ? 'NaN' : null,
      G_perceptual: 2 - step / 300,
      D_PB: 0.69 + 0.01 * Math.cos(step),
      D_PP: INF_STEPS.includes(step) ? 'Infinity' : 0.7,
    },
    lr: { optimizer_G: 0.0002 * (1 - step / 400), optimizer_D: 0.0002 },
    time: { dataMs: 3 + (step % 5), stepMs: 400 + (step % 7) },
    imagesPerSec: 19.4,
    wall: new Date(Date.UTC(2026, 11, 1, 23, 0, step)).toISOString(),
  });
}

/** A grid of 4 columns; its colour varies with the step so each grid's bytes differ. */
async function sampleGrid(path: string, step: number): Promise<void> {
  const { width, height } = SAMPLE_SIZE;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const column = Math.floor((4 * x) / width);
      pixels.set([(column * 60 + step) % 256, (y * 4) % 256, 255 - column * 60], 3 * (y * width + x));
    }
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

export interface FixtureOptions {
  samples?: boolean;
  evals?: boolean;
}

/** Writes the run directory and returns its path. */
export async function makeRunDir(options: FixtureOptions = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-report-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG, null, 2));
  const lines: string[] = [];
  for (let step = 1; step <= FIRST_RUN_END; step++) lines.push(logLine(step, step >= RESUME_FROM));
  for (let step = RESUME_FROM; step <= LAST_STEP; step++) lines.push(logLine(step, false));
  // Killed mid-write: no newline, not valid JSON.
  writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n{"step": ${LAST_STEP + 1}, "losses": {"G_L`);
  if (options.samples !== false) {
    mkdirSync(join(dir, 'samples'));
    for (const step of SAMPLE_STEPS) await sampleGrid(join(dir, 'samples', `step-${String(step).padStart(8, '0')}.png`), step);
  }
  if (options.evals !== false) writeFileSync(join(dir, 'eval.json'), JSON.stringify(EVALS));
  return dir;
}
