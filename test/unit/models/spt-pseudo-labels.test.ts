// SPT's pseudo-label search on a synthetic dataset on disk (src/synth writes parsing maps with SPT's 10 labels): the
// searched map of each pair's target overlaps the target's true parsing better than the untransformed source map
// does; the cache beside the data is written once and read back; and the part-wise warp moves labels where the
// target pose puts them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { openDataset, PairLoader, parsingPath, readParsing, type Dataset } from '../../../src/data/index.js';
import { getModel, loaderOptions } from '../../../src/models/index.js';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { NUM_JOINTS } from '../../../src/pose/index.js';
import { SptModel, pairKey, parsingIoU, pseudoLabelCacheFile, searchPseudoLabels, sptDefaults, warpParsing } from '../../../src/models/spt/index.js';

let root = '';
let ds: Dataset;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'spt-pseudo-'));
  await writeSynthDataset({ out: root, size: { height: 128, width: 64 }, identities: 10, poses: 3, seed: 11, testFraction: 0, imageFormat: 'png' });
  ds = await openDataset(root, { split: 'train' });
});
after(() => rmSync(root, { recursive: true, force: true }));

async function labels_(names: readonly string[]): Promise<torch.Tensor> {
  const [h, w] = ds.frame;
  const flat = new BigInt64Array(names.length * h * w);
  await Promise.all(names.map(async (n, i) => flat.set(await readParsing(parsingPath(ds, n) as string, ds.frame), i * h * w)));
  return torch.tensor(flat, [names.length, h, w]);
}

const keypoints = (names: readonly string[]): torch.Tensor =>
  torch.tensor(Float32Array.from(names.flatMap((n) => [...(ds.annotations.get(n)?.pose ?? [])])), [names.length, NUM_JOINTS, 2]);

const meanIoU = (f: () => torch.Tensor): number => torch.scope(() => f().mean().item());

test('the searched pseudo-label beats the untransformed source map in IoU with the true target parsing', async () => {
  const start = torch.memory().numTensors;
  const found = await searchPseudoLabels(ds);
  assert.equal(found.size, ds.pairs.length, 'one label per pair');
  const from = ds.pairs.map((p) => p.from);
  const to = ds.pairs.map((p) => p.to);
  const chosen = ds.pairs.map((p) => (found.get(pairKey(p.from, p.to)) as { name: string }).name);
  for (const [i, c] of chosen.entries()) {
    assert.notEqual(c.slice(0, 4), (to[i] as string).slice(0, 4), 'never the target identity (its own ground truth)');
  }
  const [a, b, s] = [await labels_(from), await labels_(to), await labels_(chosen)];
  try {
    const source = meanIoU(() => parsingIoU(a, b));
    const searched = meanIoU(() => parsingIoU(s, b));
    const warped = meanIoU(() => parsingIoU(warpParsing(a, keypoints(from), keypoints(to)), b));
    console.log(`# mean IoU with the true target parsing over ${ds.pairs.length} pairs: source ${source.toFixed(4)}, warped source ${warped.toFixed(4)}, searched ${searched.toFixed(4)}`);
    assert.ok(searched > source, `searched ${searched} must beat the untransformed source ${source}`);
    assert.ok(warped > source, `the part-wise warp ${warped} must beat the untransformed source ${source}`);
  } finally {
    torch.dispose([a, b, s]);
  }
  assert.equal(torch.memory().numTensors, start, 'no tensors left behind');
});

test('the search is cached beside the data and read back without searching again', async () => {
  const file = pseudoLabelCacheFile(ds);
  await searchPseudoLabels(ds);
  assert.ok(existsSync(file), `cache at ${file}`);
  const before = statSync(file).mtimeMs;
  const again = await searchPseudoLabels(ds);
  assert.equal(statSync(file).mtimeMs, before, 'a matching cache is not rewritten');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { labels: Record<string, { name: string }> };
  assert.equal(Object.keys(json.labels).length, again.size);
  // Other settings make another search (and rewrite the cache).
  const other = await searchPseudoLabels(ds, { candidates: 2 });
  assert.equal(other.size, again.size);
  assert.ok(statSync(file).mtimeMs >= before);
});

test('warpParsing with identical poses keeps every foreground pixel a part carries', async () => {
  const name = ds.pairs[0]?.from as string;
  const a = await labels_([name]);
  try {
    const iou = torch.scope(() => parsingIoU(warpParsing(a, keypoints([name]), keypoints([name])), a).item());
    assert.ok(iou > 0.9, `identity warp IoU ${iou}`);
  } finally {
    a.dispose();
  }
});

test('a dataset without a parsing folder is an error that says so', async () => {
  await assert.rejects(searchPseudoLabels({ ...ds, parsingDir: null }), /no parsing folder/);
});

test("loss.pseudoLabel 'searched': the real PairLoader brings the searched maps and the semantic stage learns from them", async () => {
  const cfg = sptDefaults('tiny');
  cfg.image = { height: 128, width: 64 };
  cfg.loss.pseudoLabel = 'searched';
  const family = getModel('spt');
  const labels = await searchPseudoLabels(ds);
  const start = torch.memory().numTensors;
  const loader = new PairLoader(ds, loaderOptions(family, cfg, { seed: 1, workers: 0, shuffle: false }));
  const model = new SptModel(cfg);
  try {
    for await (const { batch } of loader.stream()) {
      try {
        const p = ds.pairs[0] as { from: string; to: string };
        const expected = await labels_([(labels.get(pairKey(p.from, p.to)) as { name: string }).name]);
        assert.ok(batch.parsingPseudoB, 'the batch carries parsingPseudoB');
        assert.ok(torch.scope(() => (batch.parsingPseudoB as torch.Tensor).narrow(0, 0, 1).equal(expected)), 'the first pair\'s map is the one the search chose');
        expected.dispose();
        const l = model.trainStep(batch);
        assert.ok(Number.isFinite(l.S_CE), `S_CE ${l.S_CE}`);
      } finally {
        torch.dispose(batch);
      }
      break;
    }
  } finally {
    await loader.close();
    model.dispose();
  }
  assert.equal(torch.memory().numTensors, start);
  // Without the cache the batches carry no pseudo-labels (generation and samples need none); training stops.
  rmSync(pseudoLabelCacheFile(ds));
  const bare = new PairLoader(ds, loaderOptions(family, cfg, { workers: 0 }));
  const m2 = new SptModel(cfg);
  try {
    for await (const { batch } of bare.stream()) {
      try {
        assert.equal(batch.parsingPseudoB, undefined);
        assert.throws(() => m2.trainStep(batch), /no parsingPseudoB.*spt-pseudo-labels-<split>\.json.*searchPseudoLabels/s);
      } finally {
        torch.dispose(batch);
      }
      break;
    }
  } finally {
    await bare.close();
    m2.dispose();
  }
});
