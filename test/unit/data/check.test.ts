// `reposer data check` on a temporary copy of real material with planted faults: every fault is reported with its
// file and line, and the command exits non-zero. Built from real CSV rows and the two real Market images; nothing
// is committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkDataset } from '../../../src/data/check.js';
import { formatNpy } from '../../../src/data/npy.js';
import { NO_SHARED, SHARED } from './shared-data.js';

const IMAGES = ['0011_c6s4_002502_01.jpg', '0011_c6s4_002527_01.jpg'];

interface Planted { dir: string; ann: string; pairs: string }

/** A Market-layout dataset: DIR/train/, DIR/market-annotation-train.csv, DIR/market-pairs-train.csv, DIR/parsing/train/. */
async function makeDataset(faults: boolean): Promise<Planted> {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-check-'));
  mkdirSync(join(dir, 'train'));
  mkdirSync(join(dir, 'parsing', 'train'), { recursive: true });
  const real = readFileSync(join(SHARED, 'market/market-annotation-train.csv'), 'utf8').split('\n');
  const rowOf = (name: string): string => {
    const r = real.find((l) => l.startsWith(`${name}:`));
    if (!r) throw new Error(`no real row for ${name}`);
    return r;
  };
  const lines = ['name:keypoints_y:keypoints_x'];
  for (const name of IMAGES) {
    copyFileSync(join(SHARED, 'market/images', name), join(dir, 'train', name));
    lines.push(rowOf(name));
  }
  const label = new Int8Array(128 * 64).fill(3);
  for (const name of IMAGES) writeFileSync(join(dir, 'parsing', 'train', name.replace('.jpg', '.npy')), formatNpy(label, [128, 64]));
  const pairs = ['from,to', `${IMAGES[0]},${IMAGES[1]}`, `${IMAGES[1]},${IMAGES[0]}`];
  if (faults) {
    // Real rows of other images, renamed onto planted files.
    const donors = real.slice(1, 6);
    const rename = (r: string, name: string): string => `${name}${r.slice(r.indexOf(':'))}`;
    lines.push(rename(donors[0]!, '0001_missing.jpg')); // line 4: image missing
    writeFileSync(join(dir, 'train', '0001_garbage.jpg'), Buffer.from('this is not a jpeg'));
    lines.push(rename(donors[1]!, '0001_garbage.jpg')); // line 5: unreadable
    await sharp(join(SHARED, 'market/images', IMAGES[0]!)).resize(50, 100).toFile(join(dir, 'train', '0001_small.jpg'));
    lines.push(rename(donors[2]!, '0001_small.jpg')); // line 6: wrong size
    lines.push('0001_broken.jpg [1, 2, 3]'); // line 7: malformed
    const r17 = rename(donors[3]!, '0001_short.jpg').replace(/\[(-?\d+), /, '['); // line 8: 17 y values
    lines.push(r17);
    copyFileSync(join(SHARED, 'market/images', IMAGES[1]!), join(dir, 'train', '0001_outside.jpg'));
    lines.push(`0001_outside.jpg: [${Array(17).fill(10).join(', ')}, 130]: [${Array(17).fill(10).join(', ')}, 70]`); // line 9
    writeFileSync(join(dir, 'parsing', 'train', '0001_outside.npy'), formatNpy(new Int8Array(64 * 32), [64, 32]));
    pairs.push(`${IMAGES[0]},0001_nobody.jpg`); // pairs line 4: unknown image
    pairs.push('just-one-name.jpg'); // pairs line 5: malformed
  }
  const ann = join(dir, 'market-annotation-train.csv');
  const pairsFile = join(dir, 'market-pairs-train.csv');
  writeFileSync(ann, `${lines.join('\n')}\n`);
  writeFileSync(pairsFile, `${pairs.join('\n')}\n`);
  return { dir, ann, pairs: pairsFile };
}

test('a clean copy of real material has no problems', { skip: NO_SHARED }, async () => {
  const d = await makeDataset(false);
  try {
    const r = await checkDataset(d.dir);
    assert.deepEqual(r.problems, []);
    assert.equal(r.splits[0]?.layout, 'market');
    assert.equal(r.splits[0]?.parsingMaps, 2);
    const cli = spawnSync(process.execPath, ['dist/src/cli/main.js', 'data', 'check', d.dir], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /no problems/);
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
});

test('every planted fault is reported with its file and line; the command exits 1', { skip: NO_SHARED }, async () => {
  const d = await makeDataset(true);
  try {
    // The unreadable image sorts first, so auto-detection cannot read the frame from it and says so; the layout is
    // given, as that report asks, for the check of every other fault.
    const auto = await checkDataset(d.dir);
    assert.equal(auto.problems.length, 1, auto.problems.map((p) => p.message).join('\n'));
    assert.match(auto.problems[0]!.message, /split 'train': cannot read image .*0001_garbage\.jpg to tell the frame of .*pass --layout/);
    const r = await checkDataset(d.dir, { layout: 'market' });
    const at = (file: string, line: number, re: RegExp): void => {
      const hit = r.problems.find((p) => p.file === file && p.line === line && re.test(p.message));
      assert.ok(hit, `expected ${file}:${line} ${re}; got:\n${r.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n')}`);
    };
    at(d.ann, 4, /0001_missing\.jpg is missing/);
    at(d.ann, 5, /0001_garbage\.jpg is unreadable/);
    at(d.ann, 6, /0001_small\.jpg is 100x50 .*needs 128x64/);
    at(d.ann, 7, /malformed row/);
    at(d.ann, 8, /17 y and 18 x values/);
    at(d.ann, 9, /joint 17 \(l_ear\) at y=130 x=70 is outside the 128x64 frame/);
    at(d.pairs, 4, /names 0001_nobody\.jpg, which the annotation CSV/);
    at(d.pairs, 5, /malformed pair/);
    at(join(d.dir, 'parsing', 'train', '0001_outside.npy'), 0, /\(64,32\), expected \(128,64\)/);
    // No parsing map for the other planted images: reported too (one per image, on its line).
    at(d.ann, 5, /no parsing map for 0001_garbage\.jpg/);
    const cli = spawnSync(process.execPath, ['dist/src/cli/main.js', 'data', 'check', d.dir, '--layout', 'market'], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.ok(cli.stdout.includes(`${d.ann}:9: 0001_outside.jpg: joint 17`), cli.stdout);
    assert.match(cli.stdout, new RegExp(`${r.problems.length} problems`));
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
});

test('the real SPT samples folder (images, keypoints.csv, .npy parsing maps) checks clean', { skip: NO_SHARED }, async () => {
  const r = await checkDataset(join(SHARED, 'spt-samples'));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.splits.map((s) => [s.layout, s.images, s.pairs, s.parsingMaps]), [['folder', 6, 6, 6]]);
});
