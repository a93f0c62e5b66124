import { native as N } from './native.js';

/** Seeds libtorch's default generator (randn, rand, randint, dropout, normal_ ...), as torch.manual_seed. */
export function manualSeed(seed: number): void {
  N.manualSeed(seed);
}

/** Intra-op threads. Set at load from the cores present, or from REPOSER_THREADS. */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`setNumThreads: need a positive integer, got ${threads}`);
  N.setNumThreads(threads);
}

export function getNumThreads(): number {
  return N.getNumThreads();
}

export function cudaAvailable(): boolean {
  return N.cudaDeviceCount() > 0;
}

export function cudaDeviceCount(): number {
  return N.cudaDeviceCount();
}

/** The libtorch version the addon was built against. */
export function libtorchVersion(): string {
  return N.version();
}
