// Re-ID augmentation (PATN's application): every identity of a Market-layout dataset, generated in N new poses drawn
// from the dataset's pose bank, written in the same layout so that a re-ID trainer and every reposer command read it.
//
//   OUT/<split>/<source stem>_g<k>.jpg     the k-th generated image of that source; the name keeps the identity
//                                           and camera fields (0002_c1s1_000451_03_g00.jpg), as Market's readers parse them
//   OUT/market-annotation-<split>.csv      each generated image's pose (the target pose it was made in)
//
// The plan (which source, which pose) depends only on the seed, and every image is written atomically, so an
// interrupted run started again generates only what is missing.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDataset } from '../data/layouts.js';
import { identityOf } from '../data/pairs.js';
import { writeAnnotationCsvSync, type AnnotationRow } from '../data/formats.js';
import { generatePoses, type LoadedModel } from '../generate/index.js';
import { deriveSeed, mulberry32 } from '../random.js';
import type { Pose } from '../pose/skeleton.js';

export interface AugmentOptions {
  /** A Market-layout dataset at the model's frame. */
  data: string;
  /** Its split to augment. Default 'train'. */
  split?: string;
  /** New poses per identity. */
  poses: number;
  out: string;
  /** Seeds the choice of poses. Default 0. */
  seed?: number;
  /** Poses per forward pass. Default 8. */
  batchSize?: number;
  /** After each source image's poses: images done (written now or found from an earlier run) and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface AugmentResult {
  identities: number;
  /** Images in the output. */
  images: number;
  /** Of those, the ones this run generated (the rest were there from an interrupted run). */
  generated: number;
  annotationFile: string;
}

interface Planned {
  name: string;
  source: string;
  targetPose: Pose;
}

/** Generates `poses` new images of every identity; see the file comment for the layout. */
export async function augmentDataset(loaded: LoadedModel, o: AugmentOptions): Promise<AugmentResult> {
  if (!Number.isInteger(o.poses) || o.poses < 1) throw new Error(`augment: --poses must be a positive integer, got ${o.poses}`);
  const split = o.split ?? 'train';
  const ds = await openDataset(o.data, { split });
  const { height, width } = loaded.cfg.image;
  if (ds.frame[0] !== height || ds.frame[1] !== width) {
    throw new Error(`augment: ${o.data} holds ${ds.frame[0]}x${ds.frame[1]} images, the model ${height}x${width}; use a model trained at the data's size`);
  }
  if (!ds.imageDir) throw new Error(`augment: ${o.data} has no image folder for split '${split}'`);
  const byIdentity = new Map<string, AnnotationRow[]>();
  for (const row of ds.annotations.values()) {
    const id = identityOf(row.name, ds.identity);
    if (id === null || id === '-1' || id === '0000') continue; // Market's distractors and junk have no person to keep
    byIdentity.set(id, [...(byIdentity.get(id) ?? []), row]);
  }
  if (byIdentity.size === 0) throw new Error(`augment: no identity found in ${o.data}'s '${split}' annotations (names must start with the identity, as Market's 0002_c1s1_...)`);
  const bank = [...ds.annotations.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const plan: Planned[] = [];
  for (const id of [...byIdentity.keys()].sort()) {
    const rows = (byIdentity.get(id) as AnnotationRow[]).sort((a, b) => (a.name < b.name ? -1 : 1));
    const random = mulberry32(deriveSeed(o.seed ?? 0, ...[...id].map((c) => c.charCodeAt(0))));
    for (let k = 0; k < o.poses; k++) {
      const src = rows[k % rows.length] as AnnotationRow;
      const target = bank[Math.floor(random() * bank.length)] as AnnotationRow;
      plan.push({ name: `${src.name.replace(/\.[^.]+$/, '')}_g${String(k).padStart(2, '0')}.jpg`, source: src.name, targetPose: target.pose });
    }
  }
  const imageDir = join(o.out, split);
  mkdirSync(imageDir, { recursive: true });
  const bySource = new Map<string, Planned[]>();
  for (const p of plan) bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
  let done = 0;
  let generated = 0;
  for (const [source, items] of bySource) {
    const missing = items.filter((p) => !existsSync(join(imageDir, p.name)));
    if (missing.length > 0) {
      const sourceRow = ds.annotations.get(source) as AnnotationRow;
      const video = await generatePoses(loaded, {
        source: join(ds.imageDir, source), sourcePose: sourceRow.pose, targetPoses: missing.map((p) => p.targetPose), batchSize: o.batchSize,
      });
      await Promise.all(missing.map(async (p, i) => {
        const path = join(imageDir, p.name);
        const tmp = `${path}.tmp-${process.pid}.jpg`;
        await sharp(video.frames[i] as Buffer, { raw: { width: video.width, height: video.height, channels: 3 } }).jpeg({ quality: 95 }).toFile(tmp);
        renameSync(tmp, path);
      }));
      generated += missing.length;
    }
    done += items.length;
    o.onProgress?.(done, plan.length);
  }
  const annotationFile = join(o.out, `market-annotation-${split}.csv`);
  const tmp = `${annotationFile}.tmp-${process.pid}`;
  writeAnnotationCsvSync(tmp, plan.map((p) => ({ name: p.name, pose: p.targetPose })));
  renameSync(tmp, annotationFile);
  return { identities: byIdentity.size, images: plan.length, generated, annotationFile };
}
