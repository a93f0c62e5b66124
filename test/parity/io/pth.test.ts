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

/** Asserts that two loaded values are the same Python value: same containers in the same order, same tensors. */
function assertSameValue(a: PthValue, b: PthValue, at = 'value'): void {
  if (a instanceof torch.Tensor || b instanceof torch.Tensor) {
    assert.ok(a instanceof torch.Tensor && b instanceof torch.Tensor, `${at}: both are tensors`);
    assert.equal(a.dtype, b.dtype, `${at} dtype`);
    assert.deepEqual(a.shape, b.shape, `${at} shape`);
    assert.equal(hex(a), hex(b), `${at} bytes`);
  } else if (a instanceof PyDict || b instanceof PyDict) {
    assert.ok(a instanceof PyDict && b instanceof PyDict, `${at}: both are dicts`);
    assert.equal(a.pyType, b.pyType, `${at} type`);
    assert.deepEqual([...a.keys()], [...b.keys()], `${at} keys`);
    for (const [k, x] of a) assertSameValue(x, b.get(k) as PthValue, `${at}.${String(k)}`);
    assert.deepEqual([...a.attributes.keys()], [...b.attributes.keys()], `${at} attributes`);
    for (const [k, x] of a.attributes) assertSameValue(x as PthValue, b.attributes.get(k) as PthValue, `${at}@${k}`);
  } else if (Array.isArray(a) || Array.isArray(b)) {
    assert.ok(Array.isArray(a) && Array.isArray(b) && a.length === b.length, `${at}: same length`);
    assert.equal(torch.io.isTuple(a), torch.io.isTuple(b), `${at}: both tuples or both lists`);
    a.forEach((x, i) => assertSameValue(x, (b as PthValue[])[i] as PthValue, `${at}[${i}]`));
  } else {
    assert.deepEqual(a, b, at);
  }
}

/** Loads one value saved in both formats: the legacy one must match Python bit for bit, and the zip one exactly. */
function loadBothFormats(legacyName: string, zipName: string, prefix: string): [PthValue, PthValue] {
  const before = torch.memory().numTensors;
  const legacy = loadPth(file(legacyName));
  const all = flatten(legacy, '');
  assert.equal(torch.memory().numTensors - before, all.size, 'one live tensor per tensor in the file');
  assertBitwise(all, prefix);
  const zip = loadPth(file(zipName));
  assertSameValue(legacy, zip);
  return [legacy, zip];
}

test('legacy-format (pre-1.6) state dict loads bit-exactly, and as the zip save of it does', () => {
  const before = torch.memory().numTensors;
  const sd = loadPthStateDict(file('legacy.pth'));
  assert.equal(torch.memory().numTensors - before, sd.size, 'only the returned tensors are alive');
  assertBitwise(sd, 'model');
  torch.dispose(sd);
  const [legacy, zip] = loadBothFormats('legacy.pth', 'model.pth', 'model');
  assert.ok(legacy instanceof PyDict && legacy.pyType === 'collections.OrderedDict');
  torch.dispose([legacy, zip]);
  assert.equal(torch.memory().numTensors, before);
});

test('legacy mixed checkpoint: every dtype, shared-storage views, nested dicts, _metadata, plain values, as in zip', () => {
  const before = torch.memory().numTensors;
  torch.dispose(loadBothFormats('legacy_mixed.pth', 'mixed.pth', 'mixed'));
  assert.equal(torch.memory().numTensors, before);
});

test('tensors sharing storages (t, t[1:], t.t(), a column, rows of an unsaved base) load alike from both formats', () => {
  const before = torch.memory().numTensors;
  const [legacy, zip] = loadBothFormats('legacy_views.pth', 'views.pth', 'views');
  assertBitwise(flatten(zip, ''), 'views');
  const t = (legacy as torch.io.PyDict<PthValue>).get('t') as torch.Tensor;
  const tail = (legacy as torch.io.PyDict<PthValue>).get('tail') as torch.Tensor;
  const tailBefore = hex(tail);
  t.fill_(0);
  assert.equal(hex(tail), tailBefore, 'views are independent copies');
  torch.dispose([legacy, zip]);
  assert.equal(torch.memory().numTensors, before);
});

test('storage views of PyTorch before 0.4 (view_metadata, _rebuild_tensor v1, Python 2 OrderedDict) load as torch.load reads them', () => {
  const before = torch.memory().numTensors;
  const v = loadPth(file('legacy_storage_views.pth'));
  assert.ok(v instanceof PyDict && v.pyType === 'collections.OrderedDict');
  assertBitwise(flatten(v, ''), 'sview');
  torch.dispose(v);
  assert.throws(() => loadPth(file('legacy_badview.pth')),
    /legacy_badview\.pth: a tensor of size \[5\] stride \[1\] offset 0 reaches element 4 of storage k2 \[2, 5\), which has only 3/);
  assert.throws(() => loadPth(file('legacy_badroot.pth')),
    /legacy_badroot\.pth \(legacy format, the pickled object\): a view \(offset 8, 5 elements\) of storage k2 does not fit in its 10 elements/);
  assert.equal(torch.memory().numTensors, before, 'nothing leaks on error');
});

test('a legacy pickle longer than the first read (3 MB) is read in growing steps', () => {
  const v = loadPth(file('legacy_big_pickle.pth')) as torch.io.PyDict<PthValue>;
  assertBitwise(flatten(v, ''), 'bigpickle');
  assert.equal(v.get('note'), 'x'.repeat(3_000_000));
  torch.dispose(v);
});

test('a truncated legacy checkpoint fails clearly, naming the file and where it ends', () => {
  const before = torch.memory().numTensors;
  const size = statSync(file('legacy_mixed.pth')).size;
  const cutAt = (name: string, length: number): string => {
    copyFileSync(file('legacy_mixed.pth'), file(name));
    truncateSync(file(name), length);
    return file(name);
  };
  assert.throws(() => loadPth(cutAt('cut-data.pth', size - 3)),
    /cut-data\.pth: truncated: storage \S+ \(\d+ of \d+: \d+ \w+ elements\) needs bytes \d+\.\.\d+ but the file has \d+; the file is incomplete/);
  assert.throws(() => loadPth(cutAt('cut-pickle.pth', 400)),
    /cut-pickle\.pth \(legacy format, the pickled object\): truncated pickle: .*; the file ends there: it is truncated/);
  assert.throws(() => loadPth(cutAt('cut-magic.pth', 9)), /cut-magic\.pth ends after 9 bytes, inside its first pickle; the file is truncated/);
  assert.equal(torch.memory().numTensors, before);
});

test('a file in neither torch.save format is refused, saying what it is', () => {
  assert.throws(() => loadPth(file('plain.pkl')), /plain\.pkl is a pickle whose first value is a dict of 1 entries, not torch\.save's magic number/);
  assert.throws(() => loadPth(file('py.safetensors')), /py\.safetensors is a safetensors file, not a torch\.save checkpoint: load it with loadSafetensors/);
  assert.throws(() => loadPth(file('expected.json')), /expected\.json is neither a torch\.save zip archive nor a legacy torch\.save file \(it starts with bytes 7b22/);
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
