// The server over real HTTP: uploads refused for size, content and dimensions with reasons; no file outside the
// static folder, however the path is spelt or linked; a flood gets 503 + Retry-After with memory bounded and the
// server still answering; a stalled client holds only its own connection; poses, generation and animation work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { createServer, isLoopback } from '../../../src/serve/server.js';
import { makeServeFixture, type ServeFixture } from './serve-fixture.js';

const SECRET = 'the-secret-token-7f3a';
const LIMITS = { maxUploadBytes: 64 << 10, maxSide: 1024, queueCapacity: 4, requestTimeoutMs: 1500 };

let fx: ServeFixture;
let app: FastifyInstance;
let base = '';
let port = 0;
let staticRoot = '';
let secretFile = '';

interface SourceJson { id: string; name: string; width: number; height: number; pose: [number, number][] | null; poseFrom: string | null; defaultPose: [number, number][] }

before(async () => {
  fx = await makeServeFixture();
  // The static folder sits next to a secret; links inside point out of it.
  staticRoot = join(fx.root, 'public');
  mkdirSync(staticRoot);
  writeFileSync(join(staticRoot, 'index.html'), '<!doctype html><title>page</title>');
  secretFile = join(fx.root, 'secret.txt');
  writeFileSync(secretFile, SECRET);
  symlinkSync(secretFile, join(staticRoot, 'escape-file'));
  symlinkSync(fx.root, join(staticRoot, 'escape-dir'));
  symlinkSync(join(staticRoot, 'index.html'), join(staticRoot, 'inside-link.html'));
  app = await createServer({ checkpoint: fx.runs, data: fx.data, staticRoot, limits: LIMITS, examples: 1 });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  port = Number(new URL(base).port);
});
after(async () => {
  await app?.close();
  rmSync(fx.root, { recursive: true, force: true });
});

async function upload(bytes: Buffer, name: string, type = 'image/png'): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type }), name);
  return fetch(`${base}/api/sources`, { method: 'POST', body: form });
}

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** A raw GET, so that the path reaches the server exactly as written (fetch would normalise '..'). */
function rawGet(path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text });
    });
  });
}

async function noisePng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

async function exampleSource(): Promise<SourceJson> {
  const [example] = (await (await fetch(`${base}/api/examples`)).json()) as SourceJson[];
  return example as SourceJson;
}

test('an upload over the size limit is refused with 413 and the limit', async () => {
  const big = await noisePng(256, 256);
  assert.ok(big.length > LIMITS.maxUploadBytes);
  const res = await upload(big, 'big.png');
  assert.equal(res.status, 413);
  assert.match(((await res.json()) as { error: string }).error, /over the limit of 65536 bytes; upload a smaller image/);
});

test('a file that is not an image is refused with 415, whatever its name and declared type', async () => {
  const res = await upload(Buffer.from('#!/bin/sh\necho hello\n'), 'photo.png', 'image/png');
  assert.equal(res.status, 415);
  assert.match(((await res.json()) as { error: string }).error, /'photo\.png' is not an image: its content is not JPEG, PNG or WebP/);
  const gif = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#888' } }).gif().toBuffer();
  const r2 = await upload(gif, 'anim.gif', 'image/gif');
  assert.equal(r2.status, 415);
  assert.match(((await r2.json()) as { error: string }).error, /is gif, not JPEG, PNG or WebP/);
});

test('an image over the dimension cap is refused with 422 before decoding', async () => {
  const wide = await sharp({ create: { width: 2000, height: 20, channels: 3, background: '#fff' } }).png().toBuffer();
  assert.ok(wide.length < LIMITS.maxUploadBytes, 'small in bytes, large in pixels');
  const res = await upload(wide, 'wide.png');
  assert.equal(res.status, 422);
  assert.match(((await res.json()) as { error: string }).error, /is 2000x20 pixels; sides must lie in 16\.\.1024; resize it/);
});

test('no file outside the static folder is served: .., encoded, absolute, backslashes, symlinks', async () => {
  const ok = await rawGet('/');
  assert.equal(ok.status, 200);
  assert.match(ok.text, /<title>page<\/title>/);
  assert.equal((await rawGet('/inside-link.html')).status, 200, 'a link that stays inside is fine');
  const attempts = [
    '/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt',
    '/.%2e/secret.txt', '/%252e%252e/secret.txt', '/..%5csecret.txt', '/..\\secret.txt', '/a/../../secret.txt',
    secretFile, `/${encodeURIComponent(secretFile)}`, `/${secretFile}`, '/%2f..%2fsecret.txt',
    '/escape-file', '/escape-dir/secret.txt', '/escape-dir/', '/escape-dir/public/escape-file',
  ];
  for (const path of attempts) {
    const r = await rawGet(path);
    assert.notEqual(r.status, 200, `${path} answered 200`);
    assert.ok(r.status >= 400 && r.status < 500, `${path} answered ${r.status}`);
    assert.ok(!r.text.includes(SECRET), `${path} leaked the secret`);
  }
});

test('an upload named as a dataset image takes its annotation; an unknown one asks for the skeleton', async () => {
  const testDir = join(fx.data, 'test');
  const name = readdirSync(testDir).sort()[0] as string;
  const photo = await sharp(join(testDir, name)).resize(64, 128, { kernel: 'nearest' }).png().toBuffer();
  const known = (await (await upload(photo, name)).json()) as SourceJson;
  assert.equal(known.poseFrom, 'annotation');
  assert.deepEqual([known.width, known.height], [64, 128]);
  assert.ok(known.pose && known.pose.some(([x]) => x > 16), 'the 32x16 annotation is scaled to the 128x64 photo');

  const unknown = (await (await upload(photo, 'my-photo.png')).json()) as SourceJson;
  assert.equal(unknown.pose, null);
  assert.equal(unknown.defaultPose.length, 18);
  const pose = known.pose as [number, number][];
  const refused = await post('/api/generate', { source: unknown.id, model: 'tiny-a', targetPose: pose });
  assert.equal(refused.status, 422);
  assert.match(((await refused.json()) as { error: string }).error, /has no pose yet: place its skeleton/);
  const res = await post('/api/generate', { source: unknown.id, model: 'tiny-a', targetPose: pose, sourcePose: unknown.defaultPose });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 128], 'the result comes back at the photo size');
});

test('generation: a new pose gives a new image; the two models differ; bad requests say what is wrong', async () => {
  const ex = await exampleSource();
  const library = (await (await fetch(`${base}/api/poses?source=${ex.id}`)).json()) as { named: { name: string; pose: [number, number][] }[]; dataset: unknown[] };
  assert.ok(library.named.length >= 5 && library.dataset.length > 0);
  const image = async (model: string, pose: [number, number][]): Promise<Buffer> => {
    const res = await post('/api/generate', { source: ex.id, model, targetPose: pose });
    assert.equal(res.status, 200, await res.clone().text());
    return (await sharp(Buffer.from(await res.arrayBuffer())).raw().toBuffer());
  };
  const standing = await image('tiny-a', library.named[0]!.pose);
  const armsUp = await image('tiny-a', library.named[1]!.pose);
  assert.ok(!standing.equals(armsUp), 'another pose, another image');
  assert.ok(!standing.equals(await image('tiny-b', library.named[0]!.pose)), 'another model, another image');
  assert.ok(standing.equals(await image('tiny-a', library.named[0]!.pose)), 'the same request, the same image');

  let res = await post('/api/generate', { source: ex.id, model: 'nope', targetPose: library.named[0]!.pose });
  assert.equal(res.status, 404);
  assert.match(((await res.json()) as { error: string }).error, /no model 'nope'; this server has tiny-a, tiny-b/);
  res = await post('/api/generate', { source: ex.id, model: 'tiny-a', targetPose: [[1, 2]] });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /targetPose must be a list of 18 \[x, y\] pairs/);
  res = await post('/api/generate', { source: 'gone', model: 'tiny-a', targetPose: library.named[0]!.pose });
  assert.equal(res.status, 404);
  assert.match(((await res.json()) as { error: string }).error, /no source image 'gone'/);
});

test("one client's burst coalesces: the waiting pose is replaced (204), not queued", async () => {
  const ex = await exampleSource();
  const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/api/generate', {
    source: ex.id, model: 'tiny-a', client: 'burst', slot: 'a',
    targetPose: (ex.pose as [number, number][]).map(([x, y]) => [x + i, y]),
  }).then(async (r) => { await r.arrayBuffer(); return r.status; })));
  const done = statuses.filter((s) => s === 200).length;
  const superseded = statuses.filter((s) => s === 204).length;
  assert.equal(done + superseded, 8, statuses.join(','));
  assert.ok(done <= 3 && superseded >= 5, `one runs, one waits at a time: ${statuses.join(',')}`);
});

test('a flood gets 503 with Retry-After, memory stays bounded, and the server answers afterwards', async () => {
  const ex = await exampleSource();
  const health = async (): Promise<{ queue: { waiting: number; running: number }; workerTensors: number }> => (await fetch(`${base}/api/health`)).json() as never;
  const tensorsBefore = (await health()).workerTensors;
  const rssBefore = process.memoryUsage().rss;
  const N = 300;
  const results = await Promise.all(Array.from({ length: N }, () => post('/api/generate', { source: ex.id, model: 'tiny-a', targetPose: ex.pose })
    .then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), body: r.status === 503 ? await r.text() : (await r.arrayBuffer(), '') }))));
  const ok = results.filter((r) => r.status === 200).length;
  const busy = results.filter((r) => r.status === 503);
  assert.equal(ok + busy.length, N, `only 200 and 503: ${[...new Set(results.map((r) => r.status))].join(',')}`);
  assert.ok(ok >= 1 && ok <= N / 2, `${ok} generated`);
  assert.ok(busy.length >= N / 2, `${busy.length} refused`);
  for (const r of busy) {
    assert.match(r.retry ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
    assert.match(r.body, /the server is busy: 4 generations are already waiting/);
  }
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  assert.ok(rssGrowth < 200 << 20, `rss grew ${(rssGrowth / 2 ** 20).toFixed(0)} MiB`);
  const after = await health();
  assert.deepEqual([after.queue.waiting, after.queue.running], [0, 0]);
  assert.equal(after.workerTensors, tensorsBefore, 'no tensors left behind in the worker');
  const again = await post('/api/generate', { source: ex.id, model: 'tiny-a', targetPose: ex.pose });
  assert.equal(again.status, 200);
});

test('a client that stalls mid-upload holds only its own connection, and is cut off', async () => {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
  socket.on('error', () => {});
  // Read what arrives (the 408), or the socket never reaches its end.
  let answer = '';
  socket.on('data', (c: Buffer) => { answer += c.toString(); });
  const started = performance.now();
  socket.write('POST /api/sources HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=xx\r\n' +
    'Content-Length: 100000\r\n\r\n--xx\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG');
  const t = performance.now();
  const res = await fetch(`${base}/api/models`);
  assert.equal(res.status, 200);
  assert.ok(performance.now() - t < 1000, 'another client is served at once');
  const closedAt = await closed;
  assert.ok(closedAt - started < LIMITS.requestTimeoutMs + 2000, `cut off after ${(closedAt - started).toFixed(0)} ms`);
  assert.match(answer, /^HTTP\/1\.1 408 /);
});

test('animation: keyframes interpolate into a GIF of (k-1)(between+1)+1 frames; CSV poses into a WebP', async () => {
  const ex = await exampleSource();
  const library = (await (await fetch(`${base}/api/poses?source=${ex.id}`)).json()) as { named: { pose: [number, number][] }[] };
  const keyframes = [library.named[0]!.pose, library.named[1]!.pose, library.named[2]!.pose];
  const res = await post('/api/animate', { source: ex.id, model: 'tiny-a', keyframes, between: 2, format: 'gif', delayMs: 80 });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'image/gif');
  assert.equal(res.headers.get('content-disposition'), 'attachment; filename="reposer-tiny-a.gif"');
  const gif = await sharp(Buffer.from(await res.arrayBuffer()), { animated: true }).metadata();
  assert.equal(gif.pages, 7);
  assert.deepEqual(gif.delay, Array(7).fill(80));

  const csv = readFileSync(join(fx.data, readdirSync(fx.data).find((f) => f.endsWith('annotation-test.csv')) as string), 'utf8');
  const rows = csv.trim().split('\n').length - 1;
  const webp = await post('/api/animate', { source: ex.id, model: 'tiny-b', csv, csvFrame: [32, 16], format: 'webp' });
  assert.equal(webp.status, 200, await webp.clone().text());
  const meta = await sharp(Buffer.from(await webp.arrayBuffer()), { animated: true }).metadata();
  assert.deepEqual([meta.format, meta.pages], ['webp', rows]);

  const bad = await post('/api/animate', { source: ex.id, model: 'tiny-a', keyframes: [keyframes[0]] });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /keyframes must be a list of at least 2 poses/);
  const tooLong = await post('/api/animate', { source: ex.id, model: 'tiny-a', keyframes, between: 100 });
  assert.match(((await tooLong.json()) as { error: string }).error, /an animation has 2\.\.120 frames; these settings give 203/);
});

test('loopback is the default; another host needs --host and prints a warning', async () => {
  assert.ok(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].every(isLoopback));
  assert.ok(!['0.0.0.0', '::', '192.168.1.5', 'example.com'].some(isLoopback));
  const cli = join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'serve', '--checkpoint', fx.runs, '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /reposer serve: (\S+)\//.exec(stdout);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  assert.match(url, /^http:\/\//);
  assert.match(stderr, /warning: --host 0\.0\.0\.0 exposes the editor beyond this machine, and it has no authentication/);
});
