// `reposer train`: a thin shell over train() with a progress bar (plain log lines when stdout is not a terminal),
// and SIGINT/SIGTERM turned into "checkpoint and stop" (a second signal exits at once).
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { train, type Precision, type StepProgress } from '../train/index.js';
import { collect, nonNegativeInt, oneOf, positiveInt, preset } from './options.js';
import type { Preset } from '../models/registry.js';

interface TrainCliOptions {
  model?: string;
  data: string;
  preset?: Preset;
  config?: string;
  set: string[];
  steps?: number;
  seed: number;
  saveEvery: number;
  keep: number;
  logEvery: number;
  sampleEvery?: number;
  workers: number;
  out: string;
  resume?: boolean;
  precision: Precision;
  nprocs?: number;
  rank?: number;
  worldSize?: number;
  masterAddr?: string;
  distStore?: string;
  distTimeout: number;
}

/** Where this process's rank meets the others: the launcher's file store, or rank 0's TCP store at --master-addr. */
function dataParallel(o: TrainCliOptions): { rank: number; worldSize: number; store: string; timeoutMs: number } | undefined {
  const given = [o.rank, o.worldSize, o.masterAddr ?? o.distStore].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (o.rank === undefined || o.worldSize === undefined || (o.masterAddr === undefined && o.distStore === undefined)) {
    throw new Error('train: a data-parallel rank needs --rank, --world-size and --master-addr HOST[:PORT] together (or use --nprocs N on one machine)');
  }
  if (o.rank >= o.worldSize) throw new Error(`train: --rank ${o.rank} must be below --world-size ${o.worldSize}`);
  let store = o.distStore;
  if (store === undefined) {
    const m = /^(.+?)(?::(\d+))?$/.exec(o.masterAddr as string) as RegExpExecArray;
    store = `tcp:${m[1]}:${m[2] ?? '29500'}`;
  }
  return { rank: o.rank, worldSize: o.worldSize, store, timeoutMs: o.distTimeout * 1000 };
}

/**
 * --nprocs N: runs N ranks of this command on this machine (each with cores/N threads unless REPOSER_THREADS is
 * set), forwards SIGINT/SIGTERM to them, and when one rank fails stops the others and names it.
 */
async function launchRanks(n: number, argv: readonly string[]): Promise<void> {
  const storeFile = join(tmpdir(), `reposer-dist-${process.pid}-${Date.now()}`);
  const threads = process.env.REPOSER_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / n)));
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--nprocs') i++;
    else if (!a.startsWith('--nprocs=')) rest.push(a);
  }
  const children: ChildProcess[] = [];
  const exits: Promise<{ rank: number; code: number | null; signal: NodeJS.Signals | null }>[] = [];
  for (let rank = 0; rank < n; rank++) {
    const child = spawn(process.execPath, [...rest, '--rank', String(rank), '--world-size', String(n), '--dist-store', `file:${storeFile}`], {
      env: { ...process.env, REPOSER_THREADS: threads },
      stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    exits.push(new Promise((res) => child.on('exit', (code, signal) => res({ rank, code, signal }))));
  }
  const forward = (sig: NodeJS.Signals): void => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const pending = new Map(exits.map((p, i) => [i, p]));
    let failure: string | null = null;
    while (pending.size > 0) {
      const done = await Promise.race(pending.values());
      pending.delete(done.rank);
      if ((done.code !== 0 || done.signal !== null) && failure === null) {
        failure = `train: rank ${done.rank} of ${n} ${done.signal ? `was killed by ${done.signal}` : `exited with code ${done.code}`}`;
        console.error(`${failure}; stopping the other ranks`);
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    if (failure) throw new Error(failure);
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    rmSync(storeFile, { force: true });
  }
}

const fmtLosses = (losses: Record<string, number>): string =>
  Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(3)}`).join('  ');

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export async function runTrain(o: TrainCliOptions): Promise<void> {
  if (o.nprocs !== undefined) {
    if (o.rank !== undefined || o.worldSize !== undefined || o.masterAddr !== undefined) {
      throw new Error('train: --nprocs launches the ranks itself; drop --rank/--world-size/--master-addr');
    }
    if (o.nprocs > 1) return launchRanks(o.nprocs, process.argv.slice(1));
  }
  const distributed = dataParallel(o);
  const quiet = (distributed?.rank ?? 0) !== 0;
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    console.error(`\n${sig}: writing a checkpoint and stopping (again to quit at once)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = process.stdout.isTTY === true && !quiet;
  const bar = tty ? new cliProgress.SingleBar({
    format: 'step {value}/{total} |{bar}| {percentage}% {ips} img/s  eta {left}  {losses}',
    hideCursor: true,
  }, cliProgress.Presets.shades_classic) : null;
  const started = performance.now();
  let firstStep: number | null = null;
  const onStep = (p: StepProgress): void => {
    firstStep ??= p.step - 1;
    const done = p.step - firstStep;
    const left = ((performance.now() - started) / 1000 / done) * (p.totalSteps - p.step);
    if (bar) {
      if (done === 1) bar.start(p.totalSteps, p.step);
      bar.update(p.step, { ips: p.imagesPerSec.toFixed(1), left: seconds(left), losses: fmtLosses(p.losses) });
    } else if (!quiet && (p.step % o.logEvery === 0 || p.step === p.totalSteps)) {
      console.log(`step ${p.step}/${p.totalSteps} epoch ${p.epoch} ${p.stage}  ${fmtLosses(p.losses)}  ` +
        `${p.imagesPerSec.toFixed(1)} img/s  data ${p.dataMs.toFixed(1)} ms  step ${p.stepMs.toFixed(1)} ms  eta ${seconds(left)}`);
    }
  };
  try {
    const r = await train({
      data: o.data, out: o.out, model: o.model, preset: o.preset, configFile: o.config, sets: o.set, steps: o.steps,
      seed: o.seed, saveEvery: o.saveEvery, keep: o.keep, logEvery: o.logEvery, sampleEvery: o.sampleEvery,
      workers: o.workers, resume: o.resume, precision: o.precision, notice: (line) => console.error(line), signal: stop.signal, onStep,
      distributed,
    });
    bar?.stop();
    if (!quiet) console.log(`${r.reason === 'done' ? 'finished' : 'stopped'} at step ${r.step}/${r.totalSteps}; checkpoint ${r.checkpoint}`);
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerTrain(program: Command): void {
  program.command('train')
    .description("train a model family on a dataset with its official schedule, or resume a run")
    .option('--model <name>', 'family (patn, pg2, defgan); not with --resume')
    .requiredOption('--data <dir>', 'dataset folder (its train split trains; its test split gives the samples)')
    .option('--preset <p>', 'starting point: deepfashion, market, small, tiny', preset)
    .option('--config <file.json>', 'a config file over the preset')
    .option('--set <key=value>', 'config override, repeatable (e.g. --set data.batchSize=4)', collect, [])
    .option('--steps <n>', 'stop after n iterations in all', positiveInt)
    .option('--seed <s>', 'seeds init, dropout, sampling and the loader', nonNegativeInt, 0)
    .option('--save-every <n>', 'checkpoint interval in iterations', positiveInt, 1000)
    .option('--keep <k>', 'checkpoints kept', positiveInt, 3)
    .option('--log-every <n>', 'log.jsonl interval in iterations', positiveInt, 10)
    .option('--sample-every <n>', 'sample-grid interval in iterations (0: none; default: --save-every)', nonNegativeInt)
    .option('--workers <n>', 'loader threads', nonNegativeInt, 1)
    .requiredOption('--out <run_dir>', 'run directory: config.json, log.jsonl, samples/, checkpoints/')
    .option('--resume', 'continue the run in --out from its newest checkpoint')
    .option('--precision <p>', 'fp32, or bf16 (autocast; fp32 master weights) where the CPU has native bf16', oneOf(['fp32', 'bf16'] as const), 'fp32')
    .option('--nprocs <n>', 'data-parallel: run n processes on this machine (data.batchSize is split over them)', positiveInt)
    .option('--rank <r>', 'data-parallel across machines: this machine\'s rank (with --world-size, --master-addr)', nonNegativeInt)
    .option('--world-size <n>', 'data-parallel across machines: the number of ranks', positiveInt)
    .option('--master-addr <host[:port]>', 'data-parallel across machines: where rank 0 serves the store (port 29500 by default)')
    .option('--dist-timeout <s>', 'data-parallel: seconds a rank waits for the others before failing', positiveInt, 300)
    .addOption(new Option('--dist-store <spec>', 'the store spec --nprocs gives its ranks (file:PATH)').hideHelp())
    .addHelpText('after', `
Ctrl-C (SIGINT) or SIGTERM writes a checkpoint and stops; --resume continues exactly where it stopped.

Examples:
  reposer data synth --out data/synth --identities 40
  reposer train --model patn --preset small --data data/synth --out runs/patn --steps 2000 --save-every 200
  reposer train --data data/synth --out runs/patn --resume
  reposer train --model patn --preset small --data data/synth --out runs/patn2 --nprocs 2
  # two machines (rank 0 at 10.0.0.1):
  reposer train ... --rank 0 --world-size 2 --master-addr 10.0.0.1:29500
  reposer train ... --rank 1 --world-size 2 --master-addr 10.0.0.1:29500`)
    .action((o: TrainCliOptions) => runTrain(o));
}
