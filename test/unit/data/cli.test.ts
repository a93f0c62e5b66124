// `reposer data ...` through the real entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { formatPairsCsv, readAnnotationCsvSync } from '../../../src/data/formats.js';
import { makePairs } from '../../../src/data/pairs.js';
import { NO_SHARED, SHARED } from './shared-data.js';

const run = (...args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['dist/src/cli/main.js', 'data', ...args], { encoding: 'utf8' });

test('data --help lists the subcommands; an unknown subcommand or option fails naming it', () => {
  const help = run('--help');
  assert.equal(help.status, 0);
  for (const name of ['check', 'draw', 'pairs', 'synth', 'synth-grid']) assert.match(String(help.stdout), new RegExp(`\\n  ${name}\\b`));
  const bad = run('nope');
  assert.equal(bad.status, 1);
  assert.match(String(bad.stderr), /unknown command 'nope'/);
  assert.match(String(run('check').stderr), /missing required argument 'dir'/);
  assert.match(String(run('check', '/nonexistent-dir-xyz').stdout), /does not exist/);
  const flag = run('check', '/tmp', '--colour', 'red');
  assert.equal(flag.status, 1);
  assert.match(String(flag.stderr), /unknown option '--colour'/);
  assert.match(String(run('check', '--help').stdout), /Example:\n {2}reposer data check/);
});

test('data pairs writes the pairs makePairs gives', { skip: NO_SHARED }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-cli-'));
  try {
    const ann = join(SHARED, 'market/market-annotation-test.csv');
    const out = join(dir, 'pairs.csv');
    const r = run('pairs', ann, '--out', out, '--limit', '500', '--seed', '2');
    assert.equal(r.status, 0, String(r.stderr));
    assert.match(String(r.stdout), /500 pairs/);
    assert.equal(readFileSync(out, 'utf8'), formatPairsCsv(makePairs(readAnnotationCsvSync(ann), { limit: 500, seed: 2 })));
    assert.match(String(run('pairs', ann, '--out', out, '--limit', 'many').stderr), /option '--limit <n>' argument 'many' is invalid\. expected a non-negative integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('data draw puts the chosen annotated images with their skeletons side by side', { skip: NO_SHARED }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-cli-'));
  try {
    const out = join(dir, 'grid.png');
    const r = run('draw', join(SHARED, 'spt-samples'), '--out', out, '--names', '1_A.jpg,1_B.jpg');
    assert.equal(r.status, 0, String(r.stderr));
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [512, 256]);
    assert.match(String(run('draw', join(SHARED, 'spt-samples'), '--out', out, '--names', 'ghost.jpg').stderr), /ghost\.jpg is not in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
