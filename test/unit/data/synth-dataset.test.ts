// The synthetic world's output read back as a real dataset: layout, frame, CSVs, parsing PNGs, check and loader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { checkDataset, openDataset, PairLoader } from '../../../src/data/index.js';
import { writeSynthDataset } from '../../../src/synth/dataset.js';

test('a synthetic dataset passes data check and loads with its parsing maps', async () => {
  const out = mkdtempSync(join(tmpdir(), 'reposer-synth-ds-'));
  try {
    await writeSynthDataset({ out, size: { height: 128, width: 64 }, identities: 3, poses: 2, seed: 5 });
    const report = await checkDataset(out);
    assert.deepEqual(report.problems, [], report.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
    assert.deepEqual(report.splits.map((s) => s.split), ['train', 'test']);
    const ds = await openDataset(out, { split: 'train' });
    assert.equal(ds.layout, 'market');
    assert.deepEqual(ds.frame, [128, 64]);
    assert.ok(ds.parsingDir?.endsWith(join('parsing', 'train')));
    const loader = new PairLoader(ds, { batchSize: 2, workers: 0, seed: 1 });
    try {
      for await (const b of loader.batches(0)) {
        assert.deepEqual(b.parsingA?.shape, [b.namesA.length, 128, 64]);
        const labels = torch.scope(() => [b.parsingA!.min().item(), b.parsingA!.max().item()]);
        assert.ok(labels[0]! >= 0 && labels[1]! <= 9 && labels[1]! > 0, `labels ${labels}`);
        torch.dispose(b);
        break;
      }
    } finally {
      await loader.close();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
