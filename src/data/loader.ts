// The pair loader: shuffled, batched, deterministic for a seed, with decoding and pose tensors in worker threads and
// batches prefetched ahead of the consumer.
//
//   const ds = await openDataset('data/market', { split: 'train' });
//   const loader = new PairLoader(ds, { batchSize: 8, seed: 1, workers: 2 });
//   for await (const batch of loader.batches(epoch)) { ...; torch.dispose(batch); }
//   await loader.close();
//
// Determinism: the order of pairs in an epoch is a seeded shuffle (seed, epoch), and batch b's augmentation is
// seeded by (seed, epoch, b), so a batch's contents do not depend on the worker that built it or on timing.
import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBatch, rawToBatch, type BatchFeatures, type BatchItem, type BatchSpec, type LoaderBatch, type RawBatch } from './batch.js';
import type { Frame } from '../pose/heatmaps.js';
import type { Pose } from '../pose/skeleton.js';
import { imagePath, parsingPath, type Dataset } from './layouts.js';
import { deriveSeed, mulberry32, shuffled } from '../random.js';

export interface LoaderOptions extends BatchFeatures {
  batchSize: number;
  /** Seed of the shuffle and the augmentation; default 0. */
  seed?: number;
  /** Shuffle pairs each epoch; default true. */
  shuffle?: boolean;
  /** Drop a last incomplete batch; default false. */
  dropLast?: boolean;
  /** Worker threads; 0 builds batches in the calling thread. Default min(2, cores). */
  workers?: number;
  /** Batches in flight per worker; default 2. */
  prefetch?: number;
  /**
   * Data-parallel share: this loader yields rank `rank`'s `batchSize` items of each combined batch of
   * batchSize x count items, so `count` ranks together see exactly what one loader of the combined size would
   * (augmentation included). An incomplete last combined batch is dropped, so every rank takes the same steps.
   */
  shard?: { rank: number; count: number };
}

/** What the loader needs of a dataset (a `Dataset` from openDataset fits). */
export type LoaderDataset = Pick<Dataset, 'frame' | 'pairs' | 'annotations' | 'imageDir' | 'parsingDir'> & { dir?: string; split?: string };

/** Where SPT's pseudo-label search caches its choices for a dataset split: DIR/spt-pseudo-labels-<split>.json. */
export function pseudoParsingFile(dir: string, split: string): string {
  return join(dir, `spt-pseudo-labels-${split}.json`);
}

/**
 * The search's choice of parsing map for each pair ('from\tto' -> image name), from its cache; null when the split
 * has none (sampling and generation load the test split, which needs no pseudo-labels; a training step that needs
 * them stops with an error naming the search).
 */
function readPseudoLabels(dataset: LoaderDataset): Map<string, string> | null {
  const file = dataset.dir === undefined ? null : pseudoParsingFile(dataset.dir, dataset.split ?? 'train');
  if (!file || !existsSync(file)) return null;
  const json = JSON.parse(readFileSync(file, 'utf8')) as { labels?: Record<string, { name: string }> };
  return new Map(Object.entries(json.labels ?? {}).map(([k, v]) => [k, v.name]));
}

interface Pending {
  resolve: (raw: RawBatch) => void;
  reject: (err: Error) => void;
  worker: Worker;
}

export class PairLoader {
  readonly frame: Frame;
  readonly batchSize: number;
  private readonly items: BatchItem[];
  private readonly options: LoaderOptions;
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(dataset: LoaderDataset, options: LoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new Error(`PairLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.frame = dataset.frame;
    this.batchSize = options.batchSize;
    this.options = options;
    const unknown: string[] = [];
    const pose = (name: string): Pose | null => {
      const r = dataset.annotations.get(name);
      if (!r) unknown.push(name);
      return r ? r.pose : null;
    };
    this.items = [];
    const pseudo = options.pseudoParsing ? readPseudoLabels(dataset) : null;
    for (const p of dataset.pairs) {
      const a = pose(p.from);
      const b = pose(p.to);
      if (!a || !b) continue;
      this.items.push({
        nameA: p.from, nameB: p.to, pathA: imagePath(dataset, p.from), pathB: imagePath(dataset, p.to), poseA: a, poseB: b,
        parsingA: parsingPath(dataset, p.from), parsingB: parsingPath(dataset, p.to),
      });
      if (pseudo) {
        const chosen = pseudo.get(`${p.from}\t${p.to}`);
        const path = chosen === undefined ? null : parsingPath(dataset, chosen);
        if (!path) throw new Error(`PairLoader: the pseudo-label cache has no usable map for ${p.from} -> ${p.to}; run SPT's pseudo-label search again`);
        (this.items[this.items.length - 1] as BatchItem).parsingPseudoB = path;
      }
    }
    if (unknown.length > 0) {
      throw new Error(`PairLoader: ${unknown.length} pair entries name images without annotation (first: ${unknown[0]}); ` +
        `run 'reposer data check ${dataset.dir ?? '<dataset>'}'`);
    }
    if (this.items.length === 0) throw new Error(`PairLoader: the dataset${dataset.dir ? ` ${dataset.dir}` : ''} has no pairs`);
    if (options.shard) {
      const { rank, count } = options.shard;
      if (!Number.isInteger(count) || count < 1 || !Number.isInteger(rank) || rank < 0 || rank >= count) {
        throw new Error(`PairLoader: shard must have 0 <= rank < count, got rank ${rank} of ${count}`);
      }
      if (this.numBatches === 0) {
        throw new Error(`PairLoader: ${this.items.length} pairs do not fill one combined batch of ${this.batchSize} x ${count} ranks; use fewer ranks or a smaller batch`);
      }
    }
    const wanted = options.workers ?? Math.min(2, cpus().length);
    for (let i = 0; i < wanted; i++) this.workers.push(this.startWorker());
  }

  /** Pairs in the dataset. */
  get numPairs(): number {
    return this.items.length;
  }

  /** Batches per epoch. */
  get numBatches(): number {
    if (this.options.shard) return Math.floor(this.items.length / (this.batchSize * this.options.shard.count));
    const full = Math.floor(this.items.length / this.batchSize);
    return this.options.dropLast || this.items.length % this.batchSize === 0 ? full : full + 1;
  }

  /** The pairs of epoch `epoch`, in the order the batches will hold them (names only). */
  epochOrder(epoch = 0): { from: string; to: string }[] {
    return this.order(epoch).map((i) => ({ from: (this.items[i] as BatchItem).nameA, to: (this.items[i] as BatchItem).nameB }));
  }

  private order(epoch: number): number[] {
    const idx = this.items.map((_, i) => i);
    if (this.options.shuffle === false) return idx;
    return shuffled(idx, mulberry32(deriveSeed(this.options.seed ?? 0, epoch)));
  }

  private spec(epoch: number, b: number, order: number[]): BatchSpec {
    const o = this.options;
    const combined = this.batchSize * (o.shard?.count ?? 1);
    const start = b * combined + this.batchSize * (o.shard?.rank ?? 0);
    const chunk = order.slice(start, start + this.batchSize).map((i) => this.items[i] as BatchItem);
    return {
      items: chunk, frame: this.frame, seed: deriveSeed(o.seed ?? 0, epoch, b),
      shareOf: o.shard ? { offset: this.batchSize * o.shard.rank, combined } : undefined,
      pose: o.pose, masks: o.masks, affines: o.affines, affineMaskSize: o.affineMaskSize, parsing: o.parsing, pseudoParsing: o.pseudoParsing,
      augment: o.augment, augmentB: o.augmentB,
    };
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./loader-worker.js', import.meta.url));
    // An idle worker does not keep the process alive (a forgotten close() must not hang the program); a worker with
    // batches in flight does.
    worker.unref();
    worker.on('message', (msg: { id: number; raw?: RawBatch; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (![...this.pending.values()].some((q) => q.worker === worker)) worker.unref();
      if (msg.error !== undefined || !msg.raw) p.reject(new Error(msg.error ?? 'loader worker sent no batch'));
      else p.resolve(msg.raw);
    });
    worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(new Error(`loader worker failed: ${err.message}`));
      this.pending.clear();
    });
    return worker;
  }

  private request(spec: BatchSpec, b: number): Promise<() => LoaderBatch> {
    if (this.workers.length === 0) {
      return buildBatch(spec).then((batch) => () => batch);
    }
    const worker = this.workers[b % this.workers.length] as Worker;
    const id = this.nextId++;
    return new Promise<RawBatch>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.ref();
      worker.postMessage({ id, spec });
    }).then((raw) => () => rawToBatch(raw));
  }

  /**
   * Yields the batches of one epoch in order, from batch `startIndex` (a resumed run's position), keeping up to workers x prefetch batches in flight. The consumer
   * owns each yielded batch's tensors (torch.dispose(batch)).
   */
  async *batches(epoch = 0, startIndex = 0): AsyncGenerator<LoaderBatch> {
    if (this.closed) throw new Error('PairLoader: closed');
    const total = this.numBatches;
    if (!Number.isInteger(startIndex) || startIndex < 0 || startIndex > total) {
      throw new Error(`PairLoader: startIndex ${startIndex} is outside epoch ${epoch}'s ${total} batches`);
    }
    const order = this.order(epoch);
    const depth = Math.max(1, this.workers.length * (this.options.prefetch ?? 2));
    const inflight: Promise<() => LoaderBatch>[] = [];
    let next = startIndex;
    const fill = (): void => {
      while (next < total && inflight.length < depth) {
        const p = this.request(this.spec(epoch, next, order), next);
        p.catch(() => undefined); // surfaced when awaited in order
        inflight.push(p);
        next++;
      }
    };
    try {
      fill();
      while (inflight.length > 0) {
        const make = await (inflight.shift() as Promise<() => LoaderBatch>);
        fill();
        yield make();
      }
    } finally {
      // Batches requested but not consumed (early break): wait for them and free what they made, so that no tensor
      // outlives the loop that stopped consuming.
      for (const p of inflight) {
        let batch: LoaderBatch;
        try {
          batch = (await p)();
        } catch {
          continue; // a batch that failed to build left nothing to free
        }
        for (const t of Object.values(batch)) if (t && typeof t === 'object' && 'dispose' in t) (t as { dispose(): void }).dispose();
      }
    }
  }

  /**
   * Batches across epochs without end (epoch `startEpoch` from batch `startIndex`, then the next, ...), for trainers
   * that count steps.
   * Each yielded value carries its epoch and its index within that epoch.
   */
  async *stream(startEpoch = 0, startIndex = 0): AsyncGenerator<{ epoch: number; index: number; batch: LoaderBatch }> {
    for (let epoch = startEpoch; ; epoch++) {
      let index = epoch === startEpoch ? startIndex : 0;
      for await (const batch of this.batches(epoch, index)) yield { epoch, index: index++, batch };
    }
  }

  /**
   * Stops the worker threads. Each is ref'd first: an idle worker is unref'd, and awaiting the termination of an
   * unref'd worker leaves nothing to keep the event loop alive, so the program would end silently at this await.
   */
  async close(): Promise<void> {
    this.closed = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => {
      w.ref();
      return w.terminate();
    }));
  }
}
