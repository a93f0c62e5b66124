// The server's SPT features over real HTTP: the examples carry their parsing maps, so an SPT model generates, predicts
// the target parsing, renders to an edited parsing and swaps garments between them; an upload (no parsing map), a
// model without parsing maps, a map of the wrong size or with labels outside 0..9 are refused with what to do; a flood
// gets 503; no tensor is left behind in the worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../../src/serve/server.js';
import { makeServeFixture, type ServeFixture } from './serve-fixture.js';

interface SourceJson { id: string; name: string; width: number; height: number; pose: [number, number][] | null; poseFrom: string | null; parsing: boolean; defaultPose: [number, number][] }
interface ParsingJson { width: number; height: number; labels: string; legend: { label: number; name: string; color: string }[] }

let fx: ServeFixture;
let app: FastifyInstance;
let base = '';
let examples: SourceJson[] = [];
let upload: SourceJson;
let tensorsAtStart = 0;

async function uploadFile(bytes: Buffer, name: string): Promise<SourceJson> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), name);
  return (await (await fetch(`${base}/api/sources`, { method: 'POST', body: form })).json()) as SourceJson;
}

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const errorOf = async (res: Response): Promise<string> => ((await res.json()) as { error: string }).error;
const health = async (): Promise<{ queue: { waiting: number; running: number }; workerTensors: number }> => (await fetch(`${base}/api/health`)).json() as never;
const raw = async (res: Response): Promise<{ data: Buffer; width: number; height: number }> => {
  const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};

before(async () => {
  fx = await makeServeFixture(1, { spt: true });
  app = await createServer({ checkpoint: fx.runs, data: fx.data, examples: 2, limits: { queueCapacity: 2 } });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  examples = (await (await fetch(`${base}/api/examples`)).json()) as SourceJson[];
  upload = await uploadFile(await sharp({ create: { width: 32, height: 64, channels: 3, background: '#8899aa' } }).png().toBuffer(), 'my-photo.png');
  tensorsAtStart = (await health()).workerTensors;
});
after(async () => {
  await app?.close();
  rmSync(fx.root, { recursive: true, force: true });
});

test('models and sources say what has parsing maps: SPT does, the examples do, an upload does not', async () => {
  const models = (await (await fetch(`${base}/api/models`)).json()) as { name: string; family: string; capabilities: { parsing: boolean } }[];
  assert.deepEqual(models.map((m) => [m.name, m.family, m.capabilities.parsing]), [['spt', 'spt', true], ['tiny-a', 'patn', false]]);
  assert.equal(examples.length, 2);
  assert.ok(examples.every((e) => e.parsing === true));
  assert.equal(upload.parsing, false);
});

test('an upload named as a --data image brings its parsing map, placed as its pose is, and SPT renders it', async () => {
  const name = readdirSync(join(fx.data, 'test')).sort()[0] as string;
  // Twice the dataset's 32x16 frame and 8 columns wider (serve-sources.test.ts checks where the map lands).
  const photo = await sharp(join(fx.data, 'test', name)).resize(32, 64, { kernel: 'nearest' })
    .extend({ left: 4, right: 4, background: '#ffffff' }).png().toBuffer();
  const known = await uploadFile(photo, name);
  assert.deepEqual([known.poseFrom, known.parsing, known.width, known.height], ['annotation', true, 40, 64]);
  const res = await post('/api/parsing', { source: known.id, model: 'spt', targetPose: known.pose });
  assert.equal(res.status, 200, await res.clone().text());
  assert.ok(Buffer.from(((await res.json()) as ParsingJson).labels, 'base64').length === 40 * 64);
  const gen = await post('/api/generate', { source: known.id, model: 'spt', targetPose: known.pose });
  assert.equal(gen.status, 200, await gen.clone().text());
});

test('generation and animation with SPT: the examples work; an upload is refused with 422 saying to choose an example', async () => {
  const [ex] = examples as [SourceJson];
  const res = await post('/api/generate', { source: ex.id, model: 'spt', targetPose: examples[1]!.pose });
  assert.equal(res.status, 200, await res.clone().text());
  const img = await raw(res);
  assert.deepEqual([img.width, img.height], [ex.width, ex.height]);
  const anim = await post('/api/animate', { source: ex.id, model: 'spt', poses: [ex.pose, examples[1]!.pose], format: 'gif' });
  assert.equal(anim.status, 200, await anim.clone().text());
  assert.equal((await sharp(Buffer.from(await anim.arrayBuffer()), { animated: true }).metadata()).pages, 2);

  const refused = await post('/api/generate', { source: upload.id, model: 'spt', targetPose: ex.pose, sourcePose: upload.defaultPose });
  assert.equal(refused.status, 422);
  assert.match(await errorOf(refused), /source 'my-photo\.png' has no parsing map \(no human parser ships with reposer: only the examples and images of the --data dataset have one\); spt is an SPT model, which renders through one: choose a synthetic example/);
  const patn = await post('/api/generate', { source: upload.id, model: 'tiny-a', targetPose: ex.pose, sourcePose: upload.defaultPose });
  assert.equal(patn.status, 200, 'the other families need no parsing map');
});

test('/api/parsing: the predicted target parsing at the photo size, labels 0..9 with their legend; refusals', async () => {
  const [ex] = examples as [SourceJson];
  const res = await post('/api/parsing', { source: ex.id, model: 'spt', targetPose: examples[1]!.pose });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as ParsingJson;
  assert.deepEqual([body.width, body.height], [ex.width, ex.height]);
  const labels = Buffer.from(body.labels, 'base64');
  assert.equal(labels.length, ex.width * ex.height);
  assert.ok(labels.every((l) => l <= 9));
  assert.deepEqual(body.legend.map((l) => l.name), ['background', 'face', 'hair', 'upper clothes', 'pants', 'skirt', 'left arm', 'right arm', 'left leg', 'right leg']);
  assert.ok(body.legend.every((l) => /^#[0-9a-f]{6}$/.test(l.color)));

  let r = await post('/api/parsing', { source: ex.id, model: 'tiny-a', targetPose: ex.pose });
  assert.equal(r.status, 422);
  assert.match(await errorOf(r), /model 'tiny-a' is patn, which has no parsing maps; the parsing map needs an SPT model \(this server has spt\)/);
  r = await post('/api/parsing', { source: upload.id, model: 'spt', targetPose: ex.pose, sourcePose: upload.defaultPose });
  assert.equal(r.status, 422);
  assert.match(await errorOf(r), /has no parsing map .*choose a synthetic example/);
  r = await post('/api/parsing', { source: ex.id, model: 'spt', targetPose: [[0, 0]] });
  assert.equal(r.status, 400);
  assert.match(await errorOf(r), /targetPose must be a list of 18 \[x, y\] pairs/);
});

test('/api/render: the unedited map gives an image, a repainted one another; wrong size, bad labels and other models are refused', async () => {
  const [ex] = examples as [SourceJson];
  const targetPose = examples[1]!.pose;
  const predicted = (await (await post('/api/parsing', { source: ex.id, model: 'spt', targetPose })).json()) as ParsingJson;
  const render = (parsing: unknown, model = 'spt'): Promise<Response> => post('/api/render', { source: ex.id, model, targetPose, parsing });
  const res = await render({ width: predicted.width, height: predicted.height, labels: predicted.labels });
  assert.equal(res.status, 200, await res.clone().text());
  const unedited = await raw(res);
  assert.deepEqual([unedited.width, unedited.height], [ex.width, ex.height]);
  // Repaint: the person's lower half becomes a skirt.
  const labels = Buffer.from(predicted.labels, 'base64');
  const half = (predicted.height >> 1) * predicted.width;
  const painted = labels.map((l, i) => (i >= half && l > 0 ? 5 : l));
  const edited = await render({ width: predicted.width, height: predicted.height, labels: Buffer.from(painted).toString('base64') });
  assert.equal(edited.status, 200, await edited.clone().text());
  assert.ok(!(await raw(edited)).data.equals(unedited.data), 'another parsing, another image');

  let r = await render({ width: 8, height: 16, labels: Buffer.alloc(128).toString('base64') });
  assert.equal(r.status, 400);
  assert.match(await errorOf(r), new RegExp(`parsing is 8x16 \\(width x height\\), the photo ${ex.width}x${ex.height}; give one label per pixel of the photo`));
  r = await render({ width: predicted.width, height: predicted.height, labels: Buffer.from(labels.map(() => 10)).toString('base64') });
  assert.equal(r.status, 400);
  assert.match(await errorOf(r), /parsing holds label 10 at x 0, y 0; parsing labels are 0\.\.9 \(0 background, 1 face/);
  r = await render({ width: predicted.width, height: predicted.height, labels: 'not base64!' });
  assert.equal(r.status, 400);
  assert.match(await errorOf(r), /parsing\.labels is not base64/);
  r = await render(null);
  assert.equal(r.status, 400);
  assert.match(await errorOf(r), /parsing must be \{ width, height, labels \}/);
  r = await render({ width: predicted.width, height: predicted.height, labels: predicted.labels }, 'tiny-a');
  assert.equal(r.status, 422);
  assert.match(await errorOf(r), /rendering to a parsing map needs an SPT model/);
});

test('/api/swap: the receiver in the donor\'s garment at the receiver\'s size; refusals name the input', async () => {
  const [receiver, donor] = examples as [SourceJson, SourceJson];
  const res = await post('/api/swap', { model: 'spt', receiver: receiver.id, donor: donor.id, labels: [3, 4] });
  assert.equal(res.status, 200, await res.clone().text());
  const swapped = await raw(res);
  assert.deepEqual([swapped.width, swapped.height], [receiver.width, receiver.height]);
  const own = await raw(await fetch(`${base}/api/sources/${receiver.id}/image`));
  let same = 0;
  for (let i = 0; i < own.data.length; i++) same += Number(Math.abs((own.data[i] as number) - (swapped.data[i] as number)) <= 1);
  assert.ok(same > own.data.length / 2 && same < own.data.length, `outside the garment the receiver stays (${same} of ${own.data.length} values)`);

  let r = await post('/api/swap', { model: 'spt', receiver: receiver.id, donor: donor.id, labels: [1] });
  assert.equal(r.status, 400);
  assert.match(await errorOf(r), /labels must be a list of garment labels: 3 upper clothes, 4 pants, 5 skirt/);
  r = await post('/api/swap', { model: 'spt', receiver: receiver.id, donor: upload.id, donorPose: upload.defaultPose });
  assert.equal(r.status, 422);
  assert.match(await errorOf(r), /donor 'my-photo\.png' has no parsing map/);
  r = await post('/api/swap', { model: 'tiny-a', receiver: receiver.id, donor: donor.id });
  assert.equal(r.status, 422);
  assert.match(await errorOf(r), /the garment swap needs an SPT model/);
  r = await post('/api/swap', { model: 'spt', receiver: receiver.id, donor: 'gone' });
  assert.equal(r.status, 404);
  assert.match(await errorOf(r), /no source image 'gone'/);
});

test('the SPT routes share the bounded queue (503 + Retry-After, one client coalesces), and leave no tensors behind', async () => {
  const [ex] = examples as [SourceJson];
  const N = 20;
  const flood = await Promise.all(Array.from({ length: N }, () => post('/api/parsing', { source: ex.id, model: 'spt', targetPose: ex.pose })
    .then(async (r) => { await r.arrayBuffer(); return { status: r.status, retry: r.headers.get('retry-after') }; })));
  assert.ok(flood.every((r) => r.status === 200 || r.status === 503), flood.map((r) => r.status).join(','));
  const busy = flood.filter((r) => r.status === 503);
  assert.ok(busy.length >= N / 2, `${busy.length} of ${N} refused`);
  assert.ok(busy.every((r) => /^[1-9]\d*$/.test(r.retry ?? '')), 'Retry-After in whole seconds');
  const burst = await Promise.all(Array.from({ length: 6 }, () => post('/api/parsing', { source: ex.id, model: 'spt', targetPose: ex.pose, client: 'c1' })
    .then(async (r) => { await r.arrayBuffer(); return r.status; })));
  assert.ok(burst.includes(204) && burst.every((s) => s === 200 || s === 204), burst.join(','));
  const after = await health();
  assert.deepEqual([after.queue.waiting, after.queue.running], [0, 0]);
  assert.equal(after.workerTensors, tensorsAtStart, 'no tensors left behind in the worker after generating, predicting, rendering and swapping');
});
