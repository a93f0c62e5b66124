// A minimal zip reader over a file descriptor: the central directory (with ZIP64), stored and deflated entries,
// read one entry at a time so a large checkpoint is never held in memory whole. CRCs are checked.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localHeaderOffset: number;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;
  private readonly fileSize: number;

  /** Opens `path` and reads its central directory; `what` names the file in errors (e.g. 'checkpoint a.pth'). */
  constructor(readonly path: string, private readonly what = `zip archive ${path}`) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw new Error(`${this.what}: cannot open it (${(err as Error).message})`);
    }
    try {
      this.fileSize = fstatSync(this.fd).size;
      this.readDirectory();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private fail(problem: string): never {
    throw new Error(`${this.what}: ${problem}`);
  }

  private read(position: number, length: number): Buffer {
    if (position < 0 || position + length > this.fileSize) {
      this.fail(`truncated: needs bytes ${position}..${position + length} but the file has ${this.fileSize}; the file is incomplete or corrupt`);
    }
    const buf = Buffer.allocUnsafe(length);
    let at = 0;
    while (at < length) {
      const n = readSync(this.fd, buf, at, length - at, position + at);
      if (n === 0) this.fail(`truncated: reading ${length} bytes at ${position} stopped after ${at}`);
      at += n;
    }
    return buf;
  }

  private readDirectory(): void {
    if (this.fileSize < 22) this.fail(`not a zip archive: only ${this.fileSize} bytes`);
    // The end record sits in the last 22 bytes plus an optional comment of up to 65535 bytes.
    const tailLength = Math.min(this.fileSize, 22 + 65535);
    const tailStart = this.fileSize - tailLength;
    const tail = this.read(tailStart, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('no end-of-central-directory record: the archive is truncated (an interrupted copy or save?) or not a zip file');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR) this.fail('ZIP64 sizes are announced but the ZIP64 locator is missing; the archive is corrupt');
      const recOffset = Number(tail.readBigUInt64LE(loc + 8));
      const rec = this.read(recOffset, 56);
      if (rec.readUInt32LE(0) !== ZIP64_EOCD) this.fail('the ZIP64 end record is missing; the archive is corrupt');
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    const cd = this.read(cdOffset, cdSize);
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) this.fail(`central directory entry ${k} is damaged`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
      // ZIP64 extra field: the 64-bit values appear only for the fields whose 32-bit slot is saturated, in this order.
      let e = p + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === U32_MAX) { size = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (compressedSize === U32_MAX) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (localHeaderOffset === U32_MAX) { localHeaderOffset = Number(cd.readBigUInt64LE(q)); q += 8; }
        }
        e += 4 + len;
      }
      if (flags & 1) this.fail(`entry '${name}' is encrypted; encrypted archives are not supported`);
      this.entries.set(name, { name, method, compressedSize, size, crc, localHeaderOffset });
      p = extraEnd + commentLength;
    }
  }

  /** The uncompressed bytes of an entry; throws naming the entry when it is missing, damaged or truncated. */
  readEntry(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) this.fail(`entry '${name}' is missing`);
    const local = this.read(entry.localHeaderOffset, 30);
    if (local.readUInt32LE(0) !== LOCAL) this.fail(`entry '${name}': local header not found at ${entry.localHeaderOffset}; the archive is corrupt`);
    const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const raw = this.read(dataStart, entry.compressedSize);
    let data: Buffer;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        this.fail(`entry '${name}': deflate data is damaged (${(err as Error).message})`);
      }
    } else {
      this.fail(`entry '${name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
    }
    if (data.length !== entry.size) this.fail(`entry '${name}' has ${data.length} bytes but the directory says ${entry.size}`);
    if (crc32(data) >>> 0 !== entry.crc >>> 0) this.fail(`entry '${name}' fails its CRC check; the archive is corrupt`);
    return data;
  }
}
