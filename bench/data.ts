// `make bench-data`: loader throughput (pairs per second, heatmaps and PG2 masks included) at 128x64 and 256x176,
// plus the synthetic renderer's renders per second. Progress goes to stderr; the LAST line of stdout is one JSON
// object.
//
// The datasets are made in a temporary directory at bench time from real material in ../shared/data (never copied
// into the project): real Market annotation rows with the two real Market images copied under their names (128x64),
// and real DeepFashion rows moved into PATN's 256x176 frame (x - 40) with PATN's sample images copied under their
// names. Without ../shared/data, images and poses are generated with sharp instead.
//
// Environment: BENCH_BATCH (8), BENCH_BATCHES (timed batches per size, 24), BENCH_WORKERS (loader default),
// BENCH_SKIP_SYNTH=1 leaves out the renderer figure.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as torch from '../src/torch/index.js';
import { readAnnotationCsvSync, writeAnnotationCsvSync, writePairsCsvSync, type AnnotationRow } from '../src/data/formats.js';
import { openDataset } from '../src/data/layouts.js';
import { PairLoader } from '../src/data/loader.js';
import { makePairs } from '../src/data/pairs.js';
import { emptyPose, isVisible, jointX, jointY, setJoint, NUM_JOINTS } from '../src/pose/skeleton.js';

const SHARED = process.env.REPOSER_SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data');
const num = (name: string, def: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return n;
};
const BATCH = num('BENCH_BATCH', 8);
const BATCHES = num('BENCH_BATCHES', 24);
const WORKERS = process.env.BENCH_WORKERS ? num('BENCH_WORKERS', 2) : undefined;

interface Prepared { dir: string; frame: [number, number] }

/** Rows with a torso, enough of them to give BATCH * (BATCHES + 4) pairs. */
function pickRows(rows: AnnotationRow[], identity: 'market' | 'deepfashion'): { rows: AnnotationRow[]; pairs: { from: string; to: string }[] } {
  const want = BATCH * (BATCHES + 4);
  for (let take = 64; ; take *= 2) {
    const sub = rows.slice(0, take);
    const pairs = makePairs(sub, { identity, limit: want, seed: 1 });
    if (pairs.length >= want || take >= rows.length) return { rows: sub, pairs };
  }
}

async function prepareMarket(root: string): Promise<Prepared> {
  const dir = join(root, 'market');
  mkdirSync(join(dir, 'train'), { recursive: true });
  const frame: [number, number] = [128, 64];
  let rows: AnnotationRow[];
  let sources: string[];
  if (existsSync(join(SHARED, 'market/market-annotation-train.csv'))) {
    rows = readAnnotationCsvSync(join(SHARED, 'market/market-annotation-train.csv'));
    sources = ['0011_c6s4_002502_01.jpg', '0011_c6s4_002527_01.jpg'].map((n) => join(SHARED, 'market/images', n));
  } else {
    rows = syntheticRows(frame, 'market');
    sources = [await syntheticImage(root, frame)];
  }
  const { rows: used, pairs } = pickRows(rows, 'market');
  used.forEach((r, i) => copyFileSync(sources[i % sources.length] as string, join(dir, 'train', r.name)));
  writeAnnotationCsvSync(join(dir, 'bench-annotation-train.csv'), used);
  writePairsCsvSync(join(dir, 'bench-pairs-train.csv'), pairs);
  return { dir, frame };
}

async function prepareFashion(root: string): Promise<Prepared> {
  const dir = join(root, 'fashion');
  mkdirSync(join(dir, 'train'), { recursive: true });
  const frame: [number, number] = [256, 176];
  let rows: AnnotationRow[];
  let sources: string[];
  if (existsSync(join(SHARED, 'fashion/fasion-annotation-test.csv'))) {
    // PATN's 256x176 layout: the same keypoints with x - 40; joints that fall off the narrower frame go missing.
    rows = readAnnotationCsvSync(join(SHARED, 'fashion/fasion-annotation-test.csv')).map((r) => {
      const p = emptyPose();
      for (let j = 0; j < NUM_JOINTS; j++) {
        const x = jointX(r.pose, j) - 40;
        if (isVisible(r.pose, j) && x >= 0 && x < 176) setJoint(p, j, jointY(r.pose, j), x);
      }
      return { ...r, pose: p };
    });
    sources = [1, 2, 3, 4].map((i) => join(SHARED, `patn-samples/women${i}.jpg`));
  } else {
    rows = syntheticRows(frame, 'deepfashion');
    sources = [await syntheticImage(root, frame)];
  }
  const { rows: used, pairs } = pickRows(rows, 'deepfashion');
  used.forEach((r, i) => copyFileSync(sources[i % sources.length] as string, join(dir, 'train', r.name)));
  writeAnnotationCsvSync(join(dir, 'fasion-annotation-train.csv'), used);
  writePairsCsvSync(join(dir, 'fasion-pairs-train.csv'), pairs);
  return { dir, frame };
}

function syntheticRows([h, w]: [number, number], style: 'market' | 'deepfashion'): AnnotationRow[] {
  const rows: AnnotationRow[] = [];
  for (let i = 0; i < 256; i++) {
    const p = emptyPose();
    for (let j = 0; j < NUM_JOINTS; j++) setJoint(p, j, ((j * 7 + i) % (h - 8)) + 4, ((j * 5 + i * 3) % (w - 8)) + 4);
    const id = Math.floor(i / 4);
    const name = style === 'market' ? `${String(id + 1).padStart(4, '0')}_c1s1_${String(i).padStart(6, '0')}_00.jpg`
      : `fasionWOMENDressesid${String(id).padStart(8, '0')}01_${i % 4}view.jpg`;
    rows.push({ name, pose: p, line: 0 });
  }
  return rows;
}

async function syntheticImage(root: string, [h, w]: [number, number]): Promise<string> {
  const path = join(root, `synthetic-${h}x${w}.jpg`);
  const pixels = Buffer.alloc(h * w * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 251;
  await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).jpeg().toFile(path);
  return path;
}

/**
 * Pairs per second of the loader over BATCHES batches after two warm-up batches: wall-clock, and per CPU-second of
 * the whole process (main thread and loader workers), which stays meaningful when other work shares the machine.
 */
export async function benchLoader(dir: string, label: string, affines = false): Promise<{ perSecond: number; perCpuSecond: number }> {
  const ds = await openDataset(dir, { split: 'train' });
  const loader = new PairLoader(ds, { batchSize: BATCH, seed: 1, workers: WORKERS, masks: ['pg2'], affines, dropLast: true });
  let seen = 0;
  let pairs = 0;
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  try {
    for await (const b of loader.batches(0)) {
      if (seen === 2) { t0 = performance.now(); cpu0 = process.cpuUsage(); }
      if (seen >= 2) pairs += b.imageA.shape[0] as number;
      torch.dispose(b);
      seen++;
      if (seen >= BATCHES + 2) break;
    }
  } finally {
    await loader.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = pairs / seconds;
  console.error(`${label}: ${pairs} pairs in ${seconds.toFixed(2)} s = ${rate.toFixed(1)} pairs/s, ` +
    `${(pairs / cpuSeconds).toFixed(1)} pairs per CPU-second (batch ${BATCH}, ${ds.frame.join('x')})`);
  const round = (v: number): number => Math.round(v * 10) / 10;
  return { perSecond: round(rate), perCpuSecond: round(pairs / cpuSeconds) };
}

/**
 * The data bench's figures. Other benches of the data area can add theirs here: the synthetic renderer's
 * (src/synth/bench.ts) is merged in below.
 */
export async function benchData(): Promise<Record<string, number | string>> {
  const root = mkdtempSync(join(tmpdir(), 'reposer-bench-data-'));
  try {
    const market = await prepareMarket(root);
    const fashion = await prepareFashion(root);
    const small = await benchLoader(market.dir, 'loader 128x64');
    const large = await benchLoader(fashion.dir, 'loader 256x176');
    const withAffines = await benchLoader(market.dir, 'loader 128x64 + part affines', true);
    const out: Record<string, number | string> = {
      loader_pairs_per_s_128x64: small.perSecond,
      loader_pairs_per_s_256x176: large.perSecond,
      loader_pairs_per_cpu_s_128x64: small.perCpuSecond,
      loader_pairs_per_cpu_s_256x176: large.perCpuSecond,
      loader_pairs_per_s_128x64_with_part_affines: withAffines.perSecond,
      loader_batch: BATCH,
      loader_workers: WORKERS ?? 'default',
      loader_includes: 'decode, [-1,1] images A and B, keypoints, 18-channel heatmaps A and B (sigma 6), PG2 mask of B',
    };
    if (process.env.BENCH_SKIP_SYNTH !== '1') {
      // The renderer's own bench; see src/synth/bench.ts.
      const { benchSynth } = await import('../src/synth/bench.js');
      Object.assign(out, await benchSynth());
    }
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await benchData()));
