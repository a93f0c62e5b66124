// `reposer data synth` and `reposer data synth-grid`: the synthetic figure world from the command line.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readAnnotationCsv } from '../data/formats.js';
import { parseSize, synthGridPng, writeSynthDataset } from '../synth/index.js';

const SYNTH_USAGE = `usage: reposer data synth --out DIR [--size 128x64] [--identities 20] [--poses 8] [--seed 0]
                          [--prefix synth] [--test-fraction 0.2] [--poses-from ANNOTATION.csv] [--image-format jpg|png]

Writes a synthetic dataset in the Market layout: DIR/{train,test}/*.jpg, DIR/<prefix>-annotation-{train,test}.csv,
DIR/<prefix>-pairs-{train,test}.csv (split by identity), DIR/parsing/{train,test}/*.png (SPT labels 0..9),
DIR/masks/{train,test}/*.png and DIR/synth.json. The same options write the same bytes.
--poses-from draws the poses from a real annotation CSV of the same frame size instead of random ones.
--image-format png writes lossless images (the pixels exactly as rendered); jpg (quality 95) is Market's format.`;

const GRID_USAGE = `usage: reposer data synth-grid --out FILE.png [--identities 4] [--poses 5] [--seed 8] [--size 128x64]

Writes a picture of a few synthetic identities in a few poses, each beside its parsing map.`;

type Flags = Map<string, string>;

/** Parses `--key value` and `--key=value` flags; every flag must be known and have a value. */
function parseFlags(args: readonly string[], known: readonly string[], usage: string): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--help' || a === '-h') throw new UsageRequest(usage);
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'\n\n${usage}`);
    const eq = a.indexOf('=');
    const key = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (!known.includes(key)) throw new Error(`unknown option '--${key}'\n\n${usage}`);
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else { value = args[i + 1]; i++; }
    if (value === undefined || value === '') throw new Error(`option '--${key}' needs a value\n\n${usage}`);
    flags.set(key, value);
  }
  return flags;
}

class UsageRequest extends Error {}

function intFlag(flags: Flags, key: string, fallback: number): number {
  const v = flags.get(key);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new Error(`--${key}: expected an integer, got '${v}'`);
  return Number(v);
}

function numFlag(flags: Flags, key: string, fallback: number): number {
  const v = flags.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key}: expected a number, got '${v}'`);
  return n;
}

async function withUsage(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof UsageRequest) { console.log(err.message); return; }
    throw err;
  }
}

export async function synth(args: string[]): Promise<void> {
  await withUsage(async () => {
    const flags = parseFlags(args, ['out', 'size', 'identities', 'poses', 'seed', 'prefix', 'test-fraction', 'poses-from', 'image-format'], SYNTH_USAGE);
    const out = flags.get('out');
    if (!out) throw new Error(`--out DIR is required\n\n${SYNTH_USAGE}`);
    const size = parseSize(flags.get('size') ?? '128x64');
    const posesFile = flags.get('poses-from');
    let posesFrom;
    if (posesFile) {
      const rows = await readAnnotationCsv(posesFile);
      const outside = rows.find((r) => {
        for (let j = 0; j < 18; j++) {
          const y = r.pose[2 * j] as number;
          const x = r.pose[2 * j + 1] as number;
          if (y >= size.height || x >= size.width) return true;
        }
        return false;
      });
      if (outside) {
        throw new Error(`--poses-from: ${posesFile} line ${outside.line} (${outside.name}) has a keypoint outside the ` +
          `${size.height}x${size.width} frame; pass the --size the CSV was made for`);
      }
      posesFrom = rows.map((r) => r.pose);
    }
    const t0 = performance.now();
    const summary = await writeSynthDataset({
      out, size, posesFrom,
      identities: intFlag(flags, 'identities', 20),
      poses: intFlag(flags, 'poses', 8),
      seed: intFlag(flags, 'seed', 0),
      prefix: flags.get('prefix'),
      testFraction: numFlag(flags, 'test-fraction', 0.2),
      imageFormat: flags.get('image-format') as 'jpg' | 'png' | undefined,
    });
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`wrote ${out}: train ${summary.train.identities} identities, ${summary.train.images} images, ` +
      `${summary.train.pairs} pairs; test ${summary.test.identities} identities, ${summary.test.images} images, ` +
      `${summary.test.pairs} pairs (${s} s)`);
  });
}

export async function synthGrid(args: string[]): Promise<void> {
  await withUsage(async () => {
    const flags = parseFlags(args, ['out', 'identities', 'poses', 'seed', 'size'], GRID_USAGE);
    const out = flags.get('out');
    if (!out) throw new Error(`--out FILE.png is required\n\n${GRID_USAGE}`);
    const png = await synthGridPng({
      identities: intFlag(flags, 'identities', 4),
      poses: intFlag(flags, 'poses', 5),
      seed: intFlag(flags, 'seed', 8),
      size: parseSize(flags.get('size') ?? '128x64'),
    });
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, png);
    console.log(`wrote ${out} (${png.length} bytes)`);
  });
}
