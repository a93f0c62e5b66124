import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatAnnotationCsv, formatPairsCsv, parseAnnotationCsv, parsePairsCsv, scanAnnotationCsv, scanPairsCsv,
  readAnnotationCsvSync, readPairsCsvSync,
} from '../../../src/data/formats.js';
import { NO_SHARED, SHARED } from './shared-data.js';
import { isVisible, jointX, jointY, poseFromYX } from '../../../src/pose/skeleton.js';


// Counts from ../shared/data/README.md.
const annotationCounts: [string, number][] = [
  ['market/market-annotation-train.csv', 12936],
  ['market/market-annotation-test.csv', 19732],
  ['fashion/fasion-annotation-test.csv', 4061],
  ['fashion/fasion-annotation-test_new_split.csv', 8146],
  ['spt-samples/keypoints.csv', 6],
];
const pairCounts: [string, number][] = [
  ['market/market-pairs-test.csv', 12000],
  ['fashion/fasion-pairs-test.csv', 8670],
];

test('every row of the real annotation CSVs parses and the counts match the README', { skip: NO_SHARED }, () => {
  for (const [rel, count] of annotationCounts) {
    const rows = readAnnotationCsvSync(join(SHARED, rel));
    assert.equal(rows.length, count, rel);
    const frame = rel.startsWith('market') ? [128, 64] : [256, 256];
    for (const r of rows) {
      for (let j = 0; j < 18; j++) {
        if (!isVisible(r.pose, j)) continue;
        assert.ok(jointY(r.pose, j) < (frame[0] as number) && jointX(r.pose, j) < (frame[1] as number), `${rel}:${r.line} joint ${j} in frame`);
      }
    }
  }
  // The README's convention: y first. Row 2 of the Market train file.
  const first = readAnnotationCsvSync(join(SHARED, annotationCounts[0]![0]))[0]!;
  assert.equal(first.name, '0224_c6s1_055726_02.jpg');
  assert.equal(first.line, 2);
  assert.equal(jointY(first.pose, 10), 118);
  assert.equal(jointX(first.pose, 10), 24);
});

test('every row of the real pairs CSVs parses, names known images, and counts match', { skip: NO_SHARED }, () => {
  for (const [rel, count] of pairCounts) {
    const pairs = readPairsCsvSync(join(SHARED, rel));
    assert.equal(pairs.length, count, rel);
  }
  const market = new Set(readAnnotationCsvSync(join(SHARED, 'market/market-annotation-test.csv')).map((r) => r.name));
  for (const p of readPairsCsvSync(join(SHARED, 'market/market-pairs-test.csv'))) {
    assert.ok(market.has(p.from) && market.has(p.to), `pair line ${p.line} names annotated images`);
  }
});

test('formatting round-trips the real text byte for byte', { skip: NO_SHARED }, () => {
  const text = readFileSync(join(SHARED, 'spt-samples/keypoints.csv'), 'utf8');
  assert.equal(formatAnnotationCsv(parseAnnotationCsv(text, 'k.csv')), text.endsWith('\n') ? text : `${text}\n`);
  const pairs = readFileSync(join(SHARED, 'market/market-pairs-test.csv'), 'utf8');
  assert.equal(formatPairsCsv(parsePairsCsv(pairs, 'p.csv')), pairs.endsWith('\n') ? pairs : `${pairs}\n`);
});

test('scan reports every problem with file and line, and keeps good rows', () => {
  const good = `a.jpg: [${Array(18).fill(5).join(', ')}]: [${Array(18).fill(6).join(', ')}]`;
  const text = [
    'name:keypoints_y:keypoints_x',
    good,
    'b.jpg [1, 2]',
    `c.jpg: [${Array(17).fill(1).join(', ')}]: [${Array(18).fill(1).join(', ')}]`,
    `d.jpg: [${Array(18).fill('x').join(', ')}]: [${Array(18).fill(1).join(', ')}]`,
    `e.jpg: [-1, ${Array(17).fill(1).join(', ')}]: [${Array(18).fill(1).join(', ')}]`,
    good,
  ].join('\n');
  const { rows, problems } = scanAnnotationCsv(text, 'ann.csv');
  assert.deepEqual(rows.map((r) => r.name), ['a.jpg']);
  assert.deepEqual(problems.map((p) => [p.file, p.line]), [['ann.csv', 3], ['ann.csv', 4], ['ann.csv', 5], ['ann.csv', 6], ['ann.csv', 7]]);
  assert.match(problems[1]!.message, /17 y and 18 x/);
  assert.match(problems[4]!.message, /twice/);
  assert.throws(() => parseAnnotationCsv(text, 'ann.csv'), /ann\.csv:3: malformed row/);

  const pairs = scanPairsCsv('from,to\na.jpg,b.jpg\nonly-one\n,x.jpg\n', 'pairs.csv');
  assert.equal(pairs.rows.length, 1);
  assert.deepEqual(pairs.problems.map((p) => p.line), [3, 4]);
  assert.equal(scanPairsCsv('src,dst\n', 'p.csv').problems[0]?.line, 1);
});

test('writing rounds coordinates and writes missing joints as -1 in both lists', () => {
  const y = Array.from({ length: 18 }, (_, j) => j + 0.4);
  const x = Array.from({ length: 18 }, (_, j) => (j === 3 ? -1 : j + 0.6));
  const text = formatAnnotationCsv([{ name: 'z.jpg', pose: poseFromYX(y, x) }]);
  const row = text.split('\n')[1]!;
  assert.match(row, /^z\.jpg: \[0, 1, 2, -1, 4,/);
  assert.match(row, /\]: \[1, 2, 3, -1, 5,/);
  assert.throws(() => formatAnnotationCsv([{ name: 'bad', pose: new Float32Array(10) }]), /Float32Array of 36/);
});
