// `reposer serve` as a library: a fastify app over the pose editor's page (web/) and a small JSON API. Generation
// runs in one worker thread behind a bounded, coalescing queue.
//
//   GET  /api/models                 the models: name, family, frame, capabilities
//   GET  /api/examples               the shipped synthetic examples, as sources
//   POST /api/sources                upload (multipart field 'image'): the source with its pose, if one was found
//   GET  /api/sources/:id/image      a source's image
//   GET  /api/poses?source=ID        the pose library (named poses, the dataset's test poses) fitted to a source
//   POST /api/generate               one image (PNG) of the source in a pose; 204 when a newer pose replaced it
//   POST /api/animate                an animated GIF or WebP over a sequence of poses
//   POST /api/parsing                SPT: the target parsing map it predicts for the source in a pose (JSON labels)
//   POST /api/render                 SPT: the source in a pose rendered to a given (edited) target parsing (PNG)
//   POST /api/swap                   SPT: one person wearing another's garment (PNG)
//   GET  /api/health                 queue and memory figures
//
// SPT renders through the source's parsing map: the examples carry theirs, and so does an upload named as an image of
// the --data dataset when the dataset has parsing maps; other uploads have none (no human parser ships), so an SPT
// model refuses them with 422.
import { existsSync, realpathSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { isIP } from 'node:net';
import { basename, join, resolve, sep } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { openDataset } from '../data/index.js';
import type { Pose } from '../pose/skeleton.js';
import { parseAnnotationCsv } from '../data/index.js';
import { GARMENT_LABELS } from '../apply/parsing.js';
import { checkPhotoParsing, type PhotoParsing } from '../generate/index.js';
import { LABEL_NAMES } from '../synth/figure.js';
import { LABEL_PALETTE } from '../synth/grid.js';
import { InferenceWorker } from './inference.js';
import { findModels, type ServedModel } from './models.js';
import { fitPose, interpolatePoses, NAMED_POSES, namedPose, poseFromJson, poseToJson, type Frame } from './poses.js';
import { CoalescingQueue, QueueFullError } from './queue.js';
import { datasetParsing, HttpError, renderExamples, SourceStore, validateImage, type Source } from './sources.js';
import type { AnimationFormat, ParsedSource, WorkerRequest } from './worker.js';

/** Finds the pose of a person in a photo (pixels of that photo), or null when it sees nobody. */
export type PoseDetector = (image: Buffer) => Promise<Pose | null>;

export interface ServeLimits {
  /** Largest upload in bytes; default 8 MiB. */
  maxUploadBytes: number;
  /** Longest side of an upload in pixels; default 4096. */
  maxSide: number;
  /** Generations that may wait at once before requests get 503; default 8. */
  queueCapacity: number;
  /** Source images kept (oldest dropped first); default 32. */
  maxSources: number;
  /** Frames in one animation; default 120. */
  maxFrames: number;
  /** A request must arrive whole within this; default 30 s. A slow client then loses only its own request. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxUploadBytes: 8 << 20, maxSide: 4096, queueCapacity: 8, maxSources: 32, maxFrames: 120, requestTimeoutMs: 30_000,
};

export interface ServeOptions {
  /** A run directory, or a folder of run directories (one model each). */
  checkpoint: string;
  /** A dataset folder: its test split's poses join the library, and an upload named as one of its images takes that pose. */
  data?: string;
  /** Finds poses in uploads; without one, an unknown upload starts from a standing pose for the user to place. */
  detectPose?: PoseDetector;
  /** The page's folder; default web/ of this package. Nothing outside it is ever served. */
  staticRoot?: string;
  limits?: Partial<ServeLimits>;
  /** Synthetic examples rendered at startup; default 4. */
  examples?: number;
  /** Library poses taken from the dataset, evenly spaced; default 200. */
  libraryPoses?: number;
  logger?: boolean;
}

export const DEFAULT_STATIC_ROOT = resolve(import.meta.dirname, '..', '..', '..', 'web');

/** True for localhost and addresses in 127.0.0.0/8 or ::1, the hosts that do not expose the server to a network. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

const FORMATS: Record<AnimationFormat, string> = { gif: 'image/gif', webp: 'image/webp' };

interface GenerateBody { source?: unknown; model?: unknown; targetPose?: unknown; sourcePose?: unknown; client?: unknown; slot?: unknown }
interface AnimateBody extends GenerateBody {
  format?: unknown; delayMs?: unknown; poses?: unknown; keyframes?: unknown; between?: unknown; csv?: unknown; csvFrame?: unknown;
}
interface RenderBody extends GenerateBody { parsing?: unknown }
interface SwapBody { model?: unknown; donor?: unknown; receiver?: unknown; donorPose?: unknown; receiverPose?: unknown; labels?: unknown; client?: unknown }

/** SPT's labels as the page shows them: number, name and display colour (the synthetic world's palette). */
const PARSING_LEGEND = LABEL_NAMES.map((name, label) => ({
  label, name, color: `#${(LABEL_PALETTE[label] as readonly number[]).map((v) => v.toString(16).padStart(2, '0')).join('')}`,
}));
const GARMENTS = Object.values(GARMENT_LABELS).sort();

/** A parsing map as the page sends it ({ width, height, labels: base64, one byte per pixel }), checked against `s`. */
function parsingFromJson(value: unknown, s: Source, what: string): PhotoParsing {
  const v = value as { width?: unknown; height?: unknown; labels?: unknown } | null;
  if (!v || typeof v !== 'object' || typeof v.labels !== 'string' || !Number.isInteger(v.width) || !Number.isInteger(v.height)) {
    throw new HttpError(400, `${what} must be { width, height, labels }: the source's size and its labels 0..9 as base64, one byte per pixel, row by row`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.labels)) throw new HttpError(400, `${what}.labels is not base64; encode the label bytes (one per pixel) as base64`);
  const bytes = Buffer.from(v.labels, 'base64');
  const parsing = { width: v.width as number, height: v.height as number, labels: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  try {
    checkPhotoParsing(parsing, s, what);
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  return parsing;
}

function refuseWhenFull(reply: FastifyReply, err: unknown): never {
  if (err instanceof QueueFullError) void reply.header('Retry-After', String(err.retryAfterSeconds));
  throw err;
}

/** The app, ready to listen; closing it stops the worker. */
export async function createServer(o: ServeOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const models = findModels(o.checkpoint);
  const staticRoot = realpathSync(o.staticRoot ?? DEFAULT_STATIC_ROOT);
  const dataset = o.data ? await openDataset(o.data, { split: 'test' }) : null;
  const sources = new SourceStore(limits.maxSources);
  for (const e of await renderExamples(o.examples ?? 4, (models[0] as ServedModel).frame)) sources.add(e, { pinned: true });

  const worker = new InferenceWorker();
  // Each answer carries its compute time apart from its wait in the queue.
  const queue = new CoalescingQueue<WorkerRequest, { bytes: Buffer; ms: number }>(limits.queueCapacity, async (req) => {
    const started = performance.now();
    const bytes = await worker.bytes(req);
    return { bytes, ms: performance.now() - started };
  });
  // The first generation should not pay for loading the weights; a model that does not load stops the server here.
  try {
    await Promise.all(models.map((m) => worker.request({ kind: 'load', runDir: m.runDir })));
  } catch (err) {
    await worker.close();
    throw err;
  }

  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: 1 << 20,
    // requestTimeout bounds how long a request may take to arrive, not how long its answer takes to compute, so a
    // slow or stalled upload is cut off while a long animation is not. Node checks it every
    // connectionsCheckingInterval (30 s by default), hence the server built here.
    serverFactory: (handler) => createHttpServer({
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs / 2),
    }, handler),
  });
  app.addHook('onClose', () => worker.close());
  app.addHook('onSend', async (_req, reply) => {
    // The page loads only from this origin; images arrive as blobs.
    void reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'");
    void reply.header('X-Content-Type-Options', 'nosniff');
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof QueueFullError ? 503 : err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status === 413 && !(err instanceof HttpError)) {
      err = new HttpError(413, `the upload is over the limit of ${limits.maxUploadBytes} bytes; upload a smaller image`);
    }
    void reply.status(status).type('application/json').send({ error: err.message });
  });

  await app.register(fastifyMultipart, { limits: { fileSize: limits.maxUploadBytes, files: 1, fields: 4 } });
  await app.register(fastifyStatic, {
    root: staticRoot,
    index: 'index.html',
    // send() already refuses '..'; this also refuses a symlink whose target lies outside the folder.
    allowedPath: (pathName) => {
      const full = join(staticRoot, pathName);
      if (!existsSync(full)) return true;
      const real = realpathSync(full);
      return real === staticRoot || real.startsWith(staticRoot + sep);
    },
  });

  const model = (name: unknown): ServedModel => {
    const m = models.find((x) => x.name === name);
    if (!m) throw new HttpError(404, `no model '${String(name)}'; this server has ${models.map((x) => x.name).join(', ')}`);
    return m;
  };
  const describeSource = (s: Source): object => ({
    id: s.id, name: s.name, width: s.width, height: s.height, poseFrom: s.poseFrom, parsing: s.parsing !== null,
    pose: s.pose ? poseToJson(s.pose) : null,
    defaultPose: poseToJson(namedPose('standing', [s.height, s.width])),
  });
  const poseOrHttp = (value: unknown, what: string): Pose => {
    try {
      return poseFromJson(value, what);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
  };

  const sourcePoseOf = (s: Source, given: unknown): Pose => {
    if (given !== undefined && given !== null) return poseOrHttp(given, 'sourcePose');
    if (s.pose) return s.pose;
    throw new HttpError(422, `source '${s.name}' has no pose yet: place its skeleton on the photo (or send sourcePose)`);
  };
  /** The model for one of SPT's parsing features; any other family is refused, naming the models that can. */
  const parsingModel = (name: unknown, feature: string): ServedModel => {
    const m = model(name);
    if (m.capabilities.parsing) return m;
    const able = models.filter((x) => x.capabilities.parsing).map((x) => x.name);
    throw new HttpError(422, `model '${m.name}' is ${m.family}, which has no parsing maps; ${feature} needs an SPT model ` +
      `(${able.length ? `this server has ${able.join(', ')}` : 'this server has none: start it with an SPT run in --checkpoint'})`);
  };
  /** The source's parsing map for a model that renders through one (SPT); undefined for the others. */
  const parsingFor = (s: Source, m: ServedModel, role = 'source'): PhotoParsing | undefined => {
    if (!m.capabilities.parsing) return undefined;
    if (s.parsing) return s.parsing;
    throw new HttpError(422, `${role} '${s.name}' has no parsing map (no human parser ships with reposer: only the examples and images of the --data dataset have one); ` +
      `${m.name} is an SPT model, which renders through one: choose a synthetic example, or another model`);
  };
  const parsedSource = (s: Source, m: ServedModel, given: unknown, role: string): ParsedSource => ({
    image: s.image, pose: sourcePoseOf(s, given), parsing: parsingFor(s, m, role) as PhotoParsing,
  });
  // A client's panel (its model slot, or one SPT tool) coalesces: only its newest request waits.
  const clientKey = (client: unknown, slot: string): string | null => (typeof client === 'string' ? `${client}/${slot}` : null);
  /** Queues a request; null when a newer one with the same key replaced it (the route answers 204). */
  const compute = async (reply: FastifyReply, key: string | null, request: WorkerRequest): Promise<{ bytes: Buffer; ms: number; queueMs: number } | null> => {
    const started = performance.now();
    const outcome = await queue.submit(key, request).catch((err: unknown) => refuseWhenFull(reply, err));
    if (outcome.kind === 'superseded') return null;
    return { ...outcome.value, queueMs: performance.now() - started - outcome.value.ms };
  };
  const sendPng = (reply: FastifyReply, r: { bytes: Buffer; ms: number; queueMs: number }): FastifyReply =>
    reply.type('image/png').header('Cache-Control', 'no-store').header('X-Generation-Ms', r.ms.toFixed(0)).header('X-Queue-Ms', r.queueMs.toFixed(0)).send(r.bytes);
  app.get('/api/models', async () => models.map(({ name, family, frame, capabilities }) => ({ name, family, frame, capabilities })));

  app.get('/api/examples', async () => sources.pinnedSources().map(describeSource));

  app.post('/api/sources', async (req) => {
    if (!req.isMultipart()) throw new HttpError(406, "upload the image as multipart/form-data in a field named 'image'");
    const file = await req.file();
    if (!file) throw new HttpError(400, "the upload has no file; send the image in a field named 'image'");
    const image = await file.toBuffer();
    const name = basename(file.filename || 'upload');
    const { width, height, mime } = await validateImage(image, { maxBytes: limits.maxUploadBytes, maxSide: limits.maxSide }, `'${name}'`);
    let pose: Pose | null = null;
    let poseFrom: Source['poseFrom'] = null;
    if (o.detectPose) {
      pose = await o.detectPose(image);
      if (pose) poseFrom = 'detector';
    }
    const known = dataset?.annotations.get(name);
    if (!pose && known && dataset) {
      pose = fitPose(known.pose, dataset.frame, [height, width]);
      poseFrom = 'annotation';
    }
    // A dataset image also brings its parsing map, if the dataset has one, so that SPT can render it.
    const parsing = known && dataset ? await datasetParsing(dataset, name, [height, width]) : null;
    return describeSource(sources.add({ name, image, mime, width, height, pose, poseFrom, parsing }));
  });

  app.get<{ Params: { id: string } }>('/api/sources/:id/image', async (req, reply) => {
    const s = sources.get(req.params.id);
    return reply.type(s.mime).header('Cache-Control', 'private, max-age=3600').send(s.image);
  });

  const libraryPoses = (() => {
    if (!dataset) return [];
    const rows = [...dataset.annotations.values()];
    const n = Math.min(rows.length, o.libraryPoses ?? 200);
    return Array.from({ length: n }, (_, i) => rows[Math.floor((i * rows.length) / n)] as (typeof rows)[number]);
  })();
  app.get<{ Querystring: { source?: string } }>('/api/poses', async (req) => {
    const s = sources.get(req.query.source);
    const to: Frame = [s.height, s.width];
    return {
      named: NAMED_POSES.map((name) => ({ name, pose: poseToJson(namedPose(name, to)) })),
      dataset: libraryPoses.map((r) => ({ name: r.name, pose: poseToJson(fitPose(r.pose, (dataset as { frame: Frame }).frame, to)) })),
    };
  });

  app.post<{ Body: GenerateBody }>('/api/generate', async (req, reply) => {
    const b = req.body ?? {};
    const m = model(b.model);
    const s = sources.get(b.source);
    const request: WorkerRequest = {
      kind: 'generate', runDir: m.runDir, source: s.image, sourcePose: sourcePoseOf(s, b.sourcePose), targetPose: poseOrHttp(b.targetPose, 'targetPose'),
      sourceParsing: parsingFor(s, m),
    };
    const r = await compute(reply, clientKey(b.client, String(b.slot ?? m.name)), request);
    return r ? sendPng(reply, r) : reply.status(204).send();
  });

  app.post<{ Body: GenerateBody }>('/api/parsing', async (req, reply) => {
    const b = req.body ?? {};
    const m = parsingModel(b.model, 'the parsing map');
    const s = sources.get(b.source);
    const request: WorkerRequest = { kind: 'parsing', runDir: m.runDir, source: parsedSource(s, m, b.sourcePose, 'source'), targetPose: poseOrHttp(b.targetPose, 'targetPose') };
    const r = await compute(reply, clientKey(b.client, 'parsing'), request);
    if (!r) return reply.status(204).send();
    return reply.header('Cache-Control', 'no-store').header('X-Generation-Ms', r.ms.toFixed(0))
      .send({ width: s.width, height: s.height, labels: r.bytes.toString('base64'), legend: PARSING_LEGEND });
  });

  app.post<{ Body: RenderBody }>('/api/render', async (req, reply) => {
    const b = req.body ?? {};
    const m = parsingModel(b.model, 'rendering to a parsing map');
    const s = sources.get(b.source);
    const source = parsedSource(s, m, b.sourcePose, 'source');
    const request: WorkerRequest = {
      kind: 'render', runDir: m.runDir, source, targetPose: poseOrHttp(b.targetPose, 'targetPose'), targetParsing: parsingFromJson(b.parsing, s, 'parsing'),
    };
    const r = await compute(reply, clientKey(b.client, 'render'), request);
    return r ? sendPng(reply, r) : reply.status(204).send();
  });

  app.post<{ Body: SwapBody }>('/api/swap', async (req, reply) => {
    const b = req.body ?? {};
    const m = parsingModel(b.model, 'the garment swap');
    const labels = b.labels ?? [3];
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => GARMENTS.includes(l as number))) {
      throw new HttpError(400, `labels must be a list of garment labels: ${GARMENTS.map((l) => `${l} ${LABEL_NAMES[l]}`).join(', ')}`);
    }
    const receiver = sources.get(b.receiver);
    const donor = sources.get(b.donor);
    const request: WorkerRequest = {
      kind: 'swap', runDir: m.runDir, labels: labels as number[],
      donor: parsedSource(donor, m, b.donorPose, 'donor'), receiver: parsedSource(receiver, m, b.receiverPose, 'receiver'),
    };
    const r = await compute(reply, clientKey(b.client, 'swap'), request);
    return r ? sendPng(reply, r) : reply.status(204).send();
  });

  app.post<{ Body: AnimateBody }>('/api/animate', async (req, reply) => {
    const b = req.body ?? {};
    const m = model(b.model);
    const s = sources.get(b.source);
    const format = (b.format ?? 'gif') as AnimationFormat;
    if (!(format in FORMATS)) throw new HttpError(400, `format '${String(b.format)}' is not gif or webp`);
    const delayMs = b.delayMs ?? 100;
    if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 20 || delayMs > 5000) {
      throw new HttpError(400, `delayMs must be an integer number of milliseconds in 20..5000, got ${JSON.stringify(delayMs)}`);
    }
    let poses: Pose[];
    if (b.csv !== undefined) {
      // An annotation CSV's poses are in its dataset's frame (default the model's), placed on the photo like a letterbox.
      if (typeof b.csv !== 'string') throw new HttpError(400, 'csv must be the text of an annotation CSV (name:keypoints_y:keypoints_x)');
      const from = (b.csvFrame ?? m.frame) as Frame;
      if (!Array.isArray(from) || from.length !== 2 || !from.every((v) => Number.isInteger(v) && v > 0)) {
        throw new HttpError(400, 'csvFrame must be [height, width] in pixels of the frame the CSV was annotated in');
      }
      try {
        poses = parseAnnotationCsv(b.csv, 'the annotation CSV').map((r) => fitPose(r.pose, from, [s.height, s.width]));
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
    } else if (b.keyframes !== undefined) {
      if (!Array.isArray(b.keyframes) || b.keyframes.length < 2) throw new HttpError(400, 'keyframes must be a list of at least 2 poses');
      const between = b.between ?? 8;
      if (typeof between !== 'number' || !Number.isInteger(between) || between < 0) throw new HttpError(400, 'between must be a non-negative integer');
      poses = interpolatePoses(b.keyframes.map((k, i) => poseOrHttp(k, `keyframes[${i}]`)), between);
    } else if (Array.isArray(b.poses)) {
      poses = b.poses.map((p, i) => poseOrHttp(p, `poses[${i}]`));
    } else {
      throw new HttpError(400, 'give the animation as poses (a list of poses), keyframes (+ between), or csv (an annotation CSV)');
    }
    if (poses.length < 2 || poses.length > limits.maxFrames) {
      throw new HttpError(400, `an animation has 2..${limits.maxFrames} frames; these settings give ${poses.length}`);
    }
    const request: WorkerRequest = {
      kind: 'animate', runDir: m.runDir, source: s.image, sourcePose: sourcePoseOf(s, b.sourcePose), poses, format, delayMs, sourceParsing: parsingFor(s, m),
    };
    const outcome = await queue.submit(null, request).catch((err: unknown) => refuseWhenFull(reply, err));
    if (outcome.kind !== 'done') throw new Error('an animation was superseded, which only keyed requests can be');
    return reply.type(FORMATS[format]).header('Content-Disposition', `attachment; filename="reposer-${m.name.replace(/[^\w.-]/g, '_')}.${format}"`)
      .header('X-Frames', String(poses.length)).header('X-Generation-Ms', outcome.value.ms.toFixed(0)).send(outcome.value.bytes);
  });

  app.get('/api/health', async () => ({
    queue: queue.snapshot(),
    sources: sources.size,
    workerTensors: await worker.request({ kind: 'memory' }),
    rssBytes: process.memoryUsage().rss,
  }));

  return app;
}
