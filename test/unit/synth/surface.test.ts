import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import {
  LABELS, PART_STRIDE, Rng, SURFACE_FRAMES, correspondenceField, encodeSurface, makeIdentity, parseSurface, renderFigure, samplePose,
  type Correspondence, type Render,
} from '../../../src/synth/index.js';
import { FRONT, SIZE, pose, type YX } from '../../helpers/synth-poses.js';

const W = SIZE.width;
const N = SIZE.height * SIZE.width;
const frameOf = (part: number): string => SURFACE_FRAMES[Math.floor(part / PART_STRIDE)] as string;

/** Checks the flow on every visible pixel against `expected(x, y)`; returns the number of visible pixels. */
function assertFlow(c: Correspondence, expected: (x: number, y: number) => [number, number], tol: number): number {
  let seen = 0;
  for (let i = 0; i < N; i++) {
    if (!c.visible[i]) continue;
    const [ex, ey] = expected(i % W, Math.floor(i / W));
    assert.ok(Math.abs((c.flow[i] as number) - ex) < tol && Math.abs((c.flow[N + i] as number) - ey) < tol,
      `pixel (${i % W}, ${Math.floor(i / W)}): flow (${c.flow[i]}, ${c.flow[N + i]}), expected (${ex}, ${ey})`);
    seen++;
  }
  return seen;
}

const bodyPixels = (r: Render): number => r.mask.reduce((a, b) => a + b, 0);

test('a figure rendered twice in the same pose has the identity field, visible on every body pixel', async () => {
  const id = makeIdentity(11, 1);
  const a = await renderFigure(id, pose(FRONT), SIZE);
  const b = await renderFigure(id, pose(FRONT), SIZE);
  const c = correspondenceField(a.surface, b.surface);
  assert.equal(assertFlow(c, (x, y) => [x, y], 1e-3), bodyPixels(b));
  for (let i = 0; i < N; i++) {
    if (b.mask[i] === 0) assert.ok(Number.isNaN(c.flow[i]) && c.visible[i] === 0, `background pixel ${i} has no flow`);
  }
});

test('translating the whole figure gives that constant flow', async () => {
  const id = makeIdentity(11, 2);
  const [dy, dx] = [-4, 3];
  const moved = FRONT.map((p) => (p ? [p[0] + dy, p[1] + dx] as YX : null));
  const source = await renderFigure(id, pose(FRONT), SIZE);
  const target = await renderFigure(id, pose(moved), SIZE);
  const c = correspondenceField(source.surface, target.surface);
  const seen = assertFlow(c, (x, y) => [x - dx, y - dy], 1e-3);
  assert.equal(seen, bodyPixels(target), 'every body pixel of the moved figure is visible in the source');
});

test('a part hidden in the source is masked invisible, and the rest of the torso is not', async () => {
  const id = makeIdentity(11, 3);
  const crossing = FRONT.slice();
  crossing[3] = [52, 22];
  crossing[4] = [48, 36]; // right forearm across the chest, in front of it
  const source = await renderFigure(id, pose(crossing), SIZE);
  const target = await renderFigure(id, pose(FRONT), SIZE);
  const c = correspondenceField(source.surface, target.surface);
  let hidden = 0;
  let torso = 0;
  let torsoVisible = 0;
  for (let i = 0; i < N; i++) {
    const part = target.surface.part[i] as number;
    if (frameOf(part) !== 'torso' || part % PART_STRIDE !== LABELS.upperClothes) continue;
    torso++;
    const sx = Math.round(c.flow[i] as number);
    const sy = Math.round(c.flow[N + i] as number);
    const under = source.surface.part[sy * W + sx] as number;
    if (c.visible[i]) {
      torsoVisible++;
      assert.equal(under, part, 'a visible point shows its own part in the source');
    } else if (frameOf(under) === 'r_forearm' || frameOf(under) === 'r_hand') {
      hidden++;
    }
  }
  assert.ok(hidden >= 15, `${hidden} chest pixels lie under the crossing forearm in the source`);
  assert.ok(torsoVisible > 0.6 * torso, `${torsoVisible} of ${torso} chest pixels stay visible`);
});

test('the same body point shows the same paint: images agree along the true field, not along a wrong one', async () => {
  const rng = new Rng(7);
  const id = makeIdentity(5, 9);
  for (let k = 0; k < 3; k++) {
    const source = await renderFigure(id, samplePose(id, SIZE, rng), SIZE);
    const target = await renderFigure(id, samplePose(id, SIZE, rng), SIZE);
    const c = correspondenceField(source.surface, target.surface);
    // Interior pixels only (all 8 neighbours show the same part in the target), where antialiasing does not blend.
    let err = 0;
    let errShifted = 0;
    let count = 0;
    for (let i = 0; i < N; i++) {
      const x = i % W;
      const y = Math.floor(i / W);
      if (!c.visible[i] || x < 1 || y < 1 || x >= W - 1 || y >= SIZE.height - 1) continue;
      const part = target.surface.part[i];
      let interior = true;
      for (const d of [-W - 1, -W, -W + 1, -1, 1, W - 1, W, W + 1]) if (target.surface.part[i + d] !== part) interior = false;
      if (!interior) continue;
      const sx = Math.round(c.flow[i] as number);
      const sy = Math.round(c.flow[N + i] as number);
      const j = sy * W + sx;
      const jShifted = sy * W + Math.min(W - 1, sx + 2);
      for (let ch = 0; ch < 3; ch++) {
        const t = target.image[3 * i + ch] as number;
        err += Math.abs(t - (source.image[3 * j + ch] as number));
        errShifted += Math.abs(t - (source.image[3 * jShifted + ch] as number));
      }
      count++;
    }
    assert.ok(count > 200, `pair ${k}: ${count} interior visible pixels`);
    err /= 3 * count;
    errShifted /= 3 * count;
    assert.ok(err < 12, `pair ${k}: mean colour difference along the true field ${err.toFixed(2)}`);
    assert.ok(err < 0.5 * errShifted, `pair ${k}: along the field ${err.toFixed(2)} vs 2 px off ${errShifted.toFixed(2)}`);
  }
});

test('a surface map round-trips through its .npy form and bad files are named', async () => {
  const r = await renderFigure(makeIdentity(11, 4), pose(FRONT), SIZE);
  const back = parseSurface(encodeSurface(r.surface), 'x.npy');
  assert.deepEqual([back.height, back.width], [SIZE.height, SIZE.width]);
  assert.deepEqual(Buffer.from(back.part), Buffer.from(r.surface.part));
  assert.deepEqual(back.coords, r.surface.coords);
  const wrong = new Uint8Array(encodeSurface({ height: 2, width: 2, part: new Uint8Array(4), coords: new Float32Array(8) }));
  assert.throws(() => parseSurface(wrong.subarray(0, 20), 'bad.npy'), /bad\.npy/);
  const before = torch.memory().numTensors;
  await renderFigure(makeIdentity(11, 4), pose(FRONT), SIZE);
  assert.equal(torch.memory().numTensors, before, 'the surface map leaks no tensors');
});

test('every body pixel of random renders has a surface frame, and its part id carries its parsing label', async () => {
  const rng = new Rng(3);
  for (let k = 1; k <= 12; k++) {
    const id = makeIdentity(4, k);
    const r = await renderFigure(id, samplePose(id, SIZE, rng), SIZE);
    for (let i = 0; i < N; i++) {
      const part = r.surface.part[i] as number;
      assert.equal(part % PART_STRIDE, r.parsing[i], `render ${k}, pixel ${i}: part ${part} vs label ${r.parsing[i]}`);
      if (r.parsing[i]) assert.ok(part >= PART_STRIDE, `render ${k}, pixel ${i}: label ${r.parsing[i]} without a frame`);
    }
  }
});
