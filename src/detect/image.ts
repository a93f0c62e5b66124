// Reading users' photos for the detectors, and fitting a region of them into a model's square input.
//
// Memory bound: an image is decoded straight to a working copy whose longer side is at most WORK_SIDE (1024) pixels,
// with libvips' shrink-on-load and sequential access, so a photo of any size up to MAX_INPUT_PIXELS costs a few tens
// of MB, not its full decoded size. Larger inputs are refused with an error, never half-read.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import sharp from 'sharp';

/** Longest side of the working copy every detector reads. */
export const WORK_SIDE = 1024;
/** The most pixels an input may have (sharp's own default limit, 16383 x 16383). */
export const MAX_INPUT_PIXELS = 16383 * 16383;

/** A decoded photo: its original size and an RGB working copy of at most WORK_SIDE pixels on the longer side. */
export interface DecodedImage {
  /** What errors and warnings call it: the path, or the name given for a buffer. */
  name: string;
  /** The original image's size in pixels. */
  height: number;
  width: number;
  /** Working copy, (workHeight, workWidth, 3) RGB bytes, row-major. */
  data: Buffer;
  workHeight: number;
  workWidth: number;
  /** workHeight / height: original pixel coordinates times this are working-copy coordinates. */
  scale: number;
}

/**
 * Decodes an image (path or encoded bytes) to its working copy. Throws an error naming the image for a missing file,
 * a file that is not an image, a corrupt or truncated image, and one over MAX_INPUT_PIXELS.
 */
export async function decodeImage(input: string | Buffer, name = typeof input === 'string' ? input : 'image'): Promise<DecodedImage> {
  if (typeof input === 'string') {
    if (!existsSync(input)) throw new Error(`image ${input} does not exist; check the path`);
    if (!statSync(input).isFile()) throw new Error(`${input} is not a file; give image files or one folder of them`);
  }
  let meta: { height?: number; width?: number };
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    if (imageKind(input)) throw new Error(`${name} is a corrupt ${imageKind(input)} (${why}); re-export or re-download the image`);
    throw new Error(`${name} is not an image reposer can read (${why}); give a JPEG, PNG or WebP file`);
  }
  const { height, width } = meta;
  if (!height || !width) throw new Error(`${name}: the image has no size in its header; re-save it as a JPEG or PNG`);
  if (height * width > MAX_INPUT_PIXELS) {
    throw new Error(`${name} is ${width}x${height} (${((width * height) / 1e6).toFixed(0)} megapixels), over the ` +
      `${(MAX_INPUT_PIXELS / 1e6).toFixed(0)}-megapixel limit; scale it down first (a person needs no more than a few megapixels)`);
  }
  const scale = Math.min(1, WORK_SIDE / Math.max(height, width));
  const workHeight = Math.max(1, Math.round(height * scale));
  const workWidth = Math.max(1, Math.round(width * scale));
  try {
    // failOn 'truncated' turns a cut-off file into an error instead of a grey lower half.
    const data = await sharp(input, { failOn: 'truncated', sequentialRead: true, limitInputPixels: MAX_INPUT_PIXELS })
      .resize(workWidth, workHeight, { fit: 'fill', kernel: 'lanczos3' })
      .removeAlpha().toColourspace('srgb').raw().toBuffer();
    if (data.length !== workHeight * workWidth * 3) throw new Error(`decoded ${data.length} bytes, expected ${workHeight * workWidth * 3}`);
    return { name, height, width, data, workHeight, workWidth, scale: workHeight / height };
  } catch (err) {
    throw new Error(`${name} is corrupt or truncated (${(err as Error).message.split('\n')[0]}); re-export or re-download the image`);
  }
}

/** The format a file's first bytes announce (JPEG, PNG, WebP, GIF), or null: tells a damaged image from another file. */
function imageKind(input: string | Buffer): string | null {
  let head: Buffer;
  if (typeof input === 'string') {
    head = Buffer.alloc(12);
    const fd = openSync(input, 'r');
    try {
      readSync(fd, head, 0, 12, 0);
    } finally {
      closeSync(fd);
    }
  } else {
    head = input.subarray(0, 12);
  }
  if (head[0] === 0xff && head[1] === 0xd8) return 'JPEG';
  if (head.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) return 'PNG';
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') return 'WebP';
  if (head.subarray(0, 4).toString('latin1') === 'GIF8') return 'GIF';
  return null;
}

/** A rectangle in working-copy pixels; it may reach outside the image (the outside is black in the input). */
export interface Region {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** How a region sits in a model input box: input = (work - region origin) * scale + offset. */
export interface BoxFit {
  /** (height, width, 3) RGB bytes. */
  data: Buffer;
  height: number;
  width: number;
  region: Region;
  scale: number;
  offsetY: number;
  offsetX: number;
}

/** The whole working copy as a region. */
export function wholeImage(img: DecodedImage): Region {
  return { top: 0, left: 0, height: img.workHeight, width: img.workWidth };
}

/**
 * Scales `region` of the working copy to fit a boxHeight x boxWidth model input, centred, with black bars
 * (letterboxing); parts of the region outside the image are black too.
 */
export async function fitBox(img: DecodedImage, region: Region, boxHeight: number, boxWidth: number = boxHeight): Promise<BoxFit> {
  const scale = Math.min(boxHeight / region.height, boxWidth / region.width);
  const offsetY = (boxHeight - region.height * scale) / 2;
  const offsetX = (boxWidth - region.width * scale) / 2;
  const y0 = Math.max(0, Math.floor(region.top));
  const x0 = Math.max(0, Math.floor(region.left));
  const y1 = Math.min(img.workHeight, Math.ceil(region.top + region.height));
  const x1 = Math.min(img.workWidth, Math.ceil(region.left + region.width));
  const canvas = sharp({ create: { width: boxWidth, height: boxHeight, channels: 3, background: { r: 0, g: 0, b: 0 } } });
  const fit = { height: boxHeight, width: boxWidth, region, scale, offsetY, offsetX };
  if (y1 <= y0 || x1 <= x0) return { ...fit, data: await canvas.raw().toBuffer() };
  const top = Math.min(boxHeight - 1, Math.max(0, Math.round((y0 - region.top) * scale + offsetY)));
  const left = Math.min(boxWidth - 1, Math.max(0, Math.round((x0 - region.left) * scale + offsetX)));
  const h = Math.max(1, Math.min(boxHeight - top, Math.round((y1 - y0) * scale)));
  const w = Math.max(1, Math.min(boxWidth - left, Math.round((x1 - x0) * scale)));
  const part = await sharp(img.data, { raw: { width: img.workWidth, height: img.workHeight, channels: 3 } })
    .extract({ top: y0, left: x0, height: y1 - y0, width: x1 - x0 })
    .resize(w, h, { fit: 'fill' })
    .raw().toBuffer();
  const data = await canvas.composite([{ input: part, raw: { width: w, height: h, channels: 3 }, top, left }]).removeAlpha().raw().toBuffer();
  return { ...fit, data };
}

/**
 * A point of the model input back in the original image. Both are edge coordinates (0 at the top or left edge of
 * the image, not at the first pixel's centre): subtract 0.5 for the project's pixel-centre convention.
 */
export function toImage(fit: BoxFit, img: DecodedImage, yIn: number, xIn: number): [number, number] {
  const yWork = (yIn - fit.offsetY) / fit.scale + fit.region.top;
  const xWork = (xIn - fit.offsetX) / fit.scale + fit.region.left;
  return [yWork * (img.height / img.workHeight), xWork * (img.width / img.workWidth)];
}
