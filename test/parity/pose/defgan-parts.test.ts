// Deformable GAN's part affines and masks (src/pose/parts.ts) against defgan_parts.py, a numpy restatement of the
// released code's final pose_transform.py, on real keypoints: pairs of rows of Market-1501's training annotations and
// DeepFashion's test annotations, chosen deterministically so that mirrored limbs and empty parts occur.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../src/torch/index.js';
import { fromWire, PYTHON, type WireTensor } from '../../helpers/oracle.js';
import { NO_SHARED, SHARED } from '../../unit/data/shared-data.js';
import { readAnnotationCsvSync } from '../../../src/data/formats.js';
import { hasTorso } from '../../../src/data/pairs.js';
import { posesToTensor, type Frame } from '../../../src/pose/heatmaps.js';
import { NUM_PARTS, PARTS, limbRectangle, partAffines, type BodyPart, type Limb } from '../../../src/pose/parts.js';
import { J, isVisible, jointX, jointY, type Pose } from '../../../src/pose/skeleton.js';

// Compiled to dist/test/parity/pose; the Python stays in test/parity/pose.
const ORACLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'parity', 'pose', 'defgan_parts.py');

interface Pair { source: Pose; target: Pose }
type Kind = 'mirror' | 'empty' | 'plain' | 'onColumn';

const limbOf = (k: number): Limb => (PARTS[k] as BodyPart).limb as Limb;
const hasLimb = (p: Pose, l: Limb): boolean => isVisible(p, l.from) && isVisible(p, l.to);
const point = (p: Pose, j: number): [number, number] => [jointX(p, j), jointY(p, j)];
const dist2 = (p: Pose, a: number, b: number): number => (jointX(p, a) - jointX(p, b)) ** 2 + (jointY(p, a) - jointY(p, b)) ** 2;

/** A target limb's mask rectangle has a vertex exactly on a pixel column: there the half-open span rule decides. */
function vertexOnColumn(target: Pose, width: number): boolean {
  const st = Math.sqrt((dist2(target, J.r_hip, J.r_shoulder) + dist2(target, J.l_hip, J.l_shoulder)) / 2);
  return PARTS.slice(2).some(({ limb: l }) => hasLimb(target, l as Limb) &&
    limbRectangle(point(target, l!.from), point(target, l!.to), st, l!.reachMask).some(([x]) => Number.isInteger(x) && x >= 0 && x < width));
}

/** What the pair exercises: a limb the source lacks but mirrors, a limb that stays empty, a vertex on a column, or none. */
function kindOf({ source, target }: Pair, width: number): Kind {
  if (vertexOnColumn(target, width)) return 'onColumn';
  let kind: Kind = 'plain';
  for (let k = 2; k < NUM_PARTS; k++) {
    const l = limbOf(k);
    if (!hasLimb(target, l)) kind = kind === 'plain' ? 'empty' : kind;
    else if (!hasLimb(source, l)) {
      if (hasLimb(source, limbOf((PARTS[k] as BodyPart).mirror))) return 'mirror';
      kind = 'empty';
    }
  }
  return kind;
}

/** A deterministic spread of 15 pairs among the rows with a torso: 6 with a mirrored limb, 4 with an empty limb, 1 with a vertex on a column, 4 others. */
function choosePairs(file: string, width: number): Pair[] {
  const poses = readAnnotationCsvSync(file).map((r) => r.pose).filter(hasTorso);
  const quota: Record<Kind, number> = { mirror: 6, empty: 4, onColumn: 1, plain: 4 };
  const out: Pair[] = [];
  for (let i = 0; i < 20000 && out.length < 15; i++) {
    const pair = { source: poses[(i * 7919) % poses.length] as Pose, target: poses[(i * 104729 + 17) % poses.length] as Pose };
    const kind = kindOf(pair, width);
    if (quota[kind] > 0) {
      quota[kind]--;
      out.push(pair);
    }
  }
  assert.deepEqual(quota, { mirror: 0, empty: 0, onColumn: 0, plain: 0 }, `${file}: not every kind of pair was found`);
  return out;
}

function released(pairs: Pair[], frame: Frame, size: Frame): { affines: torch.Tensor; masks: torch.Tensor; resized: torch.Tensor } {
  const yx = (p: Pose): number[][] => Array.from({ length: 18 }, (_, j) => [p[2 * j] as number, p[2 * j + 1] as number]);
  const request = JSON.stringify({ frame, sizes: [size], pairs: pairs.map((p) => [yx(p.source), yx(p.target)]) });
  const r = spawnSync(PYTHON, [ORACLE], { input: request, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${ORACLE} failed (${PYTHON}): ${r.stderr || r.error}`);
  const out = JSON.parse(r.stdout) as { affines: WireTensor; masks: WireTensor; resized: WireTensor[] };
  return { affines: fromWire(out.affines), masks: fromWire(out.masks), resized: fromWire(out.resized[0] as WireTensor) };
}

function compareDataset(file: string, frame: Frame, size: Frame): void {
  torch.scope(() => {
    const pairs = choosePairs(file, frame[1]);
    const source = posesToTensor(pairs.map((p) => p.source));
    const target = posesToTensor(pairs.map((p) => p.target));
    const ours = partAffines(source, target, frame, { space: 'pixels' });
    const oursNormalized = partAffines(source, target, frame).theta;
    const oursResized = partAffines(source, target, frame, { maskSize: size }).masks;
    const want = released(pairs, frame, size);
    const [h, w] = frame;
    const th = ours.theta.to('float64').data() as Float64Array;
    const thNorm = oursNormalized.to('float64').data() as Float64Array;
    const ref = want.affines.data() as Float64Array;
    const valid = ours.valid.toArray() as number[][];
    let worst = 0;
    let compared = 0;
    let mirrored = 0;
    let emptyLimbs = 0;
    pairs.forEach((pair, i) => {
      for (let k = 0; k < NUM_PARTS; k++) {
        const r = ref.subarray((i * NUM_PARTS + k) * 9, (i * NUM_PARTS + k + 1) * 9);
        const releasedEmpty = r[2] === 1000 && r[5] === 1000 && r[0] === 1 && r[4] === 1 && r[1] === 0 && r[3] === 0;
        const what = `pair ${i} part ${(PARTS[k] as BodyPart).name}`;
        if (k >= 2 && hasLimb(pair.target, limbOf(k)) && !hasLimb(pair.source, limbOf(k)) && !releasedEmpty) mirrored++;
        if (k >= 2 && releasedEmpty) emptyLimbs++;
        assert.equal(valid[i]![k], releasedEmpty ? 0 : 1, `${what}: valid`);
        if (releasedEmpty) continue;
        compared++;
        for (let e = 0; e < 6; e++) {
          const got = th[(i * NUM_PARTS + k) * 6 + e] as number;
          const exp = r[e] as number;
          const err = Math.abs(got - exp) / (Math.abs(exp) + 1);
          worst = Math.max(worst, err);
          assert.ok(err <= 1e-4, `${what}: entry ${e} is ${got}, released ${exp}`);
        }
        // The normalized theta is the pixel map seen through u = (2x + 1) / W - 1, v = (2y + 1) / H - 1.
        const [a, b, tx, c, d, ty] = Array.from(r.subarray(0, 6));
        const expNorm = [a!, b! * h / w, (2 * (a! * (w - 1) / 2 + b! * (h - 1) / 2 + tx!) + 1) / w - 1,
          c! * w / h, d!, (2 * (c! * (w - 1) / 2 + d! * (h - 1) / 2 + ty!) + 1) / h - 1];
        for (let e = 0; e < 6; e++) {
          const got = thNorm[(i * NUM_PARTS + k) * 6 + e] as number;
          assert.ok(Math.abs(got - expNorm[e]!) <= 1e-4 * (Math.abs(expNorm[e]!) + 1), `${what}: normalized entry ${e} is ${got}, expected ${expNorm[e]}`);
        }
      }
    });
    assert.ok(mirrored > 0 && emptyLimbs > 0, `${file}: the sample must use mirrored limbs (${mirrored}) and have empty limbs (${emptyLimbs})`);
    // Masks: exactly the released pixels wherever the part has a transform (elsewhere ours are zero and the released
    // mask does not matter: it multiplies an all-zero warp).
    const keep = ours.valid.to('float32').view([pairs.length, NUM_PARTS, 1, 1]);
    for (const [got, exp, at] of [[ours.masks, want.masks, 'frame'], [oursResized, want.resized, 'resized']] as const) {
      const expected = exp.to('float32').mul(keep);
      const differing = got.ne(expected).sum().item();
      assert.equal(differing, 0, `${file} (${at} masks): ${differing} pixels differ from the released masks`);
      assert.ok(got.sum().item() > 0);
    }
    console.log(`${file}: ${pairs.length} pairs, ${compared} fits compared (max relative difference ${worst.toExponential(2)}), ` +
      `${mirrored} mirrored limbs, ${emptyLimbs} empty limbs`);
  });
}

test('Market pairs: part affines and masks equal the released code\'s, at 128x64 and 32x16', { skip: NO_SHARED }, () => {
  compareDataset(join(SHARED, 'market', 'market-annotation-train.csv'), [128, 64], [32, 16]);
});

test('DeepFashion pairs: part affines and masks equal the released code\'s, at 256x256 and 80x80', { skip: NO_SHARED }, () => {
  compareDataset(join(SHARED, 'fashion', 'fasion-annotation-test.csv'), [256, 256], [80, 80]);
});
