import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readAnnotationCsvSync, readPairsCsvSync } from '../../../src/data/formats.js';
import { openDataset, parsingPath } from '../../../src/data/layouts.js';
import { checkDataset } from '../../../src/data/check.js';
import { NUM_JOINTS, type Pose } from '../../../src/pose/skeleton.js';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';
import {
  identityOfName, makeIdentity, planSynthDataset, readSurface, renderFigure, synthGridPng, writeSynthDataset, type SynthDatasetOptions,
} from '../../../src/synth/index.js';

const SIZE = { height: 128, width: 64 };
const MARKET_TRAIN = join(import.meta.dirname, '../../../../../shared/data/market/market-annotation-train.csv');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'reposer-synth-'));
}

/** Every file under dir, relative path -> bytes. */
function tree(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = join(rel, e.name);
    if (e.isDirectory()) for (const [k, v] of tree(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(join(dir, r)));
  }
  return out;
}

async function grey(path: string): Promise<Uint8Array> {
  assert.equal((await sharp(path).metadata()).channels, 1, `${path} is a one-channel PNG`);
  const { data, info } = await sharp(path).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 1);
  assert.deepEqual([info.height, info.width], [128, 64]);
  return data;
}

const OPTIONS: SynthDatasetOptions = { out: '', size: SIZE, identities: 5, poses: 3, seed: 7 };

test('the written dataset reads back: keypoints, split by identity, pairs, masks covering the joints', async () => {
  const dir = tmp();
  try {
    const summary = await writeSynthDataset({ ...OPTIONS, out: dir });
    assert.deepEqual(summary.train, { identities: 4, images: 12, pairs: 24 });
    assert.deepEqual(summary.test, { identities: 1, images: 3, pairs: 6 });
    const plan = new Map(planSynthDataset({ ...OPTIONS, out: dir }).map((i) => [i.name, i]));
    const ids: Record<string, Set<string>> = { train: new Set(), test: new Set() };
    for (const split of ['train', 'test'] as const) {
      const rows = readAnnotationCsvSync(join(dir, `synth-annotation-${split}.csv`));
      for (const row of rows) {
        assert.match(row.name, /^\d{4}_c\ds1_\d{6}_00\.jpg$/);
        const planned = plan.get(row.name);
        assert.ok(planned, `${row.name} was planned`);
        assert.equal(planned.split, split);
        assert.deepEqual(Array.from(row.pose), Array.from(planned.pose), `${row.name}: keypoints read back equal the rendered ones`);
        ids[split]?.add(identityOfName(row.name));
        assert.ok(existsSync(join(dir, split, row.name)));
        const stem = row.name.replace(/\.jpg$/, '');
        const mask = await grey(join(dir, 'masks', split, `${stem}.png`));
        const parsing = await grey(join(dir, 'parsing', split, `${stem}.png`));
        for (let i = 0; i < mask.length; i++) {
          assert.ok((parsing[i] as number) <= 9);
          assert.equal(mask[i], (parsing[i] as number) > 0 ? 255 : 0);
        }
        for (let j = 0; j < NUM_JOINTS; j++) {
          const y = row.pose[2 * j] as number;
          const x = row.pose[2 * j + 1] as number;
          if (y >= 0) assert.equal(mask[y * 64 + x], 255, `${row.name}: joint ${j} at (${y}, ${x}) is inside the mask`);
        }
        // Rendering the pose read back from the CSV reproduces the written parsing map exactly.
        const again = await renderFigure(makeIdentity(OPTIONS.seed, Number(identityOfName(row.name))), row.pose, SIZE);
        assert.deepEqual(Buffer.from(again.parsing), Buffer.from(parsing), `${row.name}: re-render from the CSV`);
        const surface = await readSurface(join(dir, 'surface', split, `${stem}.npy`));
        assert.deepEqual(Buffer.from(surface.part), Buffer.from(again.surface.part), `${row.name}: the surface map is the render's`);
        assert.deepEqual(surface.coords, again.surface.coords);
      }
      for (const p of readPairsCsvSync(join(dir, `synth-pairs-${split}.csv`))) {
        assert.equal(identityOfName(p.from), identityOfName(p.to));
        assert.notEqual(p.from, p.to);
      }
    }
    assert.deepEqual([...ids.train!].filter((i) => ids.test!.has(i)), [], 'no identity is in both splits');
    const manifest = JSON.parse(readFileSync(join(dir, 'synth.json'), 'utf8')) as { height: number; width: number; seed: number };
    assert.deepEqual([manifest.height, manifest.width, manifest.seed], [128, 64, 7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('src/data opens and checks the written dataset as a real Market dataset', async () => {
  const dir = tmp();
  try {
    await writeSynthDataset({ ...OPTIONS, out: dir, prefix: 'market' });
    for (const split of ['train', 'test']) {
      const ds = await openDataset(dir, { split });
      assert.equal(ds.layout, 'market');
      assert.deepEqual(ds.frame, [128, 64]);
      assert.equal(ds.pairsGenerated, false);
      assert.equal(ds.annotations.size, split === 'train' ? 12 : 3);
      for (const name of ds.annotations.keys()) assert.ok(parsingPath(ds, name), `${split}: parsing map of ${name} found`);
    }
    const report = await checkDataset(dir);
    assert.deepEqual(report.problems, []);
    assert.equal(report.splits.reduce((a, s) => a + s.images, 0), 15);
    assert.equal(report.splits.reduce((a, s) => a + s.parsingMaps, 0), 15);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same seed writes the same bytes; another seed does not', async () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  try {
    await writeSynthDataset({ ...OPTIONS, out: a, identities: 3, poses: 2 });
    await writeSynthDataset({ ...OPTIONS, out: b, identities: 3, poses: 2, concurrency: 1 });
    await writeSynthDataset({ ...OPTIONS, out: c, identities: 3, poses: 2, seed: 8 });
    const ta = tree(a);
    const tb = tree(b);
    assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
    for (const [k, v] of ta) assert.ok(v.equals(tb.get(k) as Buffer), `${k} differs between two runs with one seed`);
    assert.ok(!(ta.get('train/0001_c1s1_000001_00.jpg') as Buffer).equals(tree(c).get('train/0001_c1s1_000001_00.jpg') as Buffer));
  } finally {
    for (const d of [a, b, c]) rmSync(d, { recursive: true, force: true });
  }
});

test('real annotation rows drive the renderer (poses-from)', { skip: !existsSync(MARKET_TRAIN) && 'no shared Market data' }, async () => {
  const rows = readAnnotationCsvSync(MARKET_TRAIN).slice(0, 40);
  const poses: Pose[] = rows.map((r) => r.pose);
  const dir = tmp();
  try {
    await writeSynthDataset({ ...OPTIONS, out: dir, identities: 2, poses: 3, posesFrom: poses });
    const real = new Set(poses.map((p) => Array.from(p).join(',')));
    for (const split of ['train', 'test']) {
      for (const row of readAnnotationCsvSync(join(dir, `synth-annotation-${split}.csv`))) {
        assert.ok(real.has(Array.from(row.pose).join(',')), `${row.name} carries a real Market pose`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the test split takes its poses from testPosesFrom, the train split from posesFrom; testFraction 1 holds out everyone', () => {
  const pose = (y: number): Pose => Float32Array.from({ length: 36 }, (_, i) => (i % 2 === 0 ? y + i : 10 + (i % 7))) as Pose;
  const trainPoses = [pose(1), pose(2)];
  const testPoses = [pose(3)];
  const plan = planSynthDataset({ ...OPTIONS, out: 'unused', identities: 5, poses: 2, posesFrom: trainPoses, testPosesFrom: testPoses });
  const key = (p: Pose): string => Array.from(p).join(',');
  for (const img of plan) {
    const allowed = (img.split === 'test' ? testPoses : trainPoses).map(key);
    assert.ok(allowed.includes(key(img.pose)), `${img.name} (${img.split}) draws from its split's poses`);
  }
  assert.ok(plan.some((i) => i.split === 'test') && plan.some((i) => i.split === 'train'));
  const all = planSynthDataset({ ...OPTIONS, out: 'unused', identities: 3, poses: 2, testFraction: 1 });
  assert.deepEqual(new Set(all.map((i) => i.split)), new Set(['test']));
  assert.throws(() => planSynthDataset({ ...OPTIONS, out: 'unused', identities: 3, poses: 2, testPosesFrom: [] }), /--test-poses-from: the annotation CSV has no rows/);
});

test('--image-format png keeps the rendered pixels exactly', async () => {
  const dir = tmp();
  try {
    await writeSynthDataset({ ...OPTIONS, out: dir, identities: 1, poses: 2, imageFormat: 'png' });
    const row = readAnnotationCsvSync(join(dir, 'synth-annotation-train.csv'))[0]!;
    assert.match(row.name, /^0001_c1s1_000001_00\.png$/);
    const { data } = await sharp(join(dir, 'train', row.name)).raw().toBuffer({ resolveWithObject: true });
    const r = await renderFigure(makeIdentity(OPTIONS.seed, 1), row.pose, SIZE);
    assert.ok(Buffer.from(r.image).equals(data));
    await assert.rejects(writeSynthDataset({ ...OPTIONS, out: dir, imageFormat: 'gif' as 'png' }), /--image-format must be jpg or png/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reposer data synth: writes the layout and names bad options', async () => {
  const dir = tmp();
  /** Runs `reposer data synth ARGS` in-process; commander's errors become rejections with its message. */
  const synth = async (args: string[]): Promise<void> => {
    const program = buildProgram();
    const quiet = (c: Command): void => {
      c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      c.commands.forEach(quiet);
    };
    quiet(program);
    await program.parseAsync(['data', 'synth', ...args], { from: 'user' });
  };
  try {
    await synth(['--out', dir, '--size', '128x64', '--identities', '2', '--poses', '2', '--seed', '3']);
    for (const f of ['synth-annotation-train.csv', 'synth-annotation-test.csv', 'synth-pairs-train.csv', 'synth-pairs-test.csv', 'synth.json']) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    await assert.rejects(synth(['--out', dir, '--size', '12x6']), /--size: height and width must be integers in 16\.\.4096/);
    await assert.rejects(synth(['--out', dir, '--poses', '1']), /poses must be an integer >= 2/);
    await assert.rejects(synth(['--out', dir, '--colour', 'red']), /unknown option '--colour'/);
    await assert.rejects(synth(['--size', '128x64']), /required option '--out <dir>' not specified/);
    await assert.rejects(synth(['--out', dir, '--seed', 'x']), /option '--seed <s>' argument 'x' is invalid\. expected a non-negative integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README grid is a small PNG', async () => {
  const png = await synthGridPng({ identities: 2, poses: 2 });
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.deepEqual([meta.width, meta.height], [2 * 128 + 4, 2 * 128 + 4]);
  assert.ok(png.length < 200_000);
});
