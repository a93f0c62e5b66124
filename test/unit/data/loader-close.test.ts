// A consumer that breaks out of a later epoch (at its last batch, when no batch is in flight) and closes the loader must get control back: closing used to
// await the termination of unref'd workers, so nothing kept the event loop alive and the program ended silently at
// that await (`reposer demo` printed its last step and exited 0 without writing anything).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeSynthDataset } from '../../../src/synth/index.js';

test('breaking out of a later epoch with nothing in flight, then closing, returns to the program (workers on)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loader-close-'));
  try {
    await writeSynthDataset({ out: join(dir, 'data'), size: { height: 32, width: 16 }, identities: 4, poses: 2, seed: 1, testFraction: 0 });
    const dataModule = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'src', 'data', 'index.js')).href;
    const script = join(dir, 'consumer.mjs');
    writeFileSync(script, `
import { openDataset, PairLoader } from ${JSON.stringify(dataModule)};
const ds = await openDataset(${JSON.stringify(join(dir, 'data'))}, { split: 'train' });
const loader = new PairLoader(ds, { batchSize: 2, seed: 1, workers: 2 });
let seen = 0;
for await (const { epoch, index, batch } of loader.stream()) {
  for (const t of Object.values(batch)) if (t && typeof t === 'object' && 'dispose' in t) t.dispose();
  seen++;
  if (epoch === 1 && index === loader.numBatches - 1) break;
}
await loader.close();
console.log('after close', seen);
`);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /after close \d+/, `the program ended at close(); stdout: ${JSON.stringify(r.stdout)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
