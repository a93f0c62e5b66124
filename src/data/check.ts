// `reposer data check DIR`: validates a dataset and reports every problem with its file and line.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import sharp from 'sharp';
import type { Frame } from '../pose/heatmaps.js';
import { JOINT_NAMES, NUM_JOINTS, isVisible, jointX, jointY } from '../pose/skeleton.js';
import { formatProblem, type Problem } from './formats.js';
import { IMAGE_EXTENSIONS, findDatasetFiles, openDataset, imagePath, parsingPath, type LayoutName } from './layouts.js';
import { readNpy } from './npy.js';

export const NUM_PARSING_LABELS = 10;

export interface CheckOptions {
  /** Splits to check; default every split with an annotation CSV (train, test), else the plain folder. */
  splits?: string[];
  layout?: LayoutName | 'auto';
  frame?: Frame;
  /** See OpenOptions.shiftX (PATN's 256x176 frame from 256x256 CSVs: -40). */
  shiftX?: number;
  /** Images decoded at once; default 8. */
  concurrency?: number;
}

export interface SplitReport {
  split: string;
  layout: LayoutName | null;
  frame: Frame | null;
  images: number;
  pairs: number;
  parsingMaps: number;
  unannotatedImages: number;
}

export interface CheckReport {
  dir: string;
  problems: Problem[];
  splits: SplitReport[];
}

/** The splits present in DIR: those with a <prefix>-annotation-<split>.csv, or [''] for a plain folder. */
export function splitsOf(dir: string): string[] {
  const found = new Set<string>();
  for (const e of readdirSync(dir)) {
    const m = /-annotation-(.+)\.csv$/.exec(e);
    if (m) found.add(m[1] as string);
  }
  const rank = (s: string): number => (s === 'train' ? 0 : s === 'test' ? 1 : 2);
  return found.size > 0 ? [...found].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)) : ['train'];
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
}

/**
 * Checks every split: the CSVs (header, malformed rows, joint counts, duplicates), every annotated image (missing,
 * unreadable, wrong size), every keypoint (outside the frame), every pair (naming an image the annotations do not
 * have), and the parsing maps when there is a parsing folder (missing, wrong size, labels outside 0..9).
 * It never stops at the first problem.
 */
export async function checkDataset(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const problems: Problem[] = [];
  const splits: SplitReport[] = [];
  let splitNames: string[];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { dir, problems: [{ file: dir, line: 0, message: 'the dataset directory does not exist or is not a directory; give the folder that holds the images and CSVs' }], splits };
  }
  try {
    splitNames = options.splits ?? splitsOf(dir);
  } catch (err) {
    return { dir, problems: [{ file: dir, line: 0, message: `cannot read the dataset directory: ${(err as Error).message}` }], splits };
  }
  for (const split of splitNames) {
    const report: SplitReport = { split, layout: null, frame: null, images: 0, pairs: 0, parsingMaps: 0, unannotatedImages: 0 };
    splits.push(report);
    let ds;
    try {
      ds = await openDataset(dir, { split, layout: options.layout, frame: options.frame, shiftX: options.shiftX, lenient: true });
    } catch (err) {
      const files = (() => { try { return findDatasetFiles(dir, split); } catch { return null; } })();
      problems.push({ file: files?.annotationFile ?? dir, line: 0, message: `split '${split}': ${(err as Error).message}` });
      continue;
    }
    problems.push(...ds.problems);
    report.layout = ds.layout;
    report.frame = ds.frame;
    report.images = ds.annotations.size;
    report.pairs = ds.pairs.length;
    const [h, w] = ds.frame;
    const annFile = ds.annotationFile as string;

    for (const p of ds.pairs) {
      for (const name of [p.from, p.to]) {
        if (!ds.annotations.has(name)) {
          problems.push({ file: ds.pairsFile ?? annFile, line: p.line, message: `pair ${p.from} -> ${p.to} names ${name}, which the annotation CSV ${annFile} does not have` });
        }
      }
    }

    const rows = [...ds.annotations.values()];
    for (const r of rows) {
      for (let j = 0; j < NUM_JOINTS; j++) {
        if (!isVisible(r.pose, j)) continue;
        const y = jointY(r.pose, j);
        const x = jointX(r.pose, j);
        if (y > h - 1 || x > w - 1) {
          const hint = ds.layout === 'deepfashion-256x176' && x > w - 1 && y <= h - 1
            ? '; PATN\'s 256x176 frame takes the 256x256 keypoints with x - 40 (--shift-x -40)' : '';
          problems.push({ file: annFile, line: r.line, message: `${r.name}: joint ${j} (${JOINT_NAMES[j]}) at y=${y} x=${x} is outside the ${h}x${w} frame (y 0..${h - 1}, x 0..${w - 1})${hint}` });
        }
      }
    }

    const imageProblems = new Map<string, Problem[]>();
    await pool(rows, options.concurrency ?? 8, async (r) => {
      const path = imagePath(ds, r.name);
      const found: Problem[] = [];
      try {
        // Asked first: sharp has reported a missing file as 'unsupported image format' under load.
        if (!existsSync(path)) throw Object.assign(new Error(`no such file ${path}`), { code: 'ENOENT' });
        const { info } = await sharp(path, { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
        if (info.height !== h || info.width !== w) {
          found.push({ file: annFile, line: r.line, message: `image ${path} is ${info.height}x${info.width} (HxW), the ${ds.layout} layout needs ${h}x${w}` });
        }
      } catch (err) {
        const msg = (err as NodeJS.ErrnoException).code === 'ENOENT' || /missing|no such file/i.test((err as Error).message)
          ? `image ${path} is missing` : `image ${path} is unreadable: ${(err as Error).message}`;
        found.push({ file: annFile, line: r.line, message: msg });
      }
      const pp = ds.parsingDir ? parsingPath(ds, r.name) : null;
      if (ds.parsingDir && !pp) found.push({ file: annFile, line: r.line, message: `no parsing map for ${r.name} in ${ds.parsingDir} (<stem>.npy or <stem>.png)` });
      if (pp) {
        report.parsingMaps++;
        const why = await checkParsing(pp, ds.frame);
        if (why) found.push({ file: pp, line: 0, message: why });
      }
      if (found.length > 0) imageProblems.set(r.name, found);
    });
    // Report in file order whatever order the decodes finished in.
    for (const r of rows) problems.push(...(imageProblems.get(r.name) ?? []));

    if (ds.imageDir) {
      report.unannotatedImages = readdirSync(ds.imageDir).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) && !ds.annotations.has(f)).length;
    }
  }
  return { dir, problems, splits };
}

/** Why a parsing map is bad, or null: readable, (H,W) of the frame, labels in 0..9. */
export async function checkParsing(path: string, frame: Frame): Promise<string | null> {
  const [h, w] = frame;
  try {
    let shape: number[];
    let max = 0;
    let min = 0;
    if (path.endsWith('.npy')) {
      const a = await readNpy(path);
      shape = a.shape;
      const values = a.data as ArrayLike<number | bigint>;
      for (let i = 0; i < values.length; i++) {
        const n = Number(values[i]);
        if (n > max) max = n;
        if (n < min) min = n;
      }
    } else {
      const image = sharp(path);
      if ((await image.metadata()).isPalette) return 'parsing map is a palette PNG; save the labels 0..9 as 8-bit grey levels (or as .npy)';
      const { data, info } = await image.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      shape = [info.height, info.width];
      for (const v of data) if (v > max) max = v;
    }
    if (shape.length !== 2 || shape[0] !== h || shape[1] !== w) return `parsing map is (${shape.join(',')}), expected (${h},${w})`;
    if (min < 0 || max >= NUM_PARSING_LABELS) return `parsing map has labels ${min}..${max}; SPT's labels are 0..${NUM_PARSING_LABELS - 1}`;
    return null;
  } catch (err) {
    return `parsing map is unreadable: ${(err as Error).message}`;
  }
}

/** The report as text: one line per problem, then a summary per split. */
export function formatCheckReport(report: CheckReport): string {
  const lines = report.problems.map(formatProblem);
  for (const s of report.splits) {
    const frame = s.frame ? `${s.frame[0]}x${s.frame[1]}` : '?';
    lines.push(`split ${s.split}: layout ${s.layout ?? '?'} ${frame}, ${s.images} annotated images, ${s.pairs} pairs, ` +
      `${s.parsingMaps} parsing maps, ${s.unannotatedImages} images without annotation`);
  }
  lines.push(report.problems.length === 0 ? `${report.dir}: no problems` : `${report.dir}: ${report.problems.length} problem${report.problems.length > 1 ? 's' : ''}`);
  return lines.join('\n');
}

