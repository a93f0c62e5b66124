// `node dist/bench/eval.js`: evaluation speed against the Python reference, both sides in one run.
//   1. SSIM (PATN setting) over BENCH_SSIM_PAIRS (12,000) Market-shaped 128x64 pairs: ours batched on tensors vs
//      scikit-image's structural_similarity called per pair as getMetrics_market.py does, on the same pixels;
//      BENCH_SSIM_ROUNDS (1) alternating rounds, each side's best counts. BENCH_THREADS sets the engine's threads.
//   2. FID feature extraction (resize to 299 + torchvision InceptionV3 pool3) of BENCH_FID_IMAGES (64) 128x64
//      images, batch 32: ours vs python3-torch running the same network with the same random weights, both with the
//      engine's intra-op thread count.
// Ratios are ours / Python's time (below 1 means ours is faster). Progress goes to stderr; the LAST line of stdout is
// one JSON object. The machine is shared: figures move with its load.
//
// The image pairs are the 55 real Market user-study pairs (../shared/data/user-study/market-userstudy), repeated with
// a per-copy roll so no two are identical; without the shared data, random images stand in.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { formatNpy } from '../src/data/npy.js';
import { InceptionV3, PROTOCOLS, WEIGHT_FILES, prepareInceptionInput, readRgb, ssim, type SsimOptions } from '../src/eval/index.js';

const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';
const SHARED = process.env.REPOSER_SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data');
const NETS = join(process.cwd(), 'test', 'parity', 'eval', 'metric_nets.py');
const num = (name: string, def: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};
const PAIRS = num('BENCH_SSIM_PAIRS', 12000);
const CHUNK = num('BENCH_SSIM_CHUNK', 100);
const ROUNDS = num('BENCH_SSIM_ROUNDS', 1);
if (process.env.BENCH_THREADS) torch.setNumThreads(num('BENCH_THREADS', 1));
const FID_IMAGES = num('BENCH_FID_IMAGES', 64);
const FID_BATCH = 32;

function python(code: string): Record<string, number> {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${PYTHON} failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, number>;
}

/** (PAIRS,3,128,64) uint8 generated and target images. */
async function marketPairs(): Promise<{ gen: torch.Tensor; to: torch.Tensor }> {
  const dir = join(SHARED, 'user-study', 'market-userstudy');
  if (!existsSync(dir)) {
    console.error(`bench eval: no ${dir}; random images stand in`);
    return { gen: torch.randint(0, 256, [PAIRS, 3, 128, 64], 'uint8'), to: torch.randint(0, 256, [PAIRS, 3, 128, 64], 'uint8') };
  }
  const read = async (sub: string) => {
    const images = await Promise.all(readdirSync(join(dir, sub)).sort().map((f) => readRgb(join(dir, sub, f))));
    const base = torch.stack(images);
    torch.dispose(images);
    return base;
  };
  const [gen, to] = [await read('gen'), await read('to')];
  const n = gen.shape[0] as number;
  const tile = (t: torch.Tensor) => torch.scope(() => {
    const copies: torch.Tensor[] = [];
    for (let i = 0; i * n < PAIRS; i++) copies.push(t.roll([i % 7, i % 5], [2, 3]));
    return torch.cat(copies, 0).narrow(0, 0, PAIRS).contiguous();
  });
  const out = { gen: tile(gen), to: tile(to) };
  torch.dispose([gen, to]);
  return out;
}

function bytesOf(t: torch.Tensor): Uint8Array {
  const d = t.data();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'reposer-bench-eval-'));
  try {
    const spec = PROTOCOLS.patn.metrics.ssim!;
    const options = (spec as { options: SsimOptions }).options;
    const { gen, to } = await marketPairs();
    writeFileSync(join(work, 'gen.npy'), formatNpy(bytesOf(gen), gen.shape));
    writeFileSync(join(work, 'to.npy'), formatNpy(bytesOf(to), to.shape));
    // Rounds alternate the two sides, and each side's best round counts: on a shared machine a load spike during
    // one side's only run would otherwise decide the ratio.
    const oursRounds: number[] = [];
    const skimageRounds: number[] = [];
    let oursSum = 0;
    let py: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      console.error(`bench eval: SSIM over ${PAIRS} pairs, round ${round + 1}/${ROUNDS}, ours (chunks of ${CHUNK})...`);
      const t0 = performance.now();
      oursSum = 0;
      for (let s = 0; s < PAIRS; s += CHUNK) {
        oursSum += torch.scope(() => ssim(gen.narrow(0, s, Math.min(CHUNK, PAIRS - s)), to.narrow(0, s, Math.min(CHUNK, PAIRS - s)), options).sum().item());
      }
      oursRounds.push((performance.now() - t0) / 1000);
      console.error(`bench eval: ours ${oursRounds[round]!.toFixed(2)} s; scikit-image...`);
      py = python(`
import json, time, numpy as np
from skimage.metrics import structural_similarity
gen = np.load(${JSON.stringify(join(work, 'gen.npy'))}).transpose(0, 2, 3, 1); to = np.load(${JSON.stringify(join(work, 'to.npy'))}).transpose(0, 2, 3, 1)
t0 = time.perf_counter(); total = 0.0
for g, t in zip(gen, to):
    total += structural_similarity(t, g, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2, data_range=g.max() - g.min())
print(json.dumps({'seconds': time.perf_counter() - t0, 'mean': total / len(gen)}))`);
      skimageRounds.push(py.seconds!);
    }
    const oursSsimS = Math.min(...oursRounds);
    const skimageS = Math.min(...skimageRounds);
    const ssimResult = {
      pairs: PAIRS, frame: '128x64', setting: 'patn (Gaussian sigma 1.5, uint8, data_range = generated max - min)',
      ours_s: oursSsimS, skimage_s: skimageS, speedup: skimageS / oursSsimS, rounds: { ours_s: oursRounds, skimage_s: skimageRounds },
      threads: torch.getNumThreads(), mean_ours: oursSum / PAIRS, mean_skimage: py.mean!,
    };
    console.error(`bench eval: SSIM speedup ${ssimResult.speedup.toFixed(2)}x (mean ${ssimResult.mean_ours} vs ${py.mean})`);
    torch.dispose([gen, to]);

    console.error(`bench eval: FID features of ${FID_IMAGES} images...`);
    const files = Object.fromEntries(Object.entries(WEIGHT_FILES).map(([k, v]) => [k, v.file]));
    const images = torch.rand([FID_IMAGES, 3, 128, 64]);
    writeFileSync(join(work, 'images.npy'), formatNpy(images.data(), images.shape));
    const pyFid = python(`
import json, time, numpy as np, torch
import torch.nn as nn, torch.nn.functional as F
exec(open(${JSON.stringify(NETS)}).read())
torch.set_num_threads(${torch.getNumThreads()})
nets = build_all(${JSON.stringify(work)}, ${JSON.stringify(files)}, which=('tv',))
x = torch.from_numpy(np.load(${JSON.stringify(join(work, 'images.npy'))}))
with torch.no_grad():
    nets['tv'](inception_input(x[:2], 'minus-one-to-one'))
    t0 = time.perf_counter()
    feats = torch.cat([nets['tv'](inception_input(x[i:i + ${FID_BATCH}], 'minus-one-to-one'))[0] for i in range(0, x.shape[0], ${FID_BATCH})])
    seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'threads': torch.get_num_threads(), 'checksum': float(feats.double().sum())}))`);
    const net = InceptionV3.fromWeights('torchvision', work);
    torch.scope(() => net.forward(prepareInceptionInput(images.narrow(0, 0, 2), 'minus-one-to-one')));
    const t1 = performance.now();
    const checksum = torch.scope(() => {
      const parts: torch.Tensor[] = [];
      for (let i = 0; i < FID_IMAGES; i += FID_BATCH) {
        parts.push(net.forward(prepareInceptionInput(images.narrow(0, i, Math.min(FID_BATCH, FID_IMAGES - i)), 'minus-one-to-one')).pool);
      }
      return torch.cat(parts, 0).to('float64').sum().item();
    });
    const oursFidS = (performance.now() - t1) / 1000;
    net.dispose();
    images.dispose();
    const fidResult = {
      images: FID_IMAGES, batch: FID_BATCH, input: '128x64 -> 299x299', ours_s: oursFidS, torch_s: pyFid.seconds!,
      ratio: oursFidS / pyFid.seconds!, threads: torch.getNumThreads(), python_threads: pyFid.threads!, checksum_ours: checksum, checksum_torch: pyFid.checksum!,
    };
    console.error(`bench eval: FID features ours ${oursFidS.toFixed(2)} s, torch ${pyFid.seconds!.toFixed(2)} s`);
    console.log(JSON.stringify({ ssim: ssimResult, fid_features: fidResult, note: 'shared machine: times move with its load' }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
