// Reading a run directory (docs/run-dir.md) into checked, typed values. Nothing here knows about HTML.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One logged training step, after the later-line-wins merge. Non-finite numbers are kept as NaN/±Infinity. */
export interface LogEntry {
  step: number;
  losses: Record<string, number>;
  epoch?: number;
  stage?: string;
  lr?: Record<string, number>;
  time?: Record<string, number>;
  imagesPerSec?: number;
  wall?: string;
}

export interface SampleFile {
  step: number;
  path: string;
}

export interface EvalResult {
  protocol: string;
  metrics: Record<string, number>;
  count: number;
  settings?: Record<string, unknown>;
}

export interface RunDir {
  dir: string;
  config: Record<string, unknown>;
  /** Sorted by step, one entry per step. */
  log: LogEntry[];
  /** Sorted by step. */
  samples: SampleFile[];
  evals: EvalResult[];
}

const NOT_A_RUN_DIR = "is not a run directory written by 'reposer train'";
const SAMPLE_NAME = /^step-(\d{8})\.png$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON cannot hold NaN or ±Infinity, so the trainer writes them as strings; null is what JSON.stringify makes of them. */
function logNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null || v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return undefined;
}

function numberMap(v: unknown, where: string, field: string): Record<string, number> {
  if (!isObject(v)) throw new Error(`${where}: '${field}' must be an object of name -> number, got ${JSON.stringify(v)}`);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) {
    const n = logNumber(x);
    if (n === undefined) {
      throw new Error(`${where}: '${field}.${k}' must be a number (or "NaN", "Infinity", "-Infinity"), got ${JSON.stringify(x)}`);
    }
    out[k] = n;
  }
  return out;
}

function nonNegativeInteger(v: unknown, where: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`${where}: '${field}' must be an integer >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function logEntry(raw: unknown, where: string): LogEntry {
  if (!isObject(raw)) throw new Error(`${where}: a log line must be a JSON object, got ${JSON.stringify(raw)}`);
  const entry: LogEntry = {
    step: nonNegativeInteger(raw.step, where, 'step'),
    losses: numberMap(raw.losses, where, 'losses'),
  };
  if (raw.epoch !== undefined) entry.epoch = nonNegativeInteger(raw.epoch, where, 'epoch');
  if (raw.stage !== undefined) {
    if (typeof raw.stage !== 'string') throw new Error(`${where}: 'stage' must be a string, got ${JSON.stringify(raw.stage)}`);
    entry.stage = raw.stage;
  }
  if (raw.lr !== undefined) entry.lr = numberMap(raw.lr, where, 'lr');
  if (raw.time !== undefined) entry.time = numberMap(raw.time, where, 'time');
  if (raw.imagesPerSec !== undefined) {
    const n = logNumber(raw.imagesPerSec);
    if (n === undefined) throw new Error(`${where}: 'imagesPerSec' must be a number, got ${JSON.stringify(raw.imagesPerSec)}`);
    entry.imagesPerSec = n;
  }
  if (raw.wall !== undefined) {
    if (typeof raw.wall !== 'string') throw new Error(`${where}: 'wall' must be an ISO 8601 string, got ${JSON.stringify(raw.wall)}`);
    entry.wall = raw.wall;
  }
  return entry;
}

/**
 * Parses the text of a log.jsonl. A step logged twice (a resumed run appends) keeps its later line; a torn last
 * line (no final newline, not valid JSON) is dropped; any other bad line throws, naming `file` and the line number.
 */
export function parseLog(text: string, file: string): LogEntry[] {
  const lines = text.split('\n');
  const byStep = new Map<number, LogEntry>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const where = `${file}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      const isTornTail = i === lines.length - 1;
      if (isTornTail) continue;
      throw new Error(`${where} is not valid JSON (${(err as Error).message}); each line of a training log is one JSON object ` +
        '(see docs/run-dir.md)');
    }
    const entry = logEntry(raw, where);
    // Delete first so the Map's insertion order follows the latest write, then sort by step below anyway.
    byStep.delete(entry.step);
    byStep.set(entry.step, entry);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function evalResult(raw: unknown, where: string): EvalResult {
  if (!isObject(raw)) throw new Error(`${where}: an evaluation result must be a JSON object, got ${JSON.stringify(raw)}`);
  if (typeof raw.protocol !== 'string' || raw.protocol === '') {
    throw new Error(`${where}: 'protocol' must be a non-empty string, got ${JSON.stringify(raw.protocol)}`);
  }
  const result: EvalResult = {
    protocol: raw.protocol,
    metrics: numberMap(raw.metrics, where, 'metrics'),
    count: nonNegativeInteger(raw.count, where, 'count'),
  };
  if (raw.settings !== undefined) {
    if (!isObject(raw.settings)) throw new Error(`${where}: 'settings' must be an object, got ${JSON.stringify(raw.settings)}`);
    result.settings = raw.settings;
  }
  return result;
}

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function readSamples(dir: string): SampleFile[] {
  const samplesDir = join(dir, 'samples');
  if (!existsSync(samplesDir)) return [];
  const samples: SampleFile[] = [];
  for (const name of readdirSync(samplesDir)) {
    const m = SAMPLE_NAME.exec(name);
    if (m) samples.push({ step: Number(m[1]), path: join(samplesDir, name) });
  }
  return samples.sort((a, b) => a.step - b.step);
}

/** Reads and checks a run directory; throws naming the file when config.json or log.jsonl is missing or malformed. */
export function readRunDir(dir: string): RunDir {
  for (const name of ['config.json', 'log.jsonl']) {
    if (!existsSync(join(dir, name))) {
      throw new Error(`${dir} has no ${name}: it ${NOT_A_RUN_DIR}; pass the folder that 'reposer train' wrote (see docs/run-dir.md)`);
    }
  }
  const configPath = join(dir, 'config.json');
  const config = readJson(configPath);
  if (!isObject(config)) throw new Error(`${configPath} must hold a JSON object (the resolved model config), got ${JSON.stringify(config)}`);

  const logPath = join(dir, 'log.jsonl');
  const log = parseLog(readFileSync(logPath, 'utf8'), logPath);

  const evalPath = join(dir, 'eval.json');
  let evals: EvalResult[] = [];
  if (existsSync(evalPath)) {
    const raw = readJson(evalPath);
    evals = Array.isArray(raw) ? raw.map((r, i) => evalResult(r, `${evalPath}[${i}]`)) : [evalResult(raw, evalPath)];
  }
  return { dir, config, log, samples: readSamples(dir), evals };
}

/**
 * At most `max` of `items`, evenly spaced from the first to the last; the last is always kept (with max = 1, only it).
 */
export function thinEvenly<T>(items: readonly T[], max: number): T[] {
  if (!Number.isInteger(max) || max < 1) throw new Error(`maxSamples must be an integer >= 1, got ${max}`);
  if (items.length <= max) return [...items];
  if (max === 1) return [items[items.length - 1]!];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.round((i * (items.length - 1)) / (max - 1))]!);
  return out;
}
