// `make bench-quality-train`: retrains the shipped checkpoints (checkpoints/<family>) and the ablation variants
// (checkpoints/ablations/<family>-<variant>) with `reposer train --preset synth` on the synthetic training set, each
// run on one thread, BENCH_JOBS runs at a time; a run directory that exists is resumed, so an interrupted retraining
// continues where it stopped. Each finished (or, with BENCH_PACK_ONLY, in-progress) run is packed with its command,
// steps and training time. Not run by CI: about an hour per run on one core.
//
// Environment: BENCH_RUNS (names, comma-separated; default all of SYNTH_RUNS), BENCH_JOBS (2), BENCH_DIR (runs/synth:
// the dataset and the run directories), BENCH_PACK_ONLY=1 (pack what the run directories hold, train nothing),
// BENCH_CHECKPOINTS (checkpoints).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSynthDataset } from '../src/synth/index.js';
import { readAnnotationCsv } from '../src/data/index.js';
import { MARKET_TEST_POSES, MARKET_TRAIN_POSES, SHIPPED_CHECKPOINTS, SYNTH_RUNS, TRAIN_SET, packCheckpoint, runCheckpointPath, writeReference, type SynthRun } from '../src/quality/index.js';

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.js');
const dir = resolve(process.env.BENCH_DIR ?? 'runs/synth');
const data = join(dir, 'data');
const checkpoints = resolve(process.env.BENCH_CHECKPOINTS ?? SHIPPED_CHECKPOINTS);
const jobs = Number(process.env.BENCH_JOBS ?? 2);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`BENCH_JOBS must be a positive integer, got '${process.env.BENCH_JOBS}'`);
const wanted = process.env.BENCH_RUNS?.split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = wanted?.filter((n) => !SYNTH_RUNS.some((r) => r.name === n));
if (unknown?.length) throw new Error(`BENCH_RUNS names unknown runs ${unknown.join(', ')}; known: ${SYNTH_RUNS.map((r) => r.name).join(', ')}`);
const runs = SYNTH_RUNS.filter((r) => !wanted || wanted.includes(r.name));

/** The command line that trains (or resumes) a run, as the README quotes it. */
function trainArgs(run: SynthRun): string[] {
  const out = join(dir, run.name);
  if (existsSync(join(out, 'config.json'))) return ['train', '--data', data, '--out', out, '--resume'];
  return ['train', '--model', run.family, '--preset', 'synth', ...(run.variant ? ['--set', `variant=${run.variant}`] : []),
    '--data', data, '--out', out, '--seed', '0', '--save-every', '50', '--keep', '2', '--sample-every', '100', '--log-every', '10'];
}

function quoted(run: SynthRun): string {
  return ['REPOSER_THREADS=1 reposer train --model', run.family, '--preset synth', ...(run.variant ? [`--set variant=${run.variant}`] : []),
    '--data runs/synth/data --out', `runs/synth/${run.name}`].join(' ');
}

function train(run: SynthRun): Promise<void> {
  const args = trainArgs(run);
  console.error(`bench-quality-train: ${run.name}: reposer ${args.join(' ')}`);
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, REPOSER_THREADS: '1' } });
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${run.name}: reposer train exited with ${code}; its log is ${join(dir, run.name, 'log.jsonl')}`))));
  });
}

async function pack(run: SynthRun): Promise<void> {
  const runDir = join(dir, run.name);
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as { preset: string };
  const rec = packCheckpoint(runDir, runCheckpointPath(run, checkpoints), {
    family: run.family, ...(run.variant ? { variant: run.variant } : {}), preset: config.preset, threads: 1,
    command: quoted(run), data: `reposer data synth --out runs/synth/data --identities ${TRAIN_SET.identities} --poses ${TRAIN_SET.poses} ` +
      `--seed ${TRAIN_SET.seed} --poses-from market-annotation-train.csv --test-poses-from market-annotation-test.csv`,
    cpu: cpus()[0]?.model,
  });
  await writeReference(runCheckpointPath(run, checkpoints), join(dir, 'reference-input'));
  console.error(`bench-quality-train: packed ${run.name}: ${rec.steps} steps, ${(rec.seconds / 60).toFixed(1)} min -> ${runCheckpointPath(run, checkpoints)}`);
}

if (process.env.BENCH_PACK_ONLY !== '1') {
  if (!existsSync(join(data, 'synth.json'))) {
    const [train, test] = await Promise.all([readAnnotationCsv(MARKET_TRAIN_POSES), readAnnotationCsv(MARKET_TEST_POSES)]);
    await writeSynthDataset({
      out: data, size: { height: 128, width: 64 }, ...TRAIN_SET,
      posesFrom: train.map((r) => r.pose), testPosesFrom: test.map((r) => r.pose),
    });
  }
  const queue = [...runs];
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      await train(run);
      await pack(run);
    }
  }));
} else {
  for (const run of runs) if (existsSync(join(dir, run.name, 'config.json'))) await pack(run);
}
console.log(JSON.stringify({ checkpoints, runs: runs.map((r) => r.name) }));
