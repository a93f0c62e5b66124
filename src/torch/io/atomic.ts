// Atomic file replacement: a reader (or a restarted run after a kill) sees either the old file or the new one,
// never a torn one. Write a temporary file in the same directory (rename is only atomic within one file system),
// fsync it so its data is on disk before the name points at it, rename it over the target, then fsync the directory
// so the rename itself survives a power loss.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Appends bytes to the file being written. */
export type WriteChunk = (chunk: Uint8Array) => void;

/**
 * Writes `path` atomically: `fill` receives a function that appends bytes to a temporary file beside `path`;
 * when `fill` returns, the file is fsynced and renamed over `path`. If `fill` throws, the temporary file is removed,
 * `path` is left as it was, and the error propagates.
 */
export function writeAtomic(path: string, fill: (write: WriteChunk) => void): void {
  const target = resolve(path);
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o644);
  } catch (err) {
    throw new Error(`cannot write ${path}: creating the temporary file ${temp} failed (${(err as Error).message}); check that ${dir} exists and is writable`);
  }
  let done = false;
  try {
    fill((chunk) => {
      let at = 0;
      while (at < chunk.byteLength) at += writeSync(fd, chunk, at, chunk.byteLength - at);
    });
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(temp, target);
    done = true;
  } finally {
    if (!done) {
      if (fd >= 0) closeSync(fd);
      try {
        unlinkSync(temp);
      } catch {
        // Already gone: nothing to clean up.
      }
    }
  }
  syncDirectory(dir);
}

/** Writes a whole file atomically (see writeAtomic); strings are written as UTF-8. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeAtomic(path, (write) => write(bytes));
}

/**
 * Removes temporary files that writeAtomic left beside `path` when its process was killed mid-write
 * (`.<name>.<pid>.<random>.tmp` whose pid is no longer running). Returns the removed file names.
 */
export function removeStaleTemporaries(path: string): string[] {
  const target = resolve(path);
  const dir = dirname(target);
  const prefix = `.${basename(target)}.`;
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    if (!m || isRunning(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // Removed concurrently: fine.
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function syncDirectory(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename has still happened.
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
