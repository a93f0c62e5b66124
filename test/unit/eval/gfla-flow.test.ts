// GFLA end to end on the synthetic world: `reposer test`'s generateDataset writes each pair's flow beside its image,
// and eval scores it against the true correspondence field (flow-epe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { train } from '../../../src/train/index.js';
import { generateDataset, loadModel } from '../../../src/generate/index.js';
import { evaluate, readFlow } from '../../../src/eval/index.js';

test('a GFLA run writes flows that eval scores with flow-epe', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gfla-flow-'));
  try {
    const data = join(root, 'data');
    await writeSynthDataset({ out: data, size: { height: 64, width: 32 }, identities: 5, poses: 2, seed: 3, testFraction: 0.4 });
    await train({ model: 'gfla', preset: 'tiny', data, out: join(root, 'run'), steps: 2, workers: 0, sampleEvery: 0 });
    const loaded = loadModel(join(root, 'run'));
    const pred = join(root, 'pred');
    const before = torch.memory().numTensors;
    try {
      const n = await generateDataset(loaded, { data, out: pred, workers: 0 });
      assert.ok(n > 0);
      assert.equal(torch.memory().numTensors, before);
    } finally {
      loaded.model.dispose();
    }
    const flows = readdirSync(join(pred, 'flows'));
    assert.equal(flows.length, readdirSync(pred).filter((f) => f.endsWith('.png')).length, 'one flow per generated image');
    const flow = await readFlow(join(pred, 'flows', flows[0] as string));
    assert.equal(flow.shape[0], 2);
    flow.dispose();
    const r = await evaluate({ pred, data, protocol: 'gfla', metrics: ['flow-epe'] });
    const epe = r.metrics['flow-epe'] as number;
    assert.ok(Number.isFinite(epe) && epe > 0, `flow-epe ${epe}`);
    assert.ok(!existsSync(join(root, 'run', 'flows')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
