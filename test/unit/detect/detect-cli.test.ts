// The detectors as users meet them: `reposer pose detect` over a folder with bad files (CSV every command reads,
// JSON, skeleton sheet, person masks, exit status), the pckh_movenet and ds_centernet metrics of `evaluate`, and `reposer generate`
// taking the source pose and a target image's pose from the detector.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readAnnotationCsvSync } from '../../../src/data/formats.js';
import { readNpySync } from '../../../src/data/npy.js';
import { maskIoU } from '../../../src/detect/index.js';
import { evaluate } from '../../../src/eval/index.js';
import { targetPoseInSource } from '../../../src/generate/index.js';
import { emptyPose, setJoint, visibleCount } from '../../../src/pose/skeleton.js';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { train } from '../../../src/train/index.js';
import { SHARED, NO_SHARED } from '../data/shared-data.js';

const SPT = join(SHARED, 'spt-samples');
const cli = join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.js');
let dir = '';

before(() => { dir = mkdtempSync(join(tmpdir(), 'detect-cli-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

test('reposer pose detect DIR: a CSV other commands read, JSON, a sheet; an unreadable file is named and left out', { skip: NO_SHARED }, async () => {
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  copyFileSync(join(SPT, 'images', '1_A.jpg'), join(photos, 'a.jpg'));
  await sharp(join(SPT, 'images', '2_B.jpg')).resize(300, 420).png().toFile(join(photos, 'b.png'));
  await sharp({ create: { width: 120, height: 90, channels: 3, background: '#3080c0' } }).jpeg().toFile(join(photos, 'sky.jpg'));
  writeFileSync(join(photos, 'notes.jpg'), 'a text file with the wrong name\n');
  const csv = join(dir, 'poses.csv');
  const sheet = join(dir, 'sheet.png');
  const masks = join(dir, 'masks');
  const r = spawnSync(process.execPath, [cli, 'pose', 'detect', photos, '--out', csv, '--json', '--draw', sheet, '--masks', masks, '--no-people'], { encoding: 'utf8' });
  assert.equal(r.status, 1, 'an unreadable file fails the run after the others are written');
  assert.match(r.stderr, /notes\.jpg is not an image reposer can read/);
  assert.match(r.stderr, /warning: .*sky\.jpg: no person found/);
  assert.match(r.stderr, /1 of 4 images could not be read/);
  const rows = readAnnotationCsvSync(csv);
  assert.deepEqual(rows.map((x) => x.name), ['a.jpg', 'b.png', 'sky.jpg']);
  assert.ok(visibleCount(rows[0]!.pose) >= 12 && visibleCount(rows[1]!.pose) >= 12);
  assert.equal(visibleCount(rows[2]!.pose), 0);
  // b.png is 420 tall: its keypoints are in its own pixels, not the model's 256.
  assert.ok(Math.max(...rows[1]!.pose.filter((_, i) => i % 2 === 0)) > 300);
  const json = JSON.parse(r.stdout) as { name?: string; keypoints?: [number, number][]; scores?: number[]; error?: string }[];
  assert.equal(json.length, 4);
  const a = json.find((j) => j.name === 'a.jpg')!;
  assert.deepEqual(a.keypoints![0], [Math.round(rows[0]!.pose[1]!), Math.round(rows[0]!.pose[0]!)], 'JSON is [x, y]');
  assert.equal(a.scores!.length, 18);
  assert.match(json.find((j) => j.error)!.error!, /notes\.jpg/);
  const meta = await sharp(sheet).metadata();
  assert.ok(meta.width! >= 2 * 192 && meta.height! >= 256, `sheet ${meta.width}x${meta.height}`);
  // Person masks at each photo's size: a.jpg's against its SPT parsing map, the sky's empty.
  assert.equal((await sharp(join(masks, 'a.png')).metadata()).channels, 1, 'a one-channel PNG');
  const maskA = await sharp(join(masks, 'a.png')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([maskA.info.width, maskA.info.height], [256, 256]);
  const parsing = readNpySync(join(SPT, 'parsing', '1_A.npy'));
  const truth = Uint8Array.from(parsing.data as ArrayLike<number | bigint>, (v) => (Number(v) > 0 ? 1 : 0));
  assert.ok(maskIoU(Uint8Array.from(maskA.data, (v) => (v > 127 ? 1 : 0)), truth) > 0.8);
  assert.deepEqual((await sharp(join(masks, 'b.png')).metadata()).height, 420);
  const sky = await sharp(join(masks, 'sky.png')).extractChannel(0).raw().toBuffer();
  assert.ok(sky.filter((v) => v > 127).length < sky.length * 0.05, 'no person in the sky');
  // A missing input is named before any model loads.
  const check = spawnSync(process.execPath, [cli, 'pose', 'detect', join(dir, 'missing.jpg'), '--out', csv], { encoding: 'utf8' });
  assert.equal(check.status, 1);
  assert.match(check.stderr, /missing\.jpg does not exist/);
});

test('evaluate: pckh_movenet and ds_centernet score real targets high and blank images at zero', { skip: NO_SHARED }, async () => {
  const real = join(dir, 'pred-real');
  const blank = join(dir, 'pred-blank');
  mkdirSync(real);
  mkdirSync(blank);
  for (const [from, to] of [['1_A.jpg', '1_B.jpg'], ['2_A.jpg', '2_B.jpg'], ['3_A.jpg', '3_B.jpg']]) {
    await sharp(join(SPT, 'images', to!)).png().toFile(join(real, `${from}___${to}.png`));
    await sharp({ create: { width: 256, height: 256, channels: 3, background: '#808080' } }).png().toFile(join(blank, `${from}___${to}.png`));
  }
  const metrics = ['pckh_movenet', 'ds_centernet'];
  const good = await evaluate({ pred: real, data: SPT, protocol: 'gfla', metrics });
  assert.equal(good.count, 3);
  assert.ok(good.metrics.pckh_movenet! >= 0.9, JSON.stringify(good.metrics));
  assert.ok(good.metrics.ds_centernet! >= 0.5, JSON.stringify(good.metrics));
  const bad = await evaluate({ pred: blank, data: SPT, protocol: 'gfla', metrics });
  assert.equal(bad.metrics.pckh_movenet, 0);
  assert.ok(bad.metrics.ds_centernet! < 0.1, JSON.stringify(bad.metrics));
});

test('a target photo\'s pose goes into the source photo\'s pixels through the model frame', () => {
  // Target 100x200 (wide) and source 200x100 (tall) in a 128x64 frame: the target's letterbox scale is 0.32 with
  // 48 rows of bars above; the source's is 0.64 with none.
  const pose = emptyPose();
  setJoint(pose, 0, 50, 100); // the target's centre
  setJoint(pose, 1, 0, 0);
  const out = targetPoseInSource(pose, [100, 200], [200, 100], [128, 64]);
  assert.deepEqual([out[0], out[1]], [100, 50], 'centre to centre');
  assert.deepEqual([out[2], out[3]], [(48 / 0.64), 0], 'top-left of the target to its place in the frame');
});

test('reposer generate: the source pose is detected, the target pose taken from --target-image', { skip: NO_SHARED }, async () => {
  const data = join(dir, 'synth');
  const run = join(dir, 'run');
  await writeSynthDataset({ out: data, size: { height: 32, width: 16 }, identities: 4, poses: 2, seed: 3, testFraction: 0.5 });
  await train({ model: 'patn', preset: 'tiny', data, out: run, steps: 1, workers: 0, sampleEvery: 0 });
  const out = join(dir, 'posed.png');
  const r = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', run, '--source', join(SPT, 'images', '1_A.jpg'),
    '--target-image', join(SPT, 'images', '2_B.jpg'), '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /detected the source pose with MoveNet thunder \(1[0-8] of 18 joints\)/);
  assert.match(r.stderr, /took the target pose from .*2_B\.jpg \(1[0-8] of 18 joints\)/);
  const meta = await sharp(readFileSync(out)).metadata();
  assert.deepEqual([meta.width, meta.height], [256, 256]);
  const noPerson = join(dir, 'sky.png');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3080c0' } }).png().toFile(noPerson);
  const n = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', run, '--source', noPerson, '--target-image', join(SPT, 'images', '2_B.jpg'), '--out', out], { encoding: 'utf8' });
  assert.equal(n.status, 1);
  assert.match(n.stderr, /--source: no person found in .*sky\.png; give a photo of one person, or give the keypoints by hand/);
});
