import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readAnnotationCsvSync, readPairsCsvSync, type AnnotationRow } from '../../../src/data/formats.js';
import { hasTorso, identityOf, isDistractor, makePairs } from '../../../src/data/pairs.js';
import { J, emptyPose, setJoint } from '../../../src/pose/skeleton.js';
import { NO_SHARED, SHARED } from './shared-data.js';

test('identity rules: Market prefix, DeepFashion id + item (both naming styles), a RegExp', () => {
  assert.equal(identityOf('0011_c6s4_002502_01.jpg'), '0011');
  assert.equal(identityOf('-1_c1s1_000401_03.jpg'), '-1');
  assert.equal(identityOf('fasionMENTeesTanksid0000347017_3back.jpg', 'deepfashion'), 'id00003470/17');
  assert.equal(identityOf('fashionMENShirts_Polosid0000180202_4full.jpg', 'deepfashion'), 'id00001802/02');
  assert.equal(identityOf('person7-a.png', /^person(\d+)-/), '7');
  assert.equal(identityOf('noseparator.jpg'), null);
  assert.ok(isDistractor('-1_c1s1_000401_03.jpg') && isDistractor('0000_c1s1_000151_01.jpg') && !isDistractor('0001_c1s1_0.jpg'));
});

function row(name: string, torso = true): AnnotationRow {
  const p = emptyPose();
  const joints = torso ? [J.r_shoulder, J.l_shoulder, J.r_hip, J.l_hip, J.neck] : [J.r_shoulder, J.l_shoulder, J.r_hip];
  for (const j of joints) setJoint(p, j, 10 + j, 20);
  return { name, pose: p, line: 0 };
}

test('pairs: ordered pairs within an identity, full torso only, distractors dropped, deterministic sample', () => {
  const rows = [row('0001_a.jpg'), row('0002_a.jpg'), row('0001_b.jpg'), row('0001_c.jpg', false), row('0000_a.jpg'), row('0000_b.jpg'),
    row('-1_a.jpg'), row('-1_b.jpg'), row('0002_b.jpg')];
  assert.deepEqual(makePairs(rows), [
    { from: '0001_a.jpg', to: '0001_b.jpg' }, { from: '0001_b.jpg', to: '0001_a.jpg' },
    { from: '0002_a.jpg', to: '0002_b.jpg' }, { from: '0002_b.jpg', to: '0002_a.jpg' },
  ]);
  const s1 = makePairs(rows, { limit: 2, seed: 3 });
  assert.equal(s1.length, 2);
  assert.deepEqual(makePairs(rows, { limit: 2, seed: 3 }), s1);
  assert.ok(!hasTorso(row('x', false).pose));
});

test('the official Market and DeepFashion test pairs are all among the pairs made from their annotation CSVs', { skip: NO_SHARED }, () => {
  const market = readAnnotationCsvSync(join(SHARED, 'market/market-annotation-test.csv'));
  const made = makePairs(market);
  const key = (p: { from: string; to: string }): string => `${p.from}>${p.to}`;
  const set = new Set(made.map(key));
  const official = readPairsCsvSync(join(SHARED, 'market/market-pairs-test.csv'));
  const missing = official.filter((p) => !set.has(key(p)));
  assert.equal(missing.length, 0, `official pairs not made: ${missing.slice(0, 3).map(key).join(', ')}`);
  assert.ok(made.every((p) => !isDistractor(p.from) && !isDistractor(p.to)));
  assert.ok(made.length > official.length, `${made.length} candidate pairs`);

  const fashion = readAnnotationCsvSync(join(SHARED, 'fashion/fasion-annotation-test.csv'));
  const fmade = new Set(makePairs(fashion, { identity: 'deepfashion' }).map(key));
  const fofficial = readPairsCsvSync(join(SHARED, 'fashion/fasion-pairs-test.csv'));
  const fmissing = fofficial.filter((p) => !fmade.has(key(p)));
  assert.equal(fmissing.length, 0, `official fashion pairs not made: ${fmissing.slice(0, 3).map(key).join(', ')}`);
  // The training pairs the field uses (Deformable GAN's market-pairs-train.csv, PATN: 263,632) are exactly the pairs
  // made from the train annotations.
  assert.equal(makePairs(readAnnotationCsvSync(join(SHARED, 'market/market-annotation-train.csv'))).length, 263632);
  // Same output twice: deterministic.
  assert.deepEqual(makePairs(market, { limit: 100, seed: 1 }), makePairs(market, { limit: 100, seed: 1 }));
});
