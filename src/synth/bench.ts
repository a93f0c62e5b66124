// Throughput of the renderer at 128x64 on one core: sharp (libvips) limited to one thread and renders awaited one
// after another, so the figure counts SVG layout, rasterisation and the split into image, parsing map and mask.
import sharp from 'sharp';
import { makeIdentity } from './identity.js';
import { samplePose } from './poses.js';
import { Rng } from '../random.js';
import { renderFigure } from './render.js';

/**
 * Renders per second at 128x64 (poses sampled beforehand; identities cycle through 16). `synth_renders_per_s` is
 * wall-clock; `synth_renders_per_cpu_s` divides by the process's CPU time instead, which stays meaningful when
 * other work shares the machine.
 */
export async function benchSynth(options: { renders?: number } = {}): Promise<{ synth_renders_per_s: number; synth_renders_per_cpu_s: number }> {
  const n = options.renders ?? 400;
  if (!Number.isInteger(n) || n < 1) throw new Error(`benchSynth: renders must be a positive integer, got ${n}`);
  const size = { height: 128, width: 64 };
  const previous = sharp.concurrency();
  sharp.concurrency(1);
  try {
    const ids = Array.from({ length: 16 }, (_, i) => makeIdentity(42, i + 1));
    const rng = new Rng(42);
    const poses = Array.from({ length: Math.max(n, 20) }, (_, i) => samplePose(ids[i % ids.length]!, size, rng));
    for (let i = 0; i < 20; i++) await renderFigure(ids[i % ids.length]!, poses[i]!, size);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await renderFigure(ids[i % ids.length]!, poses[i]!, size);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const round = (v: number): number => Math.round(v * 10) / 10;
    return { synth_renders_per_s: round(n / seconds), synth_renders_per_cpu_s: round(n / cpuSeconds) };
  } finally {
    sharp.concurrency(previous);
  }
}
