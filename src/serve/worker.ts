// The inference worker thread: holds the loaded models and runs one generation or animation at a time, so the
// server's event loop never blocks on libtorch. Messages: { id, request } in; { id, value } or { id, error } out.
import { parentPort } from 'node:worker_threads';
import * as torch from '../torch/index.js';
import { generate, generatePoses, loadModel, type LoadedModel, type PhotoParsing } from '../generate/index.js';
import { encodeAnimation, frameDelays } from '../apply/animate.js';
import { predictPhotoParsing, renderPhotoParsing, swapGarment, type ParsedPhoto } from '../apply/parsing.js';
import type { Pose } from '../pose/skeleton.js';

export type AnimationFormat = 'gif' | 'webp';

/** A photo with its pose and parsing map, as SPT's requests carry it. */
export interface ParsedSource {
  image: Uint8Array;
  pose: Pose;
  parsing: PhotoParsing;
}

export type WorkerRequest =
  | { kind: 'load'; runDir: string }
  | { kind: 'generate'; runDir: string; source: Uint8Array; sourcePose: Pose; targetPose: Pose; sourceParsing?: PhotoParsing }
  | { kind: 'animate'; runDir: string; source: Uint8Array; sourcePose: Pose; poses: Pose[]; format: AnimationFormat; delayMs: number; sourceParsing?: PhotoParsing }
  /** SPT's predicted target parsing: the labels at the source's size, one byte per pixel. */
  | { kind: 'parsing'; runDir: string; source: ParsedSource; targetPose: Pose }
  /** SPT's rendering of the source in the target pose to a given target parsing: a PNG. */
  | { kind: 'render'; runDir: string; source: ParsedSource; targetPose: Pose; targetParsing: PhotoParsing }
  /** The receiver wearing the donor's garment (labels): a PNG. */
  | { kind: 'swap'; runDir: string; donor: ParsedSource; receiver: ParsedSource; labels: number[] }
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

const photo = (s: ParsedSource): ParsedPhoto => ({ image: Buffer.from(s.image), pose: s.pose, parsing: s.parsing });

async function handle(request: WorkerRequest): Promise<Uint8Array | number> {
  switch (request.kind) {
    case 'load':
      model(request.runDir);
      return 0;
    case 'memory':
      return torch.memory().numTensors;
    case 'generate':
      return generate(model(request.runDir), {
        source: Buffer.from(request.source), sourcePose: request.sourcePose, targetPose: request.targetPose, sourceParsing: request.sourceParsing,
      });
    case 'animate': {
      const video = await generatePoses(model(request.runDir), {
        source: Buffer.from(request.source), sourcePose: request.sourcePose, targetPoses: request.poses, sourceParsing: request.sourceParsing,
      });
      return encodeAnimation(video, request.format, frameDelays(video.frames.length, 1000 / request.delayMs, request.format === 'gif' ? 10 : 1));
    }
    case 'parsing':
      return (await predictPhotoParsing(model(request.runDir), { source: photo(request.source), targetPose: request.targetPose })).labels;
    case 'render':
      return renderPhotoParsing(model(request.runDir), { source: photo(request.source), targetPose: request.targetPose, targetParsing: request.targetParsing });
    case 'swap':
      return swapGarment(model(request.runDir), { donor: photo(request.donor), receiver: photo(request.receiver), labels: request.labels });
  }
}

port.on('message', (msg: WorkerMessage) => {
  handle(msg.request).then(
    (value) => port.postMessage({ id: msg.id, value } satisfies WorkerReply),
    (err: unknown) => port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
