// Identities from image names, and training pairs made from an annotation CSV as the public preparation scripts do
// (Deformable GAN's create_pairs_dataset.py, which PATN and later methods reuse).
import { J, isVisible, type Pose } from '../pose/skeleton.js';
import type { AnnotationRow } from './formats.js';
import { mulberry32, shuffled } from '../random.js';

/**
 * How an image name gives the person (identity) it shows:
 * - 'market': the part before the first '_' (`0011_c6s4_002502_01.jpg` -> `0011`). Market-1501, its synthetic
 *   look-alike, and the default for a plain folder.
 * - 'deepfashion': the person id `id` + 8 digits and the clothing item number that follows it, so that a pair shows
 *   one person in one outfit (`fasionMENTeesTanksid0000347017_3back.jpg` -> `id00003470/17`; PATN's
 *   `fashionMENShirts_Polosid0000180202_4full.jpg` -> `id00001802/02`). Names without an id fall back to 'market'.
 * - a RegExp: its first capture group (or whole match); names it does not match have no identity.
 */
export type IdentityRule = 'market' | 'deepfashion' | RegExp;

export function identityOf(name: string, rule: IdentityRule = 'market'): string | null {
  if (rule instanceof RegExp) {
    const m = rule.exec(name);
    return m ? (m[1] ?? m[0]) : null;
  }
  if (rule === 'deepfashion') {
    const m = /id_?(\d{8})_?(\d+)?_/.exec(name);
    if (m) return m[2] === undefined ? `id${m[1]}` : `id${m[1]}/${m[2]}`;
  }
  const cut = name.indexOf('_');
  return cut > 0 ? name.slice(0, cut) : null;
}

/** Market's distractor and junk images (`-1_*`, `0000_*`), which no pair may use. */
export function isDistractor(name: string): boolean {
  return name.startsWith('-1') || name.startsWith('0000');
}

/** Both shoulders and both hips present: the torso that pose transfer (and the part affines) needs. */
export function hasTorso(pose: Pose): boolean {
  return [J.r_shoulder, J.l_shoulder, J.r_hip, J.l_hip].every((j) => isVisible(pose, j));
}

export interface MakePairsOptions {
  identity?: IdentityRule;
  /** Keep at most this many pairs, a seeded random sample (the original samples 12,000 Market test pairs). */
  limit?: number;
  /** Seed of that sample; default 0. */
  seed?: number;
}

/**
 * Every ordered pair (a, b), a != b, of images of one identity, keeping only images with a full torso and dropping
 * distractors, in the annotation file's order (identities in order of first appearance, then the permutations of
 * their images in file order). Deterministic; with `limit`, a seeded sample of that list in its original order.
 */
export function makePairs(rows: readonly AnnotationRow[], options: MakePairsOptions = {}): { from: string; to: string }[] {
  const rule = options.identity ?? 'market';
  const groups = new Map<string, string[]>();
  for (const r of rows) {
    if (isDistractor(r.name) || !hasTorso(r.pose)) continue;
    const id = identityOf(r.name, rule);
    if (id === null) continue;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = []));
    g.push(r.name);
  }
  const pairs: { from: string; to: string }[] = [];
  for (const names of groups.values()) {
    for (const a of names) for (const b of names) if (a !== b) pairs.push({ from: a, to: b });
  }
  if (options.limit === undefined || options.limit >= pairs.length) return pairs;
  const keep = shuffled(pairs.map((_, i) => i), mulberry32(options.seed ?? 0)).slice(0, Math.max(0, options.limit)).sort((x, y) => x - y);
  return keep.map((i) => pairs[i] as { from: string; to: string });
}
