// SPT's applications, through parsing maps: texture transfer (person A's garment on person B) and parsing editing (an
// image regenerated after its parsing map is edited). Both render with SPT's appearance generator to a parsing the
// caller chooses (SptModel.generateWithParsing). The people are images of a dataset with parsing maps (the synthetic
// world writes them; DeepFashion's come from a human parser), so their poses and parsings are the dataset's.
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { openDataset, PairLoader, type LoaderBatch } from '../data/index.js';
import { readParsing } from '../data/batch.js';
import { loaderOptions } from '../models/registry.js';
import type { SptModel } from '../models/spt/index.js';
import { NUM_LABELS } from '../models/spt/parsing.js';
import { toBytes } from '../train/samples.js';
import type { LoadedModel } from '../generate/index.js';

const LABEL_NAMES = '0 background, 1 face, 2 hair, 3 upper clothes, 4 pants, 5 skirt, 6 left arm, 7 right arm, 8 left leg, 9 right leg';

/** The garment labels of SPT's parsing by name. */
export const GARMENT_LABELS: Record<string, number> = { 'upper-clothes': 3, pants: 4, skirt: 5 };

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
  const labels = o.labels ?? [GARMENT_LABELS['upper-clothes'] as number];
  const bad = labels.find((l) => !Number.isInteger(l) || l < 1 || l >= NUM_LABELS);
  if (bad !== undefined) throw new Error(`transfer-texture: label ${bad} is not a parsing label 1..${NUM_LABELS - 1} (${LABEL_NAMES})`);
  const batch = await pairBatch(loaded, o.data, o.split ?? 'test', o.donor, o.receiver, 'transfer-texture');
  try {
    return await png(torch.scope(() => {
      const parsingB = batch.parsingB as torch.Tensor;
      const rendered = loaded.run(() => model.generateWithParsing(batch, parsingB)).to('float32');
      let mask = parsingB.eq(labels[0] as number);
      for (const l of labels.slice(1)) mask = mask.logicalOr(parsingB.eq(l));
      const m = mask.unsqueeze(1).to('float32');
      return pixels(rendered.mul(m).add(batch.imageB.mul(m.neg().add(1))));
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
  if (outside !== undefined) throw new Error(`edit-parsing: ${o.parsing} holds label ${outside}; parsing labels are 0..${NUM_LABELS - 1} (${LABEL_NAMES})`);
  const batch = await pairBatch(loaded, o.data, o.split ?? 'test', o.image, o.image, 'edit-parsing');
  try {
    return await png(torch.scope(() => pixels(loaded.run(() => model.generateWithParsing(batch, torch.tensor(labels, [1, frame[0], frame[1]]))).to('float32'))));
  } finally {
    torch.dispose(Object.values(batch));
  }
}
