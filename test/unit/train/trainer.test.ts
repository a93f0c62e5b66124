// The trainer on a tiny synthetic dataset: a run stopped and resumed reaches bitwise the weights of an uninterrupted
// run; a non-finite loss stops the run naming the loss and the step, and the last good checkpoint survives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { writeSynthDataset } from '../../../src/synth/index.js';
import { train, listCheckpoints, TrainingError } from '../../../src/train/index.js';
import { writeReport } from '../../../src/report/index.js';

let root = '';
let data = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'trainer-'));
  data = join(root, 'data');
  await writeSynthDataset({ out: data, size: { height: 32, width: 16 }, identities: 5, poses: 2, seed: 2, testFraction: 0.2 });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Every tensor of every file of a checkpoint folder, by file and name. */
function checkpointTensors(dir: string): Map<string, Float32Array | Uint8Array | BigInt64Array> {
  const out = new Map<string, Float32Array | Uint8Array | BigInt64Array>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort()) {
    const { tensors } = torch.io.loadSafetensors(join(dir, f));
    for (const [k, t] of tensors) out.set(`${f}:${k}`, t.data() as Float32Array);
    torch.dispose([...tensors.values()]);
  }
  return out;
}

const common = { model: 'patn', preset: 'tiny' as const, steps: 8, seed: 3, workers: 0, saveEvery: 100, sampleEvery: 0, logEvery: 1 };

test('PATN tiny: stopped at step 3 and resumed, the run ends bitwise equal to an uninterrupted one', async () => {
  const start = torch.memory().numTensors;
  const a = await train({ ...common, data, out: join(root, 'a') });
  assert.equal(a.step, 8);
  assert.equal(a.reason, 'done');
  const stop = new AbortController();
  const b1 = await train({ ...common, data, out: join(root, 'b'), signal: stop.signal, onStep: (p) => { if (p.step === 3) stop.abort(); } });
  assert.deepEqual([b1.step, b1.reason], [3, 'stopped']);
  assert.deepEqual(listCheckpoints(join(root, 'b')).map(([s]) => s), [3]);
  await assert.rejects(train({ ...common, data, out: join(root, 'b') }), /already holds a run.*--resume/);
  const { model: _m, preset: _p, ...resumeOptions } = common;
  const b2 = await train({ ...resumeOptions, data, out: join(root, 'b'), resume: true });
  assert.deepEqual([b2.step, b2.reason], [8, 'done']);
  const ta = checkpointTensors(a.checkpoint);
  const tb = checkpointTensors(b2.checkpoint);
  assert.deepEqual([...tb.keys()], [...ta.keys()]);
  assert.ok([...ta.keys()].some((k) => k.startsWith('training.safetensors:pool.')), 'the image pools are checkpointed');
  for (const [k, va] of ta) assert.deepEqual(tb.get(k), va, `${k} differs after resume`);
  // The log holds every step once per run segment, with losses, learning rates and timings.
  const lines = readFileSync(join(root, 'b', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; losses: Record<string, number>; lr: Record<string, number>; time: { dataMs: number } });
  assert.deepEqual(lines.map((l) => l.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(lines.every((l) => Number.isFinite(l.losses.G_L1) && l.lr.optimizer_G! > 0 && l.time.dataMs >= 0));
  assert.equal(torch.memory().numTensors, start, 'the trainer released every tensor');
  // The report reads what the trainer wrote.
  const html = readFileSync(writeReport(join(root, 'b')), 'utf8');
  assert.match(html, /G_L1/);
});

test('sample grids: source | target pose | generated | target, one row per pair', async () => {
  const out = join(root, 'samples');
  await train({ ...common, steps: 2, sampleEvery: 2, data, out });
  const grids = readdirSync(join(out, 'samples'));
  assert.deepEqual(grids, ['step-00000002.png']);
  const { default: sharp } = await import('sharp');
  const meta = await sharp(join(out, 'samples', grids[0] as string)).metadata();
  assert.deepEqual([meta.width, meta.height], [1.5 * 4 * 16, 1.5 * 2 * 32], 'two pairs (the tiny batch), four 16-wide columns, scaled 1.5');
});

test('a non-finite loss stops the run with the loss and the step; the last good checkpoint survives', async () => {
  const out = join(root, 'nan');
  await assert.rejects(
    train({ ...common, steps: 50, saveEvery: 1, data, out, sets: ['optim.lr=1e30'] }),
    (err: Error) => {
      assert.ok(err instanceof TrainingError, String(err));
      assert.match(err.message, new RegExp(`stopped at step ${err.step}: patn: loss '[^']+' is (NaN|Infinity|-Infinity)`));
      assert.ok(err.step >= 2, 'at least one good step first');
      assert.ok(err.checkpoint !== null && existsSync(join(err.checkpoint, 'netG.safetensors')), 'the last good checkpoint is there');
      assert.match(err.message, /last good checkpoint is .*step-/);
      assert.equal(listCheckpoints(out).at(-1)?.[0], err.step - 1);
      return true;
    },
  );
});

test('--precision bf16: autocast where the CPU has native bf16, else said once and fp32', async () => {
  const notices: string[] = [];
  const r = await train({ ...common, steps: 2, data, out: join(root, 'bf16'), precision: 'bf16', notice: (l) => notices.push(l) });
  assert.equal(r.step, 2);
  if (torch.autocastSupported('cpu', 'bfloat16')) assert.deepEqual(notices, []);
  else assert.deepEqual(notices.map((n) => /train: this CPU has no native bfloat16.*running in fp32/.test(n)), [true]);
  const { tensors } = torch.io.loadSafetensors(join(r.checkpoint, 'netG.safetensors'));
  assert.ok([...tensors.values()].every((t) => t.dtype === 'float32' || t.dtype === 'int64'), 'master weights stay fp32');
  torch.dispose([...tensors.values()]);
  // The same two steps in fp32: autocast shows as small differences in the generator and discriminator files
  // (largest measured 2.2e-3 on an AVX512-BF16 CPU); without native bf16, none.
  const f = await train({ ...common, steps: 2, data, out: join(root, 'fp32-of-bf16') });
  const half = checkpointTensors(r.checkpoint);
  let largest = 0;
  for (const [k, v] of checkpointTensors(f.checkpoint)) {
    if (!k.startsWith('net') || !(v instanceof Float32Array)) continue; // weights; optimiser moments differ more
    const w = half.get(k) as Float32Array;
    for (let i = 0; i < v.length; i++) largest = Math.max(largest, Math.abs((v[i] as number) - (w[i] as number)));
  }
  if (torch.autocastSupported('cpu', 'bfloat16')) {
    assert.ok(largest > 0 && largest < 1e-2, `bf16 vs fp32 after 2 steps: largest weight difference ${largest}, want in (0, 1e-2)`);
  } else assert.equal(largest, 0, 'without native bf16 the run is fp32');
  await assert.rejects(train({ ...common, data, out: join(root, 'bad'), precision: 'fp8' as never }), /--precision must be fp32 or bf16/);
});
