// The source store keeps the newest uploads up to its capacity and never drops the pinned examples; the examples carry
// their parsing maps; a dataset image's parsing map lands on a photo where its pose does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDataset } from '../../../src/data/index.js';
import { datasetParsing, renderExamples, SourceStore } from '../../../src/serve/sources.js';
import { writeSynthDataset } from '../../../src/synth/index.js';

const source = (name: string): Parameters<SourceStore['add']>[0] =>
  ({ name, image: Buffer.from(name), mime: 'image/png', width: 16, height: 32, pose: null, poseFrom: null, parsing: null });

test('uploads past the capacity evict the least recently used; pinned sources stay', () => {
  const store = new SourceStore(2);
  const example = store.add(source('example'), { pinned: true });
  const a = store.add(source('a'));
  const b = store.add(source('b'));
  store.get(a.id);
  const c = store.add(source('c'));
  assert.equal(store.size, 3);
  assert.equal(store.get(a.id).name, 'a', 'a was used after b, so b went');
  assert.equal(store.get(c.id).name, 'c');
  assert.throws(() => store.get(b.id), /no source image '.*' on the server \(it may have been evicted by newer uploads\)/);
  for (let i = 0; i < 5; i++) store.add(source(`u${i}`));
  assert.deepEqual(store.pinnedSources().map((s) => s.name), ['example']);
  assert.equal(store.get(example.id).name, 'example');
  assert.equal(store.size, 3);
  assert.throws(() => store.get(42), /no source image '42'/);
});

test('the examples carry their parsing maps at their own size, the person on a background of label 0', async () => {
  const [ex] = await renderExamples(1, [32, 16]);
  assert.ok(ex?.parsing);
  assert.deepEqual([ex.parsing.width, ex.parsing.height, ex.parsing.labels.length], [ex.width, ex.height, ex.width * ex.height]);
  assert.equal(ex.parsing.labels[0], 0);
  assert.ok(ex.parsing.labels.some((l) => l === 3 || l === 4 || l === 5), 'the person wears something');
  assert.ok(ex.parsing.labels.every((l) => l <= 9));
});

test('a dataset parsing map is placed on a photo as its pose would be: scaled, centred, background around', async () => {
  const root = mkdtempSync(join(tmpdir(), 'serve-sources-'));
  try {
    await writeSynthDataset({ out: root, size: { height: 32, width: 16 }, identities: 2, poses: 2, seed: 3, testFraction: 0.5, surface: false });
    const ds = await openDataset(root, { split: 'test' });
    const name = [...ds.annotations.keys()][0] as string;
    const { data: own } = await sharp(readFileSync(join(root, 'parsing', 'test', name.replace(/\.jpg$/, '.png'))))
      .extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    // Twice the frame's height and 8 columns wider: scale 2, 4 columns of background either side.
    const placed = await datasetParsing(ds, name, [64, 40]);
    assert.ok(placed);
    assert.deepEqual([placed.width, placed.height], [40, 64]);
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 40; x++) {
        const want = x < 4 || x >= 36 ? 0 : own[(y >> 1) * 16 + ((x - 4) >> 1)];
        assert.equal(placed.labels[y * 40 + x], want, `(${x}, ${y})`);
      }
    }
    assert.equal(await datasetParsing({ ...ds, parsingDir: null }, name, [64, 40]), null, 'no parsing folder, no map');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
