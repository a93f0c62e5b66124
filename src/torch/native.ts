// Loads the addon built by `make native`. Everything native goes through this one object.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Entry points written by hand in native/core.cc; the op entry points come from the op table. */
export interface NativeCore {
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number): number;
  copyToBuffer(handle: number, out: ArrayBufferView): void;
  dispose(handle: number): void;
  disposeIfLive(handle: number): void;
  memory(): { numTensors: number; numBytes: number; numSlots: number };
  info(handle: number): [number[], number, string];
  backward(handle: number, gradient: number | null, retainGraph: boolean, createGraph: boolean): void;
  autogradGrad(outputs: number[], inputs: number[], gradOutputs: (number | null)[], retainGraph: boolean,
    createGraph: boolean, allowUnused: boolean): number[];
  getGrad(handle: number): number;
  setGrad(handle: number, grad: number | null): void;
  setRequiresGrad(handle: number, requiresGrad: boolean): void;
  requiresGrad(handle: number): boolean;
  setGradEnabled(enabled: boolean): boolean;
  manualSeed(seed: number): void;
  getRngState(): number;
  setRngState(state: number): void;
  setNumThreads(threads: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  item(handle: number): number | boolean;
  version(): string;
  autocastState(device: 'cpu' | 'cuda'): [boolean, number];
  autocastEnter(device: 'cpu' | 'cuda', enabled: boolean, dtype: number): [boolean, number];
  autocastExit(device: 'cpu' | 'cuda', enabled: boolean, dtype: number): void;
  cudaBf16Supported(): boolean;
  distInit(store: string, rank: number, worldSize: number, timeoutMs: number): void;
  distAllReduceMean(handles: number[], bucketBytes: number): void;
  distSumOverRanks(handle: number): number;
  distBroadcast(handles: number[], root: number): void;
  distBarrier(): void;
  distDestroy(): void;
  distAvailable(): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OpEntry = (...args: any[]) => any;
export type Native = NativeCore & Record<string, OpEntry>;

/** The repository root: the nearest folder above this file that holds package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'reposer') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the reposer package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function load(): Native {
  // libgomp's threads spin for ~300k iterations before sleeping. When the cores are shared (a loader worker, other
  // processes) that spinning starves the thread doing real work: a training step measured 4-6x slower with 2 threads
  // than with 1 on a loaded 2-core machine. A short spin keeps the quiet-machine speed and removes the collapse.
  // libgomp reads this when it loads, which is when the addon below is opened; an explicit setting wins.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
    process.env.GOMP_SPINCOUNT = '10000';
  }
  const path = process.env.REPOSER_ADDON ?? join(projectRoot(), 'build', 'reposer.node');
  if (!existsSync(path)) {
    throw new Error(`the native addon is not built: ${path} is missing. Run 'make setup' (or 'make native') in ${projectRoot()}.`);
  }
  const require = createRequire(import.meta.url);
  return require(path) as Native;
}

export const native: Native = load();
