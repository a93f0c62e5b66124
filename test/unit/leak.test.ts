// 2,000 training steps of a small conv net with Adam: the live native tensor count must not grow and RSS must stay
// bounded after warm-up. Catches any tensor that forward, backward, the optimiser or a scope forgets to release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

const { nn, optim } = torch;

test('2,000 Conv2d+ReLU+Conv2d Adam steps: constant live tensor count, RSS growth < 64 MB', () => {
  torch.manualSeed(0);
  // Tiny tensors gain nothing from intra-op threads, and on a busy machine OpenMP's waiting threads made each step
  // ~100x slower; one thread keeps this test a few seconds long.
  const threads = torch.getNumThreads();
  torch.setNumThreads(1);
  try {
    leakCheck();
  } finally {
    torch.setNumThreads(threads);
  }
});

function leakCheck(): void {
  const base = torch.memory().numTensors;
  const net = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(8, 3, 3, { padding: 1 }));
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = torch.randn([2, 3, 8, 8]);
  const target = torch.randn([2, 3, 8, 8]);
  const step = (): number => torch.scope(() => {
    opt.zeroGrad();
    const loss = torch.mseLoss(net.forward(x), target);
    loss.backward();
    opt.step();
    return loss.item();
  });

  const WARMUP = 200;
  const STEPS = 2000;
  let first = 0;
  for (let i = 0; i < WARMUP; i++) first = step();
  const liveAfterWarmup = torch.memory().numTensors;
  const rssAfterWarmup = process.memoryUsage().rss;
  let last = 0;
  let maxLive = liveAfterWarmup;
  for (let i = 0; i < STEPS; i++) {
    last = step();
    if (i % 100 === 0) maxLive = Math.max(maxLive, torch.memory().numTensors);
  }
  const live = torch.memory().numTensors;
  const rssGrowth = (process.memoryUsage().rss - rssAfterWarmup) / 2 ** 20;

  // Parameters (4), Adam state (2 per parameter), x and target: nothing else survives a step.
  assert.equal(liveAfterWarmup - base, 4 + 8 + 2, 'live tensors after warm-up: parameters, Adam moments, data');
  assert.equal(live, liveAfterWarmup, 'the live tensor count is constant across 2,000 steps');
  assert.equal(maxLive, liveAfterWarmup);
  console.log(`# leak: ${STEPS} steps, live tensors ${live - base}, RSS growth after warm-up ${rssGrowth.toFixed(1)} MB`);
  assert.ok(rssGrowth < 64, `RSS grew ${rssGrowth.toFixed(1)} MB over ${STEPS} steps after warm-up`);
  assert.ok(last < first, `the loss fell (${first} -> ${last})`);

  opt.dispose();
  net.dispose();
  torch.dispose([x, target]);
  assert.equal(torch.memory().numTensors, base, 'everything released at the end');
}
