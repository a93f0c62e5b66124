// The renderer: an identity, 18 keypoints and a frame size in; the RGB image, the person mask, SPT's 10-label
// parsing map and the surface map (each pixel's part and body coordinates, src/synth/surface.ts) out. The figure is one SVG (src/synth/figure.ts) rasterised once by sharp (librsvg): its top half is
// the painted, antialiased image, its bottom half the same geometry in flat label grey levels with antialiasing off.
// The halves are split with libtorch ops (no per-pixel loops here).
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { assertPose, type Pose } from '../pose/skeleton.js';
import type { Identity } from './identity.js';
import { layoutFigure, layoutSvg } from './figure.js';
import { surfaceFromMaps, type Surface } from './surface.js';

export interface FrameSize {
  height: number;
  width: number;
}

export interface Render {
  height: number;
  width: number;
  /** RGB, row-major (H, W, 3), uint8. */
  image: Uint8Array;
  /** SPT parsing labels 0..9, (H, W), uint8. */
  parsing: Uint8Array;
  /** 1 on the person, 0 on the background, (H, W), uint8: exactly parsing > 0. */
  mask: Uint8Array;
  /** Which part each pixel shows and where in that part's frame: the ground truth of correspondence. */
  surface: Surface;
}

/** Parses '128x64' (height x width) into a FrameSize; `what` names the input in errors. */
export function parseSize(text: string, what = '--size'): FrameSize {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`${what}: expected HEIGHTxWIDTH such as 128x64, got '${text}'`);
  const size = { height: Number(m[1]), width: Number(m[2]) };
  checkSize(size, what);
  return size;
}

export function checkSize(size: FrameSize, what = 'size'): void {
  const ok = (v: number): boolean => Number.isInteger(v) && v >= 16 && v <= 4096;
  if (!ok(size.height) || !ok(size.width)) {
    throw new Error(`${what}: height and width must be integers in 16..4096, got ${size.height}x${size.width}`);
  }
}

/** Rasterises an SVG to raw RGBA. */
async function rasterise(svg: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Renders `identity` in `pose` (18 (y, x) keypoints in pixels, -1 for a missing joint) into a frame of `size`.
 * Deterministic: the same inputs give the same bytes.
 */
export async function renderFigure(identity: Identity, pose: Pose, size: FrameSize): Promise<Render> {
  assertPose(pose, 'renderFigure: pose');
  checkSize(size, 'renderFigure: size');
  const { height: H, width: W } = size;
  const layout = layoutFigure(identity, pose, H, W);
  const raw = await rasterise(layoutSvg(layout, identity, H, W));
  if (raw.width !== W || raw.height !== 2 * H) {
    throw new Error(`renderFigure: the rasteriser returned ${raw.height}x${raw.width}, expected ${2 * H}x${W}`);
  }
  return torch.scope(() => {
    const t = torch.tensor(new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), [2, H, W, 4]);
    const image = t.select(0, 0).narrow(2, 0, 3).contiguous().data() as Uint8Array;
    const labels = t.select(0, 1).select(2, 0);
    const parsing = labels.contiguous().data() as Uint8Array;
    const mask = labels.gt(0).to('uint8').data() as Uint8Array;
    const surface = surfaceFromMaps(t.select(0, 1).select(2, 1), labels, layout.frames, layout.scale);
    return { height: H, width: W, image, parsing, mask, surface };
  });
}
