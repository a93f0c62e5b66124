// The field's two CSV formats, read and written exactly as the public repositories (Deformable GAN, PATN, SPT) do.
//
// Annotation CSV: a header `name:keypoints_y:keypoints_x`, then one row per image
//   `0011_c6s4_002502_01.jpg: [y0, ..., y17]: [x0, ..., x17]`
// with a space after each colon, y first, joint order OpenPose-18 (see src/pose/skeleton.ts), -1 for a missing joint.
// Pairs CSV: a header `from,to`, then `a.jpg,b.jpg` (two images of one person).
//
// Parsers come in two kinds: `parse*` throws on the first problem (for code that needs clean data) and
// `scan*` returns every row it could read plus every problem, each naming the file and 1-based line
// (for `reposer data check`).
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { NUM_JOINTS, assertPose, emptyPose, type Pose } from '../pose/skeleton.js';

export const ANNOTATION_HEADER = 'name:keypoints_y:keypoints_x';
export const PAIRS_HEADER = 'from,to';

/** One problem in a dataset file; `line` is 1-based (0 when the problem is about the whole file). */
export interface Problem {
  file: string;
  line: number;
  message: string;
}

export function formatProblem(p: Problem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}

export interface AnnotationRow {
  name: string;
  pose: Pose;
  /** 1-based line in the file it came from (0 for rows made in code). */
  line: number;
}

export interface PairRow {
  from: string;
  to: string;
  line: number;
}

export interface Scan<T> {
  rows: T[];
  problems: Problem[];
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseIntList(s: string): number[] | string {
  const t = s.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return `expected a bracketed list like [1, 2, ...], got '${clip(t)}'`;
  const inner = t.slice(1, -1).trim();
  if (inner === '') return [];
  const out: number[] = [];
  for (const part of inner.split(',')) {
    const v = part.trim();
    if (!/^-?\d+(\.\d+)?$/.test(v)) return `'${clip(v)}' is not a number`;
    out.push(Number(v));
  }
  return out;
}

function clip(s: string, n = 60): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

/**
 * Reads every row of an annotation CSV it can, and lists every problem (file and line) without stopping:
 * a wrong header, a row without the `name: [..]: [..]` shape, a list that is not numbers, a wrong joint count,
 * a joint with only one coordinate missing, a duplicated name. Rows with problems are left out of `rows`.
 */
export function scanAnnotationCsv(text: string, file: string): Scan<AnnotationRow> {
  const rows: AnnotationRow[] = [];
  const problems: Problem[] = [];
  const lines = splitLines(text);
  if (lines.length === 0) {
    problems.push({ file, line: 0, message: `empty file; an annotation CSV starts with the header '${ANNOTATION_HEADER}'` });
    return { rows, problems };
  }
  const header = (lines[0] as string).replace(/^\uFEFF/, '').trim();
  if (header !== ANNOTATION_HEADER) {
    problems.push({ file, line: 1, message: `header is '${clip(header)}', expected '${ANNOTATION_HEADER}'` });
  }
  const seen = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] as string;
    if (raw.trim() === '') continue;
    const bad = (message: string): void => { problems.push({ file, line: lineNo, message }); };
    // The name may itself contain ':' only in theory; the lists start at the first ': ['.
    const m = /^(.*?):\s*(\[[^\]]*\])\s*:\s*(\[[^\]]*\])\s*$/.exec(raw);
    if (!m) {
      bad(`malformed row '${clip(raw)}'; expected 'name: [18 y values]: [18 x values]'`);
      continue;
    }
    const name = (m[1] as string).trim();
    if (name === '') { bad('row has an empty image name'); continue; }
    const ys = parseIntList(m[2] as string);
    const xs = parseIntList(m[3] as string);
    if (typeof ys === 'string') { bad(`keypoints_y of ${name}: ${ys}`); continue; }
    if (typeof xs === 'string') { bad(`keypoints_x of ${name}: ${xs}`); continue; }
    if (ys.length !== NUM_JOINTS || xs.length !== NUM_JOINTS) {
      bad(`${name} has ${ys.length} y and ${xs.length} x values; every row needs ${NUM_JOINTS} joints (use -1 for a missing one)`);
      continue;
    }
    const pose = emptyPose();
    let half = -1;
    for (let j = 0; j < NUM_JOINTS; j++) {
      const y = ys[j] as number;
      const x = xs[j] as number;
      if ((y < 0) !== (x < 0)) { half = j; break; }
      if (y >= 0) { pose[2 * j] = y; pose[2 * j + 1] = x; }
    }
    if (half >= 0) {
      bad(`${name}: joint ${half} has y=${ys[half]} x=${xs[half]}; a missing joint is -1 in both lists`);
      continue;
    }
    const previous = seen.get(name);
    if (previous !== undefined) {
      bad(`${name} is annotated twice (first on line ${previous}); keep one row per image`);
      continue;
    }
    seen.set(name, lineNo);
    rows.push({ name, pose, line: lineNo });
  }
  return { rows, problems };
}

/** Like scanAnnotationCsv but throws one error listing the first problems, with file and line. */
export function parseAnnotationCsv(text: string, file: string): AnnotationRow[] {
  const { rows, problems } = scanAnnotationCsv(text, file);
  throwIfProblems(problems, 'annotation CSV');
  return rows;
}

/** Reads and parses an annotation CSV file (throws on any problem). */
export function readAnnotationCsvSync(path: string): AnnotationRow[] {
  return parseAnnotationCsv(readText(path, 'annotation CSV'), path);
}

export async function readAnnotationCsv(path: string): Promise<AnnotationRow[]> {
  return parseAnnotationCsv(await readTextAsync(path, 'annotation CSV'), path);
}

/**
 * Formats rows as an annotation CSV (header included, trailing newline). Coordinates are rounded to integers,
 * as the field's files hold them; missing joints are written as -1.
 */
export function formatAnnotationCsv(rows: readonly { name: string; pose: Pose }[]): string {
  const out: string[] = [ANNOTATION_HEADER];
  for (const [i, r] of rows.entries()) {
    assertPose(r.pose, `formatAnnotationCsv: row ${i} (${r.name})`);
    if (/[\r\n]/.test(r.name) || r.name.includes(': [')) {
      throw new Error(`formatAnnotationCsv: image name ${JSON.stringify(r.name)} cannot be written (newline or ': [' in it); rename the image`);
    }
    const ys: number[] = [];
    const xs: number[] = [];
    for (let j = 0; j < NUM_JOINTS; j++) {
      const y = r.pose[2 * j] as number;
      const x = r.pose[2 * j + 1] as number;
      const ok = y >= 0 && x >= 0;
      ys.push(ok ? Math.round(y) : -1);
      xs.push(ok ? Math.round(x) : -1);
    }
    out.push(`${r.name}: [${ys.join(', ')}]: [${xs.join(', ')}]`);
  }
  return `${out.join('\n')}\n`;
}

export function writeAnnotationCsvSync(path: string, rows: readonly { name: string; pose: Pose }[]): void {
  writeFileSync(path, formatAnnotationCsv(rows));
}

export async function writeAnnotationCsv(path: string, rows: readonly { name: string; pose: Pose }[]): Promise<void> {
  await writeFile(path, formatAnnotationCsv(rows));
}

/** Reads every pair it can and lists every problem (header, malformed row), with file and line. */
export function scanPairsCsv(text: string, file: string): Scan<PairRow> {
  const rows: PairRow[] = [];
  const problems: Problem[] = [];
  const lines = splitLines(text);
  if (lines.length === 0) {
    problems.push({ file, line: 0, message: `empty file; a pairs CSV starts with the header '${PAIRS_HEADER}'` });
    return { rows, problems };
  }
  const header = (lines[0] as string).replace(/^\uFEFF/, '').trim();
  if (header !== PAIRS_HEADER) problems.push({ file, line: 1, message: `header is '${clip(header)}', expected '${PAIRS_HEADER}'` });
  for (let i = 1; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '') continue;
    const parts = raw.split(',').map((s) => s.trim());
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      problems.push({ file, line: i + 1, message: `malformed pair '${clip(raw)}'; expected 'from.jpg,to.jpg'` });
      continue;
    }
    rows.push({ from: parts[0] as string, to: parts[1] as string, line: i + 1 });
  }
  return { rows, problems };
}

export function parsePairsCsv(text: string, file: string): PairRow[] {
  const { rows, problems } = scanPairsCsv(text, file);
  throwIfProblems(problems, 'pairs CSV');
  return rows;
}

export function readPairsCsvSync(path: string): PairRow[] {
  return parsePairsCsv(readText(path, 'pairs CSV'), path);
}

export async function readPairsCsv(path: string): Promise<PairRow[]> {
  return parsePairsCsv(await readTextAsync(path, 'pairs CSV'), path);
}

export function formatPairsCsv(pairs: readonly { from: string; to: string }[]): string {
  const out: string[] = [PAIRS_HEADER];
  for (const p of pairs) {
    if (/[,\r\n]/.test(p.from + p.to)) {
      throw new Error(`formatPairsCsv: image names ${JSON.stringify(p.from)}, ${JSON.stringify(p.to)} cannot hold ',' or newlines`);
    }
    out.push(`${p.from},${p.to}`);
  }
  return `${out.join('\n')}\n`;
}

export function writePairsCsvSync(path: string, pairs: readonly { from: string; to: string }[]): void {
  writeFileSync(path, formatPairsCsv(pairs));
}

export async function writePairsCsv(path: string, pairs: readonly { from: string; to: string }[]): Promise<void> {
  await writeFile(path, formatPairsCsv(pairs));
}

function throwIfProblems(problems: Problem[], what: string): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).map(formatProblem).join('\n  ');
  const more = problems.length > 5 ? `\n  ... and ${problems.length - 5} more` : '';
  throw new Error(`invalid ${what} (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${shown}${more}\n` +
    `run 'reposer data check <dataset dir>' for the full list`);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

async function readTextAsync(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}
