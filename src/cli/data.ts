// `reposer data <subcommand>`: dataset tools. Each subcommand is one entry of `dataCommands`, loaded on demand;
// add a subcommand by adding an entry.
import { writeFile } from 'node:fs/promises';
import type { LayoutName } from '../data/layouts.js';

export interface DataSubcommand {
  summary: string;
  usage: string;
  run: (args: string[]) => Promise<void>;
}

/** Parses `--key value`, `--key=value` and bare `--flag` into options, and the rest into positionals. */
export function parseArgs(args: readonly string[], flags: readonly string[] = []): { positional: string[]; options: Map<string, string> } {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const eq = a.indexOf('=');
    if (eq > 0) { options.set(a.slice(2, eq), a.slice(eq + 1)); continue; }
    const key = a.slice(2);
    if (flags.includes(key)) { options.set(key, 'true'); continue; }
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`option --${key} needs a value`);
    options.set(key, v);
    i++;
  }
  return { positional, options };
}

function parseFrame(text: string | undefined, what: string): [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m) throw new Error(`${what} must be HxW in pixels, e.g. 128x64; got '${text}'`);
  return [Number(m[1]), Number(m[2])];
}

function parseShift(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw new Error(`--shift-x must be an integer number of pixels (PATN's 256x176 frame: -40); got '${text}'`);
  return Number(text);
}

function checkKnown(options: Map<string, string>, known: readonly string[], usage: string): void {
  for (const k of options.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}\nusage: ${usage}`);
}

const checkUsage = 'reposer data check DIR [--split train|test|...] [--layout auto|market|deepfashion-256x176|deepfashion-256x256|folder] [--frame HxW] [--shift-x DX]';
const drawUsage = 'reposer data draw DIR --out FILE.png [--split train|test|...] [--count N] [--names a.jpg,b.jpg]';
const pairsUsage = 'reposer data pairs ANNOTATION.csv --out PAIRS.csv [--identity market|deepfashion] [--limit N] [--seed S]';

export const dataCommands: Record<string, DataSubcommand> = {
  check: {
    summary: 'validate a dataset; report every problem with file and line (exit 1 when any)',
    usage: checkUsage,
    run: async (args) => {
      const { positional, options } = parseArgs(args);
      checkKnown(options, ['split', 'layout', 'frame', 'shift-x'], checkUsage);
      const dir = positional[0];
      if (!dir || positional.length > 1) throw new Error(`give one dataset directory\nusage: ${checkUsage}`);
      const { checkDataset, formatCheckReport } = await import('../data/check.js');
      const { LAYOUTS } = await import('../data/layouts.js');
      const layout = options.get('layout');
      if (layout !== undefined && layout !== 'auto' && !(LAYOUTS as readonly string[]).includes(layout)) {
        throw new Error(`--layout must be auto or one of ${LAYOUTS.join(', ')}; got '${layout}'`);
      }
      const report = await checkDataset(dir, {
        splits: options.has('split') ? [options.get('split') as string] : undefined,
        layout: layout as LayoutName | 'auto' | undefined,
        frame: parseFrame(options.get('frame'), '--frame'),
        shiftX: parseShift(options.get('shift-x')),
      });
      console.log(formatCheckReport(report));
      if (report.problems.length > 0) process.exitCode = 1;
    },
  },
  draw: {
    summary: 'draw annotated images with their skeletons side by side into one PNG',
    usage: drawUsage,
    run: async (args) => {
      const { positional, options } = parseArgs(args);
      checkKnown(options, ['out', 'split', 'count', 'names'], drawUsage);
      const dir = positional[0];
      const out = options.get('out');
      if (!dir || !out) throw new Error(`give a dataset directory and --out\nusage: ${drawUsage}`);
      const count = Number(options.get('count') ?? 8);
      if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer; got '${options.get('count')}'`);
      const { openDataset, imagePath } = await import('../data/layouts.js');
      const { overlaySkeleton } = await import('../pose/draw.js');
      const sharp = (await import('sharp')).default;
      const { existsSync } = await import('node:fs');
      const ds = await openDataset(dir, { split: options.get('split') ?? 'train' });
      const wanted = options.get('names')?.split(',');
      const rows = wanted
        ? wanted.map((n) => { const r = ds.annotations.get(n); if (!r) throw new Error(`${n} is not in ${ds.annotationFile}`); return r; })
        : [...ds.annotations.values()].filter((r) => existsSync(imagePath(ds, r.name))).slice(0, count);
      if (rows.length === 0) throw new Error(`no annotated image of ${dir} is on disk`);
      const [h, w] = ds.frame;
      const tiles = await Promise.all(rows.map((r) => overlaySkeleton(imagePath(ds, r.name), r.pose, ds.frame)));
      await sharp({ create: { width: w * tiles.length, height: h, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .composite(tiles.map((t, i) => ({ input: t, top: 0, left: i * w })))
        .png()
        .toFile(out);
      console.log(`${out}: ${rows.map((r) => r.name).join(', ')}`);
    },
  },
  pairs: {
    summary: 'make a pairs CSV from an annotation CSV (same identity, full torso, no distractors)',
    usage: pairsUsage,
    run: async (args) => {
      const { positional, options } = parseArgs(args);
      checkKnown(options, ['out', 'identity', 'limit', 'seed'], pairsUsage);
      const file = positional[0];
      const out = options.get('out');
      if (!file || !out) throw new Error(`give an annotation CSV and --out\nusage: ${pairsUsage}`);
      const identity = options.get('identity') ?? 'market';
      if (identity !== 'market' && identity !== 'deepfashion') throw new Error(`--identity must be market or deepfashion; got '${identity}'`);
      const num = (k: string): number | undefined => {
        const v = options.get(k);
        if (v === undefined) return undefined;
        if (!/^\d+$/.test(v)) throw new Error(`--${k} must be a non-negative integer; got '${v}'`);
        return Number(v);
      };
      const { readAnnotationCsv, formatPairsCsv } = await import('../data/formats.js');
      const { makePairs } = await import('../data/pairs.js');
      const pairs = makePairs(await readAnnotationCsv(file), { identity, limit: num('limit'), seed: num('seed') });
      await writeFile(out, formatPairsCsv(pairs));
      console.log(`${out}: ${pairs.length} pairs`);
    },
  },
  synth: {
    summary: 'write a synthetic Market-layout dataset (images, CSVs, parsing maps, masks); same seed, same bytes',
    usage: 'reposer data synth --out DIR [--size 128x64] [--identities N] [--poses K] [--seed S] [--prefix P] [--test-fraction F] [--poses-from ANNOTATION.csv]',
    run: async (args) => (await import('./data-synth.js')).synth(args),
  },
  'synth-grid': {
    summary: 'write the README picture of synthetic identities in several poses',
    usage: 'reposer data synth-grid --out FILE.png [--identities 4] [--poses 5] [--seed 8] [--size 128x64]',
    run: async (args) => (await import('./data-synth.js')).synthGrid(args),
  },
};

/** `reposer data <subcommand> ...` */
export async function data(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  const sub = name === undefined ? undefined : dataCommands[name];
  if (!sub) {
    const list = Object.entries(dataCommands).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}\n           ${c.usage}`).join('\n');
    const help = name === undefined || name === 'help' || name === '--help';
    const text = `${help ? '' : `unknown data subcommand '${name}'\n\n`}usage: reposer data <subcommand> [options]\n\nsubcommands:\n${list}`;
    if (help) { console.log(text); return; }
    throw new Error(text);
  }
  await sub.run(rest);
}
