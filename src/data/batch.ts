// Building one batch of pairs: decode images (sharp), read parsing maps, augment, and compute the pose tensors
// (keypoints, heatmaps, masks, part affines). The same code runs in a loader worker thread (results travel back as
// transferable typed arrays) or in the calling thread (workers: 0).
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import type { TypedArray } from '../torch/index.js';
import { augmentImages, augmentPose, sampleAugment, IDENTITY_AUGMENT, type AugmentOptions, type AugmentParams } from '../pose/augment.js';
import { poseMaps, type Frame, type PoseEncoding } from '../pose/heatmaps.js';
import { marketMask, pg2Mask } from '../pose/masks.js';
import { partAffines } from '../pose/parts.js';
import { NUM_JOINTS, type Pose } from '../pose/skeleton.js';
import { readNpy } from './npy.js';
import { mulberry32 } from '../random.js';

/**
 * What every model family consumes: one batch of same-person pairs (A = source, B = target). The loader yields it;
 * tests and the synthetic world build it directly.
 */
export interface PairBatch {
  /** Source and target images, (N,3,H,W) float32 in [-1,1]. */
  imageA: torch.Tensor;
  imageB: torch.Tensor;
  /** Keypoints, (N,18,2) float32 as (y,x) pixels of the image frame; -1 marks a missing joint. After augmentation when augmenting. */
  keypointsA: torch.Tensor;
  keypointsB: torch.Tensor;
  /** Pose maps, (N,18,H,W) float32 in [0,1], in the model's encoding (`pose` of BatchFeatures); zeros for a missing joint. */
  poseMapA: torch.Tensor;
  poseMapB: torch.Tensor;
  /** PG2's pose mask of the target, (N,1,H,W) float32 in {0,1}, when `masks` asks for 'pg2'. */
  maskB?: torch.Tensor;
  /** Deformable GAN's part affines, target -> source, (N,10,2,3) in affine_grid's normalised convention (src/pose/parts.ts). */
  partAffines?: torch.Tensor;
  /** The parts' masks in the target, (N,10,h,w) float32 (h,w = affineMaskSize, default the frame). */
  partMasks?: torch.Tensor;
  /** SPT's 10-label parsing maps, (N,H,W) int64 labels 0..9, when the dataset has them and `parsing` is on. */
  parsingA?: torch.Tensor;
  parsingB?: torch.Tensor;
  /** SPT's searched pseudo-label of the target parsing, (N,H,W) int64, when `pseudoParsing` is on. */
  parsingPseudoB?: torch.Tensor;
  /** Image names, for samples and evaluation. */
  namesA?: string[];
  namesB?: string[];
}

/** One batch as the loader yields it; every tensor belongs to the caller (torch.dispose(batch) frees them all). */
export interface LoaderBatch extends PairBatch {
  /** The Market mask-SSIM mask of the target, (N,1,H,W), when `masks` asks for 'market'. */
  marketMaskB?: torch.Tensor;
  namesA: string[];
  namesB: string[];
}

export interface BatchItem {
  nameA: string;
  nameB: string;
  pathA: string;
  pathB: string;
  poseA: Pose;
  poseB: Pose;
  parsingA?: string | null;
  parsingB?: string | null;
  /** The parsing map SPT's pseudo-label search chose for the target. */
  parsingPseudoB?: string | null;
}

export interface BatchFeatures {
  /** How the pose maps are drawn; default Gaussians of sigma 6. */
  pose?: PoseEncoding;
  /** Which target masks to compute; default none. */
  masks?: readonly ('pg2' | 'market')[];
  /** Deformable GAN's part affines and masks; default false. */
  affines?: boolean;
  /** Size of the part masks; default the frame. */
  affineMaskSize?: Frame;
  /** Read parsing maps (items must name them); default true when items have them. */
  parsing?: boolean;
  /** Read SPT's pseudo-label of each target parsing, where the loader found the search's cache for the split. Default false. */
  pseudoParsing?: boolean;
  /** Geometric augmentation; each image gets its own draw from the batch's seed. Default none. */
  augment?: AugmentOptions | null;
  /** The target (B) images' augmentation when it differs from the source's (GFLA draws a reduced one); default `augment`. */
  augmentB?: AugmentOptions | null;
}

export interface BatchSpec extends BatchFeatures {
  items: BatchItem[];
  frame: Frame;
  /** Seeds the augmentation of this batch. */
  seed: number;
  /**
   * When `items` are one rank's share of a larger data-parallel batch: the share starts at item `offset` of a batch of
   * `combined` items, and takes exactly the augmentation draws that items get in the combined batch.
   */
  shareOf?: { offset: number; combined: number };
}

/** A batch as plain typed arrays (transferable between threads). */
export interface RawBatch {
  tensors: Record<string, { data: TypedArray; shape: number[] }>;
  namesA: string[];
  namesB: string[];
}

/** Decodes an image to (H,W,3) RGB bytes, checking its size against the frame. */
export async function decodeImage(path: string, frame: Frame): Promise<Buffer> {
  const [h, w] = frame;
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // Reading the bytes first is cheaper than letting libvips open the file, for these small images.
    out = await sharp(await readFile(path)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`cannot decode image ${path}: ${(err as Error).message}; run 'reposer data check' on the dataset`);
  }
  if (out.info.height !== h || out.info.width !== w || out.info.channels !== 3) {
    throw new Error(`image ${path} is ${out.info.height}x${out.info.width}x${out.info.channels}, the dataset's frame is ${h}x${w}x3; ` +
      `run 'reposer data check' on the dataset`);
  }
  return out.data;
}

/** Reads a parsing map (.npy (H,W) int8/int64, or a .png whose grey levels are the labels 0..9) as (H,W) int64 values. */
export async function readParsing(path: string, frame: Frame): Promise<BigInt64Array> {
  const [h, w] = frame;
  if (extname(path).toLowerCase() === '.npy') {
    const a = await readNpy(path);
    if (a.shape.length !== 2 || a.shape[0] !== h || a.shape[1] !== w) {
      throw new Error(`parsing map ${path} has shape (${a.shape.join(',')}), expected (${h},${w})`);
    }
    if (a.data instanceof BigInt64Array) return a.data;
    const src = a.data as ArrayLike<number>;
    const out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i] as number);
    return out;
  }
  const image = sharp(await readFile(path));
  if ((await image.metadata()).isPalette) {
    throw new Error(`parsing map ${path} is a palette PNG; save the labels 0..9 as 8-bit grey levels (or as .npy)`);
  }
  const { data, info } = await image.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  if (info.height !== h || info.width !== w) throw new Error(`parsing map ${path} is ${info.height}x${info.width}, expected ${h}x${w}`);
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = BigInt(data[i] as number);
  return out;
}

/**
 * Builds one batch as tensors in the calling thread. Images are decoded concurrently by sharp's pool; every
 * pose tensor is computed batched.
 */
export async function buildBatch(spec: BatchSpec): Promise<LoaderBatch> {
  const { items, frame } = spec;
  const [h, w] = frame;
  const n = items.length;
  if (n === 0) throw new Error('buildBatch: empty batch');
  const plane = h * w * 3;
  const pixels = new Uint8Array(2 * n * plane);
  const useParsing = (spec.parsing ?? true) && items.every((it) => it.parsingA && it.parsingB);
  const parsing = useParsing ? new BigInt64Array(2 * n * h * w) : null;
  const pseudo = spec.pseudoParsing && items.every((it) => it.parsingPseudoB) ? new BigInt64Array(n * h * w) : null;
  await Promise.all(items.flatMap((it, i) => [
    decodeImage(it.pathA, frame).then((b) => pixels.set(b, i * plane)),
    decodeImage(it.pathB, frame).then((b) => pixels.set(b, (n + i) * plane)),
    ...(parsing ? [
      readParsing(it.parsingA as string, frame).then((p) => parsing.set(p, i * h * w)),
      readParsing(it.parsingB as string, frame).then((p) => parsing.set(p, (n + i) * h * w)),
    ] : []),
    ...(pseudo ? [readParsing(it.parsingPseudoB as string, frame).then((p) => pseudo.set(p, i * h * w))] : []),
  ]));
  // Augmentation parameters: one draw per image, A's then B's, from the batch seed.
  let params: AugmentParams[] | null = null;
  let poses: Pose[] = [...items.map((it) => it.poseA), ...items.map((it) => it.poseB)];
  if (spec.augment) {
    const random = mulberry32(spec.seed);
    const share = spec.shareOf ?? { offset: 0, combined: n };
    // One draw per image of the combined batch, A's then B's (B's from augmentB where given); a share takes its own.
    const draws = Array.from({ length: 2 * share.combined }, (_, i) =>
      sampleAugment(random, frame, (i < share.combined ? spec.augment : spec.augmentB ?? spec.augment) as AugmentOptions));
    params = [...draws.slice(share.offset, share.offset + n), ...draws.slice(share.combined + share.offset, share.combined + share.offset + n)];
    poses = poses.map((p, i) => augmentPose(p, (params as AugmentParams[])[i] ?? IDENTITY_AUGMENT, frame));
  }
  const kpFlat = new Float32Array(2 * n * NUM_JOINTS * 2);
  poses.forEach((p, i) => kpFlat.set(p, i * NUM_JOINTS * 2));
  const masks = spec.masks ?? [];
  return torch.scope(() => torch.noGrad(() => {
    // A and B are built as separate tensors (not one 2N tensor split afterwards) so that no full-size copy is made
    // to cut them apart: at 256x176 a side's heatmaps alone are 26 MB for a batch of 8.
    const side = (s: 0 | 1): { image: torch.Tensor; kp: torch.Tensor; labels: torch.Tensor | null } => {
      const p = params ? params.slice(s * n, (s + 1) * n) : null;
      let image = torch.tensor(pixels.subarray(s * n * plane, (s + 1) * n * plane), [n, h, w, 3])
        .to('float32').div(127.5).sub(1).permute([0, 3, 1, 2]).contiguous();
      let labels = parsing ? torch.tensor(parsing.subarray(s * n * h * w, (s + 1) * n * h * w), [n, h, w]) : null;
      if (p) {
        image = augmentImages(image, p, 'bilinear', 'border');
        if (labels) labels = augmentImages(labels.unsqueeze(1).to('float32'), p, 'nearest', 'zeros').squeeze(1).round().to('int64');
      }
      const kp = torch.tensor(kpFlat.subarray(s * n * NUM_JOINTS * 2, (s + 1) * n * NUM_JOINTS * 2), [n, NUM_JOINTS, 2]);
      return { image, kp, labels };
    };
    const a = side(0);
    const b = side(1);
    const encoding = spec.pose ?? { kind: 'gaussian', sigma: 6 };
    const out: LoaderBatch = {
      imageA: a.image,
      imageB: b.image,
      keypointsA: a.kp,
      keypointsB: b.kp,
      poseMapA: poseMaps(a.kp, frame, encoding),
      poseMapB: poseMaps(b.kp, frame, encoding),
      namesA: items.map((it) => it.nameA),
      namesB: items.map((it) => it.nameB),
    };
    if (masks.includes('pg2')) out.maskB = pg2Mask(b.kp, frame);
    if (masks.includes('market')) out.marketMaskB = marketMask(b.kp, frame);
    if (spec.affines) {
      const pa = partAffines(a.kp, b.kp, frame, { maskSize: spec.affineMaskSize ?? frame });
      out.partAffines = pa.theta;
      out.partMasks = pa.masks;
    }
    if (a.labels && b.labels) {
      out.parsingA = a.labels;
      out.parsingB = b.labels;
    }
    if (pseudo) {
      // The pseudo-label stands in for B's parsing, so it moves with B's augmentation.
      let labels = torch.tensor(pseudo, [n, h, w]);
      if (params) labels = augmentImages(labels.unsqueeze(1).to('float32'), params.slice(n, 2 * n), 'nearest', 'zeros').squeeze(1).round().to('int64');
      out.parsingPseudoB = labels;
    }
    return out;
  }));
}

const TENSOR_FIELDS = ['imageA', 'imageB', 'keypointsA', 'keypointsB', 'poseMapA', 'poseMapB', 'maskB', 'marketMaskB',
  'partAffines', 'partMasks', 'parsingA', 'parsingB', 'parsingPseudoB'] as const;
type TensorField = (typeof TENSOR_FIELDS)[number];

/** Copies a batch's tensors out to typed arrays and disposes the tensors. */
export function batchToRaw(batch: LoaderBatch): RawBatch {
  const tensors: RawBatch['tensors'] = {};
  for (const f of TENSOR_FIELDS) {
    const t = batch[f as TensorField];
    if (!t) continue;
    tensors[f] = { data: t.data(), shape: [...t.shape] };
    t.dispose();
  }
  return { tensors, namesA: batch.namesA, namesB: batch.namesB };
}

/** Rebuilds tensors from a raw batch (in the receiving thread). */
export function rawToBatch(raw: RawBatch): LoaderBatch {
  const t = (f: TensorField): torch.Tensor | undefined => {
    const r = raw.tensors[f];
    return r ? torch.tensor(r.data, r.shape) : undefined;
  };
  const need = (f: TensorField): torch.Tensor => {
    const v = t(f);
    if (!v) throw new Error(`loader: a worker's batch lacks ${f}`);
    return v;
  };
  const out: LoaderBatch = {
    imageA: need('imageA'), imageB: need('imageB'), keypointsA: need('keypointsA'), keypointsB: need('keypointsB'),
    poseMapA: need('poseMapA'), poseMapB: need('poseMapB'), namesA: raw.namesA, namesB: raw.namesB,
  };
  for (const f of ['maskB', 'marketMaskB', 'partAffines', 'partMasks', 'parsingA', 'parsingB', 'parsingPseudoB'] as const) {
    const v = t(f);
    if (v) out[f] = v;
  }
  return out;
}

/** The transfer list of a raw batch (its typed arrays' buffers). */
export function rawTransferList(raw: RawBatch): ArrayBuffer[] {
  return Object.values(raw.tensors).map((r) => r.data.buffer as ArrayBuffer);
}
