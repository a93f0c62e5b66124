// The pose editor's figures: for each model family at each frame size, the latency from the end of a drag in the
// page (chromium) to the new image shown, the server's time per generation, and the generation requests per second
// the server answers before it starts refusing with 503 (with one worker, 1 / generation time). The models have random weights (time does not depend on the values) and the official
// architecture of the preset whose frame is nearest (market for 128x64, deepfashion otherwise), or of --preset (synth:
// the shipped checkpoints' architectures).
//
//   node dist/bench/serve.js [--models patn,pg2,defgan] [--sizes 128x64,256x176] [--drags 3] [--seconds 3] [--preset synth]
//
// `--models spt` also times SPT's panel on the server (sptMs: the predicted parsing, a rendering to it, a garment
// swap between the two examples; medians of 3). With SPT chosen the page asks for the parsing map after every drag
// too, through the same queue, so its drag latency includes that wait.
//
// The figures are wall-clock on the machine it runs on, with its load (printed as loadAverage).
//
// Prints one JSON object per model and size.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import * as torch from '../src/torch/index.js';
import { getModel, PRESETS, resolveModelConfig, saveResolvedConfig, type Preset } from '../src/models/index.js';
import { createServer } from '../src/serve/server.js';

const CHROMIUM = '/usr/bin/chromium';

interface Options { models: string[]; sizes: [number, number][]; drags: number; seconds: number; preset: Preset | null }

function parseArgs(argv: string[]): Options {
  const o: Options = { models: ['patn', 'pg2', 'defgan'], sizes: [[128, 64], [256, 176]], drags: 3, seconds: 3, preset: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`bench-serve: ${flag} needs a value`);
    if (flag === '--models') o.models = value.split(',');
    else if (flag === '--sizes') o.sizes = value.split(',').map((s) => s.split('x').map(Number) as [number, number]);
    else if (flag === '--drags') o.drags = Number(value);
    else if (flag === '--seconds') o.seconds = Number(value);
    else if (flag === '--preset') {
      if (!(PRESETS as readonly string[]).includes(value)) throw new Error(`bench-serve: --preset ${value} is not one of ${PRESETS.join(', ')}`);
      o.preset = value as Preset;
    } else throw new Error(`bench-serve: unknown option ${flag}; use --models, --sizes, --drags, --seconds, --preset`);
  }
  return o;
}

/** A run directory holding a freshly initialised generator of `family` at `size`. */
function randomRun(dir: string, family: string, [height, width]: [number, number], preset: Preset | null): string {
  const f = getModel(family);
  const cfg = resolveModelConfig({ model: family, preset: preset ?? (height <= 128 ? 'market' : 'deepfashion'), sets: [`image.height=${height}`, `image.width=${width}`] });
  const vgg = (cfg.loss as { vgg?: { weights: string } }).vgg;
  if (vgg) vgg.weights = 'random';
  const out = join(dir, `${family}-${height}x${width}`);
  mkdirSync(out, { recursive: true });
  const model = f.create(cfg);
  try {
    torch.io.saveSafetensors(join(out, 'netG.safetensors'), model.generator.stateDict());
  } finally {
    model.dispose();
  }
  saveResolvedConfig(out, cfg);
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface PageStats { latencies: { model: string; ms: number }[] }

/** Drags the target's right wrist `drags` times; returns each drag's end-to-image latency. */
async function dragLatencies(page: Page, model: string, drags: number): Promise<number[]> {
  await page.selectOption('#model-a', model);
  const out: number[] = [];
  for (let d = 0; d < drags; d++) {
    const n = await page.evaluate(() => (window as unknown as { reposerStats: PageStats }).reposerStats.latencies.length);
    const box = await page.locator('#target-skeleton circle[data-joint="4"]').boundingBox();
    if (!box) throw new Error('bench-serve: the right wrist is not drawn');
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(x, y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(x + (d % 2 ? -i : i), y - 2 * i);
    await page.mouse.up();
    await page.waitForFunction((k) => (window as unknown as { reposerStats: PageStats }).reposerStats.latencies.length > k, n, { timeout: 600_000 });
    out.push(await page.evaluate(() => (window as unknown as { reposerStats: PageStats }).reposerStats.latencies.at(-1)?.ms ?? NaN));
  }
  return out;
}

/**
 * Two clients each sending one generation after another (one running, one waiting: never refused) for `seconds` and
 * at least `minimum` answers: the rate the server sustains, which is the rate it answers before 503s begin.
 */
async function throughput(base: string, body: object, seconds: number, minimum = 2): Promise<{ perSecond: number; serverMs: number; refused: number }> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  let refused = 0;
  const serverMs: number[] = [];
  const started = performance.now();
  await Promise.all(Array.from({ length: 2 }, async () => {
    while (performance.now() < until || done < minimum) {
      const r = await fetch(`${base}/api/generate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      await r.arrayBuffer();
      if (r.status === 200) {
        done++;
        serverMs.push(Number(r.headers.get('x-generation-ms')));
      } else if (r.status === 503) refused++;
      else throw new Error(`bench-serve: generation answered ${r.status}`);
    }
  }));
  return { perSecond: done / ((performance.now() - started) / 1000), serverMs: median(serverMs), refused };
}

const post = (base: string, path: string, body: object): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** The server's time (X-Generation-Ms) of `request`, median of `runs`; the body of the last answer. */
async function serverMs(request: () => Promise<Response>, runs = 3): Promise<{ ms: number; body: Buffer }> {
  const times: number[] = [];
  let body = Buffer.alloc(0);
  for (let i = 0; i < runs; i++) {
    const r = await request();
    body = Buffer.from(await r.arrayBuffer());
    if (r.status !== 200) throw new Error(`bench-serve: ${r.url} answered ${r.status}: ${body.toString()}`);
    times.push(Number(r.headers.get('x-generation-ms')));
  }
  return { ms: median(times), body };
}

interface Example { id: string; pose: unknown; width: number; height: number }

/** SPT's panel on the server: predicting the target parsing, rendering to it, and a garment swap. */
async function sptTimes(base: string, model: string, [source, donor]: Example[]): Promise<{ parsing: number; render: number; swap: number }> {
  const job = { source: source?.id, model, targetPose: donor?.pose };
  const parsing = await serverMs(() => post(base, '/api/parsing', job));
  const map = JSON.parse(parsing.body.toString()) as { width: number; height: number; labels: string };
  const render = await serverMs(() => post(base, '/api/render', { ...job, parsing: { width: map.width, height: map.height, labels: map.labels } }));
  const swap = await serverMs(() => post(base, '/api/swap', { model, receiver: source?.id, donor: donor?.id, labels: [3] }));
  return { parsing: parsing.ms, render: render.ms, swap: swap.ms };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CHROMIUM)) throw new Error(`bench-serve: ${CHROMIUM} is absent (scripts/setup.sh installs Debian's chromium)`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-serve-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    for (const size of o.sizes) {
      const runs = join(dir, `${size[0]}x${size[1]}`);
      const names: string[] = [];
      for (const family of o.models) {
        try {
          randomRun(runs, family, size, o.preset);
          names.push(`${family}-${size[0]}x${size[1]}`);
        } catch (err) {
          console.log(JSON.stringify({ model: family, frame: size, error: (err as Error).message.split('\n')[0] }));
        }
      }
      if (names.length === 0) continue;
      // Two examples: SPT's garment swap takes one's garment onto the other.
      const app = await createServer({ checkpoint: runs, examples: 2, limits: { queueCapacity: 8 } });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${base}/`);
        await page.waitForSelector('body[data-ready="true"]');
        const examples = (await (await fetch(`${base}/api/examples`)).json()) as Example[];
        const [example] = examples;
        const models = (await (await fetch(`${base}/api/models`)).json()) as { name: string; capabilities: { parsing: boolean } }[];
        for (const name of names) {
          const body = { source: example?.id, model: name, targetPose: example?.pose };
          // A model that cannot generate at this frame (some architectures need sides divisible by 32) is reported, not
          // waited on: the page would show the error and never an image.
          const probe = await post(base, '/api/generate', body);
          if (probe.status !== 200) {
            console.log(JSON.stringify({ model: name, frame: size, error: `${probe.status}: ${await probe.text()}` }));
            continue;
          }
          await probe.arrayBuffer();
          const latencies = await dragLatencies(page, name, o.drags);
          const steady = await throughput(base, body, o.seconds);
          const spt = models.find((m) => m.name === name)?.capabilities.parsing ? await sptTimes(base, name, examples) : undefined;
          console.log(JSON.stringify({
            model: name, frame: size, photo: [example?.height, example?.width], dragToImageMs: latencies.map(Math.round),
            medianDragToImageMs: Math.round(median(latencies)), generationMs: steady.serverMs,
            requestsPerSecondBefore503: Number(steady.perSecond.toFixed(2)), refused: steady.refused, ...(spt ? { sptMs: spt } : {}),
            loadAverage: loadavg()[0],
          }));
        }
        await page.close();
      } finally {
        await app.close();
      }
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
