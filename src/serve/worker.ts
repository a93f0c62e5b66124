// The inference worker thread: holds the loaded models and runs one generation or animation at a time, so the
// server's event loop never blocks on libtorch. Messages: { id, request } in; { id, value } or { id, error } out.
import { parentPort } from 'node:worker_threads';
import * as torch from '../torch/index.js';
import { generate, generatePoses, loadModel, type LoadedModel } from '../generate/index.js';
import { encodeAnimation, frameDelays } from '../apply/animate.js';
import type { Pose } from '../pose/skeleton.js';

export type AnimationFormat = 'gif' | 'webp';

export type WorkerRequest =
  | { kind: 'load'; runDir: string }
  | { kind: 'generate'; runDir: string; source: Uint8Array; sourcePose: Pose; targetPose: Pose }
  | { kind: 'animate'; runDir: string; source: Uint8Array; sourcePose: Pose; poses: Pose[]; format: AnimationFormat; delayMs: number }
  | { kind: 'memory' };

export type WorkerMessage = { id: number; request: WorkerRequest };
export type WorkerReply = { id: number; value: Uint8Array | number } | { id: number; error: string };

if (!parentPort) throw new Error('serve/worker.js runs as the worker thread of reposer serve');
const port = parentPort;
const models = new Map<string, LoadedModel>();

function model(runDir: string): LoadedModel {
  let loaded = models.get(runDir);
  if (!loaded) {
    loaded = loadModel(runDir, { notice: (line) => console.warn(line) });
    models.set(runDir, loaded);
  }
  return loaded;
}

async function handle(request: WorkerRequest): Promise<Uint8Array | number> {
  switch (request.kind) {
    case 'load':
      model(request.runDir);
      return 0;
    case 'memory':
      return torch.memory().numTensors;
    case 'generate':
      return generate(model(request.runDir), { source: Buffer.from(request.source), sourcePose: request.sourcePose, targetPose: request.targetPose });
    case 'animate': {
      const video = await generatePoses(model(request.runDir), { source: Buffer.from(request.source), sourcePose: request.sourcePose, targetPoses: request.poses });
      return encodeAnimation(video, request.format, frameDelays(video.frames.length, 1000 / request.delayMs, request.format === 'gif' ? 10 : 1));
    }
  }
}

port.on('message', (msg: WorkerMessage) => {
  handle(msg.request).then(
    (value) => port.postMessage({ id: msg.id, value } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
