// `node dist/bench/conv-transpose.js`: is libtorch's CPU conv_transpose2d (nn.ConvTranspose2d's path) worth replacing
// by its phase decomposition (one ordinary conv per output phase, interleaved)? Deformable GAN used that form for its
// 4x4 stride-2 decoder while libtorch did its matrix products with the reference BLAS; with OpenBLAS installed
// (scripts/setup.sh) this bench measured libtorch's path faster in every case, so nn.ConvTranspose2d keeps it.
//
// Cases: PATN's decoder (market size, batch 4, k3 s2 p1 op1), Deformable GAN's widest decoder layer (1536->512, k4 s2
// p1, no bias, 8x4), and small inputs. Each case first checks that both paths agree, then times them alternately,
// forward alone and forward + backward (gradients of input, weight and bias), so load from other processes falls on
// both; the report gives median milliseconds and the median per-round ratio native / phases (> 1: phases faster).
// Prints progress to stderr and ONE JSON object as the last line of stdout.
//
// Options (environment): BENCH_ROUNDS (default 7), BENCH_ONLY (a substring of the case names to run), BENCH_THREADS
// (libtorch's intra-op threads; default libtorch's own choice).
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as torch from '../src/torch/index.js';

/** One axis of the phase plan: every phase computes `rows` outputs, phase a being output rows a, a + s, a + 2s, ... */
interface AxisPlan {
  rows: number;
  /** Zeros added before / after the input, shared by all phases. */
  padBefore: number;
  padAfter: number;
  phases: {
    /** The phase's kernel taps are first, first + s, ... (taps of them); with 0 taps no input reaches the phase. */
    first: number;
    taps: number;
    /** Start of the phase's input window in the padded input (length rows + taps - 1). */
    start: number;
  }[];
}

/**
 * Output row o = a + s*m of a transposed conv (full-output row t = o + p) gathers input rows i with kernel taps j where
 * i*s + j = t. Writing a + p = q*s + r, the taps are j = r + s*u (u < taps = ceil((k - r) / s)) and i = m + q - u:
 * a cross-correlation of the input, from row q - taps + 1, with those taps (a strided slice of the kernel) reversed.
 * Every phase computes ceil(O / s) rows; phases with fewer rows in the output compute one past the end, cropped later.
 */
function axisPlan(inSize: number, outSize: number, kernel: number, stride: number, padding: number): AxisPlan {
  const rows = Math.ceil(outSize / stride);
  const raw = Array.from({ length: stride }, (_, a) => {
    const r = (a + padding) % stride;
    const q = Math.floor((a + padding) / stride);
    const taps = Math.max(0, Math.ceil((kernel - r) / stride));
    return { first: r, taps, start: q - taps + 1 };
  });
  const used = raw.filter((ph) => ph.taps > 0);
  const padBefore = Math.max(0, ...used.map((ph) => -ph.start));
  const padAfter = Math.max(0, ...used.map((ph) => ph.start + rows + ph.taps - 1 - inSize));
  return { rows, padBefore, padAfter, phases: raw.map((ph) => ({ ...ph, start: ph.start + padBefore })) };
}

/**
 * conv_transpose2d(input (N, inC, H, W), weight (inC, outC, kH, kW), bias (outC) | null, stride, padding,
 * outputPadding) -> (N, outC, H', W') for groups 1 and dilation 1, computed as stride_h * stride_w ordinary
 * convolutions whose outputs are interleaved. Equal to libtorch's result up to summation order; built from
 * differentiable ops, so autograd gives every gradient.
 */
export function convTranspose2dByPhases(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | null, stride: [number, number],
  padding: [number, number], outputPadding: [number, number]): torch.Tensor {
  const [n, inC, h, w] = input.shape as [number, number, number, number];
  const [weightInC, outC, kh, kw] = weight.shape as [number, number, number, number];
  if (input.ndim !== 4 || weight.ndim !== 4 || inC !== weightInC) {
    throw new Error(`convTranspose2dByPhases: input [${input.shape.join(',')}] must be (N, inC, H, W) and weight [${weight.shape.join(',')}] ` +
      '(inC, outC, kH, kW) with the same inC');
  }
  const [sh, sw] = stride;
  const outSize = [(h - 1) * sh - 2 * padding[0] + kh + outputPadding[0], (w - 1) * sw - 2 * padding[1] + kw + outputPadding[1]] as const;
  if (outSize[0] < 1 || outSize[1] < 1) {
    throw new Error(`convTranspose2dByPhases: input [${input.shape.join(',')}] gives an empty output (${outSize.join('x')}): ` +
      `padding ${JSON.stringify(padding)} removes more than the transposed conv produces; use a larger input or less padding`);
  }
  return torch.scope(() => {
    const rowPlan = axisPlan(h, outSize[0], kh, sh, padding[0]);
    const colPlan = axisPlan(w, outSize[1], kw, sw, padding[1]);
    const padded = rowPlan.padBefore + rowPlan.padAfter + colPlan.padBefore + colPlan.padAfter > 0
      ? torch.pad(input, [colPlan.padBefore, colPlan.padAfter, rowPlan.padBefore, rowPlan.padAfter]) : input;
    // (outC, inC, kH, kW), conv2d's layout, made contiguous once so that each phase's slice is a cheap strided read
    // (conv2d would otherwise gather each slice of the permuted weight element by element).
    const transposed = weight.permute([1, 0, 2, 3]).contiguous();
    const phases: torch.Tensor[] = [];
    for (const row of rowPlan.phases) {
      for (const col of colPlan.phases) {
        if (row.taps === 0 || col.taps === 0) {
          // A kernel smaller than the stride leaves these output pixels untouched by the input: only the bias.
          const untouched = torch.zeros([n, outC, rowPlan.rows, colPlan.rows], input.dtype, input.device);
          phases.push(bias ? untouched.add(bias.view([1, outC, 1, 1])) : untouched);
          continue;
        }
        const kernel = transposed.slice(2, row.first, row.first + sh * (row.taps - 1) + 1, sh)
          .slice(3, col.first, col.first + sw * (col.taps - 1) + 1, sw).flip([2, 3]);
        const window = padded.narrow(2, row.start, rowPlan.rows + row.taps - 1).narrow(3, col.start, colPlan.rows + col.taps - 1);
        phases.push(torch.conv2d(window, kernel, bias));
      }
    }
    // Phase (a, b) sits at stack index a*sw + b; as channels o*sh*sw + a*sw + b, pixel_shuffle places it at (sh*m + a, sw*n + b).
    const stacked = torch.stack(phases, 2);
    const interleaved = sh === sw
      ? torch.pixelShuffle(stacked.view([n, outC * sh * sw, rowPlan.rows, colPlan.rows]), sh)
      : stacked.view([n, outC, sh, sw, rowPlan.rows, colPlan.rows]).permute([0, 1, 4, 2, 5, 3]).reshape([n, outC, rowPlan.rows * sh, colPlan.rows * sw]);
    const [oh, ow] = outSize;
    return interleaved.shape[2] === oh && interleaved.shape[3] === ow ? interleaved : interleaved.narrow(2, 0, oh).narrow(3, 0, ow);
  });
}

interface Case { name: string; input: [number, number, number, number]; outC: number; k: number; stride: number; padding: number; outputPadding: number; bias: boolean }

const allCases: Case[] = [
  { name: 'PATN up1 256->128 32x16', input: [4, 256, 32, 16], outC: 128, k: 3, stride: 2, padding: 1, outputPadding: 1, bias: false },
  { name: 'PATN up2 128->64 64x32', input: [4, 128, 64, 32], outC: 64, k: 3, stride: 2, padding: 1, outputPadding: 1, bias: false },
  { name: 'DefGAN 1536->512 8x4', input: [4, 1536, 8, 4], outC: 512, k: 4, stride: 2, padding: 1, outputPadding: 0, bias: false },
  { name: 'k4 128->64 64x32', input: [4, 128, 64, 32], outC: 64, k: 4, stride: 2, padding: 1, outputPadding: 0, bias: true },
  { name: 'k4 64->3 128x64', input: [1, 64, 128, 64], outC: 3, k: 4, stride: 2, padding: 1, outputPadding: 0, bias: true },
  { name: 'small 512->512 k4 1x2x2', input: [1, 512, 2, 2], outC: 512, k: 4, stride: 2, padding: 1, outputPadding: 0, bias: true },
  { name: 'small 32->16 k3 1x8x8', input: [1, 32, 8, 8], outC: 16, k: 3, stride: 2, padding: 1, outputPadding: 1, bias: true },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

type Path = (x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | null) => torch.Tensor;

/** Milliseconds of one call of `path` (with backward of sum(y * r) when `backward`), repeated until >= 20 ms have passed. */
function time(path: Path, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | null, r: torch.Tensor, backward: boolean): number {
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 20 || calls === 0) {
    torch.scope(() => {
      const y = path(x, weight, bias);
      if (backward) {
        y.mul(r).sum().backward();
        for (const t of [x, weight, bias]) t?.grad?.zero_();
      }
    });
    calls++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return elapsed / calls;
}

function benchCase(c: Case, rounds: number): Record<string, unknown> {
  return torch.scope(() => {
    const [n, inC, h, w] = c.input;
    const x = torch.randn(c.input).requiresGrad_();
    const weight = torch.randn([inC, c.outC, c.k, c.k]).mul(0.05).requiresGrad_();
    const bias = c.bias ? torch.randn([c.outC]).requiresGrad_() : null;
    const s: [number, number] = [c.stride, c.stride];
    const p: [number, number] = [c.padding, c.padding];
    const op: [number, number] = [c.outputPadding, c.outputPadding];
    const native: Path = (xi, wi, bi) => torch.convTranspose2d(xi, wi, bi, s, p, op);
    const phases: Path = (xi, wi, bi) => convTranspose2dByPhases(xi, wi, bi, s, p, op);
    const r = torch.scope(() => torch.randnLike(native(x, weight, bias)));
    const differs = torch.noGrad(() => torch.scope(() => native(x, weight, bias).sub(phases(x, weight, bias)).abs().max().item()));
    if (!(differs < 1e-3)) throw new Error(`${c.name}: the phase path differs from conv_transpose2d by ${differs}; the timings would compare different things`);
    const report: Record<string, unknown> = { name: c.name, input: c.input, outC: c.outC, kernel: c.k, stride: c.stride, padding: c.padding,
      outputPadding: c.outputPadding, positions: n * h * w, maxAbsDiff: differs };
    for (const backward of [false, true]) {
      const label = backward ? 'forwardBackward' : 'forward';
      for (const path of [native, phases]) time(path, x, weight, bias, r, backward); // warm-up
      const nativeMs: number[] = [];
      const phasesMs: number[] = [];
      const ratios: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const a = time(native, x, weight, bias, r, backward);
        const b = time(phases, x, weight, bias, r, backward);
        nativeMs.push(a);
        phasesMs.push(b);
        ratios.push(a / b);
      }
      report[label] = { nativeMs: round(median(nativeMs), 3), phasesMs: round(median(phasesMs), 3), nativeOverPhases: round(median(ratios), 2) };
      process.stderr.write(`bench-conv-transpose: ${c.name} ${label}: ${JSON.stringify(report[label])}\n`);
    }
    return report;
  });
}

function main(): void {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be a positive integer, got '${process.env.BENCH_ROUNDS}'`);
  if (process.env.BENCH_THREADS) torch.setNumThreads(Number(process.env.BENCH_THREADS));
  const only = process.env.BENCH_ONLY ?? '';
  const cases = allCases.filter((c) => c.name.includes(only));
  if (cases.length === 0) throw new Error(`BENCH_ONLY '${only}' matches no case; the cases are: ${allCases.map((c) => c.name).join('; ')}`);
  const loadBefore = loadavg()[0] as number;
  const results = cases.map((c) => benchCase(c, rounds));
  // Load average (1 min) before and after: other processes slow both paths, so only the ratios compare across runs.
  console.log(JSON.stringify({ threads: torch.getNumThreads(), rounds, loadavg: [round(loadBefore, 2), round(loadavg()[0] as number, 2)], cases: results }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
