// The synthetic world's ground truth of correspondence. Every body pixel of a render knows which part it shows and
// where it sits in that part's own frame (src/synth/figure.ts: SURFACE_FRAMES, the rigid frames the parts and their
// textures are attached to). That per-pixel surface map is stored once per image; the true correspondence field of
// any pair is computed from two surface maps, so pair lists need no extra files.
//
// A body point is (part id, u, v): part id = 10 * frame id + parsing label (so a sleeve and the skin under it are
// different parts of one frame), and (u, v) its coordinates in the frame divided by the figure's scale (body
// units): u along the frame's axis, v across it. Because textures are drawn in the same frames, the same body point
// shows the same paint in every pose of an identity.
import { readFile } from 'node:fs/promises';
import * as torch from '../torch/index.js';
import { formatNpy, parseNpy } from '../data/npy.js';
import type { SurfaceFrame } from './figure.js';

/** Parts per frame in a part id: part id = PART_STRIDE * frame id + label. */
export const PART_STRIDE = 10;

/** A render's surface map. */
export interface Surface {
  height: number;
  width: number;
  /** (H*W) part ids, row-major: PART_STRIDE * frame + label; 0 on the background. */
  part: Uint8Array;
  /** (2,H,W) float32 body coordinates (u along the frame's axis, v across it, in body units); 0 on the background. */
  coords: Float32Array;
}

/** The true correspondence field of a (source, target) pair, on the target's pixel grid. */
export interface Correspondence {
  height: number;
  width: number;
  /**
   * (2,H,W) float32: for each target pixel, the source position of the same body point as (x, y) in source pixels
   * (pixel centres at integers). NaN on the background and where the part's frame is not seen in the source at all.
   */
  flow: Float32Array;
  /**
   * (H*W) 1 where the target pixel is on the body AND its point is visible in the source (the source pixel nearest
   * to the mapped position shows the same part), else 0.
   */
  visible: Uint8Array;
}

/**
 * The surface map of a render from its frame-id map and label map (both (H,W) uint8 tensors, 0 = background) and
 * the layout's frames and scale (pixels per body unit). Frame ids index `frames`.
 */
export function surfaceFromMaps(frameIds: torch.Tensor, labels: torch.Tensor, frames: readonly (SurfaceFrame | null)[], scale: number): Surface {
  const [h, w] = frameIds.shape as [number, number];
  if (frameIds.ndim !== 2 || labels.shape.join('x') !== `${h}x${w}`) {
    throw new Error(`surfaceFromMaps: expected two (H,W) maps of one shape, got [${frameIds.shape}] and [${labels.shape}]`);
  }
  if (!(scale > 0)) throw new Error(`surfaceFromMaps: scale must be positive pixels per body unit, got ${scale}`);
  const table = new Float32Array(frames.length * 4);
  frames.forEach((f, i) => { if (f) table.set([f.origin.x, f.origin.y, f.axis.x, f.axis.y], i * 4); });
  return torch.scope(() => {
    const ids = frameIds.to('int64');
    const maxId = ids.max().item();
    if (maxId >= frames.length) throw new Error(`surfaceFromMaps: frame id ${maxId} has no frame (${frames.length} known)`);
    const placed = torch.tensor(table, [frames.length, 4]).indexSelect(0, ids.flatten()).view([h, w, 4]);
    const [ox, oy, ax, ay] = placed.unbind(2) as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
    // Pixel (i, j) is the SVG point (j + 0.5, i + 0.5), the space the frames are placed in.
    const dx = torch.arange(0, w, 1, 'float32').add(0.5).view([1, w]).sub(ox);
    const dy = torch.arange(0, h, 1, 'float32').add(0.5).view([h, 1]).sub(oy);
    const onBody = ids.gt(0).to('float32');
    const u = dx.mul(ax).add(dy.mul(ay)).mul(onBody).div(scale);
    const v = dy.mul(ax).sub(dx.mul(ay)).mul(onBody).div(scale);
    const part = ids.mul(PART_STRIDE).add(labels.to('int64')).mul(ids.gt(0).to('int64')).to('uint8');
    return { height: h, width: w, part: part.contiguous().data() as Uint8Array, coords: torch.stack([u, v]).contiguous().data() as Float32Array };
  });
}

/** A surface map as .npy bytes: float32 (3,H,W), channel 0 the part id, channels 1-2 the body coordinates (u, v). */
export function encodeSurface(s: Surface): Uint8Array {
  const n = s.height * s.width;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) out[i] = s.part[i] as number;
  out.set(s.coords, n);
  return formatNpy(out, [3, s.height, s.width]);
}

/** Parses a surface map .npy (see encodeSurface); `file` names it in errors. */
export function parseSurface(bytes: Uint8Array, file = 'surface map'): Surface {
  const a = parseNpy(bytes, file);
  if (a.dtype !== 'float32' || a.shape.length !== 3 || a.shape[0] !== 3) {
    throw new Error(`${file}: a surface map is float32 (3,H,W) (part id, u, v), got ${a.dtype} (${a.shape.join(',')}); ` +
      'write it with encodeSurface (reposer data synth writes DIR/surface/<split>/<stem>.npy)');
  }
  const [, h, w] = a.shape as [number, number, number];
  const data = a.data as Float32Array;
  const n = h * w;
  const part = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = data[i] as number;
    if (!(Number.isInteger(p) && p >= 0 && p < 256)) throw new Error(`${file}: part id ${p} at pixel ${i} is not an integer in 0..255`);
    part[i] = p;
  }
  return { height: h, width: w, part, coords: data.slice(n, 3 * n) };
}

/** Reads a surface map .npy file. */
export async function readSurface(path: string): Promise<Surface> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`surface map ${path} cannot be read (${(err as Error).message}); synthetic datasets written by reposer data synth hold one per image under surface/<split>/`);
  }
  return parseSurface(bytes, path);
}

/**
 * For every frame of the source, the affine map body coordinates (u, v, 1) -> source pixel (x, y), fitted by least
 * squares to the source's own pixels of that frame (the frames are rigid, so the fit is exact up to float32
 * rounding). Every part of a frame (a sleeve and the skin under it) shares its map, so fitting per frame rather than
 * per part also places parts too small to fit alone (a one-pixel strip of wrist between a long sleeve and the hand).
 * Returns 6 numbers per frame id ([x row, y row]); NaN for frames with too few or collinear pixels.
 */
function fitFrames(s: Surface): Float64Array {
  // Normal equations per part: the 3x3 moment matrix of (u, v, 1) and its products with x and y.
  const m = new Float64Array(256 * 12);
  const n = s.height * s.width;
  for (let i = 0; i < n; i++) {
    const part = s.part[i] as number;
    if (part === 0) continue;
    const p = Math.floor(part / PART_STRIDE);
    const u = s.coords[i] as number;
    const v = s.coords[n + i] as number;
    const x = i % s.width;
    const y = (i - x) / s.width;
    const terms = [u * u, u * v, u, v * v, v, 1, u * x, v * x, x, u * y, v * y, y];
    for (let k = 0; k < 12; k++) m[p * 12 + k] = (m[p * 12 + k] as number) + (terms[k] as number);
  }
  const fits = new Float64Array(256 * 6).fill(NaN);
  for (let p = 1; p < 256; p++) {
    const o = p * 12;
    const count = m[o + 5] as number;
    if (count < 3) continue;
    const [uu, uv, u1, vv, v1, c] = [m[o], m[o + 1], m[o + 2], m[o + 3], m[o + 4], count] as number[] as [number, number, number, number, number, number];
    // Inverse of the symmetric [[uu, uv, u1], [uv, vv, v1], [u1, v1, c]] by cofactors.
    const k00 = vv * c - v1 * v1;
    const k01 = -(uv * c - v1 * u1);
    const k02 = uv * v1 - vv * u1;
    const k11 = uu * c - u1 * u1;
    const k12 = -(uu * v1 - uv * u1);
    const k22 = uu * vv - uv * uv;
    const det = uu * k00 + uv * k01 + u1 * k02;
    // Collinear pixels (a one-pixel-wide sliver) leave the map across the line undetermined.
    if (!(Math.abs(det) > 1e-9 * Math.max(1, uu * vv * c))) continue;
    for (let r = 0; r < 2; r++) {
      const [bu, bv, b1] = [m[o + 6 + 3 * r], m[o + 7 + 3 * r], m[o + 8 + 3 * r]] as [number, number, number];
      fits[p * 6 + 3 * r] = (k00 * bu + k01 * bv + k02 * b1) / det;
      fits[p * 6 + 3 * r + 1] = (k01 * bu + k11 * bv + k12 * b1) / det;
      fits[p * 6 + 3 * r + 2] = (k02 * bu + k12 * bv + k22 * b1) / det;
    }
  }
  return fits;
}

/**
 * The true correspondence field from `target` back to `source` (two surface maps of one identity, any frame sizes):
 * where each target pixel's body point is in the source, and whether it is visible there. See Correspondence.
 */
export function correspondenceField(source: Surface, target: Surface): Correspondence {
  const fits = fitFrames(source);
  const { height: h, width: w } = target;
  const n = h * w;
  const ns = source.height * source.width;
  const flow = new Float32Array(2 * n).fill(NaN);
  const visible = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = target.part[i] as number;
    if (p === 0) continue;
    const f = Math.floor(p / PART_STRIDE) * 6;
    if (Number.isNaN(fits[f])) continue;
    const u = target.coords[i] as number;
    const v = target.coords[n + i] as number;
    const x = (fits[f] as number) * u + (fits[f + 1] as number) * v + (fits[f + 2] as number);
    const y = (fits[f + 3] as number) * u + (fits[f + 4] as number) * v + (fits[f + 5] as number);
    flow[i] = x;
    flow[n + i] = y;
    const sx = Math.round(x);
    const sy = Math.round(y);
    if (sx >= 0 && sx < source.width && sy >= 0 && sy < source.height) {
      const j = sy * source.width + sx;
      if (j < ns && source.part[j] === p) visible[i] = 1;
    }
  }
  return { height: h, width: w, flow, visible };
}
