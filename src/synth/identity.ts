// An identity of the synthetic figure world: one person's body, colouring and clothes, and the scene they stand
// in. Everything is drawn from a seeded Rng, so (seed, index) always gives the same person.
import { Rng, deriveSeed } from '../random.js';

export type RGB = readonly [number, number, number];
export type UpperPattern = 'solid' | 'stripes' | 'checks' | 'dots';
export type LowerKind = 'trousers' | 'shorts' | 'skirt';

/**
 * Body proportions in body units (standing height from sole to crown is about 1). The renderer converts them to
 * pixels with the scale it reads off the keypoints, so the same identity fits any pose size.
 */
export interface Proportions {
  headRadius: number;
  /** Neck joint to the bottom of the head. */
  neckLength: number;
  neckWidth: number;
  /** Neck joint to mid-hip. */
  torsoLength: number;
  /** Shoulder joint to shoulder joint. */
  shoulderWidth: number;
  /** Hip joint to hip joint. */
  hipWidth: number;
  /** Front-to-back thickness of the trunk: a side view is this wide. */
  torsoDepth: number;
  upperArm: number;
  forearm: number;
  thigh: number;
  shin: number;
  foot: number;
  upperArmWidth: number;
  forearmWidth: number;
  thighWidth: number;
  shinWidth: number;
}

export interface Garment {
  color: RGB;
  /** Second colour of stripes, checks or dots. */
  color2: RGB;
  pattern: UpperPattern;
  /** Pattern period in body units (so textures scale with the person). */
  period: number;
}

export interface Background {
  wall: RGB;
  wall2: RGB;
  floor: RGB;
  /** Height of the floor line as a fraction of the frame height from the top. */
  horizon: number;
  /** Vertical bands (posts, doors): x and width as fractions of the frame width. */
  bands: readonly { x: number; w: number; color: RGB }[];
}

export interface Identity {
  /** 1-based identity number; written as the 4-digit prefix of image names. */
  id: number;
  body: Proportions;
  skin: RGB;
  hair: RGB;
  hairStyle: 'short' | 'long';
  upper: Garment & { sleeves: 'short' | 'long' };
  lower: { kind: LowerKind; color: RGB; color2: RGB; pattern: UpperPattern; period: number };
  shoes: RGB;
  background: Background;
}

function hsl(h: number, s: number, l: number): RGB {
  // h in degrees, s and l in [0,1]
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [r + m, g + m, b + m].map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) as unknown as RGB;
}

function jitter(rng: Rng, c: RGB, amount: number): RGB {
  return c.map((v) => Math.round(Math.min(255, Math.max(0, v + rng.uniform(-amount, amount))))) as unknown as RGB;
}

const SKINS: readonly RGB[] = [[255, 224, 196], [241, 194, 160], [224, 172, 125], [198, 134, 90], [141, 85, 54], [92, 58, 38]];
const HAIRS: readonly RGB[] = [[20, 16, 14], [45, 30, 20], [90, 60, 35], [160, 120, 70], [215, 190, 130], [150, 150, 150], [130, 50, 25]];

function clothColor(rng: Rng): RGB {
  // Street clothes: many dark and muted colours, some bright ones.
  return rng.chance(0.35)
    ? hsl(rng.uniform(0, 360), rng.uniform(0, 0.15), rng.uniform(0.08, 0.9))
    : hsl(rng.uniform(0, 360), rng.uniform(0.3, 0.9), rng.uniform(0.2, 0.7));
}

const colorDistance = (a: RGB, c: RGB): number => Math.hypot(a[0] - c[0], a[1] - c[1], a[2] - c[2]);

/**
 * The most distinct of a few draws of `draw` from the colours in `avoid`: a detector finds an arm over a torso, a
 * shoe at the end of a trouser leg or a figure on its wall only where their colours differ. Draws stop at the first
 * one at least `enough` away (RGB distance), so most colours stay as free as `draw` makes them.
 */
function distinctColor(rng: Rng, draw: (rng: Rng) => RGB, avoid: readonly RGB[], enough = 90, tries = 6): RGB {
  let best = draw(rng);
  let bestDistance = Math.min(...avoid.map((a) => colorDistance(a, best)));
  for (let i = 1; i < tries && bestDistance < enough; i++) {
    const c = draw(rng);
    const d = Math.min(...avoid.map((a) => colorDistance(a, c)));
    if (d > bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** A second colour that stands out from `c` (for stripes, checks and dots). */
function contrast(rng: Rng, c: RGB): RGB {
  const lum = (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255;
  return hsl(rng.uniform(0, 360), rng.uniform(0, 0.7), lum > 0.5 ? rng.uniform(0.05, 0.3) : rng.uniform(0.7, 0.95));
}

/**
 * The identity with number `id` (1-based) of the world seeded by `seed`. Pure: the same (seed, id) always gives the
 * same identity, whatever else was generated before.
 */
export function makeIdentity(seed: number, id: number): Identity {
  if (!Number.isInteger(id) || id < 1 || id > 9999) {
    throw new Error(`makeIdentity: id must be an integer in 1..9999 (it becomes the 4-digit name prefix), got ${id}`);
  }
  const rng = new Rng(deriveSeed(seed, 0x1d, id));
  const u = (lo: number, hi: number): number => rng.uniform(lo, hi);
  const build = u(0.85, 1.2); // slim .. broad
  const body: Proportions = {
    headRadius: u(0.058, 0.07),
    neckLength: u(0.025, 0.035),
    neckWidth: 0.05 * build,
    torsoLength: u(0.28, 0.32),
    shoulderWidth: u(0.2, 0.25) * Math.sqrt(build),
    hipWidth: u(0.13, 0.17) * Math.sqrt(build),
    torsoDepth: u(0.11, 0.14) * build,
    upperArm: u(0.16, 0.18),
    forearm: u(0.14, 0.16),
    thigh: u(0.23, 0.26),
    shin: u(0.22, 0.25),
    foot: u(0.06, 0.075),
    upperArmWidth: u(0.05, 0.06) * build,
    forearmWidth: u(0.04, 0.048) * build,
    thighWidth: u(0.075, 0.09) * build,
    shinWidth: u(0.055, 0.065) * build,
  };
  const skin = jitter(rng, rng.pick(SKINS), 10);
  const hair = jitter(rng, rng.pick(HAIRS), 8);
  const hairStyle = rng.chance(0.35) ? 'long' : 'short';
  const upperColor = distinctColor(rng, clothColor, [skin]);
  const upper = {
    color: upperColor,
    color2: contrast(rng, upperColor),
    pattern: rng.weighted<UpperPattern>(['solid', 'stripes', 'checks', 'dots'], [0.4, 0.25, 0.2, 0.15]),
    period: u(0.035, 0.07),
    sleeves: rng.chance(0.5) ? 'short' as const : 'long' as const,
  };
  const lowerColor = distinctColor(rng, clothColor, [skin, upperColor]);
  const lower = {
    kind: rng.weighted<LowerKind>(['trousers', 'shorts', 'skirt'], [0.6, 0.2, 0.2]),
    color: lowerColor,
    color2: contrast(rng, lowerColor),
    pattern: rng.chance(0.15) ? 'checks' as const : 'solid' as const,
    period: u(0.04, 0.07),
  };
  const shoes = distinctColor(rng, (r) => (r.chance(0.5) ? hsl(0, 0, r.uniform(0.05, 0.3)) : clothColor(r)), [lowerColor, skin]);
  const wall = distinctColor(rng, (r) => hsl(r.uniform(0, 360), r.uniform(0, 0.3), r.uniform(0.3, 0.8)), [upperColor, lowerColor, skin], 70);
  const bands: { x: number; w: number; color: RGB }[] = [];
  const nBands = rng.int(0, 3);
  for (let i = 0; i < nBands; i++) bands.push({ x: u(-0.1, 1), w: u(0.05, 0.3), color: hsl(u(0, 360), u(0, 0.4), u(0.2, 0.85)) });
  const background: Background = {
    wall,
    wall2: jitter(rng, wall, 30),
    floor: hsl(u(0, 360), u(0, 0.2), u(0.2, 0.6)),
    horizon: u(0.45, 0.8),
    bands,
  };
  return { id, body, skin, hair, hairStyle, upper, lower, shoes, background };
}
