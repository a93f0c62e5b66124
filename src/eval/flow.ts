// Flow end-point error against the synthetic world's true correspondence field (src/synth/surface.ts). A model that
// warps (GFLA's flow fields, the part-affine baseline) writes, beside each generated image, where in the source it
// takes each target pixel from; `flow-epe` measures how far that is from where the same body point truly is.
//
// FLOW FILE FORMAT. <pred>/flows/<from>___<to>.npy (the generated image's name with .npy for its extension),
// float32 (2,h,w): channel 0 is x, channel 1 is y, ABSOLUTE source coordinates in pixels of the full-size source
// image (pixel centres at integers), for the pixel centres of an h x w grid over the target frame. Any h x w is
// accepted: a coarser field (an attention resolution) is resized to the target frame bilinearly with half-pixel
// centres (align_corners = false); its values are already full-size pixels, so they are not rescaled.
// flowFromGrid and flowFromOffsets convert the two forms warping models produce.
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as torch from '../torch/index.js';
import { formatNpy, readNpy } from '../data/npy.js';
import { correspondenceField, readSurface, type Correspondence } from '../synth/surface.js';
import type { PredFile } from './images.js';

/** The per-pair scores of one flow. */
export interface FlowScore {
  /** Mean end-point error (pixels) over the visible target pixels; NaN when none is visible. */
  epe: number;
  /** Share of visible pixels within 1 px and within 3 px. */
  within1: number;
  within3: number;
  /** Number of visible target pixels scored. */
  visible: number;
}

/** Where a generated image's flow lives: <pred>/flows/<from>___<to>.npy. */
export function flowPath(predDir: string, from: string, to: string): string {
  return join(predDir, 'flows', `${from}___${to}.npy`);
}

/** Writes a (2,h,w) flow (see the file's format) as float32 .npy, creating the folder. */
export async function writeFlow(path: string, flow: torch.Tensor): Promise<void> {
  if (flow.ndim !== 3 || flow.shape[0] !== 2) throw new Error(`writeFlow ${path}: expected a (2,h,w) flow, got [${flow.shape}]`);
  // Values and shape are read before the first await, so the caller may dispose `flow` once this returns.
  const data = torch.scope(() => flow.to('float32').contiguous().data() as Float32Array);
  const shape = [...flow.shape];
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, formatNpy(data, shape));
  await rename(tmp, path);
}

/** Reads a flow file as a (2,h,w) float32 tensor (the caller owns it). */
export async function readFlow(path: string): Promise<torch.Tensor> {
  const a = await readNpy(path);
  if (a.dtype !== 'float32' || a.shape.length !== 3 || a.shape[0] !== 2) {
    throw new Error(`${path}: a flow is float32 (2,h,w) (x, y source pixel coordinates), got ${a.dtype} (${a.shape.join(',')}); see docs/eval.md`);
  }
  return torch.tensor(a.data, a.shape);
}

/**
 * Sampling grids as grid_sample takes them, (N,h,w,2) normalized (x, y) in [-1, 1], to flows: (N,2,h,w) absolute
 * source pixels of a `frame` = [H, W] image. `alignCorners` as the grid was made (default false).
 */
export function flowFromGrid(grid: torch.Tensor, frame: readonly [number, number], alignCorners = false): torch.Tensor {
  if (grid.ndim !== 4 || grid.shape[3] !== 2) throw new Error(`flowFromGrid: expected an (N,h,w,2) grid, got [${grid.shape}]`);
  const [H, W] = frame;
  return torch.scope(() => {
    const [gx, gy] = grid.to('float32').unbind(3) as [torch.Tensor, torch.Tensor];
    // align_corners=false: -1 and 1 are the outer edges of the image, so x = ((g + 1) W - 1) / 2.
    const toPixels = (g: torch.Tensor, size: number): torch.Tensor =>
      alignCorners ? g.add(1).mul((size - 1) / 2) : g.add(1).mul(size / 2).sub(0.5);
    return torch.stack([toPixels(gx, W), toPixels(gy, H)], 1);
  });
}

/**
 * Offset flows in the pixels of their own (h,w) grid (the sampling position of grid pixel (i, j) is (j + dx, i + dy),
 * GFLA's Resample2d convention), (N,2,h,w) with x first, to flows in absolute source pixels of a `frame` = [H, W] image.
 */
export function flowFromOffsets(offsets: torch.Tensor, frame: readonly [number, number]): torch.Tensor {
  if (offsets.ndim !== 4 || offsets.shape[1] !== 2) throw new Error(`flowFromOffsets: expected (N,2,h,w) offsets, got [${offsets.shape}]`);
  const [H, W] = frame;
  const [h, w] = [offsets.shape[2] as number, offsets.shape[3] as number];
  return torch.scope(() => {
    const o = offsets.to('float32');
    const cols = torch.arange(0, w, 1, 'float32').view([1, 1, w]);
    const rows = torch.arange(0, h, 1, 'float32').view([1, h, 1]);
    // A grid pixel's centre j + 0.5 spans W / w full-size pixels; full-size pixel centres sit at integers.
    const x = o.select(1, 0).add(cols).add(0.5).mul(W / w).sub(0.5);
    const y = o.select(1, 1).add(rows).add(0.5).mul(H / h).sub(0.5);
    return torch.stack([x, y], 1);
  });
}

/**
 * Scores a predicted flow against the true field of its pair.
 * @param flow (2,h,w) absolute source pixels (see the file's format); resized to the truth's frame when h x w differs
 * @param what names the flow in errors
 */
export function flowEndPointError(flow: torch.Tensor, truth: Correspondence, what = 'flow'): FlowScore {
  if (flow.ndim !== 3 || flow.shape[0] !== 2) throw new Error(`${what}: expected a (2,h,w) flow, got [${flow.shape}]`);
  const { height: H, width: W } = truth;
  return torch.scope(() => {
    let f = flow.to('float32');
    if (f.shape[1] !== H || f.shape[2] !== W) {
      f = torch.interpolate(f.unsqueeze(0), { size: [H, W], mode: 'bilinear', alignCorners: false }).squeeze(0);
    }
    const visible = torch.tensor(truth.visible, [H, W]).ne(0);
    const count = visible.sum().item();
    if (count === 0) return { epe: NaN, within1: NaN, within3: NaN, visible: 0 };
    const err = f.sub(torch.tensor(truth.flow, [2, H, W])).square().sum([0]).sqrt().maskedSelect(visible);
    if (!err.isfinite().all().item()) {
      throw new Error(`${what}: the flow is NaN or infinite on target pixels whose body point is visible in the source; write finite source coordinates everywhere`);
    }
    return {
      epe: err.mean().item(),
      within1: err.le(1).to('float32').mean().item(),
      within3: err.le(3).to('float32').mean().item(),
      visible: count,
    };
  });
}

/** The stem of an image name: its file name without the extension (surface maps are <stem>.npy). */
const stemOf = (name: string): string => name.replace(/\.[^./]+$/, '');

/**
 * `flow-epe` over the generated images of an evaluation: each pair's flow file against the true field of the
 * dataset's surface maps (DIR/surface/<split>/<stem>.npy, written by `reposer data synth`). Returns the mean over
 * pairs (pairs with no visible pixel are left out) as `<name>`, `<name>_1px` and `<name>_3px`.
 */
export async function evaluateFlows(name: string, preds: readonly PredFile[], predDir: string, dataDir: string, split: string): Promise<Record<string, number>> {
  const surfaceDir = join(dataDir, 'surface', split);
  if (!existsSync(surfaceDir)) {
    throw new Error(`${name} needs the true correspondence of each pair, read from ${surfaceDir}, which does not exist; ` +
      'it is written by `reposer data synth` (synthetic datasets only)');
  }
  const sums = { epe: 0, within1: 0, within3: 0 };
  let scored = 0;
  for (const p of preds) {
    const path = flowPath(predDir, p.from, p.to);
    if (!existsSync(path)) {
      throw new Error(`${name}: generated image ${p.path} has no flow ${path}; write one per image (float32 (2,h,w) absolute source pixels, docs/eval.md) or drop ${name}`);
    }
    const [source, target] = await Promise.all([readSurface(join(surfaceDir, `${stemOf(p.from)}.npy`)), readSurface(join(surfaceDir, `${stemOf(p.to)}.npy`))]);
    const flow = await readFlow(path);
    try {
      const s = flowEndPointError(flow, correspondenceField(source, target), path);
      if (s.visible === 0) continue;
      sums.epe += s.epe;
      sums.within1 += s.within1;
      sums.within3 += s.within3;
      scored++;
    } finally {
      flow.dispose();
    }
  }
  if (scored === 0) throw new Error(`${name}: no pair has a target pixel visible in its source; nothing to score`);
  return { [name]: sums.epe / scored, [`${name}_1px`]: sums.within1 / scored, [`${name}_3px`]: sums.within3 / scored };
}
