// Runs inside a worker thread for worker.test.ts: loads the addon in a second Node environment and runs ops there.
import { parentPort, workerData } from 'node:worker_threads';
import * as torch from '../../../src/torch/index.js';
import { deterministicWork } from './work.js';

// flag[0]: 1 while computing, 2 when done, so the main thread can prove its ops overlapped the worker's.
const { mode, rounds, flag } = workerData as { mode: 'compute' | 'spin'; rounds: number; flag: Int32Array };
const port = parentPort;
if (!port) throw new Error('worker-ops.js must run in a worker thread');

if (mode === 'compute') {
  const before = torch.memory().numTensors;
  let result = 0;
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  for (let i = 0; i < rounds; i++) result = deterministicWork();
  Atomics.store(flag, 0, 2);
  port.postMessage({ result, leaked: torch.memory().numTensors - before, threads: torch.getNumThreads() });
} else {
  port.postMessage({ started: true });
  // Busy until terminated: terminate() must stop this cleanly even mid-op.
  for (;;) torch.scope(() => torch.randn([128, 128]).matmul(torch.randn([128, 128])).relu().sum());
}
