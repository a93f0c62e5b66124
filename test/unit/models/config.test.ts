import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applySet, mergeConfig, parseSet, resolveConfig, saveResolvedConfig, loadResolvedConfig, takeConfigArgs, ConfigError,
} from '../../../src/models/config.js';

const defaults = {
  model: 'x',
  optim: { lr: 2e-4, betas: [0.5, 0.999], name: 'adam' },
  loss: { gan: 'lsgan', lambdaL1: 10 },
  vggWeights: null as string | null,
  flip: false,
};

test('file then --set layers override the defaults, deep', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ optim: { lr: 1e-3 }, loss: { gan: 'bce' } }));
  const cfg = resolveConfig(defaults, { file, sets: ['optim.lr=5e-5', 'flip=true', 'optim.betas=[0.9,0.99]', 'vggWeights=/a/b.pth'] });
  assert.equal(cfg.optim.lr, 5e-5);
  assert.equal(cfg.loss.gan, 'bce');
  assert.equal(cfg.loss.lambdaL1, 10);
  assert.equal(cfg.flip, true);
  assert.deepEqual(cfg.optim.betas, [0.9, 0.99]);
  assert.equal(cfg.vggWeights, '/a/b.pth');
  assert.equal(defaults.optim.lr, 2e-4, 'defaults are not mutated');
});

test('unknown keys are rejected with the key named', () => {
  assert.throws(() => applySet(defaults, 'optim.lrr=1'), (e: Error) => e instanceof ConfigError && /unknown key 'optim\.lrr'/.test(e.message));
  assert.throws(() => mergeConfig(defaults, { loss: { foo: 1 } }, 'file x'), /file x: unknown key 'loss\.foo'/);
  assert.throws(() => applySet(defaults, 'nothing=1'), /unknown key 'nothing'/);
});

test('values of the wrong kind are rejected with the key named', () => {
  assert.throws(() => applySet(defaults, 'optim.lr=fast'), /key 'optim\.lr' expects number/);
  assert.throws(() => applySet(defaults, 'optim=3'), /optim/);
  assert.throws(() => applySet(defaults, 'optim.betas=["a"]'), /optim\.betas\[0\]/);
});

test('a string default keeps the raw text even when it parses as JSON', () => {
  const cfg = applySet(defaults, 'optim.name=123');
  assert.equal(cfg.optim.name, '123');
  assert.deepEqual(parseSet('a.b=1e-4'), { path: ['a', 'b'], value: 1e-4, raw: '1e-4' });
  assert.throws(() => parseSet('novalue'), /key\.sub=value/);
});

test('saveResolvedConfig writes JSON beside a checkpoint and it loads back', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'run', 'ckpt');
  const path = saveResolvedConfig(dir, defaults);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), defaults);
  assert.deepEqual(loadResolvedConfig(dir), defaults);
  assert.throws(() => loadResolvedConfig(join(dir, 'nope')), /no resolved config/);
});

test('takeConfigArgs pulls --config and --set out of argv', () => {
  const r = takeConfigArgs(['--model', 'patn', '--set', 'a=1', '--config', 'f.json', '--set=b.c=2', 'x']);
  assert.deepEqual(r, { file: 'f.json', sets: ['a=1', 'b.c=2'], rest: ['--model', 'patn', 'x'] });
});
