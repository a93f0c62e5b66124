// `make bench-precision-curve`: does a bfloat16 run learn like a float32 one? Trains PATN's small preset on synthetic
// 128x64 data twice from the same seed, `--precision fp32` and `--precision bf16` (CPU autocast, fp32 master weights),
// one thread each, side by side, and compares the two loss curves (each smoothed over BENCH_WINDOW logged points) and
// the step times. The perceptual loss uses the fixed random VGG19 (loss.vgg.weights=random), as the synthetic
// checkpoints do. Progress goes to stderr; the LAST line of stdout is one JSON object.
//
// Environment: BENCH_STEPS (300), BENCH_LOG_EVERY (5), BENCH_WINDOW (10 logged points), BENCH_DIR (a temporary
// folder, removed after; given, it is kept and holds both runs).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { autocastSupported } from '../src/torch/index.js';

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const num = (name: string, def: number): number => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got '${process.env[name]}'`);
  return v;
};
const steps = num('BENCH_STEPS', 300);
const logEvery = num('BENCH_LOG_EVERY', 5);
const window = num('BENCH_WINDOW', 10);
if (!autocastSupported('cpu', 'bfloat16')) {
  throw new Error('bench-precision-curve: this CPU has no native bfloat16 (avx512_bf16 or amx_bf16 in /proc/cpuinfo), so ' +
    "'--precision bf16' runs fp32 and there is nothing to compare; run it on a CPU that has one");
}

function reposer(args: string[], label: string): Promise<void> {
  return new Promise((res, rej) => {
    let stderr = '';
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, REPOSER_THREADS: '1' } });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${label}: reposer ${args.join(' ')} exited with ${code}:\n${stderr}`))));
  });
}

interface Logged { step: number; losses: Record<string, number>; time: { dataMs: number; stepMs: number } }
const readLog = (run: string): Logged[] => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Logged);

/** Trailing mean over `window` points (fewer at the start). */
function smooth(values: number[]): number[] {
  return values.map((_, i) => {
    const part = values.slice(Math.max(0, i - window + 1), i + 1);
    return part.reduce((s, v) => s + v, 0) / part.length;
  });
}

const given = process.env.BENCH_DIR;
const root = given ? resolve(given) : mkdtempSync(join(tmpdir(), 'bench-precision-'));
mkdirSync(root, { recursive: true });
try {
  const data = join(root, 'data');
  console.error('bench-precision-curve: writing the synthetic data set');
  await reposer(['data', 'synth', '--out', data, '--identities', '80', '--poses', '6', '--seed', '1'], 'data');
  const precisions = ['fp32', 'bf16'] as const;
  console.error(`bench-precision-curve: PATN small, ${steps} steps at each precision, side by side`);
  await Promise.all(precisions.map((p) => reposer(['train', '--model', 'patn', '--preset', 'small', '--data', data, '--out', join(root, p),
    '--precision', p, '--steps', String(steps), '--seed', '0', '--log-every', String(logEvery), '--sample-every', '0',
    '--save-every', String(steps), '--set', 'loss.vgg.weights=random'], p)));
  const [full, half] = precisions.map((p) => readLog(join(root, p))) as [Logged[], Logged[]];
  if (full.length !== half.length || full.some((e, i) => e.step !== half[i]?.step)) throw new Error('the two runs logged different steps');
  const names = Object.keys(full[0]?.losses ?? {});
  const curves = Object.fromEntries(names.map((name) => {
    const a = smooth(full.map((e) => e.losses[name] as number));
    const b = smooth(half.map((e) => e.losses[name] as number));
    // The gap between the smoothed curves, relative to the fp32 curve's level, over the second half of the run.
    const late = a.map((_, i) => i).filter((i) => (full[i]?.step ?? 0) > steps / 2);
    const gap = late.reduce((s, i) => s + Math.abs((b[i] as number) - (a[i] as number)) / Math.abs(a[i] as number), 0) / late.length;
    return [name, {
      first: { fp32: +(a[0] as number).toFixed(4), bf16: +(b[0] as number).toFixed(4) },
      last: { fp32: +(a.at(-1) as number).toFixed(4), bf16: +(b.at(-1) as number).toFixed(4) },
      meanRelativeGapSecondHalf: +gap.toFixed(4),
    }];
  }));
  const stepMs = (log: Logged[]): number => log.slice(1).reduce((s, e) => s + e.time.dataMs + e.time.stepMs, 0) / (log.length - 1);
  const table = full.map((e, i) => ({ step: e.step, G_total: { fp32: +(e.losses.G_total as number).toFixed(4), bf16: +((half[i] as Logged).losses.G_total as number).toFixed(4) } }));
  console.log(JSON.stringify({
    bench: 'precision-curve', model: 'patn', preset: 'small', size: '128x64', steps, logEvery, smoothing: window, threadsPerRun: 1,
    stepMs: { fp32: +stepMs(full).toFixed(1), bf16: +stepMs(half).toFixed(1), ratio: +(stepMs(half) / stepMs(full)).toFixed(3) },
    curves, log: table,
  }));
} finally {
  if (!given) rmSync(root, { recursive: true, force: true });
}
