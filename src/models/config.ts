// Configuration layers (STYLE.md point 7): typed defaults in code, a JSON file over them, then `--set key.sub=value`
// over both. Every key a layer sets must already exist in the defaults, with a value of the same kind; otherwise the
// error names the key, the layer it came from and the keys that do exist. The resolved config is saved as JSON
// beside every checkpoint, so a run directory always says exactly what it ran with.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A JSON value. Configs are plain JSON trees so they round-trip through files unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The file name the resolved config gets inside a run or checkpoint directory. */
export const RESOLVED_CONFIG_FILE = 'config.json';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Lays `override` over `base` and returns a new tree; neither input is modified.
 * Objects merge key by key; arrays and scalars replace. A key absent from `base` is an error, as is a value of a
 * different kind (a number where the default is a string, say). A `null` default accepts any value, so a key that is
 * "unset" by default (an optional file path) can still be given. `source` names the layer in errors
 * (a file path, or `--set a.b=1`).
 */
export function mergeConfig<C>(base: C, override: unknown, source: string, prefix = ''): C {
  if (!isObject(override)) {
    throw new ConfigError(`config ${source}: expected a JSON object${prefix ? ` at '${prefix}'` : ''}, got ${kindOf(override)} ${show(override)}`);
  }
  if (!isObject(base)) throw new ConfigError(`config ${source}: '${prefix}' is not a section, it cannot have sub-keys`);
  const out: JsonObject = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (!(key in out)) {
      const known = Object.keys(out).map((k) => (prefix ? `${prefix}.${k}` : k)).join(', ');
      throw new ConfigError(`config ${source}: unknown key '${path}'. Known keys here: ${known}`);
    }
    out[key] = mergeValue(out[key] as Json, value, source, path);
  }
  return out as C;
}

function mergeValue(def: Json, value: unknown, source: string, path: string): Json {
  if (def === null) return structuredClone(value as Json);
  // A section with a "kind" is one of several shapes (a pose encoding, say): a different kind replaces it whole,
  // and the code that reads it checks the new shape.
  if (isObject(def) && isObject(value) && typeof def.kind === 'string' && 'kind' in value && value.kind !== def.kind) {
    return structuredClone(value);
  }
  if (isObject(def)) return mergeConfig(def, value, source, path) as Json;
  if (kindOf(value) !== kindOf(def)) {
    throw new ConfigError(`config ${source}: key '${path}' expects ${kindOf(def)} (default ${show(def)}), got ${kindOf(value)} ${show(value)}`);
  }
  if (Array.isArray(def) && Array.isArray(value) && def.length > 0) {
    const want = kindOf(def[0]);
    value.forEach((el, i) => {
      if (kindOf(el) !== want) throw new ConfigError(`config ${source}: key '${path}[${i}]' expects ${want}, got ${kindOf(el)} ${show(el)}`);
    });
  }
  return structuredClone(value as Json);
}

/** One `--set` argument, split: `a.b=1` gives path ['a','b'], value 1 (parsed as JSON when it parses), raw '1'. */
export interface ConfigSet {
  path: string[];
  value: Json;
  raw: string;
}

/** Parses `key.sub=value`. The value is JSON when it parses as JSON (`1e-4`, `true`, `[1,2]`, `"x"`), else the raw text. */
export function parseSet(arg: string): ConfigSet {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set '${arg}': expected key.sub=value, for example --set optim.lrG=0.0002`);
  const key = arg.slice(0, eq).trim();
  const raw = arg.slice(eq + 1);
  const path = key.split('.');
  if (path.some((p) => p === '')) throw new ConfigError(`--set '${arg}': the key '${key}' has an empty part; write it as a.b.c`);
  let value: Json;
  try {
    value = JSON.parse(raw) as Json;
  } catch {
    value = raw;
  }
  return { path, value, raw };
}

/** Applies one `--set key.sub=value` over `cfg`. Where the default is a string, the raw text is used as given. */
export function applySet<C>(cfg: C, arg: string): C {
  const { path, value, raw } = parseSet(arg);
  let node: unknown = cfg;
  for (const p of path) node = isObject(node) ? node[p] : undefined;
  const v: Json = typeof node === 'string' ? raw : value;
  let override: Json = v;
  for (let i = path.length - 1; i >= 0; i--) override = { [path[i] as string]: override };
  return mergeConfig(cfg, override, `--set ${arg}`);
}

/** Reads a JSON config file; errors name the file. */
export function readConfigFile(path: string): JsonObject {
  if (!existsSync(path)) throw new ConfigError(`config file '${path}' does not exist; give an existing JSON file to --config`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file '${path}' is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new ConfigError(`config file '${path}': expected a JSON object at the top level, got ${kindOf(parsed)}`);
  return parsed;
}

export interface ConfigLayers {
  /** A JSON file (path) or an already-parsed object laid over the defaults. */
  file?: string | JsonObject;
  /** `key.sub=value` overrides, applied in order after the file. */
  sets?: readonly string[];
}

/** defaults ← file ← sets. Returns a new object; `defaults` is not modified. */
export function resolveConfig<C>(defaults: C, layers: ConfigLayers = {}): C {
  let cfg = structuredClone(defaults);
  if (layers.file !== undefined) {
    const isPath = typeof layers.file === 'string';
    const obj = isPath ? readConfigFile(layers.file as string) : (layers.file as JsonObject);
    cfg = mergeConfig(cfg, obj, isPath ? `file '${layers.file as string}'` : 'object');
  }
  for (const s of layers.sets ?? []) cfg = applySet(cfg, s);
  return cfg;
}

/** Writes `cfg` as pretty JSON to `dir/config.json` (creating `dir`); returns the file's path. */
export function saveResolvedConfig(dir: string, cfg: unknown, fileName = RESOLVED_CONFIG_FILE): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName);
  writeFileSync(path, `${JSON.stringify(cfg, null, 2)}\n`);
  return path;
}

/** Reads the resolved config saved in `dir`; the error names the file when it is missing. */
export function loadResolvedConfig(dir: string, fileName = RESOLVED_CONFIG_FILE): JsonObject {
  const path = join(dir, fileName);
  if (!existsSync(path)) throw new ConfigError(`no resolved config at '${path}': is '${dir}' a run directory written by reposer?`);
  return readConfigFile(path);
}

/** Pulls `--config FILE` and repeated `--set k=v` (also `--set=k=v`) out of CLI arguments; returns the rest. */
export function takeConfigArgs(args: readonly string[]): { file?: string; sets: string[]; rest: string[] } {
  const sets: string[] = [];
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`${a} needs a value`);
      return v;
    };
    if (a === '--set') sets.push(next());
    else if (a.startsWith('--set=')) sets.push(a.slice(6));
    else if (a === '--config') file = next();
    else if (a.startsWith('--config=')) file = a.slice(9);
    else rest.push(a);
  }
  return { file, sets, rest };
}
