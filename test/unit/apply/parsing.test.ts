// SPT's applications: texture transfer keeps every receiver pixel outside the garment and takes SPT's rendering inside
// it; parsing editing renders the image to the edited map; bad input names what is wrong. The same for photos of any
// size that bring their pose and parsing map (what reposer serve offers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../../src/torch/index.js';
import { openDataset, PairLoader, type LoaderBatch } from '../../../src/data/index.js';
import { loaderOptions } from '../../../src/models/registry.js';
import type { SptModel } from '../../../src/models/spt/index.js';
import { makeIdentity, renderFigure, Rng, samplePose, writeSynthDataset } from '../../../src/synth/index.js';
import { train } from '../../../src/train/index.js';
import {
  frameBatch, framedTensor, frameParsing, framePhoto, generate, loadModel, mapPose, unframe, type LoadedModel,
} from '../../../src/generate/index.js';
import {
  editParsing, predictPhotoParsing, renderPhotoParsing, swapGarment, transferTexture, GARMENT_LABELS, type ParsedPhoto,
} from '../../../src/apply/index.js';
import { toBytes } from '../../../src/train/samples.js';

let root = '';
let data = '';
let run = '';
let patnRun = '';
let loaded: LoadedModel;
let names: string[] = [];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'spt-apply-'));
  data = join(root, 'data');
  run = join(root, 'spt');
  patnRun = join(root, 'patn');
  await writeSynthDataset({ out: data, size: { height: 64, width: 32 }, identities: 4, poses: 2, seed: 3, testFraction: 0.5, imageFormat: 'png' });
  // Into the appearance stage, so that G_A has trained a step.
  await train({ model: 'spt', preset: 'tiny', data, out: run, steps: 2, workers: 0, sampleEvery: 0 });
  await train({ model: 'patn', preset: 'tiny', data: join(root, 'data'), out: patnRun, steps: 1, workers: 0, sampleEvery: 0, sets: ['image.height=64', 'image.width=32'] });
  loaded = loadModel(run);
  names = [...(await openDataset(data, { split: 'test' })).annotations.keys()].sort();
});
after(() => {
  loaded.model.dispose();
  rmSync(root, { recursive: true, force: true });
});

async function batchOf(from: string, to: string): Promise<LoaderBatch> {
  const ds = await openDataset(data, { split: 'test' });
  ds.pairs = [{ from, to, line: 0 }];
  const loader = new PairLoader(ds, { ...loaderOptions(loaded.family, loaded.cfg, { seed: 0, workers: 0, shuffle: false }), batchSize: 1, augment: null });
  try {
    for await (const b of loader.batches(0)) return b;
  } finally {
    await loader.close();
  }
  throw new Error('no batch');
}

async function rgb(png: Buffer): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).removeAlpha().raw().toBuffer());
}

test('transfer-texture: outside the garment the receiver is untouched; inside, SPT renders the donor to the receiver\'s parsing', async () => {
  const [donor, receiver] = [names[0] as string, names.find((n) => n.slice(0, 4) !== (names[0] as string).slice(0, 4)) as string];
  const labels = [GARMENT_LABELS['upper-clothes'] as number, GARMENT_LABELS.pants as number];
  const live = torch.memory().numTensors;
  const out = await rgb(await transferTexture(loaded, { data, donor, receiver, labels }));
  assert.equal(torch.memory().numTensors, live, 'every tensor is disposed');
  const b = await batchOf(donor, receiver);
  try {
    const [expected, receiverPixels, garment] = torch.scope(() => {
      const hwc = (t: torch.Tensor): Uint8Array => toBytes(t).squeeze(0).permute([1, 2, 0]).contiguous().data() as Uint8Array;
      const rendered = (loaded.model as SptModel).generateWithParsing(b, b.parsingB as torch.Tensor);
      const p = b.parsingB as torch.Tensor;
      const mask = p.eq(3).logicalOr(p.eq(4)).squeeze(0).to('uint8').contiguous().data() as Uint8Array;
      return [hwc(rendered), hwc(b.imageB), Uint8Array.from(mask)];
    });
    let inside = 0;
    for (let i = 0; i < garment.length; i++) {
      for (let c = 0; c < 3; c++) {
        const want = garment[i] ? expected[i * 3 + c] : receiverPixels[i * 3 + c];
        assert.ok(Math.abs((out[i * 3 + c] as number) - (want as number)) <= 1, `pixel ${i} channel ${c}: ${out[i * 3 + c]} vs ${want} (${garment[i] ? 'garment' : 'receiver'})`);
      }
      inside += garment[i] as number;
    }
    assert.ok(inside > 20, `the receiver wears clothes (${inside} garment pixels)`);
  } finally {
    torch.dispose(Object.values(b));
  }
});

test('edit-parsing: the image is rendered to the edited map, and another map gives another image', async () => {
  const [image, other] = [names[0] as string, names[names.length - 1] as string];
  const stem = (n: string): string => n.replace(/\.png$/, '');
  const own = join(data, 'parsing', 'test', `${stem(image)}.png`);
  const edited = join(data, 'parsing', 'test', `${stem(other)}.png`);
  const a = await rgb(await editParsing(loaded, { data, image, parsing: own }));
  const e = await rgb(await editParsing(loaded, { data, image, parsing: edited }));
  const b = await batchOf(image, image);
  try {
    const direct = torch.scope(() => toBytes((loaded.model as SptModel).generateWithParsing(b, b.parsingB as torch.Tensor)).squeeze(0).permute([1, 2, 0]).contiguous().data() as Uint8Array);
    assert.deepEqual(Array.from(a), Array.from(direct), 'the unedited map renders what generateWithParsing gives for the image\'s own parsing');
  } finally {
    torch.dispose(Object.values(b));
  }
  let changed = 0;
  for (let i = 0; i < a.length; i++) changed += Number(a[i] !== e[i]);
  assert.ok(changed > a.length / 20, `the edited map changes the image (${changed} of ${a.length} values)`);
});

test('bad input: a label outside 0..9, an unknown image, a non-SPT checkpoint', async () => {
  const bad = join(root, 'bad.png');
  await sharp(Buffer.alloc(64 * 32, 12), { raw: { width: 32, height: 64, channels: 1 } }).png().toFile(bad);
  await assert.rejects(editParsing(loaded, { data, image: names[0] as string, parsing: bad }), /holds label 12; parsing labels are 0\.\.9/);
  await assert.rejects(transferTexture(loaded, { data, donor: 'ghost.png', receiver: names[0] as string }), /'ghost\.png' is not an annotated image/);
  await assert.rejects(transferTexture(loaded, { data, donor: names[0] as string, receiver: names[1] as string, labels: [10] }), /label 10 is not a parsing label/);
  const patn = loadModel(patnRun);
  try {
    await assert.rejects(transferTexture(patn, { data, donor: names[0] as string, receiver: names[1] as string }), /only SPT's appearance generator takes; .* is a patn checkpoint/);
  } finally {
    patn.model.dispose();
  }
});

/** A synthetic person rendered at (height, width) with its pose and parsing map: a photo whose parsing is known. */
async function person(id: number, height: number, width: number): Promise<ParsedPhoto & { pixels: Uint8Array }> {
  const identity = makeIdentity(5, id);
  const pose = samplePose(identity, { height, width }, new Rng(id), { cropChance: 0, dropChance: 0 });
  const r = await renderFigure(identity, pose, { height, width });
  const image = await sharp(Buffer.from(r.image), { raw: { width, height, channels: 3 } }).png().toBuffer();
  return { image, pose, parsing: { width, height, labels: r.parsing }, pixels: r.image };
}

test('photo garment swap: every receiver pixel outside the garment is its own, inside SPT renders the donor; tensors freed', async () => {
  // The receiver's aspect differs from the frame's (64x32), so it is letterboxed; the donor is twice the frame.
  const receiver = await person(2, 150, 80);
  const donor = await person(3, 128, 64);
  const labels = [GARMENT_LABELS['upper-clothes'] as number, GARMENT_LABELS.pants as number];
  const live = torch.memory().numTensors;
  const out = await rgb(await swapGarment(loaded, { donor, receiver, labels }));
  assert.equal(torch.memory().numTensors, live, 'every tensor is disposed');
  assert.equal(out.length, 150 * 80 * 3, 'the result is at the receiver\'s size');
  let garment = 0;
  let changed = 0;
  for (let i = 0; i < 150 * 80; i++) {
    const inside = labels.includes(receiver.parsing.labels[i] as number);
    garment += Number(inside);
    for (let c = 0; c < 3; c++) {
      const d = Math.abs((out[i * 3 + c] as number) - (receiver.pixels[i * 3 + c] as number));
      if (!inside) assert.ok(d <= 1, `pixel ${i} channel ${c} outside the garment: ${out[i * 3 + c]} vs the receiver's ${receiver.pixels[i * 3 + c]}`);
      else changed += Number(d > 1);
    }
  }
  assert.ok(garment > 100, `the receiver wears clothes (${garment} garment pixels)`);
  assert.ok(changed > garment / 4, `inside the garment the rendering replaces the receiver (${changed} values of ${garment * 3} differ)`);
  await assert.rejects(swapGarment(loaded, { donor, receiver, labels: [0] }), /swap-garment: label 0 is not a parsing label 1\.\.9/);
});

test('photo parsing: the predicted map comes back at the photo size; rendering to it unedited is G_A on G_S\'s labels; an edit changes the image', async (t) => {
  const source = await person(4, 128, 64);
  const targetPose = (await person(6, 128, 64)).pose;
  const live = torch.memory().numTensors;
  const predicted = await predictPhotoParsing(loaded, { source, targetPose });
  assert.deepEqual([predicted.width, predicted.height, predicted.labels.length], [64, 128, 64 * 128]);
  assert.ok(predicted.labels.every((l) => l <= 9));
  const unedited = await rgb(await renderPhotoParsing(loaded, { source, targetPose, targetParsing: predicted }));
  assert.equal(torch.memory().numTensors, live, 'every tensor is disposed');

  // The same computed in the frame: the photo is twice the frame, so the labels go out and back exactly.
  const photo = await framePhoto(loaded, source.image);
  const parsing = await frameParsing(source.parsing, photo, 'parsing');
  const direct = torch.scope(() => {
    const batch = frameBatch(loaded, framedTensor(photo), mapPose(source.pose, photo.box), [mapPose(targetPose, photo.box)], parsing);
    const model = loaded.model as SptModel;
    const labels = model.predictParsing(batch);
    return toBytes(model.generateWithParsing(batch, labels)).permute([0, 2, 3, 1]).contiguous().data() as Uint8Array;
  });
  assert.deepEqual(Array.from(unedited), Array.from(await unframe(direct, 3, photo)), 'the unedited map renders what G_A gives for G_S\'s labels');

  // Plain generation reads G_S's probabilities rather than its labels: the two agree only as far as G_S is sure.
  const plain = await rgb(await generate(loaded, { source: source.image, sourcePose: source.pose, targetPose, sourceParsing: source.parsing }));
  let diff = 0;
  for (let i = 0; i < plain.length; i++) diff += Math.abs((plain[i] as number) - (unedited[i] as number));
  t.diagnostic(`plain generation vs the unedited render: mean difference ${(diff / plain.length).toFixed(2)} levels`);

  // Repaint: everything below the middle becomes skirt.
  const edited = { ...predicted, labels: predicted.labels.map((l, i) => (i >= 64 * 64 && l > 0 ? 5 : l)) };
  const repainted = await rgb(await renderPhotoParsing(loaded, { source, targetPose, targetParsing: edited }));
  let changed = 0;
  for (let i = 0; i < repainted.length; i++) changed += Number(repainted[i] !== unedited[i]);
  assert.ok(changed > 0, 'the edited map changes the image');

  await assert.rejects(renderPhotoParsing(loaded, { source, targetPose, targetParsing: { ...predicted, width: 32 } }),
    /targetParsing is 32x128 \(width x height\), the photo 64x128; give one label per pixel of the photo/);
  await assert.rejects(renderPhotoParsing(loaded, { source, targetPose, targetParsing: { ...predicted, labels: predicted.labels.map(() => 12) } }),
    /targetParsing holds label 12 at x 0, y 0; parsing labels are 0\.\.9/);
});

test('generating a photo with SPT needs its parsing map; without one the error says what to give', async () => {
  const source = await person(4, 128, 64);
  await assert.rejects(generate(loaded, { source: source.image, sourcePose: source.pose, targetPose: source.pose }),
    /generate: spt renders through the source's parsing map .* and this photo has none; give sourceParsing/);
  const png = await generate(loaded, { source: source.image, sourcePose: source.pose, targetPose: source.pose, sourceParsing: source.parsing });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 128]);
});
