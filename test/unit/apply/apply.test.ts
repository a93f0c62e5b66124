// The applications: animation (pose resampling, exact frame timing, GIF/WebP/frames, batched frames equal one-at-a-
// time frames) and re-ID augmentation (Market names keep the identity, counts, data check passes, resumable).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../../src/torch/index.js';
import { openDataset, imagePath, identityOf, readAnnotationCsvSync } from '../../../src/data/index.js';
import type { Pose } from '../../../src/pose/index.js';
import type { PairBatch } from '../../../src/models/batch.js';
import type { TrainableModel } from '../../../src/models/registry.js';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { train } from '../../../src/train/index.js';
import { generatePoses, loadModel, type LoadedModel } from '../../../src/generate/index.js';
import { animate, augmentDataset, frameDelays, parsePoseSequence, resamplePoses, writeAnimation } from '../../../src/apply/index.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.js');
let root = '';
let data = '';
let run = '';
let loaded: LoadedModel;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'apply-'));
  data = join(root, 'data');
  run = join(root, 'run');
  await writeSynthDataset({ out: data, size: { height: 32, width: 16 }, identities: 4, poses: 3, seed: 8, testFraction: 0 });
  await train({ model: 'patn', preset: 'tiny', data, out: run, steps: 2, workers: 0, sampleEvery: 0 });
  loaded = loadModel(run);
});
after(() => {
  loaded.model.dispose();
  rmSync(root, { recursive: true, force: true });
});

const pose = (v: number): Pose => Float32Array.from({ length: 36 }, (_, i) => (i === 4 || i === 5 ? -1 : v + i)) as Pose;

test('resamplePoses keeps the duration, interpolates joints, and keeps a joint missing where either keyframe lacks it', () => {
  const keys = [pose(0), pose(10), pose(20)];
  assert.equal(resamplePoses(keys, 5, 5).length, 3);
  const four = resamplePoses(keys, 5, 20); // 4 frames per keyframe interval
  assert.equal(four.length, 9);
  assert.deepEqual(Array.from(four[0] as Pose), Array.from(keys[0] as Pose));
  assert.deepEqual(Array.from(four[8] as Pose), Array.from(keys[2] as Pose));
  assert.ok(Math.abs((four[1] as Pose)[0] as number - 2.5) < 1e-6, 'a quarter of the way from 0 to 10');
  assert.equal((four[1] as Pose)[4], -1);
  const gap = [pose(0), pose(10)];
  (gap[1] as Pose)[0] = -1;
  (gap[1] as Pose)[1] = -1;
  const mid = resamplePoses(gap, 1, 2);
  assert.equal((mid[0] as Pose)[0], 0, 'present at its own keyframe');
  assert.equal((mid[1] as Pose)[0], -1, 'missing between keyframes when one lacks it');
  assert.throws(() => resamplePoses([], 1, 1), /pose sequence is empty/);
  assert.throws(() => resamplePoses(keys, 0, 1), /pose rate must be a positive number/);
});

test('frameDelays: each frame ends at round(k x 1000 / fps) in the format\'s unit', () => {
  const gif = frameDelays(30, 30, 10);
  assert.ok(gif.every((d) => d % 10 === 0 && d >= 10));
  assert.equal(gif.reduce((a, b) => a + b, 0), 1000, '30 frames at 30 fps last one second');
  assert.deepEqual(gif.slice(0, 3), [30, 40, 30]);
  const webp = frameDelays(7, 3, 1);
  assert.equal(webp.reduce((a, b) => a + b, 0), 2333);
  let end = 0;
  for (const [k, d] of webp.entries()) {
    end += d;
    assert.equal(end, Math.round(((k + 1) * 1000) / 3));
  }
});

/**
 * A stand-in for a trained generator: two training steps leave PATN's output flat grey whatever the pose. This one
 * draws the target pose's maps over the source, so every pose gives its own frame and a frame that lands in the wrong
 * place shows.
 */
function drawsPose(): LoadedModel {
  const generate = (b: PairBatch): torch.Tensor => torch.scope(() => b.imageA.mul(0.5).add(b.poseMapB.amax(1, true).clamp(0, 1)).clamp(-1, 1));
  return { ...loaded, model: { generate } as unknown as TrainableModel };
}

test('frames made in batches equal frames made one at a time, in pose order', async () => {
  const ds = await openDataset(data, { split: 'train' });
  const rows = [...ds.annotations.values()];
  const source = imagePath(ds, rows[0]!.name);
  const targetPoses = rows.slice(0, 5).map((r) => r.pose);
  const before = torch.memory().numTensors;
  for (const model of [loaded, drawsPose()]) {
    const batched = await generatePoses(model, { source, sourcePose: rows[0]!.pose, targetPoses, batchSize: 4 });
    const single = await Promise.all(targetPoses.map((p) => generatePoses(model, { source, sourcePose: rows[0]!.pose, targetPoses: [p], batchSize: 1 })));
    assert.equal(batched.frames.length, 5);
    let worst = 0;
    for (const [i, f] of batched.frames.entries()) {
      const g = single[i]?.frames[0] as Buffer;
      for (let k = 0; k < f.length; k++) worst = Math.max(worst, Math.abs((f[k] as number) - (g[k] as number)));
    }
    // Batch norm runs on running statistics at generation, so a frame does not depend on its batch; the convolutions'
    // summation order may, by at most one grey level after rounding.
    assert.ok(worst <= 1, `batched frames differ from single ones by ${worst} grey levels`);
  }
  const distinct = await generatePoses(drawsPose(), { source, sourcePose: rows[0]!.pose, targetPoses, batchSize: 4 });
  assert.equal(new Set(distinct.frames.map((f) => f.toString('base64'))).size, 5, 'each pose its own frame');
  assert.equal(torch.memory().numTensors, before);
});

test('writeAnimation: GIF and WebP hold every distinct frame with its delay; identical neighbours merge, time kept', async () => {
  const [w, h] = [16, 32];
  const frame = (v: number): Buffer => Buffer.alloc(w * h * 3, v);
  const distinct = { width: w, height: h, frames: [10, 60, 110, 160, 210].map(frame) };
  for (const ext of ['gif', 'webp']) {
    const r = await writeAnimation(distinct, join(root, `d.${ext}`), 15);
    const m = await sharp(join(root, `d.${ext}`), { pages: -1 }).metadata();
    assert.equal(m.pages, 5, ext);
    assert.deepEqual(m.delay, r.delays, ext);
    assert.deepEqual(r.delays, frameDelays(5, 15, ext === 'gif' ? 10 : 1));
    const repeated = { width: w, height: h, frames: [frame(10), frame(10), frame(10), frame(200)] };
    const q = await writeAnimation(repeated, join(root, `r.${ext}`), 10);
    const n = await sharp(join(root, `r.${ext}`), { pages: -1 }).metadata();
    assert.deepEqual(n.delay, [300, 100], `${ext}: three identical frames became one of three times the delay`);
    assert.equal(q.frames, 4);
  }
});

test('animate makes the resampled frames and writes GIF, WebP and a frames folder with their timing', async () => {
  const ds = await openDataset(data, { split: 'train' });
  const rows = [...ds.annotations.values()];
  const common = { source: imagePath(ds, rows[0]!.name), sourcePose: rows[0]!.pose, poses: rows.slice(0, 3).map((r) => r.pose), fps: 12, poseFps: 4 };
  for (const out of ['a.gif', 'a.webp']) {
    const r = await animate(drawsPose(), { ...common, out: join(root, out) });
    assert.equal(r.frames, 7, '3 poses at 4/s resampled to 12/s');
    const m = await sharp(join(root, out), { pages: -1 }).metadata();
    assert.equal(m.pages, 7, out);
    assert.deepEqual(m.delay, r.delays, out);
  }
  const dir = await animate(drawsPose(), { ...common, out: join(root, 'frames') });
  assert.equal(readdirSync(join(root, 'frames')).filter((n) => n.endsWith('.png')).length, dir.frames);
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'frames', 'frames.json'), 'utf8')).delaysMs, frameDelays(7, 12, 1));
  assert.equal(parsePoseSequence(join(data, 'synth-annotation-train.csv')).length, ds.annotations.size);
  assert.throws(() => parsePoseSequence('[[[1,2]]]'), /--poses pose 0: .*must be a list of 18/);
});

test('augment: N poses per identity in the Market layout, names keep the identity, data check passes, a rerun resumes', async () => {
  const out = join(root, 'augmented');
  const r = await augmentDataset(loaded, { data, poses: 3, out, seed: 1 });
  const ds = await openDataset(data, { split: 'train' });
  const ids = new Set([...ds.annotations.keys()].map((n) => identityOf(n, ds.identity)));
  assert.equal(r.identities, ids.size);
  assert.equal(r.images, 3 * ids.size);
  assert.equal(r.generated, r.images);
  const files = readdirSync(join(out, 'train')).sort();
  assert.equal(files.length, r.images);
  const rows = readAnnotationCsvSync(r.annotationFile);
  assert.deepEqual(rows.map((x) => x.name).sort(), files);
  for (const id of ids) assert.equal(files.filter((f) => identityOf(f, 'market') === id).length, 3, `identity ${id}`);
  assert.ok(files.every((f) => /^[^_]+_.*_g\d\d\.jpg$/.test(f)));
  const check = spawnSync(process.execPath, [CLI, 'data', 'check', out], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // Interrupted: two images lost; the rerun makes exactly those and leaves the rest untouched.
  const kept = join(out, 'train', files[0] as string);
  const mtime = statSync(kept).mtimeMs;
  rmSync(join(out, 'train', files[1] as string));
  rmSync(join(out, 'train', files[5] as string));
  const again = await augmentDataset(loaded, { data, poses: 3, out, seed: 1 });
  assert.equal(again.generated, 2);
  assert.ok(existsSync(join(out, 'train', files[1] as string)));
  assert.equal(statSync(kept).mtimeMs, mtime);
});
