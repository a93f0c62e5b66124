// Detection over many photos: the inputs a command line gives (files, or one folder of them), run a few at a time so
// decoding (sharp's threads) overlaps inference (tfjs-wasm, single-threaded).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { IMAGE_EXTENSIONS } from '../data/layouts.js';
import type { DetectedPose, PoseDetector } from './keypoints.js';

/**
 * The image files named by `inputs`: files as given (any extension: a file that is not an image fails when read,
 * naming it), folders expanded to their image files (IMAGE_EXTENSIONS), sorted by name. Throws for a missing path, an
 * empty folder, and two inputs with one file name (the CSV keys rows by file name).
 */
export function listImages(inputs: readonly string[]): string[] {
  if (inputs.length === 0) throw new Error('give one or more images, or a folder of images');
  const files: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new Error(`${input} does not exist; give image files or a folder of them`);
    if (statSync(input).isDirectory()) {
      const found = readdirSync(input).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
      if (found.length === 0) throw new Error(`folder ${input} holds no image (${IMAGE_EXTENSIONS.join(', ')})`);
      files.push(...found.map((f) => join(input, f)));
    } else {
      files.push(input);
    }
  }
  const seen = new Map<string, string>();
  for (const f of files) {
    const name = basename(f);
    const other = seen.get(name);
    if (other !== undefined) throw new Error(`${other} and ${f} have one file name, ${name}; the annotation CSV keys rows by file name, so detect them in separate runs`);
    seen.set(name, f);
  }
  return files;
}

/** One file's outcome: the detection, or the error that stopped it (a corrupt or unreadable file). */
export type BatchItem = { file: string; result: DetectedPose; error?: undefined } | { file: string; result?: undefined; error: Error };

export interface DetectManyOptions {
  /** Images in flight at once. Default 4. */
  concurrency?: number;
  /** Called after each file, in completion order. */
  onItem?: (item: BatchItem, done: number, total: number) => void;
}

/** Detects every file; a file that fails is reported in its item, and the others go on. Items keep input order. */
export async function detectMany(detector: PoseDetector, files: readonly string[], options: DetectManyOptions = {}): Promise<BatchItem[]> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`detectMany: concurrency must be a positive integer, got ${concurrency}`);
  return mapPool(files, concurrency, async (file) => {
    try {
      return { file, result: await detector.detect(file) };
    } catch (err) {
      return { file, error: err as Error };
    }
  }, (item, done) => options.onItem?.(item, done, files.length));
}

/** Runs `fn` over `items` with at most `concurrency` in flight; results keep the items' order. */
export async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>, onDone?: (r: R, done: number) => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
      onDone?.(out[i] as R, ++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
