import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { ZipReader } from '../../../src/torch/io/zip.js';

const dir = mkdtempSync(join(tmpdir(), 'reposer-zip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Item { name: string; data: Buffer; deflate?: boolean }

/**
 * A minimal zip writer for the tests. With zip64, every central record carries its local-header offset in a ZIP64
 * extra field and the end record defers to a ZIP64 end record, as writers do past 65535 entries or 4 GiB.
 */
function buildZip(items: Item[], opts: { zip64?: boolean; comment?: string; badCrc?: string } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const it of items) {
    const body = it.deflate ? deflateRawSync(it.data) : it.data;
    const crc = (crc32(it.data) ^ (opts.badCrc === it.name ? 1 : 0)) >>> 0;
    const name = Buffer.from(it.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(it.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(it.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);
    const extra = Buffer.alloc(opts.zip64 ? 12 : 0);
    if (opts.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(8, 2);
      extra.writeBigUInt64LE(BigInt(offset), 4);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(45, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(it.deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(it.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  const tail: Buffer[] = [];
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(items.length), 24);
    rec.writeBigUInt64LE(BigInt(items.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const comment = Buffer.from(opts.comment ?? '');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(opts.zip64 ? 0xffff : items.length, 8);
  end.writeUInt16LE(opts.zip64 ? 0xffff : items.length, 10);
  end.writeUInt32LE(opts.zip64 ? 0xffffffff : cd.length, 12);
  end.writeUInt32LE(opts.zip64 ? 0xffffffff : cdOffset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...parts, cd, ...tail, end, comment]);
}

function write(name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

const items: Item[] = [
  { name: 'a/data.pkl', data: Buffer.from('pickle bytes') },
  { name: 'a/data/0', data: Buffer.alloc(5000, 7), deflate: true },
  { name: 'a/version', data: Buffer.from('3\n') },
];

function readsAll(path: string): void {
  const z = new ZipReader(path);
  try {
    assert.deepEqual([...z.entries.keys()], items.map((i) => i.name));
    for (const it of items) assert.deepEqual(z.readEntry(it.name), it.data, it.name);
    assert.equal(z.entries.get('a/data/0')?.method, 8);
  } finally {
    z.close();
  }
}

test('reads stored and deflated entries, with an archive comment', () => {
  readsAll(write('plain.zip', buildZip(items, { comment: 'made by a test' })));
});

test('reads ZIP64 end records and ZIP64 extra fields', () => {
  readsAll(write('z64.zip', buildZip(items, { zip64: true })));
});

test('damaged archives fail naming the archive and the problem', () => {
  const good = buildZip(items);
  const cut = write('cut.zip', good.subarray(0, good.length - 30));
  assert.throws(() => new ZipReader(cut), /zip archive .*cut\.zip: no end-of-central-directory record: the archive is truncated/);
  const crc = new ZipReader(write('crc.zip', buildZip(items, { badCrc: 'a/version' })));
  assert.throws(() => crc.readEntry('a/version'), /entry 'a\/version' fails its CRC check/);
  assert.throws(() => crc.readEntry('a/nope'), /entry 'a\/nope' is missing/);
  crc.close();
  assert.throws(() => new ZipReader(write('tiny.zip', Buffer.from('PK'))), /not a zip archive: only 2 bytes/);
});
