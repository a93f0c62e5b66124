// `make bench-engine`: the engine against python3-torch on this machine, both sides in one run.
//
// - Train step: input 4x21x128x64, convs 21->64->64->3 (3x3, padding 1) with ReLU between, MSE to a random target,
//   torch.optim.Adam. The same net in bench/engine_py.py (a persistent python3-torch process) with the same thread
//   count. After warm-up the two sides alternate, a few steps each per round, so load from other processes falls on
//   both; the report gives each side's median step and also the median of the per-round ratios. A second Python
//   process runs with the glibc malloc settings the addon applies to itself, to separate engine from allocator.
// - Mixed precision: the same step with the forward and loss under torch.autocast('cpu', 'bfloat16') (backward and
//   Adam outside; parameters, gradients and Adam state stay float32), against python3-torch's autocast. Each AMP round
//   runs one float32 and one AMP step per side, so the AMP/float32 ratio of each side is paired under the same load.
//   bfloat16 pays off only where the CPU has AVX512-BF16 or AMX (the report says whether this one does); elsewhere
//   libtorch's bfloat16 kernels are far slower than float32 (12-15x measured on the AVX2 EPYC), so the AMP rounds are few
//   by default.
// - Per-call overhead: torch.add on two 8-element float tensors, inside a scope (released every 1000 calls) and with
//   explicit dispose(), vs Python's `for _ in range(n): torch.add(a, b)`; wall-clock medians, plus process CPU time.
// Prints progress to stderr and ONE JSON object as the last line of stdout.
//
// Options (environment): BENCH_ROUNDS (default 8), BENCH_STEPS_PER_ROUND (2), BENCH_WARMUP (3), BENCH_TINY_N (200000),
// BENCH_AMP_ROUNDS (3; 0 skips mixed precision), BENCH_AMP_WARMUP (1).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import * as torch from '../src/torch/index.js';

const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';
const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'engine_py.py');

const num = (name: string, def: number, min = 1): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, got '${v}'`);
  return n;
};
const ROUNDS = num('BENCH_ROUNDS', 8);
const STEPS_PER_ROUND = num('BENCH_STEPS_PER_ROUND', 2);
const WARMUP = num('BENCH_WARMUP', 3);
const TINY_N = num('BENCH_TINY_N', 200000);
const AMP_ROUNDS = num('BENCH_AMP_ROUNDS', 3, 0);
const AMP_WARMUP = num('BENCH_AMP_WARMUP', 1);
const TINY_REPEATS = 5;
const PAUSE_MS = 50;
const INPUT = [4, 21, 128, 64] as const;
const CHANNELS = [21, 64, 64, 3];
const PEAK_GFLOPS = 144; // 2 cores x 2.25 GHz x AVX2 (8 float32 lanes) x 2 FMA units x 2 flops per FMA

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const log = (msg: string): void => void process.stderr.write(`bench-engine: ${msg}\n`);

/** Forward MACs of the three convolutions (stride 1, padding 1 keeps H x W). */
function convMacs(): number {
  const [n, , h, w] = INPUT;
  let macs = 0;
  for (let i = 0; i + 1 < CHANNELS.length; i++) macs += n * h * w * (CHANNELS[i + 1] as number) * (CHANNELS[i] as number) * 9;
  return macs;
}

interface TsTrain { times(steps: number): { ms: number[]; faults: number }; dispose(): void }

/** The bench's train step; with amp, the forward and loss run under torch.autocast('cpu', 'bfloat16'). */
function tsTrain(amp = false, warmup = WARMUP): TsTrain {
  const [n, c, h, w] = INPUT;
  const before = torch.memory().numTensors;
  // Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) like nn.Conv2d's default; the values do not affect the timing.
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
      // The forward runs in its own scope so its activations are released before backward, as Python's refcounting
      // does: autograd keeps what it saved and frees it node by node, and backward's buffers reuse that memory while
      // it is still in cache. Holding them to the end of the step made backward ~5% slower.
      const forward = (): torch.Tensor => torch.scope(() => {
        let y = x;
        for (let i = 0; i < 3; i++) {
          y = torch.conv2d(y, params[2 * i] as torch.Tensor, params[2 * i + 1] as torch.Tensor, 1, 1);
          if (i < 2) y = y.relu();
        }
        return torch.mseLoss(y, target);
      });
      const loss = amp ? torch.autocast('cpu', 'bfloat16', forward) : forward();
      loss.backward();
    });
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < warmup; i++) step();
  return {
    times(steps: number) {
      // 6 parameters, input, target and 12 Adam moments per trainer; a per-step leak would grow the count.
      const steady = torch.memory().numTensors;
      const ms: number[] = [];
      const f0 = process.resourceUsage().minorPageFault;
      for (let i = 0; i < steps; i++) {
        const t0 = process.hrtime.bigint();
        step();
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      if (torch.memory().numTensors !== steady) throw new Error('bench-engine: the train step leaks tensors');
      return { ms, faults: (process.resourceUsage().minorPageFault - f0) / steps };
    },
    dispose(): void {
      torch.dispose([params, x, target, opt.stateDict().state]);
      const left = torch.memory().numTensors - before;
      if (left !== 0) throw new Error(`bench-engine: the train step left ${left} live tensors behind`);
    },
  };
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

function cpuHasAvx512(): boolean {
  try {
    return /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/** Mirrors configure_process() in native/core.cc: whether the addon changed glibc's malloc thresholds. */
function mallocTuned(): boolean {
  const env = process.env;
  if (env.REPOSER_MALLOC_TUNE === '0') return false;
  return !(env.MALLOC_MMAP_THRESHOLD_ || env.MALLOC_TRIM_THRESHOLD_ || (env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.'));
}

interface PyReply {
  threads?: number; torch?: string; train_ms?: number[]; faults_per_step?: number; tiny_us?: number[]; tiny_cpu_us?: number[]; error?: string;
}

/** The persistent python3-torch side: one JSON command per line, one JSON reply per line. */
function startPython(env: Record<string, string> = {}): { ask(cmd: Record<string, unknown>): Promise<PyReply>; close(): void } {
  const child = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let exited: string | undefined;
  child.on('exit', (code) => (exited = `exited with code ${code}`));
  child.on('error', (e) => (exited = String(e)));
  return {
    async ask(cmd) {
      if (exited) throw new Error(`bench-engine: ${PYTHON} ${script} ${exited}`);
      child.stdin.write(JSON.stringify(cmd) + '\n');
      const { value, done } = await lines.next();
      if (done) throw new Error(`bench-engine: ${PYTHON} ${script} ended without replying to ${cmd.op}`);
      const reply = JSON.parse(value as string) as PyReply;
      if (reply.error) throw new Error(`bench-engine: python: ${reply.error}`);
      return reply;
    },
    close() {
      child.stdin.end();
    },
  };
}

type Python = ReturnType<typeof startPython>;

/**
 * The AMP comparison: per round, one float32 and one bfloat16-autocast step on each side. Ratios below 1 mean AMP is
 * faster; amp_ratio_vs_fp32_* are medians of the per-round (paired) ratios.
 */
async function ampRounds(ts: TsTrain, py: Python): Promise<Record<string, unknown>> {
  const native = torch.autocastSupported('cpu', 'bfloat16');
  log(`AMP: bfloat16 autocast, ${AMP_ROUNDS} rounds of 1 step per side and precision; native bfloat16 on this CPU: ${native}`);
  const info = (await py.ask({ op: 'setup_amp', warmup: AMP_WARMUP })) as PyReply & { autocast_cpu_dtype?: string };
  if (info.autocast_cpu_dtype !== 'torch.bfloat16') throw new Error(`python's autocast dtype is ${info.autocast_cpu_dtype}, not bfloat16`);
  const tsAmp = tsTrain(true, AMP_WARMUP);
  const ms = { ts32: [] as number[], tsAmp: [] as number[], py32: [] as number[], pyAmp: [] as number[] };
  const ratio = { ts: [] as number[], py: [] as number[], tsVsPy: [] as number[] };
  for (let r = 0; r < AMP_ROUNDS; r++) {
    await pause();
    const a32 = median(ts.times(1).ms);
    await pause();
    const aAmp = median(tsAmp.times(1).ms);
    await pause();
    const b32 = median((await py.ask({ op: 'train', steps: 1 })).train_ms ?? []);
    await pause();
    const bAmp = median((await py.ask({ op: 'train', steps: 1, amp: true })).train_ms ?? []);
    ms.ts32.push(a32);
    ms.tsAmp.push(aAmp);
    ms.py32.push(b32);
    ms.pyAmp.push(bAmp);
    ratio.ts.push(aAmp / a32);
    ratio.py.push(bAmp / b32);
    ratio.tsVsPy.push(aAmp / bAmp);
    log(`AMP round ${r + 1}: ts ${a32.toFixed(1)} ms fp32, ${aAmp.toFixed(1)} ms bf16; py ${b32.toFixed(1)} ms fp32, ${bAmp.toFixed(1)} ms bf16`);
  }
  tsAmp.dispose();
  const ampRatio = round(median(ratio.ts), 3);
  return {
    amp_dtype: 'bfloat16',
    amp_native_bf16: native,
    amp_rounds: AMP_ROUNDS,
    amp_train_step_ms_ts: round(median(ms.tsAmp), 2),
    amp_train_step_ms_py: round(median(ms.pyAmp), 2),
    amp_fp32_step_ms_ts_same_rounds: round(median(ms.ts32), 2),
    amp_fp32_step_ms_py_same_rounds: round(median(ms.py32), 2),
    amp_ratio_vs_fp32_ts: ampRatio,
    amp_ratio_vs_fp32_py: round(median(ratio.py), 3),
    amp_ratio_ts_vs_py: round(median(ratio.tsVsPy), 3),
    amp_goal: 'AMP step <= 0.5x the float32 step where the CPU has AVX512-BF16 or AMX',
    amp_goal_met: native ? ampRatio <= 0.5 : 'not checkable: this CPU has neither avx512_bf16 nor amx_bf16, so bfloat16 runs on slow non-native paths',
  };
}

async function main(): Promise<void> {
  const threads = torch.getNumThreads();
  const loadAtStart = loadavg()[0] as number;
  log(`libtorch ${torch.libtorchVersion()}, ${threads} threads; warm-up ${WARMUP}, then ${ROUNDS} rounds of ${STEPS_PER_ROUND} steps per side`);
  // Python as users run it, and Python given the allocator settings the addon applies to itself (see configure_process
  // in native/core.cc), so the report separates the engine from the allocator.
  const py = startPython();
  const pyTuned = startPython({ GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=${128 << 20}:glibc.malloc.trim_threshold=${256 << 20}` });
  const info = await py.ask({ op: 'setup', threads, input: INPUT, warmup: WARMUP });
  if (info.threads !== threads) throw new Error(`python ran with ${info.threads} threads, not ${threads}`);
  await pyTuned.ask({ op: 'setup', threads, input: INPUT, warmup: WARMUP });
  const ts = tsTrain();
  const tsTimes: number[] = [];
  const pyTimes: number[] = [];
  const pyTunedTimes: number[] = [];
  const ratios: number[] = [];
  const faults = { ts: [] as number[], py: [] as number[], pyTuned: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    // A pause between sides lets the previous side's OpenMP workers stop spin-waiting before the next side runs.
    await pause();
    const a = ts.times(STEPS_PER_ROUND);
    await pause();
    const b = await py.ask({ op: 'train', steps: STEPS_PER_ROUND });
    await pause();
    const c = await pyTuned.ask({ op: 'train', steps: STEPS_PER_ROUND });
    tsTimes.push(...a.ms);
    pyTimes.push(...(b.train_ms ?? []));
    pyTunedTimes.push(...(c.train_ms ?? []));
    faults.ts.push(a.faults);
    faults.py.push(b.faults_per_step ?? NaN);
    faults.pyTuned.push(c.faults_per_step ?? NaN);
    ratios.push(median(a.ms) / median(b.train_ms ?? []));
    log(`round ${r + 1}: ts ${median(a.ms).toFixed(1)} ms, py ${median(b.train_ms ?? []).toFixed(1)} ms, py (malloc tuned) ${median(c.train_ms ?? []).toFixed(1)} ms`);
  }
  pyTuned.close();
  const amp = AMP_ROUNDS > 0 ? await ampRounds(ts, py) : undefined;
  ts.dispose();
  const tinyScope = tinyOpTimes(false);
  const tinyDispose = tinyOpTimes(true);
  const pyTiny = await py.ask({ op: 'tiny', n: TINY_N, repeats: TINY_REPEATS });
  py.close();

  const tsMs = median(tsTimes);
  const pyMs = median(pyTimes);
  const forwardFlops = 2 * convMacs();
  const trainFlops = 3 * forwardFlops;
  const gflops = trainFlops / (tsMs / 1e3) / 1e9;
  const result = {
    bench: 'engine',
    threads,
    // Other processes' load slows both sides; the rounds alternate so it falls on both.
    load_avg_1m_at_start: round(loadAtStart, 2),
    load_avg_1m_at_end: round(loadavg()[0] as number, 2),
    libtorch: torch.libtorchVersion(),
    python_torch: info.torch,
    train_input: [...INPUT],
    train_net: 'conv3x3 21->64, relu, conv3x3 64->64, relu, conv3x3 64->3; mse; adam lr 1e-3',
    train_steps_per_side: tsTimes.length,
    train_step_ms_ts: round(tsMs, 2),
    train_step_ms_py: round(pyMs, 2),
    train_step_ratio: round(tsMs / pyMs, 3),
    train_step_ratio_paired: round(median(ratios), 3),
    // The addon keeps big blocks in glibc's heap (REPOSER_MALLOC_TUNE=0 turns that off); Python with the same settings:
    ts_malloc_tuned: mallocTuned(),
    train_step_ms_py_malloc_tuned: round(median(pyTunedTimes), 2),
    train_step_ratio_vs_py_malloc_tuned: round(tsMs / median(pyTunedTimes), 3),
    minor_page_faults_per_step: { ts: Math.round(median(faults.ts)), py: Math.round(median(faults.py)), py_malloc_tuned: Math.round(median(faults.pyTuned)) },
    tiny_op: 'torch.add of two 8-element float32 tensors',
    tiny_op_calls: TINY_N,
    tiny_op_us_ts: round(median(tinyScope.wall), 3),
    tiny_op_us_ts_dispose: round(median(tinyDispose.wall), 3),
    tiny_op_us_py: round(median(pyTiny.tiny_us ?? []), 3),
    // The same loops in process CPU time, which other processes' load disturbs far less than wall time.
    tiny_op_cpu_us_ts: round(median(tinyScope.cpu), 3),
    tiny_op_cpu_us_ts_dispose: round(median(tinyDispose.cpu), 3),
    tiny_op_cpu_us_py: round(median(pyTiny.tiny_cpu_us ?? []), 3),
    ...amp,
    train_gflop_per_step: round(trainFlops / 1e9, 3),
    train_gflops: round(gflops, 1),
    flop_rule: 'convolutions only: forward = 2 x MACs (N*Cout*H*W*Cin*9 per conv); backward = 2 x forward (input and weight gradients); step = 3 x forward; ReLU, MSE and Adam not counted',
    peak_gflops: PEAK_GFLOPS,
    peak_note: cpuHasAvx512()
      ? 'this CPU reports avx512f and oneDNN uses it, so the AVX2-based 144 GFLOP/s peak can be exceeded (an AVX-512 peak is 2x)'
      : 'AVX2 peak: 2 cores x 2.25 GHz x 2 FMA units x 8 lanes x 2',
    train_fraction_of_peak: round(gflops / PEAK_GFLOPS, 3),
  };
  console.log(JSON.stringify(result));
}

await main();
