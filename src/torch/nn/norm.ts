// Batch and instance normalisation over (N, C, H, W), with PyTorch's buffers and running-statistics rules.
import { noGrad, type Tensor } from '../tensor.js';
import { batchNorm, cat, full, instanceNorm, ones, zeros } from '../gen/ops.js';
import { Module } from './module.js';
import { expect4d, int } from './check.js';

export interface NormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /**
   * Weight of the newest batch in the running statistics: running = (1 - momentum) * running + momentum * batch
   * (the variance unbiased). null gives a cumulative average (BatchNorm2d only). Default 0.1.
   */
  momentum?: number | null;
  /** Learnable per-channel weight (init 1) and bias (init 0). Default true for BatchNorm2d, false for InstanceNorm2d. */
  affine?: boolean;
  /** Keep running_mean, running_var and num_batches_tracked. Default true for BatchNorm2d, false for InstanceNorm2d. */
  trackRunningStats?: boolean;
}

/** The members BatchNorm2d and InstanceNorm2d share (PyTorch's _NormBase). */
abstract class NormBase extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(readonly layer: string, readonly numFeatures: number, options: NormOptions, defaults: { affine: boolean; track: boolean }) {
    super();
    int(layer, 'numFeatures', numFeatures, 1);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (!(this.eps >= 0)) throw new Error(`${layer}: eps must be >= 0, got ${this.eps}`);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new Error(`${layer}: momentum must be in [0, 1] or null, got ${this.momentum}`);
    }
    this.affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.track;
    this.weight = this.affine ? this.param('weight', ones([numFeatures])) : null;
    this.bias = this.affine ? this.param('bias', zeros([numFeatures])) : null;
    const track = this.trackRunningStats;
    this.runningMean = this.buffer('running_mean', track ? zeros([numFeatures]) : null);
    this.runningVar = this.buffer('running_var', track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.buffer('num_batches_tracked', track ? zeros([], 'int64') : null);
  }
}

/**
 * Batch normalisation of (N, C, H, W) per channel. Training mode normalises with the batch's statistics and updates
 * the running ones (and num_batches_tracked); eval mode uses the running ones. Buffers: running_mean (C) = 0,
 * running_var (C) = 1, num_batches_tracked (int64 scalar) = 0. Defaults: eps 1e-5, momentum 0.1, affine,
 * trackRunningStats.
 */
export class BatchNorm2d extends NormBase {
  /**
   * Set for a synchronised batch norm (SyncBatchNorm) in data-parallel training: sums a tensor over the ranks,
   * differentiably (torch.distributed.sumOverRanks). Training then normalises with the statistics of the combined
   * batch of every rank, and the input gradient carries the other ranks' terms. null: this process's batch alone.
   */
  sumOverRanks: ((t: Tensor) => Tensor) | null = null;

  constructor(numFeatures: number, options: NormOptions = {}) {
    super('BatchNorm2d', numFeatures, options, { affine: true, track: true });
  }

  /** input (N, C, H, W) -> same shape. */
  forward(input: Tensor): Tensor {
    expect4d(`BatchNorm2d(${this.numFeatures})`, input, this.numFeatures);
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      this.numBatchesTracked.add_(1);
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.item();
    }
    // Without running statistics, eval mode also normalises with the batch's own (as PyTorch).
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    if (useBatchStats && this.sumOverRanks) return this.synchronised(input, this.sumOverRanks, factor);
    const passStats = !this.training || this.trackRunningStats;
    return batchNorm(input, passStats ? this.runningMean : null, passStats ? this.runningVar : null, this.weight, this.bias,
      useBatchStats, factor, this.eps);
  }

  /**
   * Batch norm over every rank's batch: the mean, then the biased variance about it (two passes, as precise as the
   * single-process kernel), each a per-channel sum over the ranks; running statistics take the unbiased variance.
   */
  private synchronised(input: Tensor, sumOverRanks: (t: Tensor) => Tensor, factor: number): Tensor {
    const [n, c, h, w] = input.shape as [number, number, number, number];
    // The pixel count travels with the first pass's sums: one all-reduce, and no value read back to JavaScript.
    const first = sumOverRanks(cat([input.sum([0, 2, 3]).to('float32'), full([1], n * h * w)]));
    const count = first.narrow(0, c, 1);
    const mean = first.narrow(0, 0, c).div(count);
    const centred = input.sub(mean.view([1, c, 1, 1]));
    const variance = sumOverRanks(centred.square().sum([0, 2, 3])).div(count);
    let out = centred.mul(variance.add(this.eps).rsqrt().view([1, c, 1, 1]));
    if (this.weight && this.bias) out = out.mul(this.weight.view([1, c, 1, 1])).add(this.bias.view([1, c, 1, 1]));
    if (this.training && this.runningMean && this.runningVar) {
      const [runningMean, runningVar] = [this.runningMean, this.runningVar];
      noGrad(() => {
        runningMean.mul_(1 - factor).add_(mean.detach().mul(factor));
        runningVar.mul_(1 - factor).add_(variance.detach().mul(count).div(count.sub(1).clamp(1)).mul(factor));
      });
    }
    return out;
  }
}

/**
 * Instance normalisation: each (sample, channel) plane of (N, C, H, W) normalised by its own mean and variance.
 * With trackRunningStats, training updates running_mean/var (averaged over the batch) and eval mode uses them.
 * Defaults: eps 1e-5, momentum 0.1, affine false, trackRunningStats false.
 */
export class InstanceNorm2d extends NormBase {
  constructor(numFeatures: number, options: NormOptions = {}) {
    super('InstanceNorm2d', numFeatures, options, { affine: false, track: false });
    if (this.momentum === null) throw new Error('InstanceNorm2d: momentum must be a number; the cumulative average (null) is BatchNorm2d only');
  }

  /** input (N, C, H, W) -> same shape. */
  forward(input: Tensor): Tensor {
    expect4d(`InstanceNorm2d(${this.numFeatures})`, input, this.numFeatures);
    return instanceNorm(input, this.runningMean, this.runningVar, this.weight, this.bias,
      this.training || !this.trackRunningStats, this.momentum ?? 0.1, this.eps);
  }
}
