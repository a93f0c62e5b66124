// Ops composed in TypeScript from table ops, where PyTorch's own Python layer also composes them.
import { upsampleNearest2d, upsampleBilinear2d } from './gen/ops.js';
import type { Tensor } from './tensor.js';

export interface InterpolateOptions {
  /** Output (H, W). Give this or scaleFactor. */
  size?: number | [number, number];
  /** Multiplier on (H, W); the output size is floor(input * scale), as F.interpolate. */
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only; PyTorch's default is false. */
  alignCorners?: boolean;
}

/** F.interpolate for 4-d (N,C,H,W) input, nearest or bilinear. */
export function interpolate(input: Tensor, options: InterpolateOptions): Tensor {
  const { size, scaleFactor, mode = 'nearest' } = options;
  if (input.ndim !== 4) throw new Error(`interpolate: expected a 4-d (N,C,H,W) input, got shape [${input.shape.join(',')}]`);
  if ((size === undefined) === (scaleFactor === undefined)) throw new Error('interpolate: give exactly one of size and scaleFactor');
  if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`interpolate: unknown mode '${String(mode)}'; use 'nearest' or 'bilinear'`);
  if (mode === 'nearest' && options.alignCorners !== undefined) throw new Error('interpolate: alignCorners applies to bilinear mode only');
  const [h, w] = [input.shape[2] as number, input.shape[3] as number];
  let out: [number, number];
  let scales: [number | null, number | null] = [null, null];
  if (size !== undefined) {
    out = typeof size === 'number' ? [size, size] : size;
    if (out.length !== 2 || !out.every((v) => Number.isInteger(v) && v > 0)) {
      throw new Error(`interpolate: size must be a positive integer or two of them (H, W), got ${JSON.stringify(size)}`);
    }
  } else {
    const [sh, sw] = typeof scaleFactor === 'number' ? [scaleFactor, scaleFactor] : (scaleFactor as [number, number]);
    if (!(sh > 0 && sw > 0 && Number.isFinite(sh) && Number.isFinite(sw))) {
      throw new Error(`interpolate: scaleFactor must be a positive number or two of them (H, W), got ${JSON.stringify(scaleFactor)}`);
    }
    out = [Math.floor(h * sh), Math.floor(w * sw)];
    if (out[0] < 1 || out[1] < 1) {
      throw new Error(`interpolate: scaleFactor ${JSON.stringify(scaleFactor)} shrinks [${h},${w}] to an empty [${out.join(',')}]; use a larger factor`);
    }
    scales = [sh, sw];
  }
  if (mode === 'nearest') return upsampleNearest2d(input, out, scales[0], scales[1]);
  return upsampleBilinear2d(input, out, options.alignCorners ?? false, scales[0], scales[1]);
}
