import { native as N } from './native.js';
import { wrap, type Tensor } from './tensor.js';

/** Seeds libtorch's default generator (randn, rand, randint, dropout, normal_ ...), as torch.manual_seed. */
export function manualSeed(seed: number): void {
  N.manualSeed(seed);
}

/**
 * The default CPU generator's state, a uint8 tensor the caller owns (torch.get_rng_state()): saved in checkpoints
 * so that a resumed run draws the same dropout masks and samples as an uninterrupted one.
 */
export function getRngState(): Tensor {
  return wrap(N.getRngState());
}

/** Restores a state from getRngState() (torch.set_rng_state()). */
export function setRngState(state: Tensor): void {
  if (state.dtype !== 'uint8' || state.ndim !== 1) {
    throw new Error(`setRngState: expected the 1-D uint8 tensor getRngState() returns, got ${state.dtype} [${state.shape.join(',')}]`);
  }
  N.setRngState(state.handle);
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
