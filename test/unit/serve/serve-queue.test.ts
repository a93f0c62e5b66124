// The queue's contract: one job at a time, at most `capacity` waiting, a newer job with the same key takes the older
// one's place (and turn), and a refusal says when to retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescingQueue, QueueFullError, type Outcome } from '../../../src/serve/queue.js';

function gate(): { open: () => void; wait: Promise<void> } {
  let open = (): void => {};
  const wait = new Promise<void>((r) => { open = r; });
  return { open, wait };
}

test('jobs run one at a time, in order', async () => {
  const order: string[] = [];
  let running = 0;
  let most = 0;
  const q = new CoalescingQueue<string, string>(10, async (job) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    order.push(job);
    running--;
    return job.toUpperCase();
  });
  const out = await Promise.all(['a', 'b', 'c'].map((j) => q.submit(null, j)));
  assert.deepEqual(out, ['A', 'B', 'C'].map((value) => ({ kind: 'done', value })));
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(most, 1);
});

test('a newer job with the same key supersedes the waiting one and keeps its turn', async () => {
  const g = gate();
  const ran: string[] = [];
  const q = new CoalescingQueue<string, string>(4, async (job) => {
    if (job === 'first') await g.wait;
    ran.push(job);
    return job;
  });
  const first = q.submit('x', 'first');
  const a1 = q.submit('alice', 'a1');
  const b = q.submit('bob', 'b');
  const a2 = q.submit('alice', 'a2');
  const a3 = q.submit('alice', 'a3');
  assert.equal(q.snapshot().waiting, 2, 'alice holds one place however many poses she sends');
  g.open();
  const results: Outcome<string>[] = await Promise.all([first, a1, b, a2, a3]);
  assert.deepEqual(results.map((r) => (r.kind === 'done' ? r.value : r.kind)), ['first', 'superseded', 'b', 'superseded', 'a3']);
  assert.deepEqual(ran, ['first', 'a3', 'b'], "alice's newest pose runs in her first pose's turn");
  assert.equal(q.snapshot().superseded, 2);
});

test('a full queue refuses with a Retry-After estimate; a coalescing key still gets in', async () => {
  const g = gate();
  const q = new CoalescingQueue<number, number>(2, async (job) => { await g.wait; return job; });
  const running = q.submit(null, 0);
  const waiting = [q.submit('k1', 1), q.submit('k2', 2)];
  await assert.rejects(q.submit('k3', 3), (err: unknown) => {
    assert.ok(err instanceof QueueFullError);
    assert.ok(err.retryAfterSeconds >= 1 && Number.isInteger(err.retryAfterSeconds));
    assert.match(err.message, /busy: 2 generations are already waiting; retry in \d+ s/);
    return true;
  });
  const replaced = q.submit('k2', 22);
  assert.equal(q.snapshot().refused, 1);
  g.open();
  assert.deepEqual(await Promise.all([running, ...waiting, replaced]), [
    { kind: 'done', value: 0 }, { kind: 'done', value: 1 }, { kind: 'superseded' }, { kind: 'done', value: 22 },
  ]);
});

test('a failing job rejects its own promise and the queue goes on', async () => {
  const q = new CoalescingQueue<number, number>(3, async (job) => {
    if (job === 1) throw new Error('bad pose');
    return job;
  });
  const [a, b] = [q.submit(null, 1), q.submit(null, 2)];
  await assert.rejects(a, /bad pose/);
  assert.deepEqual(await b, { kind: 'done', value: 2 });
  assert.throws(() => new CoalescingQueue(0, async () => 0), /capacity must be a positive integer, got 0/);
});
