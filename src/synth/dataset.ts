// Writes a synthetic dataset in the Market-1501 layout the field's code reads (PATN / Deformable GAN):
//
//   DIR/train/<name>.jpg, DIR/test/<name>.jpg          images (frame HxW; .png with imageFormat 'png', lossless)
//   DIR/<prefix>-annotation-train.csv, -test.csv        keypoints (name: [18 y]: [18 x], -1 = missing)
//   DIR/<prefix>-pairs-train.csv, -test.csv             from,to: two images of one identity
//   DIR/parsing/train/<stem>.png, parsing/test/...      SPT's 10 labels as grey levels 0..9 (1 channel)
//   DIR/masks/train/<stem>.png, masks/test/...          person mask, 0 or 255 (1 channel)
//   DIR/surface/train/<stem>.npy, surface/test/...      surface map, float32 (3,H,W): part id, body coordinates u, v
//                                                       (src/synth/surface.ts; correspondenceField of two is a
//                                                       pair's true flow; docs/synth.md)
//   DIR/synth.json                                      how it was made (seed, size, counts, layout)
//
// Names follow Market's `0001_c1s1_000001_00.jpg`: the identity is the 4-digit prefix before the first '_', the
// camera cycles c1..c6, the frame number is the pose index. Train and test are split by identity (the last
// identities are the test ones), so no person is in both. Pairs are every ordered pair of two different images of
// one identity. The bytes depend only on the options: the same seed writes the same files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeAnnotationCsv, writePairsCsv } from '../data/formats.js';
import { visibleCount, type Pose } from '../pose/skeleton.js';
import { makeIdentity, type Identity } from './identity.js';
import { samplePose } from './poses.js';
import { Rng, deriveSeed } from '../random.js';
import { checkSize, renderFigure, type FrameSize, type Render } from './render.js';
import { encodeSurface } from './surface.js';

export interface SynthDatasetOptions {
  out: string;
  size: FrameSize;
  /** Number of people (1..9999). */
  identities: number;
  /** Images per person (>= 2, so that each has a pair). */
  poses: number;
  seed: number;
  /** File-name prefix of the CSVs. Default 'synth'. */
  prefix?: string;
  /** Share of identities held out for test (at least one when identities >= 2; 1: all of them). Default 0.2. */
  testFraction?: number;
  /** Real poses to draw from (e.g. rows of a Market annotation CSV) instead of random ones; each image picks one. */
  posesFrom?: readonly Pose[];
  /** Real poses for the test split's people only (e.g. Market's test CSV); default: `posesFrom`. */
  testPosesFrom?: readonly Pose[];
  /** Renders in flight at once. Default 4. */
  concurrency?: number;
  /** 'jpg' (Market's format, quality 95, default) or 'png' (lossless: pixels exactly as rendered). */
  imageFormat?: 'jpg' | 'png';
  /** Write each image's surface map (the ground truth of correspondence) under DIR/surface/. Default true. */
  surface?: boolean;
}

export interface SynthImage {
  name: string;
  split: 'train' | 'test';
  identity: number;
  pose: Pose;
}

export interface SynthDatasetSummary {
  out: string;
  prefix: string;
  train: { identities: number; images: number; pairs: number };
  test: { identities: number; images: number; pairs: number };
}

/** The Market-style name of image `k` (0-based) of identity `id`. */
export function synthImageName(id: number, k: number, ext: 'jpg' | 'png' = 'jpg'): string {
  return `${String(id).padStart(4, '0')}_c${(k % 6) + 1}s1_${String(k + 1).padStart(6, '0')}_00.${ext}`;
}

/** Identity of a Market-style name: the number before the first '_'. */
export function identityOfName(name: string): string {
  const i = name.indexOf('_');
  return i < 0 ? name : name.slice(0, i);
}

/** Plans the dataset (names, splits, poses) without rendering: cheap, and the same for a seed. */
export function planSynthDataset(o: SynthDatasetOptions): SynthImage[] {
  validate(o);
  const nTest = o.identities >= 2 ? Math.max(1, Math.round(o.identities * (o.testFraction ?? 0.2))) : 0;
  const firstTest = o.identities - nTest + 1;
  // Rows with every joint missing would draw an empty frame; they are skipped.
  const trainSource = o.posesFrom?.filter((p) => visibleCount(p) > 0);
  const testSource = o.testPosesFrom?.filter((p) => visibleCount(p) > 0) ?? trainSource;
  const images: SynthImage[] = [];
  for (let id = 1; id <= o.identities; id++) {
    const identity = makeIdentity(o.seed, id);
    const rng = new Rng(deriveSeed(o.seed, 0x905e, id));
    const source = id >= firstTest ? testSource : trainSource;
    for (let k = 0; k < o.poses; k++) {
      let pose: Pose;
      if (source) {
        const src = source[Math.floor(rng.next() * source.length)] as Pose;
        pose = new Float32Array(src);
      } else {
        pose = samplePose(identity, o.size, rng);
      }
      images.push({ name: synthImageName(id, k, o.imageFormat ?? 'jpg'), split: id >= firstTest ? 'test' : 'train', identity: id, pose });
    }
  }
  return images;
}

function validate(o: SynthDatasetOptions): void {
  checkSize(o.size, '--size');
  if (!Number.isInteger(o.identities) || o.identities < 1 || o.identities > 9999) {
    throw new Error(`--identities must be an integer in 1..9999 (names carry a 4-digit identity), got ${o.identities}`);
  }
  if (!Number.isInteger(o.poses) || o.poses < 2 || o.poses > 999999) {
    throw new Error(`--poses must be an integer >= 2 (each person needs two images to make a pair), got ${o.poses}`);
  }
  if (o.imageFormat !== undefined && o.imageFormat !== 'jpg' && o.imageFormat !== 'png') {
    throw new Error(`--image-format must be jpg or png, got '${String(o.imageFormat)}'`);
  }
  if (!Number.isInteger(o.seed)) throw new Error(`--seed must be an integer, got ${o.seed}`);
  const tf = o.testFraction ?? 0.2;
  if (!(tf >= 0 && tf <= 1)) throw new Error(`--test-fraction must be in [0, 1] (1: everyone held out, an evaluation set), got ${tf}`);
  if (o.prefix !== undefined && !/^[A-Za-z0-9_.]+$/.test(o.prefix)) {
    throw new Error(`--prefix may hold letters, digits, '_' and '.', got '${o.prefix}'`);
  }
  for (const [flag, poses] of [['--poses-from', o.posesFrom], ['--test-poses-from', o.testPosesFrom]] as const) {
    if (!poses) continue;
    if (poses.length === 0) throw new Error(`${flag}: the annotation CSV has no rows`);
    const usable = poses.filter((p) => visibleCount(p) > 0).length;
    if (usable === 0) throw new Error(`${flag}: every row has all joints missing; nothing to draw`);
  }
}

/** Encodes a render's three outputs (JPEG or PNG image, PNG parsing map, PNG mask). */
export async function encodeRender(r: Render, imageFormat: 'jpg' | 'png' = 'jpg'): Promise<{ image: Buffer; parsing: Buffer; mask: Buffer }> {
  const raw = (data: Uint8Array, channels: 1 | 3) => sharp(data, { raw: { width: r.width, height: r.height, channels } });
  const img = raw(r.image, 3);
  const [image, parsing, mask] = await Promise.all([
    (imageFormat === 'png' ? img.png({ compressionLevel: 9 }) : img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' })).toBuffer(),
    raw(r.parsing, 1).toColourspace('b-w').png({ compressionLevel: 9 }).toBuffer(),
    // parsing > 0 is the mask: threshold 1 maps labels 1..9 to 255 and 0 to 0.
    raw(r.parsing, 1).threshold(1).toColourspace('b-w').png({ compressionLevel: 9 }).toBuffer(),
  ]);
  return { image, parsing, mask };
}

/** Renders and writes the dataset; see the top of this file for the layout. */
export async function writeSynthDataset(o: SynthDatasetOptions): Promise<SynthDatasetSummary> {
  const images = planSynthDataset(o);
  const prefix = o.prefix ?? 'synth';
  const writeSurface = o.surface ?? true;
  for (const split of ['train', 'test']) {
    const dirs = [split, join('parsing', split), join('masks', split), ...(writeSurface ? [join('surface', split)] : [])];
    for (const dir of dirs) await mkdir(join(o.out, dir), { recursive: true });
  }
  const identities = new Map<number, Identity>();
  const identityOf = (id: number): Identity => {
    let v = identities.get(id);
    if (!v) { v = makeIdentity(o.seed, id); identities.set(id, v); }
    return v;
  };
  const stem = (name: string): string => name.replace(/\.(jpg|png)$/, '');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < images.length) {
      const img = images[next++] as SynthImage;
      const r = await renderFigure(identityOf(img.identity), img.pose, o.size);
      const enc = await encodeRender(r, o.imageFormat ?? 'jpg');
      await Promise.all([
        writeFile(join(o.out, img.split, img.name), enc.image),
        writeFile(join(o.out, 'parsing', img.split, `${stem(img.name)}.png`), enc.parsing),
        writeFile(join(o.out, 'masks', img.split, `${stem(img.name)}.png`), enc.mask),
        ...(writeSurface ? [writeFile(join(o.out, 'surface', img.split, `${stem(img.name)}.npy`), encodeSurface(r.surface))] : []),
      ]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));

  const summary: SynthDatasetSummary = {
    out: o.out, prefix,
    train: { identities: 0, images: 0, pairs: 0 },
    test: { identities: 0, images: 0, pairs: 0 },
  };
  for (const split of ['train', 'test'] as const) {
    const rows = images.filter((i) => i.split === split);
    const byId = new Map<number, string[]>();
    for (const r of rows) byId.set(r.identity, [...(byId.get(r.identity) ?? []), r.name]);
    const pairs: { from: string; to: string }[] = [];
    for (const names of byId.values()) {
      for (const a of names) for (const b of names) if (a !== b) pairs.push({ from: a, to: b });
    }
    await writeAnnotationCsv(join(o.out, `${prefix}-annotation-${split}.csv`), rows.map((r) => ({ name: r.name, pose: r.pose })));
    await writePairsCsv(join(o.out, `${prefix}-pairs-${split}.csv`), pairs);
    summary[split] = { identities: byId.size, images: rows.length, pairs: pairs.length };
  }
  const manifest = {
    generator: 'reposer data synth',
    seed: o.seed, height: o.size.height, width: o.size.width,
    identities: o.identities, poses: o.poses, testFraction: o.testFraction ?? 0.2,
    poseSource: o.posesFrom ? 'annotation CSV' : 'random',
    testPoseSource: o.testPosesFrom ? 'annotation CSV' : o.posesFrom ? 'annotation CSV' : 'random',
    layout: {
      images: `{train,test}/<name>.${o.imageFormat ?? 'jpg'}`,
      annotation: `${prefix}-annotation-{train,test}.csv`,
      pairs: `${prefix}-pairs-{train,test}.csv`,
      parsing: 'parsing/{train,test}/<stem>.png (SPT labels 0..9)',
      masks: 'masks/{train,test}/<stem>.png (0 or 255)',
      ...(writeSurface ? { surface: 'surface/{train,test}/<stem>.npy (float32 (3,H,W): part id, u, v; docs/synth.md)' } : {}),
      identity: "name prefix before the first '_'",
    },
    train: summary.train, test: summary.test,
  };
  await writeFile(join(o.out, 'synth.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return summary;
}
