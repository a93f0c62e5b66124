// SPT's pseudo-label search (Sec. 3.2 of the paper): the semantic generator has no target parsing to learn from in
// the unsupervised setting, so for every pair (A -> B) we look for a parsing map in the dataset that could be B's:
// A's parsing is moved to B's pose part by part (warpParsing: Deformable GAN's part affines), and among the
// `candidates` images whose poses are nearest B's, the one whose parsing overlaps the moved map best (mean IoU over
// foreground labels) is the pseudo-label. Images of A's identity (B among them) and images whose pose is
// near-identical to A's are skipped, so the label never is the pair's own ground truth nor a copy of the source.
// The result is cached beside the data (spt-pseudo-labels-<split>.json), written atomically.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as torch from '../../torch/index.js';
import { identityOf, parsingPath, pseudoParsingFile, readParsing, type Dataset } from '../../data/index.js';
import { NUM_JOINTS, type Pose } from '../../pose/skeleton.js';
import { parsingIoU, warpParsing } from './parsing.js';

export interface PseudoLabelOptions {
  /** Images with the poses nearest the target's that are compared by parsing. Default 16. */
  candidates?: number;
  /**
   * A candidate whose pose is within this distance of the source's (mean joint distance over joints both have, as
   * a share of the frame's height) is skipped as near-identical. Default 0.03.
   */
  minSourceDistance?: number;
  /** Pairs processed together (their maps are read and warped at once). Default 64. */
  chunk?: number;
  /** Where the cache goes; default DIR/spt-pseudo-labels-<split>.json beside the data. */
  cacheFile?: string;
}

/** The search's answer for one pair. */
export interface PseudoLabel {
  /** The image whose parsing map is the pseudo-label of the pair's target. */
  name: string;
  /** Its mean IoU with the source's parsing moved to the target pose. */
  score: number;
}

const VERSION = 1;

/** The cache's key of a pair. */
export const pairKey = (from: string, to: string): string => `${from}\t${to}`;

/** The default cache file of a dataset split. */
export function pseudoLabelCacheFile(dataset: Pick<Dataset, 'dir' | 'split'>): string {
  return pseudoParsingFile(dataset.dir, dataset.split);
}

/**
 * Mean distance between the joints two poses both have, as a share of `height`; Infinity with fewer than 4 in common.
 */
export function poseDistance(a: Pose, b: Pose, height: number): number {
  let sum = 0;
  let count = 0;
  for (let j = 0; j < NUM_JOINTS; j++) {
    const [ay, ax, by, bx] = [a[2 * j] as number, a[2 * j + 1] as number, b[2 * j] as number, b[2 * j + 1] as number];
    if (ay < 0 || ax < 0 || by < 0 || bx < 0) continue;
    sum += Math.hypot(ay - by, ax - bx);
    count++;
  }
  return count >= 4 ? sum / count / height : Infinity;
}

interface Resolved {
  candidates: number;
  minSourceDistance: number;
  chunk: number;
}

function resolve(o: PseudoLabelOptions): Resolved {
  const r = { candidates: o.candidates ?? 16, minSourceDistance: o.minSourceDistance ?? 0.03, chunk: o.chunk ?? 64 };
  if (!(Number.isInteger(r.candidates) && r.candidates >= 1)) throw new Error(`searchPseudoLabels: candidates must be an integer >= 1, got ${r.candidates}`);
  if (!(Number.isInteger(r.chunk) && r.chunk >= 1)) throw new Error(`searchPseudoLabels: chunk must be an integer >= 1, got ${r.chunk}`);
  if (!(r.minSourceDistance >= 0)) throw new Error(`searchPseudoLabels: minSourceDistance must be >= 0, got ${r.minSourceDistance}`);
  return r;
}

/** Reads a cache that was made with the same settings and covers every pair; null otherwise. */
function readCache(file: string, settings: Resolved, pairs: readonly { from: string; to: string }[]): Map<string, PseudoLabel> | null {
  if (!existsSync(file)) return null;
  let json: { version?: unknown; settings?: unknown; labels?: Record<string, PseudoLabel> };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (err) {
    throw new Error(`spt pseudo-labels: the cache ${file} is not valid JSON (${(err as Error).message}); delete it to search again`);
  }
  if (json.version !== VERSION || JSON.stringify(json.settings) !== JSON.stringify(settings) || !json.labels) return null;
  const out = new Map(Object.entries(json.labels));
  return pairs.every((p) => out.has(pairKey(p.from, p.to))) ? out : null;
}

function writeCache(file: string, settings: Resolved, labels: Map<string, PseudoLabel>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: VERSION, settings, labels: Object.fromEntries(labels) })}\n`);
  renameSync(tmp, file);
}

/**
 * The pseudo-label of every pair of `dataset` (both images need a parsing map; the pool is every annotated image
 * with one). Reads the cache when it matches the settings and covers the pairs; else searches and writes it.
 * Returns pairKey(from, to) -> the chosen image and its score.
 */
export async function searchPseudoLabels(dataset: Dataset, options: PseudoLabelOptions = {}): Promise<Map<string, PseudoLabel>> {
  const settings = resolve(options);
  if (!dataset.parsingDir) {
    throw new Error(`spt pseudo-labels: the dataset ${dataset.dir} has no parsing folder (DIR/parsing/<split>/<stem>.npy or .png, labels 0..9); SPT's search needs the parsing maps`);
  }
  const file = options.cacheFile ?? pseudoLabelCacheFile(dataset);
  const cached = readCache(file, settings, dataset.pairs);
  if (cached) return cached;
  const [h, w] = dataset.frame;
  const pool = [...dataset.annotations.values()].filter((r) => parsingPath(dataset, r.name) !== null);
  const poseOf = (name: string): Pose => {
    const r = dataset.annotations.get(name);
    if (!r) throw new Error(`spt pseudo-labels: pair image ${name} has no annotation; run 'reposer data check ${dataset.dir}'`);
    return r.pose;
  };
  const mapOf = async (name: string): Promise<BigInt64Array> => {
    const p = parsingPath(dataset, name);
    if (!p) throw new Error(`spt pseudo-labels: no parsing map for ${name} in ${dataset.parsingDir}; every pair image needs one`);
    return readParsing(p, [h, w]);
  };
  const labels = new Map<string, PseudoLabel>();
  for (let start = 0; start < dataset.pairs.length; start += settings.chunk) {
    const pairs = dataset.pairs.slice(start, start + settings.chunk);
    // The candidates of each pair: other identities, not near the source pose, nearest the target pose.
    const lists = pairs.map((pair) => {
      const [pa, pb] = [poseOf(pair.from), poseOf(pair.to)];
      const id = identityOf(pair.from, dataset.identity);
      return pool
        .filter((r) => r.name !== pair.from && r.name !== pair.to && (id === null || identityOf(r.name, dataset.identity) !== id))
        .filter((r) => poseDistance(r.pose, pa, h) >= settings.minSourceDistance)
        .map((r) => ({ name: r.name, d: poseDistance(r.pose, pb, h) }))
        .filter((c) => Number.isFinite(c.d))
        .sort((x, y) => x.d - y.d)
        .slice(0, settings.candidates)
        .map((c) => c.name);
    });
    const bad = lists.findIndex((l) => l.length === 0);
    if (bad >= 0) throw new Error(`spt pseudo-labels: pair ${pairs[bad]?.from} -> ${pairs[bad]?.to} has no candidate (no other identity with a comparable pose and a parsing map)`);
    const names = [...new Set([...pairs.map((p) => p.from), ...lists.flat()])];
    const maps = new Map(await Promise.all(names.map(async (n) => [n, await mapOf(n)] as const)));
    torch.scope(() => {
      const stack = (ns: readonly string[]): torch.Tensor => {
        const flat = new BigInt64Array(ns.length * h * w);
        ns.forEach((n, i) => flat.set(maps.get(n) as BigInt64Array, i * h * w));
        return torch.tensor(flat, [ns.length, h, w]);
      };
      const kp = (ns: readonly Pose[]): torch.Tensor => torch.tensor(Float32Array.from(ns.flatMap((p) => [...p])), [ns.length, NUM_JOINTS, 2]);
      const moved = warpParsing(stack(pairs.map((p) => p.from)), kp(pairs.map((p) => poseOf(p.from))), kp(pairs.map((p) => poseOf(p.to))));
      const owner = lists.flatMap((l, i) => l.map(() => BigInt(i)));
      const repeated = moved.indexSelect(0, torch.tensor(BigInt64Array.from(owner)));
      const scores = parsingIoU(repeated, stack(lists.flat())).data() as Float32Array;
      let at = 0;
      pairs.forEach((pair, i) => {
        const list = lists[i] as string[];
        let best = 0;
        for (let k = 1; k < list.length; k++) if ((scores[at + k] as number) > (scores[at + best] as number)) best = k;
        labels.set(pairKey(pair.from, pair.to), { name: list[best] as string, score: scores[at + best] as number });
        at += list.length;
      });
    });
  }
  writeCache(file, settings, labels);
  return labels;
}
