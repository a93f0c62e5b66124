// The inference worker thread: holds the loaded models and runs one generation or animation at a time, so the
// server's event loop never blocks on libtorch. Messages: { id, request } in; { id, value } or { id, error } out.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { generateOne, loadModel, type LoadedModel } from '../generate/index.js';
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

/** Frames of one size stacked into one animated image; sharp reads them as pages of `height` rows. */
async function animate(frames: Buffer[], format: AnimationFormat, delayMs: number): Promise<Buffer> {
  const decoded = await Promise.all(frames.map((f) => sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  const { width, height } = (decoded[0] as (typeof decoded)[number]).info;
  const stacked = sharp(Buffer.concat(decoded.map((d) => d.data)), { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } });
  // GIF takes one delay per frame (a single number would set only the first).
  const delay = frames.map(() => delayMs);
  return format === 'gif' ? stacked.gif({ loop: 0, delay }).toBuffer() : stacked.webp({ loop: 0, delay, lossless: true }).toBuffer();
}

async function handle(request: WorkerRequest): Promise<Uint8Array | number> {
  switch (request.kind) {
    case 'load':
      model(request.runDir);
      return 0;
    case 'memory':
      return torch.memory().numTensors;
    case 'generate':
      return generateOne(model(request.runDir), { source: Buffer.from(request.source), sourcePose: request.sourcePose, targetPose: request.targetPose });
    case 'animate': {
      const loaded = model(request.runDir);
      const source = Buffer.from(request.source);
      const frames: Buffer[] = [];
      for (const targetPose of request.poses) frames.push(await generateOne(loaded, { source, sourcePose: request.sourcePose, targetPose }));
      return animate(frames, request.format, request.delayMs);
    }
  }
}

port.on('message', (msg: WorkerMessage) => {
  handle(msg.request).then(
    (value) => port.postMessage({ id: msg.id, value } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
