// `make bench-engine`: the engine against python3-torch on this machine, both sides in one run.
//
// - Train step: input 4x21x128x64, convs 21->64->64->3 (3x3, padding 1) with ReLU between, MSE to a random target,
//   Adam. The same net in bench/engine_py.py with the same thread count. Warm-up, then the median of N steps.
//   The two sides alternate in rounds so that load from other processes falls on both.
// - Per-call overhead: torch.add on two 8-element float tensors, inside a scope and with explicit dispose(), vs
//   Python's `for _ in range(n): torch.add(a, b)`; wall-clock medians, plus process CPU time (robust to load).
// Prints progress to stderr and ONE JSON object as the last line of stdout.
//
// Options (environment): BENCH_STEPS (default 10), BENCH_WARMUP (3), BENCH_ROUNDS (2), BENCH_TINY_N (200000).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadavg } from 'node:os';
import * as torch from '../src/torch/index.js';

const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'engine_py.py');

const num = (name: string, def: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};
const STEPS = num('BENCH_STEPS', 10);
const WARMUP = num('BENCH_WARMUP', 3);
const ROUNDS = num('BENCH_ROUNDS', 2);
const TINY_N = num('BENCH_TINY_N', 200000);
const TINY_REPEATS = 5;
const INPUT = [4, 21, 128, 64] as const;
const CHANNELS = [21, 64, 64, 3];
const PEAK_GFLOPS = 144; // 2 cores x 2.25 GHz x AVX2 (8 float32 lanes) x 2 FMA units x 2 flops per FMA

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const log = (msg: string): void => void process.stderr.write(`bench-engine: ${msg}\n`);

/** Forward MACs of the three convolutions (stride 1, padding 1 keeps H x W). */
function convMacs(): number {
  const [n, , h, w] = INPUT;
  let macs = 0;
  for (let i = 0; i + 1 < CHANNELS.length; i++) macs += n * h * w * (CHANNELS[i + 1] as number) * (CHANNELS[i] as number) * 9;
  return macs;
}

function trainStepTimes(): number[] {
  const [n, c, h, w] = INPUT;
  // Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) like nn.Conv2d's default; the values do not affect the timing.
  const before = torch.memory().numTensors;
  const uniform = (shape: number[], bound: number): torch.Tensor =>
    torch.scope(() => torch.rand(shape).mul(2 * bound).sub(bound)).keep().requiresGrad_();
  const params: torch.Tensor[] = [];
  for (let i = 0; i + 1 < CHANNELS.length; i++) {
    const bound = 1 / Math.sqrt((CHANNELS[i] as number) * 9);
    params.push(uniform([CHANNELS[i + 1] as number, CHANNELS[i] as number, 3, 3], bound));
    params.push(uniform([CHANNELS[i + 1] as number], bound));
  }
  const x = torch.randn([n, c, h, w]).keep();
  const target = torch.randn([n, 3, h, w]).keep();
  const opt = new torch.optim.Adam(params, { lr: 1e-3 });
  const step = (): void => {
    torch.scope(() => {
      let y = x;
      for (let i = 0; i < 3; i++) {
        y = torch.conv2d(y, params[2 * i] as torch.Tensor, params[2 * i + 1] as torch.Tensor, 1, 1);
        if (i < 2) y = y.relu();
      }
      torch.mseLoss(y, target).backward();
    });
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < WARMUP; i++) step();
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const live = torch.memory().numTensors - before;
  torch.dispose([params, x, target, opt.stateDict().state]);
  const left = torch.memory().numTensors - before;
  if (left !== 0) throw new Error(`bench-engine: the train step left ${left} live tensors behind`);
  // 6 parameters, input, target and 12 Adam moments: anything more would be a leak per step.
  log(`ts train round: median ${median(times).toFixed(1)} ms (live tensors while training: ${live})`);
  return times;
}

/** Microseconds per torch.add(a, b): results released by a scope every 1000 calls, or by dispose() each call. */
function tinyOpTimes(withDispose: boolean): { wall: number[]; cpu: number[] } {
  const a = torch.randn([8]).keep();
  const b = torch.randn([8]).keep();
  const chunk = 1000;
  const run = (calls: number): void => {
    if (withDispose) {
      for (let i = 0; i < calls; i++) torch.add(a, b).dispose();
    } else {
      for (let done = 0; done < calls; done += chunk) {
        const m = Math.min(chunk, calls - done);
        torch.scope(() => {
          for (let i = 0; i < m; i++) torch.add(a, b);
        });
      }
    }
  };
  run(Math.ceil(TINY_N / 2));
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < TINY_REPEATS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    run(TINY_N);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e3 / TINY_N);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / TINY_N);
  }
  a.dispose();
  b.dispose();
  return { wall, cpu };
}

interface PyResult { threads: number; torch: string; train_ms?: number[]; tiny_us?: number[]; tiny_cpu_us?: number[] }

function python(config: Record<string, unknown>): PyResult {
  const r = spawnSync(PYTHON, [script, JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench-engine: ${PYTHON} ${script} failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as PyResult;
}

function main(): void {
  const threads = torch.getNumThreads();
  const loadAtStart = loadavg()[0] as number;
  log(`libtorch ${torch.libtorchVersion()}, ${threads} threads; ${ROUNDS} rounds of ${WARMUP} warm-up + ${STEPS} timed steps per side`);
  const tsTrain: number[] = [];
  const pyTrain: number[] = [];
  let pyInfo: PyResult | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    tsTrain.push(...trainStepTimes());
    pyInfo = python({ threads, input: INPUT, warmup: WARMUP, steps: STEPS, train: true, tiny: false });
    if (pyInfo.threads !== threads) throw new Error(`python ran with ${pyInfo.threads} threads, not ${threads}`);
    pyTrain.push(...(pyInfo.train_ms ?? []));
    log(`py train round: median ${median(pyInfo.train_ms ?? []).toFixed(1)} ms`);
  }
  const tinyScope = tinyOpTimes(false);
  const tinyDispose = tinyOpTimes(true);
  const pyTiny = python({ threads, tinyN: TINY_N, tinyRepeats: TINY_REPEATS, train: false, tiny: true });

  const tsMs = median(tsTrain);
  const pyMs = median(pyTrain);
  const forwardFlops = 2 * convMacs();
  const trainFlops = 3 * forwardFlops;
  const gflops = trainFlops / (tsMs / 1e3) / 1e9;
  const result = {
    bench: 'engine',
    threads,
    // Other processes' load skews both sides; the rounds alternate so it falls on both.
    load_avg_1m_at_start: round(loadAtStart, 2),
    libtorch: torch.libtorchVersion(),
    python_torch: pyInfo?.torch,
    train_input: [...INPUT],
    train_net: 'conv3x3 21->64, relu, conv3x3 64->64, relu, conv3x3 64->3; mse; adam lr 1e-3',
    train_steps_per_side: tsTrain.length,
    train_step_ms_ts: round(tsMs, 2),
    train_step_ms_py: round(pyMs, 2),
    train_step_ratio: round(tsMs / pyMs, 3),
    tiny_op: 'torch.add of two 8-element float32 tensors',
    tiny_op_calls: TINY_N,
    tiny_op_us_ts: round(median(tinyScope.wall), 3),
    tiny_op_us_ts_dispose: round(median(tinyDispose.wall), 3),
    tiny_op_us_py: round(median(pyTiny.tiny_us ?? []), 3),
    // The same loops in process CPU time, which other processes' load disturbs far less than wall time.
    tiny_op_cpu_us_ts: round(median(tinyScope.cpu), 3),
    tiny_op_cpu_us_ts_dispose: round(median(tinyDispose.cpu), 3),
    tiny_op_cpu_us_py: round(median(pyTiny.tiny_cpu_us ?? []), 3),
    train_gflop_per_step: round(trainFlops / 1e9, 3),
    train_gflops: round(gflops, 1),
    flop_rule: 'convolutions only: forward = 2 x MACs (N*Cout*H*W*Cin*9 per conv); backward = 2 x forward (input and weight gradients); step = 3 x forward; ReLU, MSE and Adam not counted',
    peak_gflops: PEAK_GFLOPS,
    train_fraction_of_peak: round(gflops / PEAK_GFLOPS, 3),
  };
  console.log(JSON.stringify(result));
}

main();
