import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTuple, PickleTruncatedError, PyCallable, PyDict, unpickle, unpickleAt } from '../../../src/torch/io/pickle.js';

// Pickles made with CPython's pickle.dumps; the Python expression is beside each.
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
// {'a': 1, 'b': [2, 2.5], 'c': (None, True, False), 'd': 'é', 'n': -5, 'big': 2**70, 'neg': -(2**40), 'mid': 70000}
const PLAIN_P2 = hex('80027d71002858010000006171014b0158010000006271025d7103284b024740040000000000006558010000006371044e888987710558010000006471065802000000c3a9710758010000006e71084afbffffff580300000062696771098a0900000000000000004058030000006e6567710a8a060000000000ff58030000006d6964710b4a70110100752e');
// the same at protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE)
const PLAIN_P4 = hex('80049563000000000000007d94288c0161944b018c0162945d94284b02474004000000000000658c0163944e888987948c0164948c02c3a9948c016e944afbffffff8c03626967948a090000000000000000408c036e6567948a060000000000ff8c036d6964944a70110100752e');
// {'x': {'y': 1}}: one-entry dicts use SETITEM without a MARK
const ONE_ENTRY = hex('80027d710058010000007871017d710258010000007971034b0173732e');
// l = [1]; {'p': l, 'q': l}: the second reference is a memo GET
const SHARED = hex('80027d71002858010000007071015d71024b016158010000007171036802752e');
// b'\x00\xffab' at protocol 2: _codecs.encode('\x00\xffab', 'latin1')
const BYTES_P2 = hex('8002635f636f646563730a656e636f64650a7100580500000000c3bf6162710158060000006c6174696e3171028671035271042e');

const refuseAll = { what: 'test pickle', findGlobal: (m: string, n: string): never => { throw new Error(`refused ${m}.${n}`); } };

function checkPlain(v: unknown): void {
  assert.ok(v instanceof PyDict);
  assert.deepEqual([...v.keys()], ['a', 'b', 'c', 'd', 'n', 'big', 'neg', 'mid']);
  assert.equal(v.get('a'), 1);
  assert.deepEqual(v.get('b'), [2, 2.5]);
  assert.equal(isTuple(v.get('b')), false, 'a list is not a tuple');
  assert.deepEqual(v.get('c'), [null, true, false]);
  assert.equal(isTuple(v.get('c')), true);
  assert.equal(v.get('d'), 'é');
  assert.equal(v.get('n'), -5);
  assert.equal(v.get('big'), 2n ** 70n, 'ints beyond 2^53 stay exact as bigint');
  assert.equal(v.get('neg'), -(2 ** 40));
  assert.equal(v.get('mid'), 70000);
}

test('unpickles plain containers and scalars at protocols 2 and 4', () => {
  checkPlain(unpickle(PLAIN_P2, refuseAll));
  checkPlain(unpickle(PLAIN_P4, refuseAll));
});

test('one-entry dicts and memo-shared values', () => {
  const one = unpickle(ONE_ENTRY, refuseAll) as PyDict;
  const inner = one.get('x') as PyDict;
  assert.ok(inner instanceof PyDict);
  assert.equal(inner.get('y'), 1);
  const shared = unpickle(SHARED, refuseAll) as PyDict;
  assert.equal(shared.get('p'), shared.get('q'), 'both keys refer to one list object, as in Python');
});

test('globals go through findGlobal, and a refusal propagates with the name', () => {
  assert.throws(() => unpickle(BYTES_P2, refuseAll), /refused _codecs\.encode/);
  const seen: string[] = [];
  const v = unpickle(BYTES_P2, {
    what: 'test pickle',
    findGlobal: (m, n) => {
      seen.push(`${m}.${n}`);
      return new PyCallable(`${m}.${n}`, (args) => new Uint8Array(Buffer.from(args[0] as string, 'latin1')));
    },
  });
  assert.deepEqual(seen, ['_codecs.encode']);
  assert.deepEqual([...(v as Uint8Array)], [0, 255, 97, 98]);
});

test('object-building opcodes outside the whitelist are rejected', () => {
  // Protocol 0 INST: instantiates os.system without a REDUCE; never allowed.
  const inst = new Uint8Array(Buffer.from('(ios\nsystem\n.', 'latin1'));
  assert.throws(() => unpickle(inst, refuseAll), /test pickle: pickle opcode INST is not allowed/);
  // REDUCE of something that is not a whitelisted callable (a string) is refused.
  const reduceStr = new Uint8Array(Buffer.from('800258010000006129522e', 'hex'));
  assert.throws(() => unpickle(reduceStr, refuseAll), /REDUCE applied to string a/);
});

test('truncated and corrupt pickles fail clearly', () => {
  assert.throws(() => unpickle(PLAIN_P2.subarray(0, 40), refuseAll), /test pickle: truncated pickle/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 0x02, 0xff]), refuseAll), /unknown pickle opcode 0xff.*at byte 2/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 0x02, 0x68, 0x07, 0x2e]), refuseAll), /memo key 7 was never stored/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 0x02, 0x2e]), refuseAll), /stack underflow/);
});

test('unpickleAt reads one of several pickles back to back and says where it ends; a cut one is PickleTruncatedError', () => {
  const stream = new Uint8Array([...PLAIN_P2, ...ONE_ENTRY, ...PLAIN_P4]);
  const first = unpickleAt(stream, 0, refuseAll);
  assert.equal(first.end, PLAIN_P2.length);
  checkPlain(first.value);
  const second = unpickleAt(stream, first.end, refuseAll);
  assert.equal(second.end, PLAIN_P2.length + ONE_ENTRY.length);
  assert.equal(((second.value as PyDict).get('x') as PyDict).get('y'), 1);
  const third = unpickleAt(stream, second.end, refuseAll);
  assert.equal(third.end, stream.length);
  checkPlain(third.value);
  assert.throws(() => unpickleAt(stream.subarray(0, second.end + 5), second.end, refuseAll),
    (e: Error) => e instanceof PickleTruncatedError && /test pickle: truncated pickle: needs \d+ more bytes but the data ends \(at byte \d+\)/.test(e.message));
  assert.throws(() => unpickleAt(new Uint8Array([0x80, 0x02, 0xff]), 0, refuseAll),
    (e: Error) => !(e instanceof PickleTruncatedError) && /unknown pickle opcode/.test(e.message), 'corruption is not truncation');
});

test('every truncation and random byte corruption ends in a value or an Error, never a hang', () => {
  for (let n = 0; n < PLAIN_P2.length; n++) {
    assert.throws(() => unpickle(PLAIN_P2.subarray(0, n), refuseAll), Error, `truncated to ${n} bytes`);
  }
  let seed = 12345;
  const rand = (k: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  for (let trial = 0; trial < 2000; trial++) {
    const bad = new Uint8Array(PLAIN_P2);
    for (let j = 0; j < 1 + rand(3); j++) bad[rand(bad.length)] = rand(256);
    try {
      unpickle(bad, refuseAll);
    } catch (err) {
      assert.ok(err instanceof Error, `trial ${trial} threw a non-Error`);
    }
  }
});
