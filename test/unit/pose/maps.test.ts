import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { heatmaps, poseMaps, posesToTensor, tensorToPoses } from '../../../src/pose/heatmaps.js';
import { MASK_LIMBS, closing, dilate, erode, marketMask, pg2Mask } from '../../../src/pose/masks.js';
import { J, emptyPose, setJoint, type Pose } from '../../../src/pose/skeleton.js';

function pose(points: Record<number, [number, number]>): Pose {
  const p = emptyPose();
  for (const [j, [y, x]] of Object.entries(points)) setJoint(p, Number(j), y, x);
  return p;
}

/** Plain-loop binary closing with a k x k square, ignoring pixels outside the frame (the reference). */
function refClose(m: Uint8Array, h: number, w: number, k = 5): Uint8Array {
  const r = (k - 1) / 2;
  const pass = (src: Uint8Array, dil: boolean): Uint8Array => {
    const out = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      let v = dil ? 0 : 1;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
        const yy = y + dy; const xx = x + dx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        v = dil ? Math.max(v, src[yy * w + xx]!) : Math.min(v, src[yy * w + xx]!);
      }
      out[y * w + x] = v;
    }
    return out;
  };
  return pass(pass(m, true), false);
}

function maskBits(t: torch.Tensor): Uint8Array {
  return Uint8Array.from(t.data() as Float32Array, (v) => (v > 0.5 ? 1 : 0));
}

test('heatmaps match the hand-computed Gaussians; a missing joint is an all-zero channel', () => {
  torch.scope(() => {
    const p = pose({ 0: [2, 3], 5: [0, 0] });
    const hm = heatmaps(posesToTensor([p]), [5, 6], 1.5);
    assert.deepEqual(hm.shape, [1, 18, 5, 6]);
    const v = hm.data() as Float32Array;
    const at = (c: number, y: number, x: number): number => v[(c * 5 + y) * 6 + x]!;
    for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) {
      const e0 = Math.exp(-((y - 2) ** 2 + (x - 3) ** 2) / (2 * 1.5 * 1.5));
      const e5 = Math.exp(-(y ** 2 + x ** 2) / (2 * 1.5 * 1.5));
      assert.ok(Math.abs(at(0, y, x) - e0) < 1e-6, `nose at ${y},${x}`);
      assert.ok(Math.abs(at(5, y, x) - e5) < 1e-6, `l_shoulder at ${y},${x}`);
      assert.equal(at(1, y, x), 0, 'missing neck');
    }
    assert.equal(at(0, 2, 3), 1);
    // Default sigma 6 and a batch: row n is pose n.
    const two = heatmaps(posesToTensor([p, pose({ 1: [4, 1] })]), [5, 6]);
    assert.ok(Math.abs(two.select(0, 1).select(0, 1).select(0, 0).select(0, 0).item() - Math.exp(-(16 + 1) / 72)) < 1e-6);
    assert.equal(two.select(0, 1).select(0, 0).abs().sum().item(), 0);
    assert.throws(() => heatmaps(torch.zeros([2, 17, 2]), [4, 4]), /\(N,18,2\)/);
  });
});

test('poses <-> tensors keep (y, x) order', () => {
  torch.scope(() => {
    const p = pose({ 3: [7, 9] });
    const t = posesToTensor([p]);
    assert.deepEqual(t.select(1, 3).toArray(), [[7, 9]]);
    assert.deepEqual(Array.from(tensorToPoses(t)[0]!), Array.from(p));
  });
});

test('dilate, erode and closing with a 5x5 square, on tensors', () => {
  torch.scope(() => {
    const img = torch.zeros([1, 1, 9, 9]);
    img.select(2, 4).select(2, 4).fill_(1);
    const d = dilate(img);
    assert.equal(d.sum().item(), 25);
    assert.equal(d.select(2, 2).select(2, 2).item(), 1);
    assert.equal(d.select(2, 1).select(2, 4).item(), 0);
    assert.equal(erode(d).sum().item(), 1);
    // Closing fills a 2-pixel gap between two bars but keeps the bars' outline.
    const bars = torch.zeros([1, 1, 9, 16]);
    bars.narrow(2, 3, 3).narrow(3, 3, 4).fill_(1);
    bars.narrow(2, 3, 3).narrow(3, 9, 4).fill_(1);
    const c = closing(bars);
    assert.equal(c.select(2, 4).select(2, 7).item(), 1, 'gap filled');
    assert.equal(c.sum().item(), 30, '3 x 10 block');
    // Erosion at the frame's edge does not eat a mask that touches the edge (outside pixels never count).
    assert.equal(erode(torch.ones([1, 1, 6, 6])).sum().item(), 36);
    assert.throws(() => dilate(img, 4), /odd/);
  });
});

test('PG2 mask: radius-4 disks at the joints and along the limb, then closing (hand reference)', () => {
  torch.scope(() => {
    const [h, w] = [24, 40];
    // One limb present (r_hip - r_knee), 20 px long: disk centres every 4 px, x = 10, 14, ..., 30.
    const p = pose({ [J.r_hip]: [10, 10], [J.r_knee]: [10, 30], [J.l_ankle]: [20, 5] });
    const m = pg2Mask(posesToTensor([p]), [h, w]);
    assert.deepEqual(m.shape, [1, 1, h, w]);
    const ref = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      for (let cx = 10; cx <= 30; cx += 4) if ((y - 10) ** 2 + (x - cx) ** 2 <= 16) ref[y * w + x] = 1;
    }
    assert.deepEqual(maskBits(m), refClose(ref, h, w));
    assert.equal(m.select(2, 20).select(2, 5).item(), 0, 'a joint on no drawn limb adds nothing');
    assert.equal(m.select(2, 14).select(2, 20).item(), 1, 'the disks reach 4 px from the axis');
    assert.equal(m.select(2, 15).select(2, 20).item(), 0);
  });
});

test('Market mask: half-width-4 limb rectangles plus radius-4 disks, closed (hand reference)', () => {
  torch.scope(() => {
    const [h, w] = [30, 40];
    const p = pose({ [J.r_knee]: [10, 10], [J.r_ankle]: [10, 30], [J.nose]: [25, 35] });
    const m = marketMask(posesToTensor([p]), [h, w]);
    const ref = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const inRect = x >= 10 && x <= 30 && Math.abs(y - 10) <= 4;
      const inDisk = [[10, 10], [10, 30], [25, 35]].some(([cy, cx]) => (y - cy!) ** 2 + (x - cx!) ** 2 < 16);
      if (inRect || inDisk) ref[y * w + x] = 1;
    }
    assert.deepEqual(maskBits(m), refClose(ref, h, w));
    // A batch of two: the second pose's mask is its own.
    const both = marketMask(posesToTensor([p, pose({ [J.nose]: [5, 5] })]), [h, w]);
    assert.deepEqual(maskBits(both.select(0, 0)), maskBits(m.select(0, 0)));
    assert.equal(both.select(0, 1).sum().item(), refClose(Uint8Array.from({ length: h * w }, (_, i) =>
      ((Math.floor(i / w) - 5) ** 2 + ((i % w) - 5) ** 2 < 16 ? 1 : 0)), h, w).reduce((a, b) => a + b, 0));
    assert.equal(MASK_LIMBS.length, 23);
  });
});

test('masks on a real Market pose cover every joint and leak no tensors', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    // Row 2 of market-annotation-train.csv.
    const y = [8, 23, 23, 43, 60, 23, 43, 60, 64, 92, 118, 65, 89, 108, 5, 6, 7, 8];
    const x = [39, 37, 20, 12, 8, 53, 59, 53, 22, 24, 24, 43, 43, 45, 36, 42, 31, 47];
    const p = emptyPose();
    y.forEach((v, j) => setJoint(p, j, v, x[j]!));
    const kp = posesToTensor([p]);
    for (const m of [pg2Mask(kp, [128, 64]), marketMask(kp, [128, 64])]) {
      for (let j = 0; j < 18; j++) assert.equal(m.select(2, y[j]!).select(2, x[j]!).item(), 1, `joint ${j} covered`);
      const frac = m.mean().item();
      assert.ok(frac > 0.1 && frac < 0.6, `mask covers a body-sized share (${frac})`);
    }
  });
  assert.equal(torch.memory().numTensors, before);
});

test("PATN DeepFashion's 'peak' maps are the uint8 cast of the Gaussian: 1 on an integer keypoint's pixel only", () => {
  torch.scope(() => {
    const kp = posesToTensor([pose({ [J.nose]: [3, 5], [J.neck]: [7.5, 2] })]);
    const peak = poseMaps(kp, [10, 8], { kind: 'peak' });
    const gauss = poseMaps(kp, [10, 8], { kind: 'gaussian', sigma: 6 });
    assert.equal(peak.sum().item(), 1, 'one pixel survives: the integer nose; the neck at y 7.5 has no pixel at distance 0');
    assert.equal(peak.select(1, J.nose).select(1, 3).select(1, 5).item(), 1);
    // The official code assigns exp(...) into a uint8 array: truncation, which is floor for values in [0, 1].
    assert.ok(gauss.floor().sub(peak).abs().max().item() === 0);
    assert.ok(gauss.sum().item() > 100, 'the Gaussian encoding keeps the spread');
    const disks = poseMaps(kp, [10, 8], { kind: 'disks', radius: 1 });
    assert.equal(disks.select(1, J.nose).sum().item(), 5, 'radius 1: the pixel and its 4 neighbours');
    assert.throws(() => poseMaps(kp, [10, 8], { kind: 'box' } as never), /unknown pose encoding.*"kind":"peak"/);
  });
});
