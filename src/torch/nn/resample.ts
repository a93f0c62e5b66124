// Parameter-free spatial layers: padding, pooling and upsampling of (N, C, H, W). Official models put these inside
// nn.Sequential, so they must exist as modules for the Sequential indices (and so the state-dict names) to match.
import type { Tensor } from '../tensor.js';
import { avgPool2d, maxPool2d, pad } from '../gen/ops.js';
import { interpolate } from '../functional.js';
import { Module } from './module.js';
import { int, pair, type Pair } from './check.js';

/** [left, right, top, bottom] from a number (all four) or the four sizes, as PyTorch's padding layers. */
function padding4(layer: string, p: number | [number, number, number, number]): [number, number, number, number] {
  const four = typeof p === 'number' ? [p, p, p, p] : p;
  if (!Array.isArray(four) || four.length !== 4 || !four.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`${layer}: padding must be an integer >= 0 or [left, right, top, bottom], got ${JSON.stringify(p)}`);
  }
  return four as [number, number, number, number];
}

abstract class Pad2d extends Module {
  readonly padding: [number, number, number, number];

  constructor(layer: string, padding: number | [number, number, number, number], private readonly mode: 'reflect' | 'replicate' | 'constant') {
    super();
    this.padding = padding4(layer, padding);
  }

  /** (N, C, H, W) -> (N, C, H + top + bottom, W + left + right). */
  forward(input: Tensor): Tensor {
    return pad(input, this.padding, this.mode, this.mode === 'constant' ? 0 : null);
  }
}

/** Pads with the reflection of the input (excluding the edge). padding: all sides, or [left, right, top, bottom]. */
export class ReflectionPad2d extends Pad2d {
  constructor(padding: number | [number, number, number, number]) {
    super('ReflectionPad2d', padding, 'reflect');
  }
}

/** Pads by repeating the edge. padding: all sides, or [left, right, top, bottom]. */
export class ReplicationPad2d extends Pad2d {
  constructor(padding: number | [number, number, number, number]) {
    super('ReplicationPad2d', padding, 'replicate');
  }
}

/** Pads with zeros. padding: all sides, or [left, right, top, bottom]. */
export class ZeroPad2d extends Pad2d {
  constructor(padding: number | [number, number, number, number]) {
    super('ZeroPad2d', padding, 'constant');
  }
}

export interface Pool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  /** Default 0. */
  padding?: Pair;
  /** Round the output size up instead of down. Default false. */
  ceilMode?: boolean;
}

/** Average over kernel windows. countIncludePad (default true) counts padded zeros in the average, as PyTorch. */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, options: Pool2dOptions & { countIncludePad?: boolean } = {}) {
    super();
    this.kernelSize = pair('AvgPool2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('AvgPool2d', 'stride', options.stride ?? this.kernelSize, 1);
    this.padding = pair('AvgPool2d', 'padding', options.padding ?? 0, 0);
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
  }

  /** (N, C, H, W) -> (N, C, H', W'). */
  forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, this.stride, this.padding, this.ceilMode, this.countIncludePad);
  }
}

/** Maximum over kernel windows. */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, options: Pool2dOptions & { dilation?: Pair } = {}) {
    super();
    this.kernelSize = pair('MaxPool2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('MaxPool2d', 'stride', options.stride ?? this.kernelSize, 1);
    this.padding = pair('MaxPool2d', 'padding', options.padding ?? 0, 0);
    this.dilation = pair('MaxPool2d', 'dilation', options.dilation ?? 1, 1);
    this.ceilMode = options.ceilMode ?? false;
  }

  /** (N, C, H, W) -> (N, C, H', W'). */
  forward(input: Tensor): Tensor {
    return maxPool2d(input, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }
}

export interface UpsampleOptions {
  /** Output (H, W); give this or scaleFactor. */
  size?: number | [number, number];
  /** Multiplier on (H, W). */
  scaleFactor?: number | [number, number];
  /** Default 'nearest'. */
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only; default false (PyTorch's default). */
  alignCorners?: boolean;
}

/** nn.Upsample: interpolate() as a module. (N, C, H, W) -> (N, C, H', W'). */
export class Upsample extends Module {
  constructor(readonly options: UpsampleOptions) {
    super();
    if ((options.size === undefined) === (options.scaleFactor === undefined)) throw new Error('Upsample: give exactly one of size and scaleFactor');
    if (typeof options.size === 'number') int('Upsample', 'size', options.size, 1);
  }

  forward(input: Tensor): Tensor {
    return interpolate(input, this.options);
  }
}
