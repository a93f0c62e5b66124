// Convolution and linear layers, with PyTorch's parameter shapes, names and default initialisation.
import { Tensor, scope } from '../tensor.js';
import { conv2d, convTranspose2d, empty, linear, pad } from '../gen/ops.js';
import { Module } from './module.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init.js';
import { expect4d, int, pair, type Pair } from './check.js';

/**
 * PyTorch's default for conv and linear layers (reset_parameters): weight ~ kaiming_uniform(a = sqrt 5), i.e.
 * U(±1/sqrt(fanIn)), and bias ~ U(±1/sqrt(fanIn)) with fanIn read from the weight as calculateFanInAndFanOut does.
 */
function defaultInit(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, Math.sqrt(5));
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface Conv2dOptions {
  /** Default 1. */
  stride?: Pair;
  /** Added on both sides of H and W. Default 0. */
  padding?: Pair;
  /** Default 1. */
  dilation?: Pair;
  /** inChannels and outChannels must both divide by groups. Default 1. */
  groups?: number;
  /** Default true. */
  bias?: boolean;
  /** How the padding is filled. Default 'zeros'. */
  paddingMode?: PaddingMode;
}

/**
 * 2-d convolution: (N, inChannels, H, W) -> (N, outChannels, H', W').
 * Parameters: weight (outChannels, inChannels/groups, kH, kW), bias (outChannels) unless bias: false.
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const name = 'Conv2d';
    int(name, 'inChannels', inChannels, 1);
    int(name, 'outChannels', outChannels, 1);
    this.kernelSize = pair(name, 'kernelSize', kernelSize, 1);
    this.stride = pair(name, 'stride', options.stride ?? 1, 1);
    this.padding = pair(name, 'padding', options.padding ?? 0, 0);
    this.dilation = pair(name, 'dilation', options.dilation ?? 1, 1);
    this.groups = int(name, 'groups', options.groups ?? 1, 1);
    this.paddingMode = options.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(this.paddingMode)) {
      throw new Error(`Conv2d: paddingMode '${this.paddingMode}' must be 'zeros', 'reflect', 'replicate' or 'circular'`);
    }
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must both divide by groups (${this.groups})`);
    }
    const [kh, kw] = this.kernelSize;
    this.weight = this.param('weight', empty([outChannels, inChannels / this.groups, kh, kw]));
    this.bias = (options.bias ?? true) ? this.param('bias', empty([outChannels])) : null;
    defaultInit(this.weight, this.bias);
  }

  /** input (N, inChannels, H, W) -> (N, outChannels, H', W'). */
  forward(input: Tensor): Tensor {
    expect4d(`Conv2d(${this.inChannels}, ${this.outChannels})`, input, this.inChannels);
    if (this.paddingMode === 'zeros') {
      return conv2d(input, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
    }
    const [ph, pw] = this.padding;
    return scope(() => conv2d(pad(input, [pw, pw, ph, ph], this.paddingMode as 'reflect' | 'replicate' | 'circular'),
      this.weight, this.bias, this.stride, 0, this.dilation, this.groups));
  }
}

export interface ConvTranspose2dOptions {
  /** Default 1. */
  stride?: Pair;
  /** Removed from both sides of the output: dilation * (kernel - 1) - padding zeros pad the input. Default 0. */
  padding?: Pair;
  /** Extra rows/columns on one side of the output, to pick among the sizes a strided conv maps to. Default 0. */
  outputPadding?: Pair;
  /** Default 1. */
  groups?: number;
  /** Default true. */
  bias?: boolean;
  /** Default 1. */
  dilation?: Pair;
}

/**
 * 2-d transposed convolution: (N, inChannels, H, W) -> (N, outChannels, H', W') with
 * H' = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + outputPadding + 1.
 * Parameters: weight (inChannels, outChannels/groups, kH, kW), bias (outChannels) unless bias: false.
 */
export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: ConvTranspose2dOptions = {}) {
    super();
    const name = 'ConvTranspose2d';
    int(name, 'inChannels', inChannels, 1);
    int(name, 'outChannels', outChannels, 1);
    this.kernelSize = pair(name, 'kernelSize', kernelSize, 1);
    this.stride = pair(name, 'stride', options.stride ?? 1, 1);
    this.padding = pair(name, 'padding', options.padding ?? 0, 0);
    this.outputPadding = pair(name, 'outputPadding', options.outputPadding ?? 0, 0);
    this.dilation = pair(name, 'dilation', options.dilation ?? 1, 1);
    this.groups = int(name, 'groups', options.groups ?? 1, 1);
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`ConvTranspose2d: inChannels (${inChannels}) and outChannels (${outChannels}) must both divide by groups (${this.groups})`);
    }
    for (let d = 0; d < 2; d++) {
      if ((this.outputPadding[d] as number) >= Math.max(this.stride[d] as number, this.dilation[d] as number)) {
        throw new Error(`ConvTranspose2d: outputPadding ${JSON.stringify(this.outputPadding)} must be smaller than stride or dilation`);
      }
    }
    const [kh, kw] = this.kernelSize;
    this.weight = this.param('weight', empty([inChannels, outChannels / this.groups, kh, kw]));
    this.bias = (options.bias ?? true) ? this.param('bias', empty([outChannels])) : null;
    defaultInit(this.weight, this.bias);
  }

  /**
   * input (N, inChannels, H, W) -> (N, outChannels, H', W'). `outputSize` [H', W'] picks the output padding for this
   * call (as PyTorch's output_size), e.g. to match a skip connection of odd size; it must be reachable.
   */
  forward(input: Tensor, outputSize?: [number, number]): Tensor {
    const layer = `ConvTranspose2d(${this.inChannels}, ${this.outChannels})`;
    expect4d(layer, input, this.inChannels);
    let outputPadding = this.outputPadding;
    if (outputSize !== undefined) {
      outputPadding = [0, 1].map((d) => {
        const smallest = ((input.shape[d + 2] as number) - 1) * (this.stride[d] as number) - 2 * (this.padding[d] as number)
          + (this.dilation[d] as number) * ((this.kernelSize[d] as number) - 1) + 1;
        const extra = (outputSize[d] as number) - smallest;
        if (!Number.isInteger(extra) || extra < 0 || extra >= Math.max(this.stride[d] as number, this.dilation[d] as number)) {
          throw new Error(`${layer}: outputSize ${JSON.stringify(outputSize)} is not reachable from input [${input.shape.join(',')}]; ` +
            `dim ${d + 2} can be ${smallest} to ${smallest + Math.max(this.stride[d] as number, this.dilation[d] as number) - 1}`);
        }
        return extra;
      }) as [number, number];
    }
    // libtorch's own path for every shape. Computing a strided transposed conv as one ordinary conv per output phase
    // paid only while libtorch multiplied with the reference BLAS; with OpenBLAS (scripts/setup.sh) that form was
    // slower in every case bench/conv-transpose.ts measures: PATN's decoder 1.4x, Deformable GAN's 1536->512 layer 2x,
    // small inputs 5-7x (forward; the weight reshuffle and the mkldnn call per phase cost more than libtorch's one gemm).
    return convTranspose2d(input, this.weight, this.bias, this.stride, this.padding, outputPadding, this.groups, this.dilation);
  }
}

export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
}

/** y = x Wᵀ + b: (..., inFeatures) -> (..., outFeatures). Parameters: weight (outFeatures, inFeatures), bias (outFeatures). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    int('Linear', 'inFeatures', inFeatures, 1);
    int('Linear', 'outFeatures', outFeatures, 1);
    this.weight = this.param('weight', empty([outFeatures, inFeatures]));
    this.bias = (options.bias ?? true) ? this.param('bias', empty([outFeatures])) : null;
    defaultInit(this.weight, this.bias);
  }

  /** input (..., inFeatures) -> (..., outFeatures). */
  forward(input: Tensor): Tensor {
    const shape = input.shape;
    if (shape.length === 0 || shape[shape.length - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures}, ${this.outFeatures}): the input's last dim must be ${this.inFeatures}, got shape [${shape.join(',')}]`);
    }
    return linear(input, this.weight, this.bias);
  }
}
