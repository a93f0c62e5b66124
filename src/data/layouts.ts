// Dataset layouts of the field, found on disk and opened as one `Dataset` per split.
//
// A dataset directory DIR holds, for a split S (train or test):
//   images         DIR/S/, or DIR/<anything>-dataset/S/ (Deformable GAN's data/market-dataset/train),
//                  or DIR/images/ (a plain folder; also the real data's market/images)
//   annotations    DIR/<prefix>-annotation-S.csv (market-, fasion-, fasion-resize-, synth-), or
//                  DIR/annotation.csv | annotations.csv | keypoints.csv for a plain folder
//   pairs          DIR/<prefix>-pairs-S.csv, or pairs.csv; when absent, pairs are made from the annotations
//                  (makePairs: same identity, full torso, no distractors)
//   parsing maps   optional: DIR/parsing/S/ or DIR/parsing/, one <stem>.npy ((H,W) int8/int64) or <stem>.png
//                  (grey levels 0..9) per image, SPT's 10 labels
//
// Layouts fix the frame (H x W) and the identity rule:
//   market               128 x 64, identity = prefix before the first '_'
//   deepfashion-256x176  PATN's frame (176 wide; keypoints are the 256 x 256 ones with x - 40), identity 'deepfashion'
//   deepfashion-256x256  Deformable GAN's frame, identity 'deepfashion'
//   folder               frame from the first image (all must match), identity = prefix before the first '_'
// `auto` (the default) picks one: a synth.json's size, else names starting fasion/fashion (176 or 256 wide by the
// first image), else market when the first image is 64 x 128, else folder. A given frame (--frame) is used instead
// of synth.json and the first image. An unreadable synth.json or first image, or a split with neither, is an error naming the file
// and the cause: detection never guesses a frame (give one with --layout or --frame).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import type { Frame } from '../pose/heatmaps.js';
import { NUM_JOINTS, emptyPose, isVisible, jointX, jointY, setJoint, type Pose } from '../pose/skeleton.js';
import { scanAnnotationCsv, scanPairsCsv, type AnnotationRow, type PairRow, type Problem } from './formats.js';
import { makePairs, type IdentityRule } from './pairs.js';

export type LayoutName = 'market' | 'deepfashion-256x176' | 'deepfashion-256x256' | 'folder';
export const LAYOUTS: readonly LayoutName[] = ['market', 'deepfashion-256x176', 'deepfashion-256x256', 'folder'];

export const LAYOUT_FRAMES: Record<Exclude<LayoutName, 'folder'>, Frame> = {
  market: [128, 64],
  'deepfashion-256x176': [256, 176],
  'deepfashion-256x256': [256, 256],
};

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface DatasetFiles {
  dir: string;
  split: string;
  imageDir: string | null;
  annotationFile: string | null;
  pairsFile: string | null;
  parsingDir: string | null;
}

export interface Dataset extends DatasetFiles {
  layout: LayoutName;
  frame: Frame;
  identity: IdentityRule;
  /** Annotated images by name. */
  annotations: Map<string, AnnotationRow>;
  /** The pairs file's rows, or generated pairs (line 0). */
  pairs: PairRow[];
  pairsGenerated: boolean;
  /** Problems met while reading the CSVs (empty when clean); `openDataset` throws instead unless `lenient`. */
  problems: Problem[];
}

export interface OpenOptions {
  split?: string;
  layout?: LayoutName | 'auto';
  /** Overrides the layout's frame. */
  frame?: Frame;
  identity?: IdentityRule;
  /** Collect CSV problems in `problems` instead of throwing (used by `data check`). */
  lenient?: boolean;
  /**
   * Added to every keypoint's x as the annotations are read. PATN's 256x176 DeepFashion frame is the 256x256 one
   * with 40 columns cut from each side, so the 256x256 CSVs serve it with shiftX = -40; joints that then fall
   * outside the frame become missing. Default 0.
   */
  shiftX?: number;
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

function isFile(p: string): boolean {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** Finds the files of a split without reading them. */
export function findDatasetFiles(dir: string, split = 'train'): DatasetFiles {
  if (!isDir(dir)) throw new Error(`dataset directory ${dir} does not exist or is not a directory`);
  const entries = readdirSync(dir).sort();
  const pick = (re: RegExp, names: string[]): string | null => {
    const hit = entries.find((e) => re.test(e) && isFile(join(dir, e)));
    if (hit) return join(dir, hit);
    const plain = names.find((n) => isFile(join(dir, n)));
    return plain ? join(dir, plain) : null;
  };
  const esc = split.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const annotationFile = pick(new RegExp(`-annotation-${esc}\\.csv$`), ['annotation.csv', 'annotations.csv', 'keypoints.csv']);
  const pairsFile = pick(new RegExp(`-pairs-${esc}\\.csv$`), ['pairs.csv']);
  let imageDir: string | null = null;
  for (const cand of [join(dir, split), ...entries.filter((e) => e.endsWith('-dataset')).map((e) => join(dir, e, split)), join(dir, 'images')]) {
    if (isDir(cand)) { imageDir = cand; break; }
  }
  let parsingDir: string | null = null;
  for (const cand of [join(dir, 'parsing', split), join(dir, 'parsing')]) {
    if (isDir(cand) && readdirSync(cand).some((f) => f.endsWith('.npy') || f.endsWith('.png'))) { parsingDir = cand; break; }
  }
  return { dir, split, imageDir, annotationFile, pairsFile, parsingDir };
}

/** The first image file (sorted) of a folder, or null. */
export function firstImage(imageDir: string | null): string | null {
  if (!imageDir) return null;
  const f = readdirSync(imageDir).sort().find((e) => IMAGE_EXTENSIONS.includes(extname(e).toLowerCase()));
  return f ? join(imageDir, f) : null;
}

/** How to give a frame by hand, for errors that cannot tell it. */
const GIVE_FRAME = `pass --layout (${LAYOUTS.join(', ')}) or --frame HxW (e.g. 128x64)`;

/** The (H, W) of an image, read from its header; an unreadable image is an error naming it. */
async function imageSize(path: string, why: string, remedy = GIVE_FRAME): Promise<Frame> {
  const m = await sharp(path).metadata().catch((err: Error) => {
    throw new Error(`cannot read image ${path} ${why}: ${err.message}; fix or remove the file, or ${remedy}`);
  });
  if (!m.height || !m.width) throw new Error(`image ${path} has no size in its header (needed ${why}); fix or remove the file, or ${remedy}`);
  return [m.height, m.width];
}

/** The frame a synth.json records (what `reposer data synth` writes: "height" and "width"), or null without one. */
function synthFrame(dir: string): Frame | null {
  const p = join(dir, 'synth.json');
  if (!existsSync(p)) return null;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(p, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${p}, which gives the dataset's frame: ${(err as Error).message}; rewrite it with 'reposer data synth', remove it, or ${GIVE_FRAME}`);
  }
  const { height, width } = (manifest ?? {}) as { height?: unknown; width?: unknown };
  const isSide = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!isSide(height) || !isSide(width)) {
    throw new Error(`${p} gives no frame: expected positive integer "height" and "width" (as 'reposer data synth' writes), got height ${JSON.stringify(height)}, width ${JSON.stringify(width)}; fix it, remove it, or ${GIVE_FRAME}`);
  }
  return [height, width];
}

/**
 * Picks the layout and frame of a split (see the file's comment). `frame`, when the caller knows it (--frame), is
 * used instead of synth.json and the first image's size. Throws, naming the file and the cause, when a synth.json or the first image cannot
 * be read, and when nothing tells the frame.
 */
export async function detectLayout(files: DatasetFiles, names: readonly string[], frame?: Frame): Promise<{ layout: LayoutName; frame: Frame }> {
  const synth = frame ? null : synthFrame(files.dir);
  if (synth) return { layout: synth[0] === 128 && synth[1] === 64 ? 'market' : 'folder', frame: synth };
  const first = firstImage(files.imageDir);
  const size = frame ?? (first ? await imageSize(first, `to tell the frame of ${files.dir}`) : null);
  if (!size) {
    throw new Error(`cannot tell the frame of ${files.dir}: no synth.json and no image in ${files.imageDir ?? '(no image folder)'}; ${GIVE_FRAME}`);
  }
  const fashion = names.length > 0 && names.slice(0, 20).every((n) => /^fash?ion/i.test(basename(n)));
  if (fashion) {
    if (size[1] === 176) return { layout: 'deepfashion-256x176', frame: LAYOUT_FRAMES['deepfashion-256x176'] };
    return { layout: 'deepfashion-256x256', frame: LAYOUT_FRAMES['deepfashion-256x256'] };
  }
  if (size[0] === 128 && size[1] === 64) return { layout: 'market', frame: LAYOUT_FRAMES.market };
  return { layout: 'folder', frame: size };
}

/** The identity rule a layout uses. */
export function layoutIdentity(layout: LayoutName): IdentityRule {
  return layout.startsWith('deepfashion') ? 'deepfashion' : 'market';
}

/**
 * Opens one split of a dataset: finds its files, reads the annotation and pairs CSVs, and settles the layout.
 * Throws on a missing annotation file or image folder, and (unless `lenient`) on any CSV problem.
 */
export async function openDataset(dir: string, options: OpenOptions = {}): Promise<Dataset> {
  const files = findDatasetFiles(dir, options.split ?? 'train');
  const problems: Problem[] = [];
  if (!files.annotationFile) {
    throw new Error(`no annotation CSV for split '${files.split}' in ${dir}: expected <prefix>-annotation-${files.split}.csv or annotation.csv`);
  }
  if (!files.imageDir) {
    throw new Error(`no image folder for split '${files.split}' in ${dir}: expected ${join(dir, files.split)}/, <name>-dataset/${files.split}/ or images/`);
  }
  const ann = scanAnnotationCsv(readFileSync(files.annotationFile, 'utf8'), files.annotationFile);
  problems.push(...ann.problems);
  let layout: LayoutName;
  let frame: Frame;
  if (options.layout && options.layout !== 'auto') {
    layout = options.layout;
    if (options.frame) frame = options.frame;
    else if (layout === 'folder') {
      const first = firstImage(files.imageDir);
      if (!first) throw new Error(`layout 'folder' takes its frame from the images, but ${files.imageDir} has none; pass --frame HxW`);
      frame = await imageSize(first, `to tell the frame of layout 'folder'`, 'pass --frame HxW');
    } else frame = LAYOUT_FRAMES[layout];
  } else {
    const d = await detectLayout(files, ann.rows.map((r) => r.name), options.frame);
    layout = d.layout;
    frame = options.frame ?? d.frame;
  }
  const shift = options.shiftX ?? 0;
  const rows = shift === 0 ? ann.rows : ann.rows.map((r) => ({ ...r, pose: shiftPoseX(r.pose, shift, frame[1]) }));
  const annotations = new Map(rows.map((r) => [r.name, r]));
  const identity = options.identity ?? layoutIdentity(layout);
  let pairs: PairRow[];
  let pairsGenerated = false;
  if (files.pairsFile) {
    const p = scanPairsCsv(readFileSync(files.pairsFile, 'utf8'), files.pairsFile);
    problems.push(...p.problems);
    pairs = p.rows;
  } else {
    pairs = makePairs(rows, { identity }).map((p) => ({ ...p, line: 0 }));
    pairsGenerated = true;
  }
  if (problems.length > 0 && !options.lenient) {
    const shown = problems.slice(0, 5).map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n  ');
    throw new Error(`dataset ${dir} has ${problems.length} problem(s) in its CSVs:\n  ${shown}\nrun 'reposer data check ${dir}' for the full list`);
  }
  return { ...files, layout, frame, identity, annotations, pairs, pairsGenerated, problems };
}

/** A pose moved by dx columns; joints that leave [0, width) become missing. */
export function shiftPoseX(pose: Pose, dx: number, width: number): Pose {
  const out = emptyPose();
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!isVisible(pose, j)) continue;
    const x = jointX(pose, j) + dx;
    if (x >= 0 && x <= width - 1) setJoint(out, j, jointY(pose, j), x);
  }
  return out;
}

/** The image file of an annotated name. */
export function imagePath(ds: { imageDir: string | null }, name: string): string {
  if (!ds.imageDir) throw new Error(`no image folder to find ${name} in`);
  return join(ds.imageDir, name);
}

/** The parsing map of an image (<stem>.npy preferred, else <stem>.png), or null when there is none. */
export function parsingPath(ds: { parsingDir: string | null }, name: string): string | null {
  if (!ds.parsingDir) return null;
  const stem = name.slice(0, name.length - extname(name).length);
  for (const ext of ['.npy', '.png']) {
    const p = join(ds.parsingDir, stem + ext);
    if (isFile(p)) return p;
  }
  return null;
}
