// The contract between the loader and every model family: for each registered family and variant, a batch that the
// real PairLoader builds from a synthetic dataset on disk, with the options the family's config asks for
// (loaderOptions), goes through trainStep (into the first step of every stage of the schedule) and generate. And
// every key of the family's defaults is read by something in building the model, setting up the loader and those
// steps: a key that nothing reads would be accepted by --set and silently ignored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { openDataset, PairLoader, type Dataset } from '../../../src/data/index.js';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { iterationsPerEpoch, listModels, loaderOptions, type FamilyConfig } from '../../../src/models/index.js';

/** Keys that select the config rather than configure the model: read by resolveModelConfig, which rebuilds from them. */
const SELECTORS = new Set(['model', 'preset']);
/** Keys the trainer reads around the model (test/unit/train/distributed.test.ts shows their effect), not run here. */
const TRAINER_KEYS = new Set(['data.syncBatchNorm']);

/** Wraps a config so that every key read through it is recorded as a dotted path ('schedule.stages.0.epochs'). */
function trackReads<T extends object>(obj: T, reads: Set<string>, prefix = ''): T {
  return new Proxy(obj, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || (Array.isArray(target) && !/^\d+$/.test(key))) return value;
      const path = prefix ? `${prefix}.${key}` : key;
      reads.add(path);
      return value !== null && typeof value === 'object' ? trackReads(value, reads, path) : value;
    },
  });
}

/** The leaf keys of a config: scalars, arrays of scalars, and the fields of objects inside arrays. */
function leafPaths(node: unknown, prefix = ''): string[] {
  if (node === null || typeof node !== 'object') return [prefix];
  if (Array.isArray(node) && !node.some((v) => v !== null && typeof v === 'object')) return [prefix];
  return Object.entries(node).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

let root = '';
const datasets = new Map<string, Dataset>();

async function datasetFor(height: number, width: number): Promise<Dataset> {
  const key = `${height}x${width}`;
  let ds = datasets.get(key);
  if (!ds) {
    const out = join(root, key);
    await writeSynthDataset({ out, size: { height, width }, identities: 3, poses: 2, seed: 5, testFraction: 0 });
    ds = await openDataset(out, { split: 'train' });
    datasets.set(key, ds);
  }
  return ds;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'contract-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

for (const family of listModels()) {
  const variants = family.variants ?? [null];
  const reads = new Set<string>();
  for (const variant of variants) {
    test(`${family.name}${variant ? ` '${variant}'` : ''} (tiny): a batch from the real PairLoader trains and generates`, async () => {
      torch.manualSeed(0);
      const defaults: FamilyConfig = family.defaults('tiny');
      if (variant) (defaults as FamilyConfig & { variant: string }).variant = variant;
      const cfg = trackReads(defaults, reads);
      const ds = await datasetFor(defaults.image.height, defaults.image.width);
      const start = torch.memory().numTensors;
      const model = family.create(cfg);
      const loader = new PairLoader(ds, loaderOptions(family, cfg, { seed: 3, workers: 0 }));
      // Steps up to and including the first step of the last stage.
      const perEpoch = iterationsPerEpoch(defaults.schedule, defaults.data.batchSize);
      const stages = defaults.schedule.stages;
      const steps = 1 + stages.slice(0, -1).reduce((n, s) => n + (s.epochs + s.decayEpochs) * perEpoch, 0);
      let taken = 0;
      try {
        for await (const { batch } of loader.stream()) {
          try {
            const losses = model.trainStep(batch);
            assert.ok(Object.keys(losses).length > 0, 'trainStep returns its losses');
            for (const [k, v] of Object.entries(losses)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
            torch.scope(() => {
              const y = model.generate(batch);
              assert.deepEqual(y.shape, [batch.imageA.shape[0], 3, defaults.image.height, defaults.image.width]);
              assert.ok(y.isfinite().all().item(), 'generated values are finite');
            });
          } finally {
            torch.dispose(batch);
          }
          if (++taken === steps) break;
        }
      } finally {
        await loader.close();
        model.dispose();
      }
      assert.equal(torch.memory().numTensors, start, 'every tensor released');
    });
  }
  test(`${family.name}: every key of the defaults is read in building, loader setup and a step of each stage`, () => {
    const unread = leafPaths(family.defaults('tiny')).filter((p) => !SELECTORS.has(p) && !TRAINER_KEYS.has(p) && !reads.has(p));
    assert.deepEqual(unread, [], `keys nothing reads (remove them, or make the model, the loader or the trainer read them)`);
  });
}
