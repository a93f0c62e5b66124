// evaluate(): scores a folder of generated images against a dataset's test split under one named protocol.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import * as torch from '../torch/index.js';
import { openDataset, type Dataset } from '../data/index.js';
import { marketMask, packPoses } from '../pose/index.js';
import { listPredictions, padFashionToSquare, readRgb, type PredFile } from './images.js';
import { SYNTH_METRICS, getProtocol, metricSpec, type MetricSpec, type Protocol, type ProtocolName } from './protocols.js';
import { evaluateFlows } from './flow.js';
import { ssim } from './ssim.js';
import { InceptionV3, inceptionScore, prepareInceptionInput } from './inception.js';
import { frechetDistance, gaussianStats } from './linalg.js';
import { Lpips } from './lpips.js';
import { WEIGHTS_DIR } from './weights.js';
import { IMAGE_EXTENSIONS } from '../data/index.js';
import { detectionMetrics } from './detection.js';
import { readdirSync } from 'node:fs';
import { extname } from 'node:path';

export interface EvaluateOptions {
  /** Folder of generated images named `<from>___<to>.png` (or .jpg), one per test pair. */
  pred: string;
  /** Dataset folder as `openDataset` opens it; the target of `<from>___<to>.png` is its image `<to>`. */
  data: string;
  protocol: ProtocolName | string;
  /** Metric names of the protocol (see PROTOCOLS[protocol].metrics); default PROTOCOLS[protocol].defaults. */
  metrics?: string[];
  /** The dataset split the targets come from. Default 'test'. */
  split?: string;
  /** Pairs decoded and scored at once (bounds memory). Default 32. */
  batchSize?: number;
  /** Folder holding the weight files (see WEIGHT_FILES). Default WEIGHTS_DIR ('weights'). */
  weights?: string;
  /**
   * FID's real images: a folder whose .png/.jpg images are all used. Default: the images the dataset's 'train'
   * split annotates (what the protocols' scripts use).
   */
  fidReference?: string;
}

/** What `evaluate` returns; plain data, JSON-serialisable. */
export interface EvalResult {
  protocol: ProtocolName;
  /** Metric name -> value, the mean over all pairs (for FID and IS, the score of the whole set). */
  metrics: Record<string, number>;
  /** Number of generated images scored. */
  count: number;
  /** The settings used: the protocol's source, resize rule and each metric's spec. */
  settings: { source: string; resize: Protocol['resize']; padFashion: boolean; split: string; metrics: Record<string, MetricSpec> };
}

/** Picks the metrics to compute, or throws naming an unknown one and the protocol's list. */
export function resolveMetrics(protocol: Protocol, names: string[] | undefined): string[] {
  const chosen = names ?? protocol.defaults;
  if (chosen.length === 0) throw new Error(`evaluate: no metric asked for; pick from ${Object.keys(protocol.metrics).join(', ')}`);
  for (const m of chosen) {
    if (!metricSpec(protocol, m)) {
      throw new Error(`metric '${m}' is not part of the '${protocol.name}' protocol; its metrics are ${Object.keys(protocol.metrics).join(', ')} ` +
        `(and on synthetic data ${Object.keys(SYNTH_METRICS).join(', ')})`);
    }
  }
  return [...new Set(chosen)];
}

/** The dataset image of each prediction's target, or an error naming the first missing one. */
function targetPaths(preds: PredFile[], dataset: Dataset): string[] {
  const dir = dataset.imageDir as string;
  return preds.map((p) => {
    const path = join(dir, p.to);
    if (!existsSync(path)) {
      throw new Error(`generated image ${p.path} targets '${p.to}', which is not in ${dir}; check that the images were generated for this dataset's '${dataset.split}' split`);
    }
    return path;
  });
}

/**
 * Brings a batch of generated images to the targets' size as the protocol says.
 * @param gen (N,3,h,w) uint8; targets (N,3,H,W) uint8
 * @returns (N,3,H,W) float32 in 0..255; the caller owns it
 */
function matchSize(gen: torch.Tensor, target: torch.Tensor, protocol: Protocol, first: PredFile): torch.Tensor {
  const [gh, gw] = [gen.shape[2] as number, gen.shape[3] as number];
  const [th, tw] = [target.shape[2] as number, target.shape[3] as number];
  if (gh === th && gw === tw) return gen.to('float32');
  if (protocol.resize === 'exact') {
    throw new Error(`generated image ${first.path} is ${gh}x${gw} but its target is ${th}x${tw}; the '${protocol.name}' protocol ` +
      `scores images at the target's size: save them at ${th}x${tw}`);
  }
  return torch.interpolate(gen.to('float32'), { size: [th, tw], mode: 'bilinear', alignCorners: false });
}

/** Decodes a batch of files (all one size) as (N,3,H,W) uint8, naming the first file of another size. */
async function readBatch(paths: string[]): Promise<torch.Tensor> {
  const images = await Promise.all(paths.map((p) => readRgb(p)));
  try {
    const shape = images[0]!.shape.join('x');
    const odd = images.findIndex((t) => t.shape.join('x') !== shape);
    if (odd >= 0) {
      throw new Error(`image ${paths[odd]} is ${images[odd]!.shape.slice(1).join('x')}, but ${paths[0]} is ${images[0]!.shape.slice(1).join('x')}; ` +
        'every image of one evaluation must have one size');
    }
    return torch.stack(images);
  } finally {
    torch.dispose(images);
  }
}

/** Per-pair values of one pixel metric for a batch. gen and target: (N,3,H,W) float32 in 0..255. Returns (N) float64. */
function pixelMetric(spec: MetricSpec, gen: torch.Tensor, target: torch.Tensor, protocol: Protocol, masks: torch.Tensor | null): torch.Tensor {
  return torch.scope(() => {
    if (spec.kind === 'l1') {
      const scale = spec.scale === 'pm1' ? 2 / 255 : 1 / 255;
      return gen.to('float64').sub(target.to('float64')).abs().mul(scale).mean([1, 2, 3]);
    }
    if (spec.kind !== 'ssim') throw new Error(`pixelMetric: ${spec.kind} is not a per-pair pixel metric`);
    let g = gen;
    let t = target;
    if (spec.scale === 'uint8') {
      // The scripts score uint8 arrays; a resized image is rounded back to uint8 as the saved file would be.
      g = g.round().clamp(0, 255);
      if (spec.masked) {
        if (!masks) throw new Error('mask_ssim needs the target poses, which were not read');
        g = g.mul(masks);
        t = t.mul(masks);
      }
      if (protocol.padFashion && g.shape[3] === 176) {
        g = padFashionToSquare(g.to('uint8'));
        t = padFashionToSquare(t.to('uint8'));
      }
      return ssim(g, t, spec.options);
    }
    return ssim(g.div(255), t.div(255), spec.options);
  });
}

/**
 * Scores the generated images of `pred` against their targets in `data` under a named protocol.
 *
 * Every generated image `<from>___<to>.png` is compared with the dataset image `<to>` of the split (default 'test').
 * Generated images must have the target's size unless the protocol resizes (PIDM: bilinear to the target's size).
 * Throws, naming the file or metric and what to do, on a missing folder or target, an empty folder, a size mismatch
 * or a metric the protocol does not define.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvalResult> {
  const protocol = getProtocol(options.protocol);
  const names = resolveMetrics(protocol, options.metrics);
  const split = options.split ?? 'test';
  const batchSize = options.batchSize ?? 32;
  const preds = listPredictions(options.pred);
  const dataset = await openDataset(options.data, { split });
  const targets = targetPaths(preds, dataset);
  const specs = Object.fromEntries(names.map((n) => [n, metricSpec(protocol, n) as MetricSpec]));
  const needMasks = names.some((n) => { const s = specs[n]!; return s.kind === 'ssim' && s.masked === true; });
  if (needMasks) {
    const missing = preds.find((p) => !dataset.annotations.has(p.to));
    if (missing) {
      throw new Error(`mask_ssim needs the target pose of ${missing.path}, but '${missing.to}' is not in ${dataset.annotationFile}; drop mask_ssim or annotate the image`);
    }
  }
  const pixelNames = names.filter((n) => specs[n]!.kind === 'ssim' || specs[n]!.kind === 'l1');
  const sums: Record<string, number> = Object.fromEntries(pixelNames.map((n) => [n, 0]));
  const nets = loadNetworks(names.map((n) => specs[n]!), protocol, options.weights ?? WEIGHTS_DIR);
  const lpipsName = names.find((n) => specs[n]!.kind === 'lpips');
  let lpipsSum = 0;
  const fidFeatures: torch.Tensor[] = [];
  const logits: torch.Tensor[] = [];
  for (let start = 0; start < preds.length; start += batchSize) {
    const batch = preds.slice(start, start + batchSize);
    const genU8 = await readBatch(batch.map((p) => p.path));
    const targetU8 = await readBatch(targets.slice(start, start + batchSize)).catch((err: unknown) => { genU8.dispose(); throw err; });
    try {
      torch.scope(() => {
        const gen = matchSize(genU8, targetU8, protocol, batch[0]!);
        const target = targetU8.to('float32');
        let masks: torch.Tensor | null = null;
        if (needMasks) {
          const poses = packPoses(batch.map((p) => dataset.annotations.get(p.to)!.pose));
          const frame = [target.shape[2], target.shape[3]] as [number, number];
          masks = marketMask(torch.tensor(poses, [batch.length, 18, 2]), frame);
        }
        for (const n of pixelNames) {
          sums[n]! += pixelMetric(specs[n]!, gen, target, protocol, masks).sum().item();
        }
        if (nets.lpips) lpipsSum += nets.lpips.forward(gen.div(127.5).sub(1), target.div(127.5).sub(1)).sum().item();
        if (nets.fid) fidFeatures.push(nets.fid.forward(prepareInceptionInput(gen.div(255), protocol.inception)).pool.keep());
        if (nets.is) logits.push(nets.is.forward(prepareInceptionInput(gen.div(255), 'minus-one-to-one')).logits.keep());
      });
    } finally {
      genU8.dispose();
      targetU8.dispose();
    }
  }
  const metrics: Record<string, number> = Object.fromEntries(pixelNames.map((n) => [n, (sums[n] as number) / preds.length]));
  try {
    const flowName = names.find((n) => specs[n]!.kind === 'flow-epe');
    if (flowName) Object.assign(metrics, await evaluateFlows(flowName, preds, options.pred, options.data, split));
    Object.assign(metrics, await detectionMetrics(names, specs, preds, dataset));
    if (lpipsName) metrics[lpipsName] = lpipsSum / preds.length;
    const isName = names.find((n) => specs[n]!.kind === 'is');
    if (isName && nets.is) {
      const spec = specs[isName] as Extract<MetricSpec, { kind: 'is' }>;
      const score = torch.scope(() => inceptionScore(torch.cat(logits, 0), spec.splits));
      metrics[isName] = score.mean;
      metrics[`${isName}_std`] = score.std;
    }
    const fidName = names.find((n) => specs[n]!.kind === 'fid');
    if (fidName && nets.fid) {
      const reference = await referenceImages(options, dataset);
      const real = await inceptionFeatures(nets.fid, reference, protocol, dataset.frame, batchSize);
      metrics[fidName] = torch.scope(() => {
        const generated = gaussianStats(torch.cat(fidFeatures, 0));
        const stats = gaussianStats(real);
        real.dispose();
        return frechetDistance(stats, generated);
      });
    }
  } finally {
    torch.dispose([fidFeatures, logits]);
    nets.lpips?.dispose();
    nets.fid?.dispose();
    nets.is?.dispose();
  }
  return {
    protocol: protocol.name,
    metrics,
    count: preds.length,
    settings: { source: protocol.source, resize: protocol.resize, padFashion: protocol.padFashion, split, metrics: specs },
  };
}

interface Networks { lpips?: Lpips; fid?: InceptionV3; is?: InceptionV3 }

/** The networks the chosen metrics need, loaded from the weights folder (a missing file is an error naming it). */
function loadNetworks(specs: MetricSpec[], protocol: Protocol, dir: string): Networks {
  const nets: Networks = {};
  try {
    if (specs.some((s) => s.kind === 'lpips')) nets.lpips = Lpips.fromWeights(dir);
    // FID: torchvision's network in every protocol that reports it (GFLA, PIDM and CFLD build theirs from
    // torchvision's weights); IS: the 2015-12-05 graph PATN's TensorFlow script scores with.
    if (specs.some((s) => s.kind === 'fid')) nets.fid = InceptionV3.fromWeights('torchvision', dir);
    if (specs.some((s) => s.kind === 'is')) nets.is = InceptionV3.fromWeights('fid', dir);
  } catch (err) {
    nets.lpips?.dispose();
    nets.fid?.dispose();
    throw new Error(`the '${protocol.name}' protocol's ${specs.map((s) => s.kind).join(', ')} metrics cannot start: ${(err as Error).message}`);
  }
  return nets;
}

/** FID's real images: every image of `fidReference`, or the images the train split annotates. */
async function referenceImages(options: EvaluateOptions, test: Dataset): Promise<string[]> {
  if (options.fidReference) {
    const dir = options.fidReference;
    let files: string[];
    try {
      files = readdirSync(dir).sort().filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()));
    } catch (err) {
      throw new Error(`FID reference folder ${dir} cannot be read (${(err as Error).message}); pass a folder of real images`);
    }
    if (files.length < 2) throw new Error(`FID reference folder ${dir} holds ${files.length} image(s); FID needs at least 2 real images`);
    return files.map((f) => join(dir, f));
  }
  let train: Dataset;
  try {
    train = await openDataset(options.data, { split: 'train' });
  } catch (err) {
    throw new Error(`FID compares with the real images of the train split, which cannot be opened: ${(err as Error).message}; ` +
      'or pass fidReference, a folder of real images');
  }
  const dir = train.imageDir as string;
  const paths = [...train.annotations.keys()].sort().map((n) => join(dir, n)).filter((p) => existsSync(p));
  if (paths.length < 2) {
    throw new Error(`FID needs the train split's real images, but ${dir} holds ${paths.length} of those ${train.annotationFile} names; ` +
      `add them or pass fidReference (test frame ${test.frame.join('x')})`);
  }
  return paths;
}

/**
 * Pool3 features of real images, resized to the test frame first when the protocol resizes (PIDM's cv2.resize of its
 * real_path images).
 * @returns (N,2048) float32; the caller owns it
 */
async function inceptionFeatures(net: InceptionV3, paths: string[], protocol: Protocol, frame: readonly [number, number], batchSize: number): Promise<torch.Tensor> {
  const parts: torch.Tensor[] = [];
  try {
    for (let start = 0; start < paths.length; start += batchSize) {
      const images = await readBatch(paths.slice(start, start + batchSize));
      try {
        parts.push(torch.scope(() => {
          let x = images.to('float32');
          const sameFrame = x.shape[2] === frame[0] && x.shape[3] === frame[1];
          if (protocol.resize === 'bilinear' && !sameFrame) {
            x = torch.interpolate(x, { size: [frame[0], frame[1]], mode: 'bilinear', alignCorners: false });
          }
          return net.forward(prepareInceptionInput(x.div(255), protocol.inception)).pool;
        }).keep());
      } finally {
        images.dispose();
      }
    }
    return torch.cat(parts, 0);
  } finally {
    torch.dispose(parts);
  }
}
