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
import { dataCommands, parseArgs } from '../../../src/cli/data.js';
import { NO_SHARED, SHARED } from './shared-data.js';

const run = (...args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['dist/src/cli/main.js', 'data', ...args], { encoding: 'utf8' });

test('data help lists the subcommands from the table; an unknown one fails naming it', () => {
  const help = run('help');
  assert.equal(help.status, 0);
  for (const name of Object.keys(dataCommands)) assert.match(String(help.stdout), new RegExp(`\\n  ${name} `));
  const bad = run('nope');
  assert.equal(bad.status, 1);
  assert.match(String(bad.stderr), /unknown data subcommand 'nope'/);
  assert.match(String(run('check').stderr), /give one dataset directory/);
  assert.match(String(run('check', '/nonexistent-dir-xyz').stdout), /does not exist/);
});

test('parseArgs: --k v, --k=v, flags, positionals, and a missing value', () => {
  const { positional, options } = parseArgs(['a', '--x', '1', '--y=-40', '--f', 'b'], ['f']);
  assert.deepEqual(positional, ['a', 'b']);
  assert.deepEqual([...options], [['x', '1'], ['y', '-40'], ['f', 'true']]);
  assert.throws(() => parseArgs(['--x']), /--x needs a value/);
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
    assert.match(String(run('pairs', ann, '--out', out, '--limit', 'many').stderr), /--limit must be a non-negative integer/);
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
