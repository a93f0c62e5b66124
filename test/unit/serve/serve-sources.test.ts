// The source store keeps the newest uploads up to its capacity and never drops the pinned examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceStore } from '../../../src/serve/sources.js';

const source = (name: string): Parameters<SourceStore['add']>[0] =>
  ({ name, image: Buffer.from(name), mime: 'image/png', width: 16, height: 32, pose: null, poseFrom: null });

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
