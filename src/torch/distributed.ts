// Data-parallel collectives over libtorch's c10d (Gloo): one process group per process. The trainer uses these to
// average gradients across ranks before each optimiser step (src/train/distributed.ts).
import { native as N } from './native.js';
import { Tensor } from './tensor.js';

export interface GroupOptions {
  /** `file:PATH` (ranks on one machine share the file) or `tcp:HOST:PORT` (rank 0 serves the store there). */
  store: string;
  rank: number;
  worldSize: number;
  /** How long a collective waits for the other ranks before it fails. Default 300 000 ms. */
  timeoutMs?: number;
}

/** Whether this build has Gloo (Debian's libgloo-dev at build time). */
export function available(): boolean {
  return N.distAvailable();
}

/** Joins the process group; returns once every rank has joined (or throws after the timeout). */
export function init(o: GroupOptions): void {
  if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new Error(`distributed.init: worldSize must be a positive integer, got ${o.worldSize}`);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new Error(`distributed.init: rank must be in 0..${o.worldSize - 1}, got ${o.rank}`);
  N.distInit(o.store, o.rank, o.worldSize, o.timeoutMs ?? 300_000);
}

/**
 * Replaces every tensor by its mean over the ranks, in place. Tensors travel in flat buckets of at most
 * `bucketBytes` (25 MB by default, as DDP's), all buckets in flight at once.
 */
export function allReduceMean(tensors: readonly Tensor[], bucketBytes = 25 * 2 ** 20): void {
  if (tensors.length > 0) N.distAllReduceMean(tensors.map((t) => t.handle), bucketBytes);
}

/**
 * A new tensor: `t` summed over the ranks. Differentiable: its backward sums the gradients over the ranks as well, as
 * the cross-rank terms of a synchronised batch norm's input gradient need. Every rank must call it in the same order.
 */
export function sumOverRanks(t: Tensor): Tensor {
  return new Tensor(N.distSumOverRanks(t.handle));
}

/** Every rank's tensors take rank `root`'s values, in place. */
export function broadcast(tensors: readonly Tensor[], root = 0): void {
  if (tensors.length > 0) N.distBroadcast(tensors.map((t) => t.handle), root);
}

export function barrier(): void {
  N.distBarrier();
}

/** Leaves the group (a later init may join another). */
export function destroy(): void {
  N.distDestroy();
}
