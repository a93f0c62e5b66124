// Argument checks shared by the layers, so every bad argument gets an error naming the layer and the argument.
import type { Tensor } from '../tensor.js';

export type Pair = number | [number, number];

/** A non-negative (or, with min 1, positive) integer, or a pair of them, as [h, w]. */
export function pair(layer: string, what: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new Error(`${layer}: ${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

export function int(layer: string, what: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new Error(`${layer}: ${what} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

/** Checks a (N, C, H, W) input's rank and channel count. */
export function expect4d(layer: string, input: Tensor, channels: number): void {
  const shape = input.shape;
  if (shape.length !== 4) {
    throw new Error(`${layer}: expected a 4-d (N,C,H,W) input, got shape [${shape.join(',')}]; add a batch dim with unsqueeze(0)`);
  }
  if (shape[1] !== channels) {
    throw new Error(`${layer}: the input has ${shape[1]} channels (shape [${shape.join(',')}]), the layer expects ${channels}`);
  }
}
