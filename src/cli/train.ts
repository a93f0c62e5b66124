// `reposer train`: a thin shell over train() with a progress bar (plain log lines when stdout is not a terminal),
// and SIGINT/SIGTERM turned into "checkpoint and stop" (a second signal exits at once).
import type { Command } from 'commander';
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
  const tty = process.stdout.isTTY === true;
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
    } else if (p.step % o.logEvery === 0 || p.step === p.totalSteps) {
      console.log(`step ${p.step}/${p.totalSteps} epoch ${p.epoch} ${p.stage}  ${fmtLosses(p.losses)}  ` +
        `${p.imagesPerSec.toFixed(1)} img/s  data ${p.dataMs.toFixed(1)} ms  step ${p.stepMs.toFixed(1)} ms  eta ${seconds(left)}`);
    }
  };
  try {
    const r = await train({
      data: o.data, out: o.out, model: o.model, preset: o.preset, configFile: o.config, sets: o.set, steps: o.steps,
      seed: o.seed, saveEvery: o.saveEvery, keep: o.keep, logEvery: o.logEvery, sampleEvery: o.sampleEvery,
      workers: o.workers, resume: o.resume, precision: o.precision, notice: (line) => console.error(line), signal: stop.signal, onStep,
    });
    bar?.stop();
    console.log(`${r.reason === 'done' ? 'finished' : 'stopped'} at step ${r.step}/${r.totalSteps}; checkpoint ${r.checkpoint}`);
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
    .addHelpText('after', `
Ctrl-C (SIGINT) or SIGTERM writes a checkpoint and stops; --resume continues exactly where it stopped.

Examples:
  reposer data synth --out data/synth --identities 40
  reposer train --model patn --preset small --data data/synth --out runs/patn --steps 2000 --save-every 200
  reposer train --data data/synth --out runs/patn --resume`)
    .action((o: TrainCliOptions) => runTrain(o));
}
