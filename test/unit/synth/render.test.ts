import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as torch from '../../../src/torch/index.js';
import { NUM_JOINTS, type Pose } from '../../../src/pose/skeleton.js';
import { LABELS, SURFACE_FRAMES, benchSynth, figureSvg, layoutFigure, makeIdentity, renderFigure, type Identity, type Render } from '../../../src/synth/index.js';
import { FRONT, SIZE, pose, type YX } from '../../helpers/synth-poses.js';

function dressed(base: Identity, upper: Partial<Identity['upper']>, lower: Partial<Identity['lower']>): Identity {
  return { ...base, upper: { ...base.upper, ...upper }, lower: { ...base.lower, ...lower } };
}

const at = (r: Render, y: number, x: number): number => r.parsing[y * r.width + x] as number;

function assertJointsInMask(r: Render, p: Pose, what: string): void {
  for (let j = 0; j < NUM_JOINTS; j++) {
    const y = p[2 * j] as number;
    const x = p[2 * j + 1] as number;
    if (y < 0) continue;
    assert.equal(r.mask[y * r.width + x], 1, `${what}: joint ${j} at (${y}, ${x}) lies outside the mask`);
  }
}

test('a render has the frame size, labels 0..9, and mask = parsing > 0', async () => {
  const r = await renderFigure(makeIdentity(3, 1), pose(FRONT), SIZE);
  assert.equal(r.image.length, 128 * 64 * 3);
  assert.equal(r.parsing.length, 128 * 64);
  assert.equal(r.mask.length, 128 * 64);
  let person = 0;
  for (let i = 0; i < r.parsing.length; i++) {
    const l = r.parsing[i] as number;
    assert.ok(l <= 9, `label ${l} at ${i}`);
    assert.equal(r.mask[i], l > 0 ? 1 : 0);
    person += l > 0 ? 1 : 0;
  }
  // A person of ~100 px height covers a sizeable, but not dominant, part of the frame.
  assert.ok(person > 800 && person < 4500, `person pixels ${person}`);
  assertJointsInMask(r, pose(FRONT), 'frontal pose');
});

test('parsing labels sit where the body parts are (left/right are the person\'s)', async () => {
  const base = makeIdentity(3, 2);
  const p = pose(FRONT);
  const r = await renderFigure(dressed(base, { sleeves: 'short' }, { kind: 'trousers' }), p, SIZE);
  assert.equal(at(r, 20, 32), LABELS.face, 'the nose is on the face');
  assert.equal(at(r, 12, 32), LABELS.hair, 'hair above the face');
  assert.equal(at(r, 50, 32), LABELS.upperClothes, 'the chest is upper clothes');
  assert.equal(at(r, 60, 43), LABELS.leftArm, 'forearm at the person\'s left (image-right) elbow-wrist is the left arm');
  assert.equal(at(r, 60, 20), LABELS.rightArm, 'forearm at image-left is the right arm');
  assert.equal(at(r, 90, 27), LABELS.pants, 'trousers over the right knee');
  assert.equal(at(r, 114, 27), LABELS.rightLeg, 'the right shoe counts as right leg');
  assert.equal(at(r, 114, 37), LABELS.leftLeg, 'the left shoe counts as left leg');
  assert.equal(at(r, 0, 0), LABELS.background);

  const shorts = await renderFigure(dressed(base, { sleeves: 'long' }, { kind: 'shorts' }), p, SIZE);
  assert.equal(at(shorts, 100, 27), LABELS.rightLeg, 'a bare right shin below shorts');
  assert.equal(at(shorts, 100, 37), LABELS.leftLeg, 'a bare left shin below shorts');
  assert.equal(at(shorts, 70, 27), LABELS.pants, 'shorts over the top of the thigh');
  assert.equal(at(shorts, 60, 43), LABELS.upperClothes, 'a long sleeve covers the forearm');
  assert.equal(at(shorts, 69, 44), LABELS.leftArm, 'the left hand is left arm');

  const skirt = await renderFigure(dressed(base, {}, { kind: 'skirt' }), p, SIZE);
  assert.equal(at(skirt, 76, 32), LABELS.skirt, 'a skirt between the thighs');
  assert.equal(at(skirt, 105, 27), LABELS.rightLeg, 'bare shin below the skirt');
});

test('depth order: an arm crossing the chest is in front facing the camera and hidden seen from the back', async () => {
  const identity = dressed(makeIdentity(3, 4), { sleeves: 'short' }, {});
  const front = FRONT.slice();
  front[3] = [52, 22];
  front[4] = [48, 36]; // right forearm across the chest
  const rf = await renderFigure(identity, pose(front), SIZE);
  assert.equal(at(rf, 49, 31), LABELS.rightArm, 'facing the camera, the crossing forearm covers the torso');

  // The same body seen from behind: the person's right is image-right, no face joints but the ears.
  const back: (YX | null)[] = [
    null, [32, 32],
    [34, 40], [52, 42], [48, 28],
    [34, 24], [52, 21], [68, 20],
    [66, 37], [90, 37], [114, 37],
    [66, 27], [90, 27], [114, 27],
    null, null, [19, 37], [19, 27],
  ];
  const rb = await renderFigure(identity, pose(back), SIZE);
  assert.equal(at(rb, 49, 33), LABELS.upperClothes, 'seen from behind, the torso hides the crossing forearm');
  assert.equal(at(rb, 20, 32), LABELS.hair, 'seen from behind, the head is hair');
  assertJointsInMask(rb, pose(back), 'back view');

  // Side view facing image-right: the right side is nearer, so the right arm is over the torso and the left
  // arm, swung across the trunk, is behind it.
  const side: (YX | null)[] = [
    [21, 37], [32, 32],
    [34, 33], [50, 40], [62, 46],
    [34, 31], [50, 33], [62, 31],
    [66, 32], [90, 34], [114, 33],
    [66, 31], [90, 30], [114, 30],
    [18, 35], null, [19, 30], null,
  ];
  const g = layoutFigure(identity, pose(side), 128, 64);
  assert.ok(g.facing.sin > 0.8, `facing image-right reads sin θ > 0.8, got ${g.facing.sin}`);
  const rs = await renderFigure(identity, pose(side), SIZE);
  assert.equal(at(rs, 50, 33), LABELS.upperClothes, 'the far (left) arm is behind the torso');
  assert.equal(at(rs, 58, 44), LABELS.rightArm, 'the near (right) forearm is visible');
  assertJointsInMask(rs, pose(side), 'side view');
});

test('textures are attached to the limb: stripes run across a forearm whichever way it points', async () => {
  const base = makeIdentity(3, 5);
  const identity = dressed(base, { sleeves: 'long', pattern: 'stripes', color: [255, 0, 0], color2: [0, 0, 255], period: 0.07 }, {});
  // Right forearm hanging down, left forearm straight out sideways (horizontal).
  const p = FRONT.slice();
  p[5] = [34, 40];
  p[6] = [40, 48];
  p[7] = [40, 63];
  const r = await renderFigure(identity, pose(p), SIZE);
  const red = (y: number, x: number): number => r.image[(y * 64 + x) * 3] as number;
  const swing = (vals: number[]): number => Math.max(...vals) - Math.min(...vals);
  // Along each forearm the stripes alternate; across it they do not.
  const downAlong = [54, 55, 56, 57, 58, 59, 60, 61, 62, 63].map((y) => red(y, Math.round(21 - (y - 52) / 16)));
  const outAlong = [49, 50, 51, 52, 53, 54, 55, 56, 57, 58].map((x) => red(40, x));
  assert.ok(swing(downAlong) > 150, `stripes along the hanging forearm: ${downAlong}`);
  assert.ok(swing(outAlong) > 150, `stripes along the horizontal forearm: ${outAlong}`);
  for (const x of [50, 53, 56]) {
    const across = [39, 40, 41].map((y) => red(y, x));
    assert.ok(swing(across) < 90, `one stripe across the horizontal forearm at x=${x}: ${across}`);
  }
});

test('the image is antialiased while the parsing map is not', async () => {
  const r = await renderFigure(makeIdentity(3, 6), pose(FRONT), SIZE);
  const colours = new Set<number>();
  for (let i = 0; i < r.image.length; i += 3) colours.add(((r.image[i] as number) << 16) | ((r.image[i + 1] as number) << 8) | (r.image[i + 2] as number));
  // Flat fills, a gradient and edges: blending makes many more colours than the figure has paints.
  assert.ok(colours.size > 60, `${colours.size} colours`);
  assert.ok(new Set(r.parsing).size <= 10);
});

test('renders are deterministic and depend on the identity and the pose', async () => {
  const id = makeIdentity(9, 3);
  const a = await renderFigure(id, pose(FRONT), SIZE);
  const b = await renderFigure(makeIdentity(9, 3), pose(FRONT), SIZE);
  assert.deepEqual(Buffer.from(a.image), Buffer.from(b.image));
  assert.deepEqual(Buffer.from(a.parsing), Buffer.from(b.parsing));
  const c = await renderFigure(makeIdentity(9, 4), pose(FRONT), SIZE);
  assert.notDeepEqual(Buffer.from(a.image), Buffer.from(c.image));
  const moved = FRONT.map((p) => (p ? [p[0], p[1] + 3] as YX : null));
  const d = await renderFigure(id, pose(moved), SIZE);
  assert.notDeepEqual(Buffer.from(a.parsing), Buffer.from(d.parsing));
});

test('missing joints are completed for drawing; an empty pose draws only the background', async () => {
  const id = makeIdentity(3, 7);
  const noLegs = FRONT.map((p, j) => ([9, 10, 12, 13].includes(j) ? null : p));
  const r = await renderFigure(id, pose(noLegs), SIZE);
  const legPixels = Array.from(r.parsing).filter((l) => l === LABELS.leftLeg || l === LABELS.rightLeg || l === LABELS.pants || l === LABELS.skirt).length;
  assert.ok(legPixels > 100, `legs are still drawn (${legPixels} px)`);
  assertJointsInMask(r, pose(noLegs), 'pose without knees and ankles');

  const empty = await renderFigure(id, pose(new Array(18).fill(null)), SIZE);
  assert.equal(Array.from(empty.mask).reduce((a, b) => a + b, 0), 0);
});

test('bad input is named', async () => {
  await assert.rejects(renderFigure(makeIdentity(1, 1), new Float32Array(10), SIZE), /renderFigure: pose/);
  await assert.rejects(renderFigure(makeIdentity(1, 1), pose(FRONT), { height: 5, width: 64 }), /renderFigure: size/);
  assert.throws(() => makeIdentity(1, 0), /id must be an integer in 1\.\.9999/);
});

test('rendering leaks no tensors', async () => {
  const before = torch.memory().numTensors;
  await renderFigure(makeIdentity(1, 1), pose(FRONT), SIZE);
  assert.equal(torch.memory().numTensors, before);
});

test('benchSynth reports renders per second (wall and CPU)', async () => {
  const r = await benchSynth({ renders: 10 });
  assert.ok(r.synth_renders_per_s > 0 && Number.isFinite(r.synth_renders_per_s));
  assert.ok(r.synth_renders_per_cpu_s > 0 && Number.isFinite(r.synth_renders_per_cpu_s));
});

test('the label half is drawn without antialiasing: its alpha is 0 or 255, its red exact labels and its green frame ids', async () => {
  const svg = figureSvg(makeIdentity(3, 8), pose(FRONT), 128, 64);
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.height, info.width, info.channels], [256, 64, 4]);
  let opaque = 0;
  for (let i = 128 * 64 * 4; i < data.length; i += 4) {
    const a = data[i + 3] as number;
    assert.ok(a === 0 || a === 255, `alpha ${a} in the label half`);
    // Red is the label, green the surface frame id, blue unused.
    assert.ok((data[i] as number) <= 9 && (data[i + 1] as number) < SURFACE_FRAMES.length && data[i + 2] === 0, `label pixel ${data.subarray(i, i + 4).join(',')}`);
    if (a === 255) assert.ok((data[i + 1] as number) > 0, 'every drawn label pixel has a surface frame');
    if (a === 0) assert.equal(data[i], 0);
  }
  // The painted half covers the whole frame (its blending is checked by the antialiasing test above).
  for (let i = 0; i < 128 * 64 * 4; i += 4) if ((data[i + 3] as number) === 255) opaque++;
  assert.equal(opaque, 128 * 64, 'the painted half is opaque (it has a background)');
});

test('limbs are shaded like cylinders: darker at their edges than along their middle', async () => {
  const id = dressed(makeIdentity(11, 3), { pattern: 'solid', color: [120, 150, 200] }, { kind: 'trousers', pattern: 'solid', color: [200, 120, 90] });
  const size = { height: 2 * SIZE.height, width: 2 * SIZE.width };
  const r = await renderFigure(id, pose(FRONT.map((p) => (p ? [2 * p[0], 2 * p[1]] as YX : null))), size);
  const lum = (i: number): number => 0.299 * (r.image[3 * i] as number) + 0.587 * (r.image[3 * i + 1] as number) + 0.114 * (r.image[3 * i + 2] as number);
  let runs = 0;
  for (const y of [150, 160, 170]) { // between hip (132) and knee (180): both thighs cross these rows
    for (let x = 0; x < r.width;) {
      if (at(r, y, x) !== LABELS.pants) { x++; continue; }
      const start = x;
      while (x < r.width && at(r, y, x) === LABELS.pants) x++;
      const n = x - start;
      if (n < 10) continue;
      const row = y * r.width + start;
      const edges = (lum(row + 1) + lum(row + n - 2)) / 2;
      const middle = lum(row + Math.round(0.4 * n));
      assert.ok(middle - edges > 15, `row ${y}, pants run at x ${start}..${x - 1}: middle ${middle.toFixed(0)} vs edges ${edges.toFixed(0)}`);
      runs++;
    }
  }
  assert.ok(runs >= 3, `expected trouser legs across rows 150..170, found ${runs} runs`);
});
