// A tiny trained model and its synthetic dataset, for the server and browser tests: two PATN steps at 32x16, so the
// weights are real checkpoints and generation takes milliseconds; optionally a tiny SPT run at the same size.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { train } from '../../../src/train/index.js';

export interface ServeFixture {
  root: string;
  data: string;
  /** A folder of run directories: 'tiny-a' and 'tiny-b' (other seeds, so their images differ), and 'spt' if asked. */
  runs: string;
}

export interface ServeFixtureOptions {
  /**
   * Also train 'spt': SPT's tiny preset at 32x16 for two steps (one semantic, one appearance, so both generators have
   * been updated). It sorts first, so a server over these runs offers it first.
   */
  spt?: boolean;
}

export async function makeServeFixture(models = 2, options: ServeFixtureOptions = {}): Promise<ServeFixture> {
  const root = mkdtempSync(join(tmpdir(), 'serve-'));
  const data = join(root, 'data');
  const runs = join(root, 'runs');
  await writeSynthDataset({ out: data, size: { height: 32, width: 16 }, identities: 4, poses: 2, seed: 3, testFraction: 0.5 });
  for (let i = 0; i < models; i++) {
    await train({ model: 'patn', preset: 'tiny', data, out: join(runs, `tiny-${'ab'[i]}`), steps: 1 + i, seed: 1 + i, workers: 0, sampleEvery: 0,
      // Instance norm: with batch norm's running statistics after a step or two, the output is one flat colour.
      sets: ['generator.norm=instance'] });
  }
  if (options.spt) {
    await train({ model: 'spt', preset: 'tiny', data, out: join(runs, 'spt'), steps: 2, seed: 1, workers: 0, sampleEvery: 0, sets: ['image.height=32', 'image.width=16'] });
  }
  return { root, data, runs };
}
