// Learning-rate schedules. Each sets every group's lr to baseLr * factor(epoch) in closed form, where epoch counts
// step() calls (0 at construction), so a restored schedule gives exactly the values an uninterrupted one would.
import type { Optimizer } from './optimizer.js';

export interface LRSchedulerState {
  lastEpoch: number;
  baseLrs: number[];
}

export abstract class LRScheduler {
  /** step() calls so far. */
  lastEpoch = 0;
  /** Each group's lr when the schedule was made. */
  readonly baseLrs: number[];

  constructor(readonly optimizer: Optimizer<{ lr: number }>) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The multiplier on the base lr after `epoch` steps. */
  abstract factor(epoch: number): number;

  /** Advances one epoch (or iteration, as the caller counts) and sets the groups' lr. */
  step(): void {
    this.lastEpoch += 1;
    this.apply();
  }

  /** The lr each group has now. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected apply(): void {
    const f = this.factor(this.lastEpoch);
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = (this.baseLrs[i] as number) * f; });
  }

  stateDict(): LRSchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores the position and base lrs, and sets the groups' lr accordingly. */
  loadStateDict(state: LRSchedulerState): void {
    if (state.baseLrs.length !== this.baseLrs.length) {
      throw new Error(`${this.constructor.name}.loadStateDict: the state has ${state.baseLrs.length} base lrs, the optimiser ${this.baseLrs.length} groups`);
    }
    this.lastEpoch = state.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...state.baseLrs);
    this.apply();
  }
}

export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Multiplier per decay. Default 0.1. */
  gamma?: number;
}

/** lr = baseLr · gamma^floor(epoch / stepSize) (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: StepLROptions) {
    super(optimizer);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    if (!Number.isInteger(this.stepSize) || this.stepSize < 1) throw new Error(`StepLR: stepSize must be an integer >= 1, got ${this.stepSize}`);
    if (!(this.gamma >= 0)) throw new Error(`StepLR: gamma must be >= 0, got ${this.gamma}`);
    this.apply();
  }

  factor(epoch: number): number {
    return this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

export interface LinearDecayLROptions {
  /** Epochs at the base lr (CycleGAN's n_epochs, PATN's niter). */
  constantSteps: number;
  /** Epochs over which lr falls linearly towards 0 (n_epochs_decay, niter_decay). */
  decaySteps: number;
  /**
   * Shifts the decay earlier by this many epochs. Default 0 (CycleGAN's current rule with epoch_count 1). PATN's
   * older rule, `1 - max(0, epoch + 1 + epoch_count - niter) / (niter_decay + 1)` with epoch_count 1, is offset 1.
   */
  offset?: number;
}

/**
 * lr = baseLr · (1 - max(0, epoch + 1 + offset - constantSteps) / (decaySteps + 1)), floored at 0: constant for
 * the first constantSteps epochs, then linear decay, reaching baseLr / (decaySteps + 1) in the last epoch.
 */
export class LinearDecayLR extends LRScheduler {
  readonly constantSteps: number;
  readonly decaySteps: number;
  readonly offset: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: LinearDecayLROptions) {
    super(optimizer);
    this.constantSteps = options.constantSteps;
    this.decaySteps = options.decaySteps;
    this.offset = options.offset ?? 0;
    for (const [k, v] of [['constantSteps', this.constantSteps], ['decaySteps', this.decaySteps], ['offset', this.offset]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`LinearDecayLR: ${k} must be an integer >= 0, got ${v}`);
    }
    this.apply();
  }

  factor(epoch: number): number {
    return Math.max(0, 1 - Math.max(0, epoch + 1 + this.offset - this.constantSteps) / (this.decaySteps + 1));
  }
}
