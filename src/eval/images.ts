// Reading the images an evaluation compares: a folder of generated `<from>___<to>.png|.jpg` files, and the dataset
// images they are scored against.
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../torch/index.js';

/** One generated image and the pair it claims to be. */
export interface PredFile {
  path: string;
  from: string;
  to: string;
}

const PRED_EXTENSIONS = ['.png', '.jpg'];

/**
 * Lists a folder of generated images named `<from>___<to>.png` (or .jpg), sorted by file name. Throws when the folder
 * is missing or holds no such file, and names any image file that does not follow the naming.
 */
export function listPredictions(dir: string): PredFile[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new Error(`generated-image folder ${dir} cannot be read (${(err as Error).message}); pass the folder the generator wrote its <from>___<to>.png images to`);
  }
  const preds: PredFile[] = [];
  for (const name of names) {
    const ext = extname(name).toLowerCase();
    if (!PRED_EXTENSIONS.includes(ext)) continue;
    const parts = name.slice(0, -ext.length).split('___');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new Error(`generated image ${join(dir, name)} is not named <from>___<to>${ext} (e.g. a.jpg___b.jpg${ext}); rename it or move it out of ${dir}`);
    }
    preds.push({ path: join(dir, name), from: parts[0] as string, to: parts[1] as string });
  }
  if (preds.length === 0) {
    throw new Error(`generated-image folder ${dir} holds no <from>___<to>.png or .jpg image; generate the test pairs into it first`);
  }
  return preds;
}

/**
 * Decodes an image file to RGB bytes.
 * @returns (3,H,W) uint8; the caller owns it
 */
export async function readRgb(path: string): Promise<torch.Tensor> {
  let out: { data: Buffer; info: { width: number; height: number } };
  try {
    out = await sharp(await readFile(path)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`cannot decode image ${path}: ${(err as Error).message}; replace the file with a readable PNG or JPEG`);
  }
  const { width, height } = out.info;
  return torch.scope(() => torch.tensor(new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength), [height, width, 3])
    .permute([2, 0, 1]).contiguous());
}

/**
 * PATN's `addBounding`: pads a 176-wide DeepFashion image to 256 with 40 white (255) columns each side; square
 * images are returned as they are (a copy).
 * @param images (N,3,H,W) uint8
 */
export function padFashionToSquare(images: torch.Tensor): torch.Tensor {
  const [, , h, w] = images.shape as [number, number, number, number];
  if (h === w) return images.clone();
  if (h - w !== 80) {
    throw new Error(`PATN's DeepFashion padding turns 256x176 into 256x256 with 40 white columns each side; got ${h}x${w} images`);
  }
  return torch.pad(images.to('float32'), [40, 40, 0, 0], 'constant', 255).to('uint8');
}
