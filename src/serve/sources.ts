// Source images the page works on: uploads (validated by content, size and dimensions) and the shipped synthetic
// examples, each with the pose it came with, if any.
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { readParsing } from '../data/batch.js';
import { parsingPath } from '../data/layouts.js';
import { letterbox, letterboxLabels, type PhotoParsing } from '../generate/index.js';
import { NUM_LABELS } from '../models/spt/parsing.js';
import type { Pose } from '../pose/skeleton.js';
import { Rng, makeIdentity, renderFigure, samplePose } from '../synth/index.js';
import type { Frame } from './poses.js';

/** An error with the HTTP status the server answers it with. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** Where a source's pose came from; null: none yet, the page asks the user to place the skeleton. */
export type PoseOrigin = 'detector' | 'annotation' | 'example' | null;

export interface Source {
  id: string;
  /** The file name as uploaded (or the example's name). */
  name: string;
  image: Buffer;
  /** image/jpeg, image/png or image/webp, from the content. */
  mime: string;
  width: number;
  height: number;
  pose: Pose | null;
  poseFrom: PoseOrigin;
  /**
   * SPT's parsing map at the image's size, which SPT renders through: the examples' own (the synthetic world knows
   * it); null for uploads, since no human parser ships with reposer.
   */
  parsing: PhotoParsing | null;
}

export interface ImageLimits {
  /** Bytes; default 8 MiB. */
  maxBytes: number;
  /** The longer side in pixels; default 4096. */
  maxSide: number;
}

const ACCEPTED = ['jpeg', 'png', 'webp'];
const MIN_SIDE = 16;

/**
 * Checks an upload by its content, not its name or declared type: a JPEG, PNG or WebP whose sides lie in
 * 16..maxSide. Reads only the header, so a decompression bomb is refused before it is decoded.
 */
export async function validateImage(bytes: Buffer, limits: ImageLimits, what: string): Promise<{ width: number; height: number; mime: string }> {
  if (bytes.length > limits.maxBytes) {
    throw new HttpError(413, `${what} is ${bytes.length} bytes, over the limit of ${limits.maxBytes}; upload a smaller image`);
  }
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new HttpError(415, `${what} is not an image: its content is not JPEG, PNG or WebP; upload a photo in one of those formats`);
  }
  if (!meta.format || !ACCEPTED.includes(meta.format) || !meta.width || !meta.height) {
    throw new HttpError(415, `${what} is ${meta.format ?? 'of an unknown format'}, not JPEG, PNG or WebP; convert it to one of those`);
  }
  const longer = Math.max(meta.width, meta.height);
  if (longer > limits.maxSide || Math.min(meta.width, meta.height) < MIN_SIDE) {
    throw new HttpError(422, `${what} is ${meta.width}x${meta.height} pixels; sides must lie in ${MIN_SIDE}..${limits.maxSide}; resize it`);
  }
  return { width: meta.width, height: meta.height, mime: `image/${meta.format}` };
}

/**
 * The newest `capacity` uploads, so that uploads cannot grow the server's memory without bound, plus pinned sources
 * (the examples) that are never evicted.
 */
export class SourceStore {
  private sources = new Map<string, Source>();
  private pinned = new Set<string>();

  constructor(private readonly capacity: number) {}

  add(s: Omit<Source, 'id'>, options: { pinned?: boolean } = {}): Source {
    const source = { ...s, id: randomUUID() };
    this.sources.set(source.id, source);
    if (options.pinned) {
      this.pinned.add(source.id);
      return source;
    }
    const evictable = [...this.sources.keys()].filter((id) => !this.pinned.has(id));
    for (const id of evictable.slice(0, Math.max(0, evictable.length - this.capacity))) this.sources.delete(id);
    return source;
  }

  /** The source, marked as recently used; throws 404 naming the id. */
  get(id: unknown): Source {
    const s = typeof id === 'string' ? this.sources.get(id) : undefined;
    if (!s) throw new HttpError(404, `no source image '${String(id)}' on the server (it may have been evicted by newer uploads); choose or upload the image again`);
    this.sources.delete(s.id);
    this.sources.set(s.id, s);
    return s;
  }

  /** The pinned sources, in the order they were added. */
  pinnedSources(): Source[] {
    return [...this.pinned].map((id) => this.sources.get(id) as Source);
  }

  get size(): number {
    return this.sources.size;
  }
}

/**
 * `count` synthetic people rendered at startup, so the page has something to pose with no photo at hand: seeded
 * identities in random standing or walking poses, at `frame` scaled up to at least 256 pixels high, each with its
 * parsing map.
 */
export async function renderExamples(count: number, frame: Frame): Promise<Omit<Source, 'id'>[]> {
  const k = Math.max(1, Math.ceil(256 / frame[0]));
  const size = { height: frame[0] * k, width: frame[1] * k };
  const rng = new Rng(12);
  const out: Omit<Source, 'id'>[] = [];
  for (let i = 0; i < count; i++) {
    const identity = makeIdentity(12, i + 1);
    const pose = samplePose(identity, size, rng, { cropChance: 0, dropChance: 0 });
    const r = await renderFigure(identity, pose, size);
    const image = await sharp(Buffer.from(r.image.buffer, r.image.byteOffset, r.image.byteLength), { raw: { width: r.width, height: r.height, channels: 3 } }).png().toBuffer();
    out.push({
      name: `example-${i + 1}.png`, image, mime: 'image/png', width: r.width, height: r.height, pose, poseFrom: 'example',
      parsing: { width: r.width, height: r.height, labels: r.parsing },
    });
  }
  return out;
}

/**
 * The parsing map of dataset image `name`, placed on a photo of size `to` as its pose is (scaled by min(H/h, W/w) and
 * centred; nearest neighbours, so every value stays a label; background around), or null when the
 * dataset has none for it. A map that cannot be read counts as none: the upload stays usable for the families that
 * need no parsing, and `reposer data check` names what is wrong with the file.
 */
export async function datasetParsing(ds: { parsingDir: string | null; frame: Frame }, name: string, to: Frame): Promise<PhotoParsing | null> {
  const path = parsingPath(ds, name);
  if (!path) return null;
  const [h, w] = ds.frame;
  let labels: BigInt64Array;
  try {
    labels = await readParsing(path, ds.frame);
  } catch {
    return null;
  }
  if (labels.some((v) => v < 0n || v >= BigInt(NUM_LABELS))) return null;
  const out = await letterboxLabels({ width: w, height: h, labels: Uint8Array.from(labels, Number) }, letterbox(h, w, to), to);
  return { width: to[1], height: to[0], labels: out };
}
