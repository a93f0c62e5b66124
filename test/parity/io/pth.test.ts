// .pth import and safetensors interchange against files Debian's python3-torch writes at test time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';
import { PYTHON } from '../../helpers/oracle.js';

const { loadPth, loadPthStateDict, loadSafetensors, saveSafetensors, tensorBytes, PyDict } = torch.io;
type PthValue = torch.io.PthValue;

// Compiled to dist/test/parity/io; the Python scripts stay in test/parity/io.
const scripts = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'parity', 'io');
const dir = mkdtempSync(join(tmpdir(), 'reposer-pth-'));
const file = (name: string): string => join(dir, name);
interface Expected { dtype: string; shape: number[]; hex: string }
let expected: Record<string, Expected> = {};

before(() => {
  const r = spawnSync(PYTHON, [join(scripts, 'make_fixtures.py'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_fixtures.py failed (${PYTHON}): ${r.stderr || r.error}`);
  expected = JSON.parse(readFileSync(file('expected.json'), 'utf8')) as Record<string, Expected>;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const hex = (t: torch.Tensor): string => Buffer.from(tensorBytes(t)).toString('hex');

/** Every tensor reachable through dicts, by dotted path, as Python's dump() names them. */
function flatten(v: PthValue, prefix: string, out = new Map<string, torch.Tensor>()): Map<string, torch.Tensor> {
  if (v instanceof torch.Tensor) out.set(prefix, v);
  else if (v instanceof PyDict) for (const [k, x] of v) flatten(x, prefix ? `${prefix}.${String(k)}` : String(k), out);
  return out;
}

function assertBitwise(got: Map<string, torch.Tensor>, prefix: string): void {
  const want = Object.entries(expected).filter(([k]) => k.startsWith(prefix + '.'));
  assert.ok(want.length > 0);
  assert.deepEqual([...got.keys()].map((k) => `${prefix}.${k}`), want.map(([k]) => k), 'same tensors, same order');
  for (const [key, e] of want) {
    const t = got.get(key.slice(prefix.length + 1)) as torch.Tensor;
    assert.equal(t.dtype, e.dtype, `${key} dtype`);
    assert.deepEqual(t.shape, e.shape, `${key} shape`);
    assert.equal(hex(t), e.hex, `${key} bytes`);
    assert.equal(t.isContiguous(), true, `${key} is contiguous`);
  }
}

test("a conv net's state_dict loads bit-exactly, int64 buffer included, with no extra tensors alive", () => {
  const before = torch.memory().numTensors;
  const sd = loadPthStateDict(file('model.pth'));
  assert.equal(torch.memory().numTensors - before, sd.size, 'only the returned tensors are alive');
  assertBitwise(sd, 'model');
  assert.equal(sd.get('bn1.num_batches_tracked')?.dtype, 'int64');
  assert.equal(sd.get('bn1.num_batches_tracked')?.item(), 1);
  torch.dispose(sd);
  assert.equal(torch.memory().numTensors, before);
});

test('a deflated re-zip and a protocol-4 save of the same state dict load identically', () => {
  for (const name of ['deflated.pth', 'p4.pth']) {
    const sd = loadPthStateDict(file(name));
    assertBitwise(sd, 'model');
    torch.dispose(sd);
  }
});

test('a big-endian checkpoint (byteorder record) is byte-swapped on load', () => {
  const sd = loadPthStateDict(file('bigendian.pth'));
  assertBitwise(sd, 'be');
  torch.dispose(sd);
});

test('mixed checkpoint: every dtype, shared-storage views, one-entry OrderedDict, _metadata, plain values', () => {
  const before = torch.memory().numTensors;
  const v = loadPth(file('mixed.pth'));
  assert.ok(v instanceof PyDict);
  const all = flatten(v, '');
  assert.equal(torch.memory().numTensors - before, all.size, 'one live tensor per tensor in the file');
  assertBitwise(all, 'mixed');

  assert.equal(v.get('epoch'), 3);
  const sd = v.get('state_dict') as torch.io.PyDict<PthValue>;
  assert.equal(sd.pyType, 'collections.OrderedDict');
  const meta = sd.attributes.get('_metadata') as torch.io.PyDict<PthValue>;
  assert.ok(meta instanceof PyDict, 'BUILD set the _metadata attribute');
  assert.deepEqual([...meta.keys()], ['', 'conv1', 'bn1', 'conv2', 'fc']);
  assert.equal((meta.get('bn1') as torch.io.PyDict<PthValue>).get('version'), 2);
  const one = v.get('one') as torch.io.PyDict<PthValue>;
  assert.equal(one.pyType, 'collections.OrderedDict');
  assert.deepEqual([...one.keys()], ['only']);

  const m = v.get('meta') as torch.io.PyDict<PthValue>;
  assert.equal(m.get('lr'), 0.5);
  assert.equal(m.get('name'), 'run1');
  assert.deepEqual(m.get('steps'), [1, 2]);
  assert.equal(m.get('big'), 2n ** 60n);
  assert.equal(m.get('neg'), -(2 ** 40));
  assert.equal(m.get('none'), null);
  assert.equal(m.get('flag'), true);
  assert.deepEqual(m.get('tup'), [1, 'a']);
  assert.equal(torch.io.isTuple(m.get('tup')), true);
  assert.deepEqual([...(m.get('raw') as Uint8Array)], [0, 255, 97, 98]);
  assert.equal((m.get('intkey') as torch.io.PyDict<PthValue>).get(0), 'zero');

  // w, w.t(), w[1:, 2:5] and w[2] shared one storage in Python; here each owns its memory.
  const w = v.get('w') as torch.Tensor;
  const wt = v.get('wt') as torch.Tensor;
  const wtBefore = hex(wt);
  w.fill_(0);
  assert.equal(hex(wt), wtBefore, 'views are independent copies');

  torch.dispose(v);
  assert.equal(torch.memory().numTensors, before);
});

test('loadPthStateDict unwraps {state_dict, epoch} and frees the rest', () => {
  const before = torch.memory().numTensors;
  const sd = loadPthStateDict(file('mixed.pth'));
  assert.equal(torch.memory().numTensors - before, sd.size);
  assertBitwise(sd, 'mixed.state_dict');
  torch.dispose(sd);
  assert.equal(torch.memory().numTensors, before);
});

test('without a conventional wrapper key the error lists the keys; key picks one', () => {
  const before = torch.memory().numTensors;
  assert.throws(() => loadPthStateDict(file('gan.pth')), (e: Error) => {
    assert.match(e.message, /gan\.pth: no state dict found/);
    assert.match(e.message, /netG \(a state dict of 11 tensors\), netD \(a state dict of 1 tensor\), epoch \(number 1\)/);
    assert.match(e.message, /Pass \{ key: '<name>' \}/);
    return true;
  });
  assert.equal(torch.memory().numTensors, before, 'nothing leaks on error');
  const g = loadPthStateDict(file('gan.pth'), { key: 'netG' });
  assert.equal(g.size, 11);
  assert.equal(torch.memory().numTensors - before, 11);
  torch.dispose(g);
  assert.throws(() => loadPthStateDict(file('gan.pth'), { key: 'epoch' }), /\[epoch\] is number 1, not a state dict/);
  assert.equal(torch.memory().numTensors, before);
});

test('a legacy (pre-1.6) checkpoint gets an error saying so and how to convert it', () => {
  assert.throws(() => loadPth(file('legacy.pth')), (e: Error) => {
    assert.match(e.message, /legacy\.pth is in PyTorch's legacy \(pre-1\.6, non-zip\) serialization format/);
    assert.match(e.message, /torch\.save\(torch\.load\('OLD\.pth', map_location='cpu'\), 'NEW\.pth'\)/);
    return true;
  });
});

test('a pickle that calls os.system is refused, naming the global, and nothing runs', () => {
  const before = torch.memory().numTensors;
  assert.throws(() => loadPth(file('evil.pth')), (e: Error) => {
    assert.match(e.message, /evil\.pth .*the pickle needs the Python global 'posix\.system', which this loader refuses/);
    return true;
  });
  assert.equal(existsSync(file('pwned')), false);
  assert.equal(torch.memory().numTensors, before);
});

test('a truncated checkpoint fails clearly, naming the file', () => {
  const cut = file('cut.pth');
  copyFileSync(file('mixed.pth'), cut);
  truncateSync(cut, Math.floor(statSync(cut).size / 2));
  assert.throws(() => loadPth(cut), /checkpoint .*cut\.pth: no end-of-central-directory record: the archive is truncated/);
  assert.throws(() => loadPth(file('nothing.pth')), /nothing\.pth: cannot open it/);
});

test('safetensors written by hand in Python load bit-exactly', () => {
  const { tensors, metadata } = loadSafetensors(file('py.safetensors'));
  assert.deepEqual(metadata, { format: 'pt', note: 'written by hand' });
  assertBitwise(tensors, 'st');
  torch.dispose(tensors);
});

test('safetensors written here parse by hand in Python, with the same bytes and values', () => {
  const dtypes: torch.DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];
  torch.scope(() => {
    const tensors: Record<string, torch.Tensor> = {};
    for (const d of dtypes) {
      const base = torch.arange(0, 6, 1, 'float64').reshape([2, 3]);
      tensors[`k.${d}`] = (d === 'uint8' || d === 'bool' ? base : base.neg()).to(d);
    }
    tensors['r.f16'] = torch.randn([3, 5]).to('float16');
    tensors['r.bf16t'] = torch.randn([4, 2]).to('bfloat16').transpose(0, 1);
    tensors['r.scalar'] = torch.tensor(new Float64Array([Math.E]), []);
    tensors['r.empty'] = torch.zeros([2, 0], 'int32');
    const path = file('ts.safetensors');
    saveSafetensors(path, tensors, { producer: 'reposer', 'unicode ✓': 'é' });
    const r = spawnSync(PYTHON, [join(scripts, 'read_safetensors.py'), path], { encoding: 'utf8' });
    assert.equal(r.status, 0, `read_safetensors.py rejected the file: ${r.stderr}`);
    const got = JSON.parse(r.stdout) as { metadata: Record<string, string>; tensors: Record<string, Expected> };
    assert.deepEqual(got.metadata, { producer: 'reposer', 'unicode ✓': 'é' });
    assert.deepEqual(Object.keys(got.tensors).sort(), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const py = got.tensors[name] as Expected;
      assert.equal(py.dtype, t.dtype, `${name} dtype`);
      assert.deepEqual(py.shape, t.shape, `${name} shape`);
      assert.equal(py.hex, hex(t), `${name} bytes`);
    }
  });
});

class Net extends torch.nn.Module {
  conv1 = this.module('conv1', new torch.nn.Conv2d(3, 8, 3, { padding: 1 }));
  bn1 = this.module('bn1', new torch.nn.BatchNorm2d(8));
  conv2 = this.module('conv2', new torch.nn.Conv2d(8, 4, 3, { stride: 2 }));
  fc = this.module('fc', new torch.nn.Linear(4, 2));
  forward(x: torch.Tensor): torch.Tensor {
    return x;
  }
}

test('the same net built in TS takes the .pth weights by name and round-trips them through safetensors', () => {
  const before = torch.memory().numTensors;
  const net = new Net();
  const sd = loadPthStateDict(file('model.pth'));
  net.loadStateDict(sd);
  torch.dispose(sd);
  const path = file('net.safetensors');
  saveSafetensors(path, net.stateDict(), { source: 'model.pth' });
  net.dispose();
  const { tensors } = loadSafetensors(path);
  const inPyOrder = new Map(Object.keys(expected).filter((k) => k.startsWith('model.')).map((k) => [k.slice(6), tensors.get(k.slice(6)) as torch.Tensor]));
  assertBitwise(inPyOrder, 'model');
  torch.dispose(tensors);
  assert.equal(torch.memory().numTensors, before);
});
