// A picture of the synthetic world for the README: rows of identities, each shown in several poses, every tile
// the rendered image beside its parsing map.
import sharp, { type OverlayOptions } from 'sharp';
import * as torch from '../torch/index.js';
import { makeIdentity } from './identity.js';
import { samplePose } from './poses.js';
import { Rng, deriveSeed } from '../random.js';
import { renderFigure, type FrameSize } from './render.js';

/** Display colours of SPT's 10 labels (background black). */
export const LABEL_PALETTE: readonly (readonly [number, number, number])[] = [
  [0, 0, 0], [255, 200, 150], [110, 60, 20], [220, 40, 40], [40, 70, 220],
  [230, 60, 200], [60, 200, 60], [20, 130, 40], [240, 220, 40], [150, 140, 20],
];

/** Colours a parsing map (H*W labels) with LABEL_PALETTE into RGB (H*W*3), on tensors. */
export function colorizeParsing(parsing: Uint8Array, height: number, width: number): Uint8Array {
  return torch.scope(() => {
    const palette = torch.tensor(new Uint8Array(LABEL_PALETTE.flat()), [LABEL_PALETTE.length, 3]);
    const idx = torch.tensor(parsing, [height * width]).to('int64');
    return torch.indexSelect(palette, 0, idx).contiguous().data() as Uint8Array;
  });
}

const asBuffer = (a: Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export interface GridOptions {
  identities?: number;
  poses?: number;
  seed?: number;
  size?: FrameSize;
  /** Show each render's parsing map beside it. Default true. */
  parsing?: boolean;
}

/** Renders the grid as PNG bytes. Default: 4 identities x 5 poses of world seed 8 at 128x64, with parsing maps. */
export async function synthGridPng(o: GridOptions = {}): Promise<Buffer> {
  const nId = o.identities ?? 4;
  const nPose = o.poses ?? 5;
  const seed = o.seed ?? 8;
  if (!Number.isInteger(nId) || nId < 1 || nId > 64) throw new Error(`synth grid: identities must be an integer in 1..64, got ${nId}`);
  if (!Number.isInteger(nPose) || nPose < 1 || nPose > 64) throw new Error(`synth grid: poses must be an integer in 1..64, got ${nPose}`);
  const size = o.size ?? { height: 128, width: 64 };
  const withParsing = o.parsing ?? true;
  const { height: H, width: W } = size;
  const gap = 4;
  const tileW = withParsing ? 2 * W : W;
  const tiles: OverlayOptions[] = [];
  for (let i = 0; i < nId; i++) {
    const identity = makeIdentity(seed, i + 1);
    const rng = new Rng(deriveSeed(seed, 0x6a1d, i + 1));
    for (let k = 0; k < nPose; k++) {
      const r = await renderFigure(identity, samplePose(identity, size, rng, { cropChance: 0, dropChance: 0 }), size);
      const left = k * (tileW + gap);
      const top = i * (H + gap);
      tiles.push({ input: asBuffer(r.image), raw: { width: W, height: H, channels: 3 }, left, top });
      if (withParsing) tiles.push({ input: asBuffer(colorizeParsing(r.parsing, H, W)), raw: { width: W, height: H, channels: 3 }, left: left + W, top });
    }
  }
  const width = nPose * tileW + (nPose - 1) * gap;
  const height = nId * H + (nId - 1) * gap;
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(tiles).png({ compressionLevel: 9, palette: true, colours: 256 }).toBuffer();
}
