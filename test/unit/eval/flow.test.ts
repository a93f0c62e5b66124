// flow-epe: the flow file format's conversions, the end-point error on planted flows, and evaluate() reading flows
// beside generated images of a synthetic dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { readPairsCsvSync } from '../../../src/data/formats.js';
import { correspondenceField, readSurface, writeSynthDataset, type Correspondence } from '../../../src/synth/index.js';
import { evaluate, flowEndPointError, flowFromGrid, flowFromOffsets, flowPath, getProtocol, resolveMetrics, writeFlow } from '../../../src/eval/index.js';

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('flowFromGrid and flowFromOffsets give absolute full-size pixel coordinates', () => {
  torch.scope(() => {
    // The identity grid of an 8x6 image (align_corners=false) samples each pixel's own centre.
    const theta = torch.tensor([1, 0, 0, 0, 1, 0], [1, 2, 3]);
    const flow = flowFromGrid(torch.affineGrid(theta, [1, 1, 8, 6], false), [8, 6]);
    assert.deepEqual(flow.shape, [1, 2, 8, 6]);
    const f = flow.data() as Float32Array;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 6; j++) {
        close(f[i * 6 + j] as number, j, 1e-5, `x at (${i}, ${j})`);
        close(f[48 + i * 6 + j] as number, i, 1e-5, `y at (${i}, ${j})`);
      }
    }
    const aligned = flowFromGrid(torch.affineGrid(theta, [1, 1, 8, 6], true), [8, 6], true).data() as Float32Array;
    close(aligned[5] as number, 5, 1e-5, 'align_corners: the last column');
    // Zero offsets on a half-resolution grid point at the centres of 2x2 full-size blocks.
    const o = flowFromOffsets(torch.zeros([1, 2, 4, 3]), [8, 6]).data() as Float32Array;
    close(o[0] as number, 0.5, 1e-6, 'x of grid pixel (0, 0)');
    close(o[2] as number, 4.5, 1e-6, 'x of grid pixel (0, 2)');
    close(o[12 + 3] as number, 2.5, 1e-6, 'y of grid pixel (1, 0)');
  });
});

/** A truth of an h x w frame whose true flow is the identity, visible everywhere but a 1-pixel border. */
function identityTruth(h: number, w: number): Correspondence {
  const flow = new Float32Array(2 * h * w);
  const visible = new Uint8Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      flow[i * w + j] = j;
      flow[h * w + i * w + j] = i;
      visible[i * w + j] = i > 0 && j > 0 && i < h - 1 && j < w - 1 ? 1 : 0;
    }
  }
  return { height: h, width: w, flow, visible };
}

test('flowEndPointError: exact = 0, 2 px off = 2, a coarser flow is resized, NaN on a visible pixel is an error', () => {
  const before = torch.memory().numTensors;
  const truth = identityTruth(16, 12);
  torch.scope(() => {
    const exact = torch.tensor(truth.flow, [2, 16, 12]);
    assert.deepEqual(flowEndPointError(exact, truth), { epe: 0, within1: 1, within3: 1, visible: 14 * 10 });
    const shifted = flowEndPointError(exact.add(torch.tensor([2, 0], [2, 1, 1])), truth);
    close(shifted.epe, 2, 1e-6, 'shifted by 2 px');
    assert.equal(shifted.within1, 0);
    assert.equal(shifted.within3, 1);
    // The identity at half resolution: grid pixel (i, j) holds its centre's full-size coordinates.
    const coarse = flowFromOffsets(torch.zeros([1, 2, 8, 6]), [16, 12]).squeeze(0);
    close(flowEndPointError(coarse, identityTruth(16, 12)).epe, 0, 0.1, 'a half-resolution identity');
    const holes = exact.clone();
    holes.select(0, 0).select(0, 5).fill_(NaN);
    assert.throws(() => flowEndPointError(holes, truth, 'f.npy'), /f\.npy: the flow is NaN or infinite/);
  });
  assert.equal(torch.memory().numTensors, before);
});

test("evaluate(): flow-epe reads <pred>/flows/<pair>.npy against the synthetic dataset's true fields", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-flow-epe-'));
  try {
    const data = join(dir, 'data');
    await writeSynthDataset({ out: data, size: { height: 128, width: 64 }, identities: 2, poses: 3, seed: 5, imageFormat: 'png' });
    const pairs = readPairsCsvSync(join(data, 'synth-pairs-test.csv'));
    assert.ok(pairs.length >= 2);
    const stem = (n: string): string => n.replace(/\.png$/, '');
    const truths = await Promise.all(pairs.map(async (p) => correspondenceField(
      await readSurface(join(data, 'surface', 'test', `${stem(p.from)}.npy`)), await readSurface(join(data, 'surface', 'test', `${stem(p.to)}.npy`)))));
    const run = async (name: string, dx: number): Promise<Record<string, number>> => {
      const pred = join(dir, name);
      for (const [k, p] of pairs.entries()) {
        copyFileSync(join(data, 'test', p.to), join(pred, `${p.from}___${p.to}.png`));
        const truth = truths[k] as Correspondence;
        // Off the visible body the planted flow may hold anything finite; the truth's NaNs become zeros.
        const planted = torch.scope(() => {
          const t = torch.tensor(truth.flow, [2, 128, 64]);
          return torch.where(t.isnan(), 0, t).add(torch.tensor([dx, 0], [2, 1, 1]));
        });
        await writeFlow(flowPath(pred, p.from, p.to), planted).finally(() => planted.dispose());
      }
      return (await evaluate({ pred, data, protocol: 'patn', metrics: ['flow-epe'] })).metrics;
    };
    mkdirSync(join(dir, 'exact', 'flows'), { recursive: true });
    mkdirSync(join(dir, 'shifted', 'flows'), { recursive: true });
    const exact = await run('exact', 0);
    assert.deepEqual(exact, { 'flow-epe': 0, 'flow-epe_1px': 1, 'flow-epe_3px': 1 });
    const shifted = await run('shifted', 2);
    close(shifted['flow-epe'] as number, 2, 1e-5, 'flows 2 px off');
    assert.equal(shifted['flow-epe_1px'], 0);
    assert.equal(shifted['flow-epe_3px'], 1);

    // A generated image without its flow is named.
    rmSync(flowPath(join(dir, 'exact'), pairs[0]!.from, pairs[0]!.to));
    await assert.rejects(evaluate({ pred: join(dir, 'exact'), data, protocol: 'gfla', metrics: ['flow-epe'] }), /has no flow .*flows.*\.npy/);
    assert.ok(readFileSync(join(data, 'synth.json'), 'utf8').includes('surface/'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flow-epe is accepted by every protocol but in none of their defaults', () => {
  for (const name of ['patn', 'gfla', 'pidm', 'cfld']) {
    const p = getProtocol(name);
    assert.deepEqual(resolveMetrics(p, ['flow-epe']), ['flow-epe']);
    assert.ok(!p.defaults.includes('flow-epe'));
  }
  assert.throws(() => resolveMetrics(getProtocol('patn'), ['flow']), /metric 'flow' is not part of the 'patn' protocol.*flow-epe/);
});
