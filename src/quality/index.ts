// The same footing for every method: a held-out synthetic set (people never trained on, in poses from Market's test
// annotations), every family's shipped checkpoint and the training-free baseline generating it, one scoring, and one
// picture. `reposer demo` and `make bench-quality` are this module at two sizes.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import { PairLoader, openDataset, readAnnotationCsv } from '../data/index.js';
import { formatNpy } from '../data/npy.js';
import { loaderOptions } from '../models/registry.js';
import { writeSynthDataset } from '../synth/index.js';
import { writeBaselinePredictions } from '../baseline/index.js';
import { generateDataset, loadModel } from '../generate/index.js';
import { evaluate } from '../eval/index.js';
import { WEIGHT_FILES, WEIGHTS_DIR } from '../eval/weights.js';
import { drawSkeleton } from '../pose/draw.js';
import type { Pose } from '../pose/skeleton.js';
import * as torch from '../torch/index.js';
import { listCheckpoints } from '../train/checkpoint.js';
import { readRunDir, renderReport } from '../report/index.js';

/** The five families, in the order of their papers. */
export const FAMILIES = ['pg2', 'defgan', 'patn', 'spt', 'gfla'] as const;
export type Family = (typeof FAMILIES)[number];
export type Method = 'baseline' | Family;
export const METHODS: readonly Method[] = ['baseline', ...FAMILIES];

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The repository's checkpoints/ folder: one run directory per family (this file is dist/src/quality/index.js). */
export const SHIPPED_CHECKPOINTS = join(REPO, 'checkpoints');
/** Market-1501's test annotations where the project's checkout keeps them (../shared/data, research use only). */
export const MARKET_TEST_POSES = resolve(REPO, '../shared/data/market/market-annotation-test.csv');
/** The synthetic world's frame, Market's. */
export const FRAME: readonly [number, number] = [128, 64];

export interface HeldOutOptions {
  /** Dataset folder to write (replaced). */
  out: string;
  identities: number;
  /** Images per person; every ordered pair of them is a test pair. */
  poses: number;
  /** Chooses the people; the shipped checkpoints trained on seed 11, so any other seed gives unseen people. */
  seed: number;
  /** An annotation CSV at 128x64 whose rows are the poses (Market's test CSV); null: the synthetic pose sampler. */
  posesFrom: string | null;
}

/** Writes the held-out set: a synthetic dataset whose people are all in its test split. */
export async function writeHeldOutSet(o: HeldOutOptions): Promise<{ data: string; pairs: number }> {
  let posesFrom: Pose[] | undefined;
  if (o.posesFrom !== null) {
    if (!existsSync(o.posesFrom)) {
      throw new Error(`held-out poses: ${o.posesFrom} does not exist; it is Market-1501's market-annotation-test.csv ` +
        '(../shared/data/market/ in this project\'s checkout), or pass another annotation CSV at 128x64');
    }
    const rows = await readAnnotationCsv(o.posesFrom);
    posesFrom = rows.filter((r) => {
      for (let j = 0; j < 18; j++) if ((r.pose[2 * j] as number) >= FRAME[0] || (r.pose[2 * j + 1] as number) >= FRAME[1]) return false;
      return true;
    }).map((r) => r.pose);
  }
  rmSync(o.out, { recursive: true, force: true });
  const s = await writeSynthDataset({
    out: o.out, size: { height: FRAME[0], width: FRAME[1] }, identities: o.identities, poses: o.poses, seed: o.seed,
    testFraction: 1, posesFrom, imageFormat: 'png',
  });
  return { data: o.out, pairs: s.test.pairs };
}

/** One training run of the synthetic recipe: a shipped family checkpoint, or an ablation variant at the same budget. */
export interface SynthRun {
  name: string;
  family: Family;
  /** The config's `variant`; absent: the family's default (its full model). */
  variant?: string;
  ablation: boolean;
}

export const SYNTH_RUNS: readonly SynthRun[] = [
  ...FAMILIES.map((family) => ({ name: family, family, ablation: false })),
  ...([['defgan', 'baseline'], ['defgan', 'dsc'], ['gfla', 'baseline'], ['gfla', 'global-attn'], ['gfla', 'bi-sample'], ['spt', 'ts-pred'], ['spt', 'ts-gt']] as const)
    .map(([family, variant]) => ({ name: `${family}-${variant}`, family, variant, ablation: true })),
];

/** The training set of the shipped checkpoints: `reposer data synth` with these options and Market's poses. */
export const TRAIN_SET = { identities: 300, poses: 8, seed: 11 } as const;
/** Market-1501's training annotations (the training set's poses). */
export const MARKET_TRAIN_POSES = resolve(REPO, '../shared/data/market/market-annotation-train.csv');

/** Where a run's packed checkpoint lives: checkpoints/<family>, or checkpoints/ablations/<family>-<variant>. */
export function runCheckpointPath(run: SynthRun, checkpoints: string = SHIPPED_CHECKPOINTS): string {
  return run.ablation ? join(checkpoints, 'ablations', run.name) : join(checkpoints, run.name);
}

/** The run directory of a family's checkpoint, or an error saying how to make it. */
export function checkpointDir(family: Family, checkpoints: string = SHIPPED_CHECKPOINTS): string {
  const dir = join(checkpoints, family);
  if (!existsSync(join(dir, 'config.json'))) {
    throw new Error(`no ${family} checkpoint in ${dir} (config.json missing): the repository ships one per family; ` +
      `'make bench-quality-train' retrains them (README, "Shipped checkpoints")`);
  }
  return dir;
}

/**
 * Writes the baseline's image, or a checkpoint's (a run directory), for every test pair of `data` to
 * `out/<from>___<to>.png` (and, where the method has one, its flow under out/flows/). Returns the pair count and the
 * seconds taken.
 */
export async function predict(method: 'baseline' | { runDir: string }, data: string, out: string): Promise<{ pairs: number; seconds: number }> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const t0 = performance.now();
  let pairs: number;
  if (method === 'baseline') {
    pairs = await writeBaselinePredictions({ data, out });
  } else {
    const loaded = loadModel(method.runDir);
    try {
      pairs = await generateDataset(loaded, { data, out, workers: 0 });
    } finally {
      loaded.model.dispose();
    }
  }
  return { pairs, seconds: (performance.now() - t0) / 1000 };
}

/** The real target of every test pair as `out/<from>___<to>.png`: what the detector scores as the ceiling of PCKh. */
export async function copyTargets(data: string, out: string): Promise<number> {
  const ds = await openDataset(data, { split: 'test' });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const p of ds.pairs) copyFileSync(join(ds.imageDir as string, p.to), join(out, `${p.from}___${p.to}.png`));
  return ds.pairs.length;
}

export interface ScoreOptions {
  /** PCKh with MoveNet thunder (about 0.1 s an image). */
  pckh: boolean;
  /** GFLA's flow end-point error against the synthetic ground truth (needs out/flows/). */
  flowEpe: boolean;
  /** Folder of the FID and LPIPS weights; each metric is computed when its files are there. Default 'weights'. */
  weights?: string;
}

/**
 * Scores one method's images: SSIM under the `patn` and `gfla` protocols, mask-SSIM, L1 (images in [-1,1]), and, as
 * asked or available, PCKh, flow EPE, FID (real statistics: the held-out targets themselves) and LPIPS.
 */
export async function score(pred: string, data: string, o: ScoreOptions): Promise<Record<string, number>> {
  const weights = o.weights ?? WEIGHTS_DIR;
  const has = (...files: string[]): boolean => files.every((f) => existsSync(join(weights, f)));
  const patn = await evaluate({ pred, data, protocol: 'patn', metrics: ['ssim', 'mask_ssim', 'l1', ...(o.pckh ? ['pckh_movenet'] : [])] });
  const gflaMetrics = [
    'ssim',
    ...(o.flowEpe ? ['flow-epe'] : []),
    ...(has(WEIGHT_FILES.inceptionTorchvision.file) ? ['fid'] : []),
    ...(has(WEIGHT_FILES.alexnet.file, WEIGHT_FILES.lpipsAlex.file) ? ['lpips'] : []),
  ];
  const gfla = await evaluate({ pred, data, protocol: 'gfla', metrics: gflaMetrics, weights, fidReference: join(data, 'test') });
  const out: Record<string, number> = {
    ssim_patn: patn.metrics.ssim as number,
    ssim_gfla: gfla.metrics.ssim as number,
    mask_ssim: patn.metrics.mask_ssim as number,
    l1: patn.metrics.l1 as number,
  };
  if (o.pckh) out.pckh = patn.metrics.pckh_movenet as number;
  if (o.flowEpe) out.flow_epe = gfla.metrics['flow-epe'] as number;
  if (gfla.metrics.fid !== undefined) out.fid = gfla.metrics.fid;
  if (gfla.metrics.lpips !== undefined) out.lpips = gfla.metrics.lpips;
  return out;
}

/** The first test pair of each person (identity: the name before its first '_'), at most `max` of them: a picture's rows. */
export async function firstPairPerPerson(data: string, max = Infinity): Promise<{ from: string; to: string }[]> {
  const ds = await openDataset(data, { split: 'test' });
  const rows = new Map<string, { from: string; to: string }>();
  for (const p of ds.pairs) {
    const id = p.from.slice(0, p.from.indexOf('_'));
    if (!rows.has(id) && rows.size < max) rows.set(id, { from: p.from, to: p.to });
  }
  return [...rows.values()];
}

export interface PictureColumn {
  label: string;
  /** A folder of `<from>___<to>.png`, or 'source' / 'pose' / 'target' for the pair's own images. */
  dir: string;
}

/**
 * One row per pair: the columns' images side by side at `scale`, under a header of their labels; written as PNG
 * atomically.
 */
export async function writeComparisonPicture(path: string, data: string, pairs: readonly { from: string; to: string }[], columns: readonly PictureColumn[], scale = 2): Promise<void> {
  const ds = await openDataset(data, { split: 'test' });
  const [h, w] = ds.frame;
  const [ch, cw] = [h * scale, w * scale];
  const header = 22;
  const gap = 4;
  const width = columns.length * (cw + gap) - gap;
  const height = header + pairs.length * (ch + gap) - gap;
  const cell = async (col: PictureColumn, p: { from: string; to: string }): Promise<Buffer> => {
    let img: Sharp;
    if (col.dir === 'source' || col.dir === 'target') {
      img = sharp(join(ds.imageDir as string, col.dir === 'source' ? p.from : p.to));
    } else if (col.dir === 'pose') {
      const pose = ds.annotations.get(p.to)?.pose;
      if (!pose) throw new Error(`picture: ${p.to} has no keypoints in ${ds.annotationFile}`);
      img = sharp(await drawSkeleton(pose, [h, w]), { raw: { width: w, height: h, channels: 3 } });
    } else {
      const file = join(col.dir, `${p.from}___${p.to}.png`);
      if (!existsSync(file)) throw new Error(`picture: ${col.label} has no image ${file}; generate the pairs first`);
      img = sharp(file);
    }
    return img.resize(cw, ch, { kernel: 'nearest' }).removeAlpha().png().toBuffer();
  };
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const labels = columns.map((c, i) => `<text x="${i * (cw + gap) + cw / 2}" y="16" font-family="sans-serif" font-size="14" text-anchor="middle">${esc(c.label)}</text>`).join('');
  const composites: OverlayOptions[] = [
    { input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${header}">${labels}</svg>`), left: 0, top: 0 },
  ];
  for (let r = 0; r < pairs.length; r++) {
    for (let c = 0; c < columns.length; c++) {
      composites.push({ input: await cell(columns[c] as PictureColumn, pairs[r] as { from: string; to: string }), left: c * (cw + gap), top: header + r * (ch + gap) });
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png().toFile(tmp);
  renameSync(tmp, path);
}

/** What a shipped checkpoint's training.json records (written by packCheckpoint). */
export interface TrainingRecord {
  family: string;
  variant?: string;
  preset: string;
  steps: number;
  /** Wall seconds of training, summed over the run's sessions (gaps between a stop and its resume left out). */
  seconds: number;
  threads: number;
  command: string;
  data: string;
  cpu?: string;
}

/** Reads a checkpoint's training.json, or null when it has none. */
export function readTrainingRecord(dir: string): TrainingRecord | null {
  const file = join(dir, 'training.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TrainingRecord) : null;
}

/** Writes JSON atomically. */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Wall seconds a log covers, summing the gaps between its entries but leaving out stops (gaps over `maxGap` s). */
export function trainingSeconds(logText: string, maxGap = 600): number {
  const walls = logText.split('\n').filter((l) => l.trim() !== '').map((l) => Date.parse(String((JSON.parse(l) as { wall?: string }).wall)));
  let total = 0;
  for (let i = 1; i < walls.length; i++) {
    const gap = ((walls[i] as number) - (walls[i - 1] as number)) / 1000;
    if (Number.isFinite(gap) && gap > 0 && gap <= maxGap) total += gap;
  }
  return total;
}

/**
 * Turns a finished (or in-progress) training run into a shipped checkpoint folder: the newest generator weights as
 * float16 (half the bytes; loadModel casts back to float32), the resolved config, the log, its report page and
 * training.json. Replaces `dest` atomically.
 */
export function packCheckpoint(runDir: string, dest: string, record: Omit<TrainingRecord, 'steps' | 'seconds'>): TrainingRecord {
  const newest = listCheckpoints(runDir).at(-1);
  if (!newest) throw new Error(`pack: ${runDir} has no checkpoint yet (checkpoints/step-*); train longer or lower --save-every`);
  const [step, ckpt] = newest;
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const { tensors } = torch.io.loadSafetensors(join(ckpt, 'netG.safetensors'));
  try {
    const half = new Map([...tensors].map(([k, v]) => [k, v.dtype === 'float32' ? v.to('float16') : v.clone()]));
    try {
      torch.io.saveSafetensors(join(tmp, 'netG.safetensors'), half, { step: String(step), from: 'reposer train' });
    } finally {
      torch.dispose([...half.values()]);
    }
  } finally {
    torch.dispose([...tensors.values()]);
  }
  for (const f of ['config.json', 'log.jsonl']) copyFileSync(join(runDir, f), join(tmp, f));
  writeFileSync(join(tmp, 'report.html'), renderReport(readRunDir(runDir), { maxSamples: 1 }));
  const full: TrainingRecord = { ...record, steps: step, seconds: Math.round(trainingSeconds(readFileSync(join(runDir, 'log.jsonl'), 'utf8'))) };
  writeFileSync(join(tmp, 'training.json'), `${JSON.stringify(full, null, 2)}\n`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  renameSync(tmp, dest);
  return full;
}

/** The fixed input of a checkpoint's stored reference: two pairs of unseen people in sampler poses (no Market file). */
const REFERENCE_SET = { identities: 2, poses: 2, seed: 5, posesFrom: null } as const;
/**
 * The reference's tolerance (|difference|, images in [-1,1]): float sums reorder with the thread count, so every value
 * within `close`; and nearest-neighbour sampling (Deformable GAN's skip warps) rounds a coordinate on a pixel boundary
 * either way under another libtorch build's arithmetic, so up to `outliers` of the values may be off by up to `far`.
 */
export const REFERENCE_TOLERANCE = { close: 2e-4, outliers: 1e-3, far: 0.05 } as const;

/**
 * A checkpoint's output on the fixed reference input, as float32 (n,3,H,W) values in [-1,1] with its shape. `scratch`
 * is a folder the input set is written to (replaced).
 */
export async function referenceOutput(runDir: string, scratch: string): Promise<{ values: Float32Array; shape: number[] }> {
  const held = await writeHeldOutSet({ out: scratch, ...REFERENCE_SET });
  const loaded = loadModel(runDir);
  const loader = new PairLoader(await openDataset(held.data, { split: 'test' }), {
    ...loaderOptions(loaded.family, loaded.cfg, { seed: 0, workers: 0, shuffle: false }), batchSize: held.pairs, augment: null,
  });
  try {
    for await (const batch of loader.batches(0)) {
      try {
        return torch.scope(() => {
          const g = torch.noGrad(() => loaded.model.generate(batch)).to('float32').contiguous();
          return { values: Float32Array.from(g.data() as Float32Array), shape: g.shape.map(Number) };
        });
      } finally {
        torch.dispose(Object.values(batch));
      }
    }
    throw new Error(`reference: ${held.data} gave no batch`);
  } finally {
    await loader.close();
    loaded.model.dispose();
  }
}

/** Writes `runDir/reference.npy`, the checkpoint's output on the fixed reference input (what the tests compare). */
export async function writeReference(runDir: string, scratch: string): Promise<void> {
  const r = await referenceOutput(runDir, scratch);
  const path = join(runDir, 'reference.npy');
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatNpy(r.values, r.shape));
  renameSync(tmp, path);
}
