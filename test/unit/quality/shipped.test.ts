// The shipped checkpoints (checkpoints/<family>): each loads and reproduces its stored reference output on the fixed
// reference input, within REFERENCE_TOLERANCE (float sums reorder with the thread count; nearest sampling may round a
// tie the other way under another libtorch), owning every tensor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { readNpySync } from '../../../src/data/npy.js';
import { FAMILIES, REFERENCE_TOLERANCE, SHIPPED_CHECKPOINTS, SYNTH_RUNS, readTrainingRecord, referenceOutput, trainingSeconds } from '../../../src/quality/index.js';

let scratch = '';
before(() => { scratch = mkdtempSync(join(tmpdir(), 'shipped-')); });
after(() => rmSync(scratch, { recursive: true, force: true }));

for (const family of FAMILIES) {
  const { close, outliers, far } = REFERENCE_TOLERANCE;
  test(`checkpoints/${family} reproduces its reference output (|diff| <= ${close}; a fraction ${outliers} of values <= ${far})`, async () => {
    const dir = join(SHIPPED_CHECKPOINTS, family);
    assert.ok(existsSync(join(dir, 'config.json')), `${dir} is shipped with the repository`);
    const stored = readNpySync(join(dir, 'reference.npy'));
    const live = torch.memory().numTensors;
    const out = await referenceOutput(dir, join(scratch, family));
    assert.equal(torch.memory().numTensors, live, 'every tensor of loading and generating is disposed');
    assert.deepEqual(out.shape, stored.shape);
    let worst = 0;
    let beyond = 0;
    const ref = stored.data as Float32Array;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs((out.values[i] as number) - (ref[i] as number));
      worst = Math.max(worst, d);
      if (d > close) beyond++;
    }
    console.log(`${family}: max |diff| ${worst.toExponential(2)} over ${ref.length} values, ${beyond} beyond ${close}`);
    assert.ok(worst <= far && beyond <= outliers * ref.length, `${family}: max |diff| ${worst}, ${beyond} of ${ref.length} values beyond ${close}`);
    // A generator that ignores its input, or a broken load, gives a flat image; the reference is not.
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of out.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    assert.ok(hi - lo > 0.5, `${family}: output spans ${lo}..${hi}`);
    const rec = readTrainingRecord(dir);
    assert.ok(rec && rec.steps > 0 && rec.seconds > 0 && rec.command.includes(`--model ${family} --preset synth`), `${dir}/training.json records the run`);
  });
}

test('SYNTH_RUNS: one shipped run per family and the seeds\' ablation variants', () => {
  assert.deepEqual(SYNTH_RUNS.filter((r) => !r.ablation).map((r) => r.name), [...FAMILIES]);
  assert.deepEqual(SYNTH_RUNS.filter((r) => r.ablation).map((r) => r.name),
    ['defgan-baseline', 'defgan-dsc', 'gfla-baseline', 'gfla-global-attn', 'gfla-bi-sample', 'spt-ts-pred', 'spt-ts-gt']);
});

test('trainingSeconds sums the gaps of a log, leaving out a stop and its resume', () => {
  const at = (s: number): string => JSON.stringify({ step: s, wall: new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString() });
  // 0 -> 10 -> 20 s, then a 2-hour stop, then 10 s more.
  const lines = [at(0), at(10), at(20), JSON.stringify({ step: 30, wall: new Date(Date.UTC(2026, 0, 1, 2, 0, 20)).toISOString() }),
    JSON.stringify({ step: 40, wall: new Date(Date.UTC(2026, 0, 1, 2, 0, 30)).toISOString() })];
  assert.equal(trainingSeconds(lines.join('\n')), 30);
});
