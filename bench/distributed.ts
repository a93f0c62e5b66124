// `make bench-distributed`: data-parallel scaling of `reposer train` on this machine. One run times PATN's small preset
// on synthetic 128x64 data (combined batch BENCH_BATCH) as 1 process x T threads, 1 x 1, and N processes x T/N
// threads (`--nprocs N`; VGG19 with random weights, since only time is measured), from each run's log.jsonl step timings after warm-up, and quotes the ratios. Progress goes
// to stderr; the LAST line of stdout is one JSON object.
//
// Environment: BENCH_BATCH (8), BENCH_STEPS (timed steps, 12), BENCH_WARMUP (3), BENCH_NPROCS (2).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const num = (name: string, def: number): number => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got '${process.env[name]}'`);
  return v;
};
const batch = num('BENCH_BATCH', 8);
const steps = num('BENCH_STEPS', 12);
const warmup = num('BENCH_WARMUP', 3);
const nprocs = num('BENCH_NPROCS', 2);
const cores = availableParallelism();

function run(args: string[], env: Record<string, string>): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`reposer ${args.join(' ')} failed:\n${r.stderr}`);
}

const root = mkdtempSync(join(tmpdir(), 'bench-dist-'));
try {
  const data = join(root, 'data');
  run(['data', 'synth', '--out', data, '--identities', '40', '--poses', '4', '--seed', '1'], {});
  const time = (label: string, procs: number, threads: number): { label: string; procs: number; threads: number; stepMs: number; stepsPerSec: number; imagesPerSec: number } => {
    const out = join(root, label);
    console.error(`bench-distributed: ${label}`);
    run(['train', '--model', 'patn', '--preset', 'small', '--data', data, '--out', out, '--steps', String(warmup + steps),
      '--sample-every', '0', '--log-every', '1', '--save-every', '100000', '--workers', '1', '--set', `data.batchSize=${batch}`, '--set', 'loss.vgg.weights=random',
      ...(procs > 1 ? ['--nprocs', String(procs)] : [])], { REPOSER_THREADS: String(threads) });
    const entries = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; time: { dataMs: number; stepMs: number } });
    const timed = entries.filter((e) => e.step > warmup);
    const stepMs = timed.reduce((s, e) => s + e.time.dataMs + e.time.stepMs, 0) / timed.length;
    return { label, procs, threads, stepMs: +stepMs.toFixed(1), stepsPerSec: +(1000 / stepMs).toFixed(3), imagesPerSec: +((1000 * batch) / stepMs).toFixed(2) };
  };
  const perRank = Math.max(1, Math.floor(cores / nprocs));
  const runs = [time(`1x${cores}`, 1, cores), time('1x1', 1, 1), time(`${nprocs}x${perRank}`, nprocs, perRank)];
  const [whole, single, parallel] = runs as [typeof runs[0], typeof runs[0], typeof runs[0]];
  console.log(JSON.stringify({
    bench: 'distributed', model: 'patn', preset: 'small', size: '128x64', batch, cores, steps, runs,
    ratios: {
      [`${nprocs}x${perRank} vs 1x${cores} (steps/s)`]: +(parallel.stepsPerSec / whole.stepsPerSec).toFixed(3),
      [`${nprocs}x${perRank} vs 1x1 (steps/s)`]: +(parallel.stepsPerSec / single.stepsPerSec).toFixed(3),
    },
  }));
} finally {
  rmSync(root, { recursive: true, force: true });
}
