// Generation as a library: load a trained (or imported) model from its run directory, and generate a person in a
// new pose, either from one photo of any size (letterboxed to the model's frame, the result mapped back) or for every
// pair of a dataset (what `reposer test` and `reposer eval` read).
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { openDataset, PairLoader, readAnnotationCsvSync, readPairsCsvSync } from '../data/index.js';
import { poseMaps } from '../pose/heatmaps.js';
import { NUM_JOINTS, type Pose } from '../pose/skeleton.js';
import { drawSkeletons } from '../pose/draw.js';
import { tensorToPoses } from '../pose/heatmaps.js';
import { loadResolvedConfig } from '../models/config.js';
import { getModel, loaderOptions, resolveModelConfig, type ModelFamily, type Preset, type TrainableModel } from '../models/registry.js';
import type { FamilyConfig } from '../models/sections.js';
import type { PairBatch } from '../models/batch.js';
import { listCheckpoints } from '../train/checkpoint.js';
import { toBytes } from '../train/samples.js';
import { runAt, type Precision } from '../train/precision.js';
import { flowPath, writeFlow } from '../eval/flow.js';
import '../models/index.js';
import { decodeImage, PoseDetector } from '../detect/index.js';
import { visibleCount } from '../pose/skeleton.js';
import { LABEL_NAMES } from '../synth/figure.js';

export interface LoadedModel {
  family: ModelFamily;
  cfg: FamilyConfig;
  model: TrainableModel;
  /** The weights file the generator came from. */
  weights: string;
  /** Runs a generation at the precision asked of loadModel. */
  run: <T>(fn: () => T) => T;
}

export interface LoadModelOptions {
  /** 'bf16': generate under CPU bf16 autocast where the CPU has native bf16 (else said once, and fp32). */
  precision?: Precision;
  notice?: (line: string) => void;
}

/**
 * Loads the generator of a run directory: the newest checkpoint's netG (a run of `reposer train`), or RUN_DIR's own
 * netG.safetensors (a run of `reposer import`). The losses' networks are not needed to generate, so a VGG19 the config
 * names is replaced by random weights. The caller disposes `model`.
 */
export function loadModel(runDir: string, options: LoadModelOptions = {}): LoadedModel {
  const run = runAt(options.precision ?? 'fp32', 'generate', options.notice ?? ((line) => console.warn(line)));
  const saved = loadResolvedConfig(runDir);
  const family = getModel(String(saved.model));
  const cfg = resolveModelConfig({ model: family.name, preset: saved.preset as Preset, file: join(runDir, 'config.json') });
  const vgg = (cfg.loss as { vgg?: { weights: string } }).vgg;
  if (vgg) vgg.weights = 'random';
  const newest = listCheckpoints(runDir).at(-1);
  const weights = newest ? join(newest[1], 'netG.safetensors') : join(runDir, 'netG.safetensors');
  if (!existsSync(weights)) {
    throw new Error(`${runDir} has no generator weights (looked for checkpoints/step-*/netG.safetensors and netG.safetensors); ` +
      `give a run directory written by 'reposer train' or 'reposer import'`);
  }
  const model = family.create(cfg);
  const { tensors } = torch.io.loadSafetensors(weights);
  try {
    const r = torch.noGrad(() => model.generator.loadStateDict(tensors));
    if (r.missingKeys.length || r.unexpectedKeys.length) {
      throw new Error(`${weights} does not fit ${family.name}'s generator for this config (missing ${r.missingKeys.slice(0, 3).join(', ') || 'none'}; ` +
        `unexpected ${r.unexpectedKeys.slice(0, 3).join(', ') || 'none'})`);
    }
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    torch.dispose([...tensors.values()]);
  }
  return { family, cfg, model, weights, run };
}

/**
 * A pose given on the command line or by a caller:
 * - `FILE.csv#name`: that row of an annotation CSV (name:keypoints_y:keypoints_x);
 * - a JSON list of 18 [x, y] pairs, -1 for a missing joint (note: x first, as drawing tools write them);
 * - the path of a JSON file holding such a list.
 * Returns our (y, x) pose.
 */
export function parsePose(text: string, what = 'pose'): Pose {
  const hash = text.lastIndexOf('#');
  if (hash > 0 && text.slice(0, hash).endsWith('.csv')) {
    const file = text.slice(0, hash);
    const name = text.slice(hash + 1);
    if (!existsSync(file)) throw new Error(`${what}: annotation CSV ${file} does not exist`);
    const row = readAnnotationCsvSync(file).find((r) => r.name === name);
    if (!row) throw new Error(`${what}: ${file} has no row named '${name}'`);
    return row.pose;
  }
  const inline = text.trim().startsWith('[');
  const source = inline ? 'the JSON given' : text;
  if (!inline && !existsSync(text)) {
    throw new Error(`${what}: '${text}' is neither FILE.csv#name, a JSON list of 18 [x, y] pairs, nor an existing JSON file holding one`);
  }
  let json: unknown;
  try {
    json = JSON.parse(inline ? text : readFileSync(text, 'utf8'));
  } catch (err) {
    throw new Error(`${what}: ${source} is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(json) || json.length !== NUM_JOINTS || !json.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw new Error(`${what}: ${source} must be a list of ${NUM_JOINTS} [x, y] pairs in OpenPose order (-1 for a missing joint)`);
  }
  const pose = new Float32Array(2 * NUM_JOINTS) as Pose;
  (json as [number, number][]).forEach(([x, y], j) => {
    const missing = x < 0 || y < 0;
    pose[2 * j] = missing ? -1 : y;
    pose[2 * j + 1] = missing ? -1 : x;
  });
  return pose;
}

/** How an image of size (h0, w0) sits in the model's frame: scale, then centred with padding. */
export interface Letterbox {
  scale: number;
  top: number;
  left: number;
  height: number;
  width: number;
}

export function letterbox(h0: number, w0: number, [h, w]: readonly [number, number]): Letterbox {
  const scale = Math.min(h / h0, w / w0);
  const height = Math.max(1, Math.round(h0 * scale));
  const width = Math.max(1, Math.round(w0 * scale));
  return { scale, top: Math.floor((h - height) / 2), left: Math.floor((w - width) / 2), height, width };
}

/** A pose in a photo's pixels carried into the frame through the photo's letterbox. */
export function mapPose(pose: Pose, box: Letterbox): Pose {
  const out = new Float32Array(pose.length) as Pose;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const y = pose[2 * j] as number;
    const x = pose[2 * j + 1] as number;
    const missing = y < 0 || x < 0;
    out[2 * j] = missing ? -1 : y * box.scale + box.top;
    out[2 * j + 1] = missing ? -1 : x * box.scale + box.left;
  }
  return out;
}

/** A parsing map of a photo: one of SPT's labels 0..9 (LABEL_NAMES) per pixel, row-major, at the photo's size. */
export interface PhotoParsing {
  width: number;
  height: number;
  labels: Uint8Array;
}

const asBuffer = (a: Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A photo placed in the model's frame: its own size, its letterbox, and its framed pixels (frame H x W x 3, RGB). */
export interface FramedPhoto {
  width: number;
  height: number;
  box: Letterbox;
  frame: [number, number];
  pixels: Buffer;
}

/** Scales and letterboxes (white) a photo of any size into the model's frame; `what` names it in errors. */
export async function framePhoto(loaded: LoadedModel, photo: string | Buffer, what = 'the source image'): Promise<FramedPhoto> {
  const frame: [number, number] = [loaded.cfg.image.height, loaded.cfg.image.width];
  const image = sharp(photo).removeAlpha().toColourspace('srgb');
  const meta = await image.metadata();
  if (!meta.height || !meta.width) throw new Error(`generate: cannot read the size of ${what}`);
  const box = letterbox(meta.height, meta.width, frame);
  const pixels = await image.resize(box.width, box.height, { fit: 'fill' })
    .extend({ top: box.top, left: box.left, bottom: frame[0] - box.height - box.top, right: frame[1] - box.width - box.left, background: '#ffffff' })
    .raw().toBuffer();
  return { width: meta.width, height: meta.height, box, frame, pixels };
}

/** The framed pixels as (1,3,H,W) float32 in [-1,1]; the caller disposes it. */
export function framedTensor(photo: FramedPhoto): torch.Tensor {
  const [h, w] = photo.frame;
  return torch.scope(() => torch.tensor(new Uint8Array(photo.pixels), [1, h, w, 3]).to('float32').div(127.5).sub(1).permute([0, 3, 1, 2]).contiguous());
}

/**
 * Checks a photo's parsing map (its size, its labels) and throws naming `what` and what to send instead. The labels
 * are checked here, not by the model, so that a bad map is refused before any tensor is made.
 */
export function checkPhotoParsing(parsing: PhotoParsing, size: { width: number; height: number }, what: string): void {
  const { width, height, labels } = parsing;
  if (width !== size.width || height !== size.height) {
    throw new Error(`${what} is ${width}x${height} (width x height), the photo ${size.width}x${size.height}; give one label per pixel of the photo`);
  }
  if (labels.length !== width * height) throw new Error(`${what} holds ${labels.length} labels for ${width}x${height} pixels; give one label per pixel, row by row`);
  let bad = -1;
  for (let i = 0; i < labels.length && bad < 0; i++) if ((labels[i] as number) >= LABEL_NAMES.length) bad = i;
  if (bad >= 0) {
    throw new Error(`${what} holds label ${labels[bad]} at x ${bad % width}, y ${Math.floor(bad / width)}; parsing labels are 0..${LABEL_NAMES.length - 1} ` +
      `(${LABEL_NAMES.map((n, i) => `${i} ${n}`).join(', ')})`);
  }
}

/**
 * A photo's parsing map carried into the frame as its pixels are (framePhoto): scaled with nearest neighbours, so that
 * every value stays a label, and padded with background. Returns the frame's labels, row-major.
 */
export async function frameParsing(parsing: PhotoParsing, photo: FramedPhoto, what: string): Promise<Uint8Array> {
  checkPhotoParsing(parsing, photo, what);
  return letterboxLabels(parsing, photo.box, photo.frame);
}

/**
 * A label map scaled into `box` with nearest neighbours (every value stays a label) and placed in a `[h, w]` map of
 * background (0), row-major.
 */
export async function letterboxLabels(parsing: PhotoParsing, box: Letterbox, [h, w]: readonly [number, number]): Promise<Uint8Array> {
  const scaled = await sharp(asBuffer(parsing.labels), { raw: { width: parsing.width, height: parsing.height, channels: 1 } })
    .resize(box.width, box.height, { fit: 'fill', kernel: 'nearest' }).extractChannel(0).raw().toBuffer();
  const out = new Uint8Array(h * w);
  for (let y = 0; y < box.height; y++) out.set(scaled.subarray(y * box.width, (y + 1) * box.width), (box.top + y) * w + box.left);
  return out;
}

/**
 * The frame's rows and columns that hold the photo (its letterbox), scaled back to the photo's size: RGB images with
 * sharp's default kernel, label maps (channels 1) with nearest neighbours so that every value stays a label.
 */
export async function unframe(data: Uint8Array, channels: 1 | 3, photo: Pick<FramedPhoto, 'width' | 'height' | 'box' | 'frame'>): Promise<Buffer> {
  const { box, frame } = photo;
  const out = sharp(asBuffer(data), { raw: { width: frame[1], height: frame[0], channels } })
    .extract({ top: box.top, left: box.left, width: box.width, height: box.height })
    .resize(photo.width, photo.height, { fit: 'fill', ...(channels === 1 ? { kernel: 'nearest' as const } : {}) });
  return (channels === 1 ? out.extractChannel(0) : out).raw().toBuffer();
}

/** True when the family renders through the source's parsing map (SPT), so a photo needs one to be generated. */
export function needsParsing(loaded: LoadedModel): boolean {
  return Boolean(loaded.family.batchNeeds(loaded.cfg).parsing);
}

/**
 * The batch of n pairs in the frame: the framed source (1,3,H,W) repeated with its pose and its parsing (if given),
 * and one target pose per pair; poses and parsing already carried into the frame (mapPose, frameParsing). Call inside
 * a scope.
 */
export function frameBatch(loaded: LoadedModel, source: torch.Tensor, sourcePose: Pose, targets: readonly Pose[], parsing: Uint8Array | null): PairBatch {
  const frame: [number, number] = [loaded.cfg.image.height, loaded.cfg.image.width];
  const n = targets.length;
  const img = source.expand([n, 3, frame[0], frame[1]]).contiguous();
  const kpA = torch.tensor(sourcePose, [1, NUM_JOINTS, 2]).expand([n, NUM_JOINTS, 2]).contiguous();
  const flat = new Float32Array(n * NUM_JOINTS * 2);
  targets.forEach((p, i) => flat.set(p, i * NUM_JOINTS * 2));
  const kpB = torch.tensor(flat, [n, NUM_JOINTS, 2]);
  const batch: PairBatch = {
    imageA: img, imageB: img, keypointsA: kpA, keypointsB: kpB,
    poseMapA: poseMaps(kpA, frame, loaded.cfg.data.pose), poseMapB: poseMaps(kpB, frame, loaded.cfg.data.pose),
  };
  if (parsing) batch.parsingA = torch.tensor(parsing, [1, frame[0], frame[1]]).to('int64').expand([n, frame[0], frame[1]]).contiguous();
  return batch;
}

/** Refuses a family that renders through parsing maps when the photo has none, saying what to give instead. */
function requireParsing(loaded: LoadedModel, parsing: PhotoParsing | undefined): void {
  if (needsParsing(loaded) && !parsing) {
    throw new Error(`generate: ${loaded.family.name} renders through the source's parsing map (labels 0..9 per pixel), and this photo has none; ` +
      `give sourceParsing (for reposer serve: choose a synthetic example, whose parsing is known), or use a family that reads none`);
  }
}

export interface GenerateOptions {
  /** The person's photo, any size and aspect ratio. */
  source: string | Buffer;
  /** The source's keypoints in its own pixels (see parsePose). */
  sourcePose: Pose;
  /** The wanted pose, in the source image's pixels. */
  targetPose: Pose;
  /** The source's parsing map at its own size; SPT needs it, the other families ignore it. */
  sourceParsing?: PhotoParsing;
}

export interface GeneratePosesOptions {
  /** The person's photo, any size and aspect ratio. */
  source: string | Buffer;
  /** The source's keypoints in its own pixels (see parsePose). */
  sourcePose: Pose;
  /** The wanted poses, in the source image's pixels. */
  targetPoses: readonly Pose[];
  /** The source's parsing map at its own size; SPT needs it, the other families ignore it. */
  sourceParsing?: PhotoParsing;
  /** Poses generated per forward pass. Default 8. */
  batchSize?: number;
}

/** Generated images as raw RGB at the source photo's size, one per target pose. */
export interface GeneratedFrames {
  width: number;
  height: number;
  frames: Buffer[];
}

/**
 * Generates the person of `source` in each of `targetPoses`, `batchSize` poses per forward pass. The photo is scaled
 * and letterboxed (white) into the model's frame, with the keypoints (and its parsing map, if given) mapped the same
 * way, and each result is cropped and scaled back to the photo's size.
 */
export async function generatePoses(loaded: LoadedModel, o: GeneratePosesOptions): Promise<GeneratedFrames> {
  const batchSize = o.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`generate: batchSize must be a positive integer, got ${o.batchSize}`);
  requireParsing(loaded, o.sourceParsing);
  const photo = await framePhoto(loaded, o.source);
  const parsing = o.sourceParsing && needsParsing(loaded) ? await frameParsing(o.sourceParsing, photo, 'sourceParsing') : null;
  const [h, w] = photo.frame;
  const source = framedTensor(photo);
  const frames: Buffer[] = [];
  try {
    for (let start = 0; start < o.targetPoses.length; start += batchSize) {
      const targets = o.targetPoses.slice(start, start + batchSize).map((p) => mapPose(p, photo.box));
      const bytes = torch.scope(() => torch.noGrad(() => {
        const batch = frameBatch(loaded, source, mapPose(o.sourcePose, photo.box), targets, parsing);
        const out = toBytes(loaded.run(() => loaded.model.generate(batch)).to('float32')).permute([0, 2, 3, 1]).contiguous();
        return out.data() as Uint8Array;
      }));
      const size = h * w * 3;
      for (let i = 0; i < targets.length; i++) frames.push(await unframe(bytes.subarray(i * size, (i + 1) * size), 3, photo));
    }
  } finally {
    source.dispose();
  }
  return { width: photo.width, height: photo.height, frames };
}

/** Generates the person of `source` in `targetPose` (see generatePoses). Returns a PNG at the photo's size. */
export async function generate(loaded: LoadedModel, o: GenerateOptions): Promise<Buffer> {
  const { width, height, frames } = await generatePoses(loaded, {
    source: o.source, sourcePose: o.sourcePose, targetPoses: [o.targetPose], sourceParsing: o.sourceParsing, batchSize: 1,
  });
  return sharp(frames[0] as Buffer, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export type OutputLayout = 'pairs' | 'patn' | 'gfla';

const stem = (name: string): string => name.replace(/\.[^.]+$/, '');

export interface GenerateDatasetOptions {
  /** A dataset folder at the model's frame. */
  data: string;
  /** Its split whose annotations the pairs name. Default 'test'. */
  split?: string;
  /** A pairs CSV (from,to); default the split's own pairs. */
  pairs?: string;
  /** Folder for the images, one per pair and layout. */
  out: string;
  /**
   * What to write per pair (default ['pairs']):
   * - 'pairs': `out/<from>___<to>.png`, the generated image (what `reposer eval` reads);
   * - 'patn': `out/patn/<from>___<to>_vis.png`, PATN's test strip: source | source pose | target | target pose |
   *   generated, which its tool/getMetrics_*.py reads unchanged (it takes panels 1, 3 and 5);
   * - 'gfla': `out/gfla/<from stem>_2_<to stem>_vis.png`, the generated image named as GFLA's test writes it, which its
   *   script/metrics.py pairs with `<to stem>.png` of the real test images.
   */
  layouts?: readonly OutputLayout[];
  /**
   * Also write each pair's flow field to `out/flows/<from>___<to>.npy` (what `reposer eval --metrics flow-epe` reads),
   * for families that estimate one (GFLA). Default true.
   */
  flows?: boolean;
  batchSize?: number;
  workers?: number;
  onBatch?: (done: number, total: number) => void;
}

/**
 * Generates every pair of a dataset split, writing each layout's file per pair (atomically). Returns the number of
 * pairs.
 */
export async function generateDataset(loaded: LoadedModel, o: GenerateDatasetOptions): Promise<number> {
  const ds = await openDataset(o.data, { split: o.split ?? 'test' });
  const { height, width } = loaded.cfg.image;
  if (ds.frame[0] !== height || ds.frame[1] !== width) {
    throw new Error(`generate: ${o.data} holds ${ds.frame[0]}x${ds.frame[1]} images, the model ${height}x${width}; use data of the model's size`);
  }
  if (o.pairs) ds.pairs = readPairsCsvSync(o.pairs);
  const layouts = o.layouts ?? ['pairs'];
  mkdirSync(o.out, { recursive: true });
  for (const l of layouts) {
    if (!['pairs', 'patn', 'gfla'].includes(l)) throw new Error(`generate: unknown output layout '${l}'; use pairs, patn or gfla`);
    if (l !== 'pairs') mkdirSync(join(o.out, l), { recursive: true });
  }
  const loader = new PairLoader(ds, {
    ...loaderOptions(loaded.family, loaded.cfg, { seed: 0, workers: o.workers ?? 1, shuffle: false }),
    batchSize: o.batchSize ?? 8, augment: null,
  });
  let done = 0;
  try {
    for await (const batch of loader.batches(0)) {
      try {
        const n = batch.imageA.shape[0] as number;
        const strips = layouts.includes('patn');
        const skeletons = strips ? await Promise.all([batch.keypointsA, batch.keypointsB].map((kp) => drawSkeletons(tensorToPoses(kp), [height, width]))) : [];
        const [fake, strip] = torch.scope(() => {
          const g = toBytes(loaded.run(() => loaded.model.generate(batch)).to('float32'));
          const toHwc = (t: torch.Tensor): Uint8Array => t.permute([0, 2, 3, 1]).contiguous().data() as Uint8Array;
          const panels = strips ? toHwc(torch.cat([toBytes(batch.imageA), skeletons[0] as torch.Tensor, toBytes(batch.imageB), skeletons[1] as torch.Tensor, g], 3)) : null;
          return [toHwc(g), panels] as const;
        });
        torch.dispose(skeletons);
        const write = async (data: Uint8Array, i: number, panels: number, path: string): Promise<void> => {
          const size = height * width * 3 * panels;
          const tmp = `${path}.tmp-${process.pid}.png`;
          await sharp(Buffer.from(data.buffer, data.byteOffset + i * size, size), { raw: { width: width * panels, height, channels: 3 } }).png().toFile(tmp);
          renameSync(tmp, path);
        };
        await Promise.all(batch.namesA.map(async (from, i) => {
          const to = batch.namesB[i] as string;
          if (layouts.includes('pairs')) await write(fake, i, 1, join(o.out, `${from}___${to}.png`));
          if (strip) await write(strip, i, 5, join(o.out, 'patn', `${from}___${to}_vis.png`));
          if (layouts.includes('gfla')) await write(fake, i, 1, join(o.out, 'gfla', `${stem(from)}_2_${stem(to)}_vis.png`));
        }));
        const flow = o.flows !== false && loaded.model.generateFlow ? loaded.run(() => (loaded.model.generateFlow as (b: PairBatch) => torch.Tensor | null)(batch)) : null;
        if (flow) {
          try {
            await Promise.all(batch.namesA.map((from, i) => {
              const one = flow.select(0, i);
              // writeFlow copies the values out before its first await.
              const written = writeFlow(flowPath(o.out, from, batch.namesB[i] as string), one);
              one.dispose();
              return written;
            }));
          } finally {
            flow.dispose();
          }
        }
        done += n;
        o.onBatch?.(done, loader.numPairs);
      } finally {
        torch.dispose(Object.values(batch));
      }
    }
  } finally {
    await loader.close();
  }
  return done;
}


/**
 * Detects the pose of a photo for generation (MoveNet thunder, the most confident person). Throws, naming the photo,
 * when no person is found, since a model cannot pose a figure it was not shown; warnings go to `warn`.
 */
export async function detectPoseFor(image: string, what: string, warn: (line: string) => void = (l) => console.warn(l)): Promise<{ pose: Pose; size: [number, number] }> {
  const detector = await PoseDetector.load();
  const r = await detector.detectDecoded(await decodeImage(image));
  for (const w of r.warnings) if (!w.includes('no person found')) warn(`${what}: ${w}`);
  if (visibleCount(r.pose) === 0) {
    throw new Error(`${what}: no person found in ${image}; give a photo of one person, or give the keypoints by hand`);
  }
  return { pose: r.pose, size: r.size };
}

/**
 * A pose detected in a target photo of size `targetSize`, placed in the source photo's pixels so that the person
 * takes the same place in the model's frame: both photos are letterboxed into the frame, the target's keypoints go
 * into the frame through its letterbox and come out through the source's. With photos of different aspect ratios a
 * joint can land in the source's letterbox bars; one above or left of the photo is lost (-1), as the pose format
 * cannot hold negative coordinates.
 */
export function targetPoseInSource(targetPose: Pose, targetSize: readonly [number, number], sourceSize: readonly [number, number], frame: readonly [number, number]): Pose {
  const t = letterbox(targetSize[0], targetSize[1], frame);
  const s = letterbox(sourceSize[0], sourceSize[1], frame);
  const inFrame = mapPose(targetPose, t);
  const out = new Float32Array(inFrame.length) as Pose;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const y = inFrame[2 * j] as number;
    const x = inFrame[2 * j + 1] as number;
    const missing = y < 0 || x < 0;
    out[2 * j] = missing ? -1 : (y - s.top) / s.scale;
    out[2 * j + 1] = missing ? -1 : (x - s.left) / s.scale;
  }
  return out;
}

/** A photo's [height, width], or an error naming it. */
export async function imageSize(image: string, what: string): Promise<[number, number]> {
  const meta = await sharp(image).metadata().catch((err: unknown) => { throw new Error(`${what}: cannot read ${image} (${(err as Error).message}); give a JPEG or PNG`); });
  if (!meta.height || !meta.width) throw new Error(`${what}: ${image} has no size in its header; re-save it as a JPEG or PNG`);
  return [meta.height, meta.width];
}
