// SPT's applications, through parsing maps: texture transfer (person A's garment on person B) and parsing editing (an
// image regenerated after its parsing map is edited). Both render with SPT's appearance generator to a parsing the
// caller chooses (SptModel.generateWithParsing). The people are either images of a dataset with parsing maps (the
// synthetic world writes them; DeepFashion's come from a human parser), whose poses and parsings are the dataset's, or
// photos of any size that come with their pose and parsing map (what `reposer serve` offers), letterboxed into the
// model's frame as generation does.
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { openDataset, PairLoader, type LoaderBatch } from '../data/index.js';
import { readParsing } from '../data/batch.js';
import { loaderOptions } from '../models/registry.js';
import type { PairBatch } from '../models/batch.js';
import type { SptModel } from '../models/spt/index.js';
import { NUM_LABELS } from '../models/spt/parsing.js';
import type { Pose } from '../pose/skeleton.js';
import { LABEL_NAMES } from '../synth/figure.js';
import { toBytes } from '../train/samples.js';
import {
  frameBatch, framedTensor, frameParsing, framePhoto, mapPose, unframe,
  type FramedPhoto, type LoadedModel, type PhotoParsing,
} from '../generate/index.js';

const LABEL_LIST = LABEL_NAMES.map((name, i) => `${i} ${name}`).join(', ');

/** The garment labels of SPT's parsing by name. */
export const GARMENT_LABELS: Record<string, number> = { 'upper-clothes': 3, pants: 4, skirt: 5 };

/**
 * The labels a texture transfer carries over: the given ones, checked to be 1..9 (background is never a garment), or
 * upper clothes by default; `what` names the command in errors.
 */
export function transferLabels(labels: readonly number[] | undefined, what: string): readonly number[] {
  if (labels === undefined) return [GARMENT_LABELS['upper-clothes'] as number];
  if (labels.length === 0) throw new Error(`${what}: give at least one parsing label to carry over (upper clothes 3, pants 4, skirt 5)`);
  const bad = labels.find((l) => !Number.isInteger(l) || l < 1 || l >= NUM_LABELS);
  if (bad !== undefined) throw new Error(`${what}: label ${bad} is not a parsing label 1..${NUM_LABELS - 1} (${LABEL_LIST})`);
  return labels;
}

/**
 * The receiver wearing a rendering's garment: inside the `labels` of the receiver's parsing the rendering's pixels,
 * everywhere else the receiver's own, exactly. Images (N,3,H,W) of one dtype, parsing (N,H,W) of integer labels. The
 * one composite of texture transfer, whether the people are dataset images (in the model's frame) or photos (at the
 * receiver's size).
 */
export function wearGarment(rendered: torch.Tensor, receiver: torch.Tensor, parsing: torch.Tensor, labels: readonly number[]): torch.Tensor {
  return torch.scope(() => {
    let mask = parsing.eq(labels[0] as number);
    for (const l of labels.slice(1)) mask = mask.logicalOr(parsing.eq(l));
    return torch.where(mask.unsqueeze(1), rendered, receiver);
  });
}

function sptOf(loaded: LoadedModel, what: string): SptModel {
  if (loaded.family.name !== 'spt') {
    throw new Error(`${what} renders through parsing maps, which only SPT's appearance generator takes; ${loaded.weights} is a ${loaded.family.name} checkpoint (use an SPT run, e.g. checkpoints/spt)`);
  }
  return loaded.model as SptModel;
}

/** The one-pair batch from -> to of a dataset split, with both parsing maps. The caller disposes it. */
async function pairBatch(loaded: LoadedModel, data: string, split: string, from: string, to: string, what: string): Promise<LoaderBatch> {
  const ds = await openDataset(data, { split });
  for (const name of new Set([from, to])) {
    if (!ds.annotations.has(name)) throw new Error(`${what}: '${name}' is not an annotated image of ${data} (${ds.annotationFile}); give an image name of the '${split}' split`);
  }
  const [h, w] = ds.frame;
  if (h !== loaded.cfg.image.height || w !== loaded.cfg.image.width) {
    throw new Error(`${what}: ${data} holds ${h}x${w} images, the model ${loaded.cfg.image.height}x${loaded.cfg.image.width}; use data of the model's size`);
  }
  ds.pairs = [{ from, to, line: 0 }];
  const loader = new PairLoader(ds, { ...loaderOptions(loaded.family, loaded.cfg, { seed: 0, workers: 0, shuffle: false }), batchSize: 1, augment: null });
  try {
    for await (const b of loader.batches(0)) {
      if (!b.parsingA || !b.parsingB) {
        torch.dispose(Object.values(b));
        throw new Error(`${what}: ${data} has no parsing map for '${from}' or '${to}' (parsing/${split}/<stem>.png); SPT reads both`);
      }
      return b;
    }
    throw new Error(`${what}: the loader gave no batch for ${from} -> ${to}`);
  } finally {
    await loader.close();
  }
}

/** A (1,3,H,W) image in [-1,1] as (H,W,3) bytes, to encode once the tensors are gone. */
function pixels(image: torch.Tensor): { data: Uint8Array; h: number; w: number } {
  const [, , h, w] = image.shape as [number, number, number, number];
  return { data: torch.scope(() => toBytes(image).squeeze(0).permute([1, 2, 0]).contiguous().data() as Uint8Array), h, w };
}

function png(p: { data: Uint8Array; h: number; w: number }): Promise<Buffer> {
  return sharp(p.data, { raw: { width: p.w, height: p.h, channels: 3 } }).png().toBuffer();
}

export interface TransferTextureOptions {
  /** A dataset with parsing maps, at the model's frame. */
  data: string;
  split?: string;
  /** The image whose garment is taken. */
  donor: string;
  /** The image of the person who gets it: their pose, shape and everything outside the garment stay. */
  receiver: string;
  /** Parsing labels carried over (GARMENT_LABELS); default upper clothes. */
  labels?: readonly number[];
}

/**
 * The receiver wearing the donor's garment: SPT renders the donor's appearance to the receiver's pose and parsing, and
 * the garment labels of the receiver's parsing take that rendering; every other pixel is the receiver's own. PNG bytes.
 */
export async function transferTexture(loaded: LoadedModel, o: TransferTextureOptions): Promise<Buffer> {
  const model = sptOf(loaded, 'transfer-texture');
  const labels = transferLabels(o.labels, 'transfer-texture');
  const batch = await pairBatch(loaded, o.data, o.split ?? 'test', o.donor, o.receiver, 'transfer-texture');
  try {
    return await png(torch.scope(() => {
      const parsingB = batch.parsingB as torch.Tensor;
      const rendered = loaded.run(() => model.generateWithParsing(batch, parsingB)).to('float32');
      return pixels(wearGarment(rendered, batch.imageB, parsingB, labels));
    }));
  } finally {
    torch.dispose(Object.values(batch));
  }
}

export interface EditParsingOptions {
  data: string;
  split?: string;
  /** The image to regenerate (its pose and appearance). */
  image: string;
  /** The edited parsing map: a PNG of labels 0..9 (or .npy) at the model's frame. */
  parsing: string;
}

/** The image regenerated by SPT to its edited parsing map, in its own pose. PNG bytes. */
export async function editParsing(loaded: LoadedModel, o: EditParsingOptions): Promise<Buffer> {
  const model = sptOf(loaded, 'edit-parsing');
  const frame: [number, number] = [loaded.cfg.image.height, loaded.cfg.image.width];
  const labels = await readParsing(o.parsing, frame).catch((err: unknown) => {
    throw new Error(`edit-parsing: the parsing map ${o.parsing} cannot be read at ${frame.join('x')} (${(err as Error).message}); give a PNG of labels 0..${NUM_LABELS - 1} at the model's frame`);
  });
  const outside = labels.find((v) => v < 0n || v >= BigInt(NUM_LABELS));
  if (outside !== undefined) throw new Error(`edit-parsing: ${o.parsing} holds label ${outside}; parsing labels are 0..${NUM_LABELS - 1} (${LABEL_LIST})`);
  const batch = await pairBatch(loaded, o.data, o.split ?? 'test', o.image, o.image, 'edit-parsing');
  try {
    return await png(torch.scope(() => pixels(loaded.run(() => model.generateWithParsing(batch, torch.tensor(labels, [1, frame[0], frame[1]]))).to('float32'))));
  } finally {
    torch.dispose(Object.values(batch));
  }
}

/** A photo of one person, any size, with its pose (18 (y, x) keypoints) and parsing map in its own pixels. */
export interface ParsedPhoto {
  image: string | Buffer;
  pose: Pose;
  parsing: PhotoParsing;
}

/** A photo in the model's frame with its parsing there. */
interface FramedParsedPhoto {
  photo: FramedPhoto;
  parsing: Uint8Array;
}

async function frameParsedPhoto(loaded: LoadedModel, p: ParsedPhoto, what: string): Promise<FramedParsedPhoto> {
  const photo = await framePhoto(loaded, p.image, what);
  return { photo, parsing: await frameParsing(p.parsing, photo, `the parsing map of ${what}`) };
}

/**
 * The one-pair batch of `source` (its image, pose and parsing in the frame) to `targetPose` (already in the frame).
 * Call inside a scope.
 */
function photoPairBatch(loaded: LoadedModel, source: FramedParsedPhoto, pose: Pose, targetPose: Pose): PairBatch {
  return frameBatch(loaded, framedTensor(source.photo), mapPose(pose, source.photo.box), [targetPose], source.parsing);
}

/** A photo's raw RGB at its own size. */
async function photoPixels(image: string | Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export interface PhotoParsingOptions {
  source: ParsedPhoto;
  /** The wanted pose, in the source photo's pixels. */
  targetPose: Pose;
}

/**
 * The target parsing SPT's semantic generator predicts for the source in `targetPose`, at the source photo's size:
 * what its appearance generator renders through when the person is generated in that pose.
 */
export async function predictPhotoParsing(loaded: LoadedModel, o: PhotoParsingOptions): Promise<PhotoParsing> {
  const model = sptOf(loaded, 'predict-parsing');
  const source = await frameParsedPhoto(loaded, o.source, 'the source image');
  const labels = torch.scope(() => {
    const batch = photoPairBatch(loaded, source, o.source.pose, mapPose(o.targetPose, source.photo.box));
    return loaded.run(() => model.predictParsing(batch)).to('uint8').contiguous().data() as Uint8Array;
  });
  const out = await unframe(labels, 1, source.photo);
  return { width: source.photo.width, height: source.photo.height, labels: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
}

export interface RenderPhotoParsingOptions extends PhotoParsingOptions {
  /** The parsing to render to, at the source photo's size: the predicted one (predictPhotoParsing), edited. */
  targetParsing: PhotoParsing;
}

/**
 * The person of the source in `targetPose`, rendered by SPT's appearance generator to `targetParsing` instead of the
 * parsing it would predict: parsing editing (the paper's controlled manipulation) for a photo. PNG at the photo's size.
 */
export async function renderPhotoParsing(loaded: LoadedModel, o: RenderPhotoParsingOptions): Promise<Buffer> {
  const model = sptOf(loaded, 'render-parsing');
  const source = await frameParsedPhoto(loaded, o.source, 'the source image');
  const target = await frameParsing(o.targetParsing, source.photo, 'targetParsing');
  const [h, w] = source.photo.frame;
  const bytes = torch.scope(() => {
    const batch = photoPairBatch(loaded, source, o.source.pose, mapPose(o.targetPose, source.photo.box));
    return pixels(loaded.run(() => model.generateWithParsing(batch, torch.tensor(target, [1, h, w]).to('int64'))).to('float32')).data;
  });
  const { width, height } = source.photo;
  return sharp(await unframe(bytes, 3, source.photo), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export interface SwapGarmentOptions {
  /** The person whose garment is taken. */
  donor: ParsedPhoto;
  /** The person who gets it: their pose, shape and every pixel outside the garment stay. */
  receiver: ParsedPhoto;
  /** Parsing labels carried over (GARMENT_LABELS); default upper clothes. */
  labels?: readonly number[];
}

/**
 * Texture transfer between two photos: SPT renders the donor's appearance to the receiver's pose and parsing in the
 * model's frame; the rendering, scaled back to the receiver's size, takes the garment labels of the receiver's
 * parsing, and every other pixel is the receiver photo's own. PNG at the receiver's size.
 */
export async function swapGarment(loaded: LoadedModel, o: SwapGarmentOptions): Promise<Buffer> {
  const model = sptOf(loaded, 'swap-garment');
  const labels = transferLabels(o.labels, 'swap-garment');
  const donor = await frameParsedPhoto(loaded, o.donor, 'the donor image');
  const receiver = await frameParsedPhoto(loaded, o.receiver, 'the receiver image');
  const [h, w] = donor.photo.frame;
  const bytes = torch.scope(() => {
    const batch = photoPairBatch(loaded, donor, o.donor.pose, mapPose(o.receiver.pose, receiver.photo.box));
    return pixels(loaded.run(() => model.generateWithParsing(batch, torch.tensor(receiver.parsing, [1, h, w]).to('int64'))).to('float32')).data;
  });
  // The composite is made at the receiver's own size, so that outside the garment its pixels are not resampled.
  const rendered = await unframe(bytes, 3, receiver.photo);
  const own = await photoPixels(o.receiver.image);
  const { width, height } = receiver.photo;
  const out = torch.scope(() => {
    const image = (data: Buffer): torch.Tensor => torch.tensor(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), [1, height, width, 3]).permute([0, 3, 1, 2]);
    const parsing = torch.tensor(o.receiver.parsing.labels, [1, height, width]);
    return wearGarment(image(rendered), image(own.data), parsing, labels).permute([0, 2, 3, 1]).contiguous().data() as Uint8Array;
  });
  return sharp(Buffer.from(out.buffer, out.byteOffset, out.byteLength), { raw: { width, height, channels: 3 } }).png().toBuffer();
}
