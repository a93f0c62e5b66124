import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';

const { saveSafetensors, loadSafetensors, readSafetensorsHeader, tensorBytes, writeAtomic, removeStaleTemporaries } = torch.io;
const dir = mkdtempSync(join(tmpdir(), 'reposer-st-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One tensor of every supported dtype, with awkward values (extremes, negative zero, NaN, a transposed layout). */
function everyDtype(): Record<string, torch.Tensor> {
  return {
    f32: torch.tensor(new Float32Array([1.5, -0, NaN, Infinity, 3.4e38, 1e-45]), [2, 3]),
    f64: torch.tensor(new Float64Array([Math.PI, -1e-300, 2 ** 60])),
    f16: torch.randn([3, 4]).to('float16'),
    bf16: torch.randn([2, 5]).to('bfloat16'),
    i64: torch.tensor(new BigInt64Array([2n ** 62n + 3n, -(2n ** 63n), 0n])),
    i32: torch.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1])),
    i16: torch.tensor(new Int16Array([-32768, 32767, 1]), [3, 1]),
    i8: torch.tensor(new Int8Array([-128, 127])),
    u8: torch.tensor(new Uint8Array([0, 255, 7, 8]), [2, 2]),
    bool: torch.tensor([[true, false], [false, true]]),
    scalar: torch.tensor(new Float32Array([2.5]), []),
    empty: torch.zeros([0, 3]),
    transposed: torch.randn([3, 4]).transpose(0, 1),
  };
}

test('round trip of every dtype with metadata is bit-exact and leaks nothing', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    const src = everyDtype();
    const path = join(dir, 'all.safetensors');
    saveSafetensors(path, src, { format: 'pt', config: JSON.stringify({ lr: 2e-4 }) });
    const { tensors, metadata } = loadSafetensors(path);
    assert.deepEqual(metadata, { format: 'pt', config: '{"lr":0.0002}' });
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(src).sort());
    for (const [name, t] of Object.entries(src)) {
      const got = tensors.get(name) as torch.Tensor;
      assert.equal(got.dtype, t.dtype, `${name} dtype`);
      assert.deepEqual(got.shape, t.shape, `${name} shape`);
      assert.deepEqual(tensorBytes(got), tensorBytes(t), `${name} bytes`);
    }
    assert.equal(tensors.get('transposed')?.isContiguous(), true);
  });
  assert.equal(torch.memory().numTensors, before);
});

test('the file follows the format: u64 length, padded JSON header, aligned tiled data', () => {
  torch.scope(() => {
    const path = join(dir, 'layout.safetensors');
    saveSafetensors(path, new Map([['b', torch.ones([3], 'int8')], ['a', torch.ones([2], 'float64')], ['c', torch.ones([1], 'float16')]]));
    const raw = readFileSync(path);
    const n = Number(raw.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
    const header = JSON.parse(raw.toString('utf8', 8, 8 + n));
    assert.equal(header.__metadata__, undefined, 'no metadata entry when none was given');
    assert.deepEqual(header.a, { dtype: 'F64', shape: [2], data_offsets: [0, 16] });
    assert.deepEqual(header.c, { dtype: 'F16', shape: [1], data_offsets: [16, 18] });
    assert.deepEqual(header.b, { dtype: 'I8', shape: [3], data_offsets: [18, 21] });
    assert.equal(raw.length, 8 + n + 21);
    assert.deepEqual([...raw.subarray(8 + n + 18)], [1, 1, 1]);
    const h = readSafetensorsHeader(path);
    assert.deepEqual([...h.tensors.keys()], ['a', 'c', 'b'], 'header entries come in file order');
  });
});

test('truncated and corrupt files fail naming the file and the problem, without leaking', () => {
  const before = torch.memory().numTensors;
  const good = join(dir, 'good.safetensors');
  torch.scope(() => saveSafetensors(good, { w: torch.randn([16, 16]), b: torch.zeros([16]) }, { step: '1' }));
  const bytes = readFileSync(good);
  const n = Number(bytes.readBigUInt64LE(0));
  const bad = join(dir, 'bad.safetensors');
  const attempt = (data: Uint8Array, pattern: RegExp): void => {
    writeFileSync(bad, data);
    assert.throws(() => loadSafetensors(bad), (e: Error) => {
      assert.ok(e.message.includes(bad), `message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  };
  attempt(bytes.subarray(0, bytes.length - 5), /truncated: the header describes 1088 data bytes but the file holds only 1083/);
  attempt(bytes.subarray(0, 5), /truncated: the file has 5 bytes, fewer than the 8-byte header length/);
  attempt(bytes.subarray(0, 8 + 10), /truncated: the header needs \d+ bytes but only 10 follow/);
  attempt(Buffer.concat([bytes, Buffer.from([0])]), /1 unexpected bytes follow the last tensor/);
  const withHeader = (h: string): Buffer => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(h)));
    return Buffer.concat([len, Buffer.from(h), Buffer.alloc(8)]);
  };
  attempt(withHeader('{"w": '), /the header is not valid JSON/);
  attempt(withHeader('{"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}'), /tensor 'w' has dtype "C64", which is not supported/);
  attempt(withHeader('{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}'), /needs 12 bytes but data_offsets \[0, 8\] span 8/);
  attempt(withHeader('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}'),
    /starts at data byte 2 but the previous tensor ends at 4/);
  const huge = Buffer.from(bytes);
  huge.writeBigUInt64LE(2n ** 40n, 0);
  attempt(huge, /header length 1099511627776 exceeds/);
  assert.ok(n > 0);
  assert.equal(torch.memory().numTensors, before);
  assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors: cannot open it/);
});

test('bad arguments to saveSafetensors are named', () => {
  torch.scope(() => {
    const t = torch.ones([2]);
    const d = torch.ones([2]);
    d.dispose();
    const p = join(dir, 'args.safetensors');
    assert.throws(() => saveSafetensors(p, { x: d }), /tensor 'x' was disposed/);
    assert.throws(() => saveSafetensors(p, { __metadata__: t }), /'__metadata__' is reserved/);
    assert.throws(() => saveSafetensors(p, { x: t }, { n: 3 as unknown as string }), /metadata 'n' is a number/);
    assert.throws(() => saveSafetensors(p, { x: 5 as unknown as torch.Tensor }), /'x' is not a Tensor/);
  });
});

test('a failed write leaves the previous file intact and no temporary file', () => {
  torch.scope(() => {
    assert.throws(() => saveSafetensors(join(dir, 'no-such-dir', 'c.safetensors'), { a: torch.ones([1]) }),
      /cannot write .*c\.safetensors: creating the temporary file .* failed/);
  });
  const keepDir = mkdtempSync(join(dir, 'keep-'));
  const target = join(keepDir, 'ckpt.safetensors');
  torch.scope(() => saveSafetensors(target, { a: torch.full([4], 7) }, { v: 'old' }));
  const old = readFileSync(target);
  assert.throws(() => writeAtomic(target, (write) => {
    write(new Uint8Array(100));
    throw new Error('disk full (simulated)');
  }), /disk full \(simulated\)/);
  assert.deepEqual(readFileSync(target), old, 'the old checkpoint is untouched');
  assert.deepEqual(readdirSync(keepDir), ['ckpt.safetensors'], 'the temporary file was removed');
  torch.scope(() => saveSafetensors(target, { a: torch.full([4], 8) }, { v: 'new' }));
  assert.deepEqual(readdirSync(keepDir), ['ckpt.safetensors']);
  const { tensors, metadata } = loadSafetensors(target);
  assert.equal(metadata.v, 'new');
  assert.deepEqual(tensors.get('a')?.toArray(), [8, 8, 8, 8]);
  torch.dispose(tensors);
});

// A child process rewrites a 16 MB checkpoint in a loop and is SIGKILLed at a random moment; the checkpoint must
// always load and be one complete version. Writing in place instead of atomically fails this within a few rounds.
test('a checkpoint survives SIGKILL during a save', async () => {
  const index = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'torch', 'index.js');
  const child = join(dir, 'writer.mjs');
  writeFileSync(child, `
    import * as torch from ${JSON.stringify(index)};
    const big = torch.zeros([4000000]);
    for (let v = 1; ; v++) {
      big.fill_(v);
      torch.io.saveSafetensors(process.argv[2], { w: big }, { version: String(v) });
      if (v === 1) process.stdout.write('ready\\n');
    }
  `);
  const target = join(dir, 'killed.safetensors');
  for (let round = 0; round < 3; round++) {
    const p = spawn(process.execPath, [child, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => p.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
    const { tensors, metadata } = loadSafetensors(target);
    const w = tensors.get('w') as torch.Tensor;
    const v = Number(metadata.version);
    assert.ok(v >= 1, `round ${round}: version ${metadata.version}`);
    assert.equal(torch.scope(() => w.min().item()), v, `round ${round}: data matches its version`);
    assert.equal(torch.scope(() => w.max().item()), v);
    torch.dispose(tensors);
  }
  // Killed writers leave their temporary files; removeStaleTemporaries clears exactly those.
  const leftovers = readdirSync(dir).filter((n) => n.startsWith('.killed.safetensors.'));
  assert.deepEqual(removeStaleTemporaries(target).sort(), leftovers.sort());
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.killed.safetensors.')), []);
});
