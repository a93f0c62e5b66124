// A loader worker thread: builds batches (decode with sharp, pose tensors with libtorch) and posts them back as
// transferable typed arrays. Messages: { id, spec } in; { id, raw } or { id, error } out.
import { parentPort } from 'node:worker_threads';
import * as torch from '../torch/index.js';
import { batchToRaw, buildBatch, rawTransferList, type BatchSpec } from './batch.js';

// One intra-op thread per worker (the setting is per thread under OpenMP, so the trainer's thread keeps its own):
// the loader scales by workers, and does not fight the training step for cores.
torch.setNumThreads(Number(process.env.REPOSER_LOADER_THREADS ?? 1));

if (!parentPort) throw new Error('loader-worker.js runs as a worker thread of the data loader');
const port = parentPort;

port.on('message', (msg: { id: number; spec: BatchSpec }) => {
  buildBatch(msg.spec).then((batch) => {
    const raw = batchToRaw(batch);
    port.postMessage({ id: msg.id, raw }, rawTransferList(raw));
  }, (err: unknown) => {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  });
});
