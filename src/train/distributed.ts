// Data-parallel training over c10d (Gloo): every rank holds the whole model and trains on its own share of each
// combined batch; gradients are averaged across ranks before every optimiser step, so the ranks stay identical and
// together take the step one process would take on the combined batch.
//
// Gradients are averaged in buckets when an optimiser steps, not overlapped with backward as PyTorch's DDP Reducer
// does: the Reducer expects each module to run one backward per forward, and the GAN steps here run several
// backwards through the same modules (D on real and fake, then G through D).
import * as torch from '../torch/index.js';
import { Optimizer } from '../torch/optim/optimizer.js';
import type { TrainableModel } from '../models/registry.js';

export interface DataParallelOptions {
  rank: number;
  worldSize: number;
  /** `file:PATH` (one machine) or `tcp:HOST:PORT` (rank 0 serves the store; several machines). */
  store: string;
  /** How long a collective waits for the other ranks. Default 300 000 ms. */
  timeoutMs?: number;
}

/**
 * Makes every batch norm layer of the model normalise with statistics summed by `sumOverRanks` (SyncBatchNorm). A
 * single process passes the identity, a world of one, so that its run computes exactly what each rank computes.
 */
export function synchroniseBatchNorm(model: TrainableModel, sumOverRanks: (t: torch.Tensor, layer: string) => torch.Tensor): void {
  for (const [net, m] of model.modules()) {
    for (const [name, layer] of m.namedModules()) {
      if (layer instanceof torch.nn.BatchNorm2d) layer.sumOverRanks = (t) => sumOverRanks(t, `${net}.${name}`);
    }
  }
}

/** The rank's generator-state key in a checkpoint's rng.safetensors. */
export const rngKey = (rank: number): string => (rank === 0 ? 'cpu' : `cpu.rank${rank}`);

export class RankGroup {
  readonly rank: number;
  readonly worldSize: number;

  constructor(o: DataParallelOptions) {
    if (!torch.distributed.available()) {
      throw new Error('train: data-parallel training needs Gloo, and this build has none; install Debian\'s libgloo-dev (scripts/setup.sh does) and run `make native`');
    }
    torch.distributed.init(o);
    this.rank = o.rank;
    this.worldSize = o.worldSize;
  }

  get isLeader(): boolean {
    return this.rank === 0;
  }

  /** Runs a collective; a failure (a rank that died, stopped or timed out) names this rank and what it was doing. */
  private collective<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new Error(`rank ${this.rank} of ${this.worldSize} lost the other ranks during ${what} (did one stop or die?): ${(err as Error).message}`);
    }
  }

  /**
   * Makes every rank start from rank 0's weights and averages gradients before each of the model's optimiser steps;
   * with `syncBatchNorm`, every batch norm layer normalises with the statistics of all ranks' batches.
   */
  attach(model: TrainableModel, syncBatchNorm: boolean): void {
    if (syncBatchNorm) {
      synchroniseBatchNorm(model, (t, layer) => this.collective(`the batch norm statistics of ${layer}`, () => torch.distributed.sumOverRanks(t)));
    }
    for (const [name, opt] of model.optimizers()) {
      if (!(opt instanceof Optimizer)) throw new Error(`train: data-parallel training needs the model's optimisers to be reposer optimisers; '${name}' is not`);
      opt.gradientHook = (grads) => this.collective(`the gradient all-reduce of ${name}`, () => torch.distributed.allReduceMean(grads));
    }
  }

  /** True on every rank when any rank asks to stop, so that all ranks leave the loop at the same step. */
  anyStopping(local: boolean): boolean {
    return torch.scope(() => {
      const flag = torch.tensor([local ? 1 : 0]);
      this.collective('the end-of-step check', () => torch.distributed.allReduceMean([flag]));
      return (flag.item() as number) > 0;
    });
  }

  /** Every rank's generator state, gathered on rank 0 (keys as `rngKey`); null on the other ranks. The caller disposes. */
  gatherRngStates(): Map<string, torch.Tensor> | null {
    const own = torch.getRngState();
    const states = new Map<string, torch.Tensor>();
    for (let r = 0; r < this.worldSize; r++) {
      const buf = r === this.rank ? own : torch.zerosLike(own);
      this.collective('the checkpoint\'s generator-state gather', () => torch.distributed.broadcast([buf], r));
      states.set(rngKey(r), buf);
    }
    if (this.isLeader) return states;
    torch.dispose([...states.values()]);
    return null;
  }

  close(): void {
    torch.distributed.destroy();
  }
}
