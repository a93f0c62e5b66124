// evaluate(): scores a folder of generated images against a dataset's test split under one named protocol.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import * as torch from '../torch/index.js';
import { openDataset, type Dataset } from '../data/index.js';
import { marketMask, packPoses } from '../pose/index.js';
import { listPredictions, padFashionToSquare, readRgb, type PredFile } from './images.js';
import { getProtocol, type MetricSpec, type Protocol, type ProtocolName } from './protocols.js';
import { ssim } from './ssim.js';

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
  /** Pairs decoded and scored at once (bounds memory). Default 64. */
  batchSize?: number;
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
    if (!(m in protocol.metrics)) {
      throw new Error(`metric '${m}' is not part of the '${protocol.name}' protocol; its metrics are ${Object.keys(protocol.metrics).join(', ')}`);
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
  const batchSize = options.batchSize ?? 64;
  const preds = listPredictions(options.pred);
  const dataset = await openDataset(options.data, { split });
  const targets = targetPaths(preds, dataset);
  const specs = Object.fromEntries(names.map((n) => [n, protocol.metrics[n] as MetricSpec]));
  const needMasks = names.some((n) => { const s = specs[n]!; return s.kind === 'ssim' && s.masked === true; });
  if (needMasks) {
    const missing = preds.find((p) => !dataset.annotations.has(p.to));
    if (missing) {
      throw new Error(`mask_ssim needs the target pose of ${missing.path}, but '${missing.to}' is not in ${dataset.annotationFile}; drop mask_ssim or annotate the image`);
    }
  }
  const sums: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
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
        for (const n of names) {
          sums[n]! += pixelMetric(specs[n]!, gen, target, protocol, masks).sum().item();
        }
      });
    } finally {
      genU8.dispose();
      targetU8.dispose();
    }
  }
  const metrics = Object.fromEntries(names.map((n) => [n, (sums[n] as number) / preds.length]));
  return {
    protocol: protocol.name,
    metrics,
    count: preds.length,
    settings: { source: protocol.source, resize: protocol.resize, padFashion: protocol.padFashion, split, metrics: specs },
  };
}
