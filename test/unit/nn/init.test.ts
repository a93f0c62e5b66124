// Initialisers: the statistics of what they draw match their formulas, and orthogonal_ gives orthonormal rows/columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

const { nn } = torch;
const { init } = nn;

interface Stats { mean: number; std: number; min: number; max: number }

function stats(t: torch.Tensor): Stats {
  return torch.scope(() => ({
    mean: t.mean().item(), std: t.std().item(), min: t.min().item(), max: t.max().item(),
  }));
}

/** |actual - expected| <= rel * expected, with a message. */
function near(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual}, expected ${expected} within ${rel * 100}%`);
}

// 2e5+ samples: the sample std is within ~0.3% of the true one, the mean within ~0.005 std.
test('uniform_, normal_ and constant_ draw what they say', () => {
  torch.scope(() => {
    torch.manualSeed(0);
    const u = stats(init.uniform_(torch.empty([500, 400]), -2, 3));
    assert.ok(u.min >= -2 && u.max <= 3 && u.min < -1.99 && u.max > 2.99, `uniform range [${u.min}, ${u.max}]`);
    near(u.mean, 0.5, 0.02, 'uniform mean');
    near(u.std, 5 / Math.sqrt(12), 0.01, 'uniform std');
    const n = stats(init.normal_(torch.empty([500, 400]), 1.5, 0.02));
    near(n.mean, 1.5, 0.001, 'normal mean');
    near(n.std, 0.02, 0.01, 'normal std');
    const c = stats(init.constant_(torch.empty([3, 4]), 0.7));
    assert.ok(Math.abs(c.min - 0.7) < 1e-7 && Math.abs(c.max - 0.7) < 1e-7);
  });
});

test('xavier and kaiming initialisers follow their std and bound formulas', () => {
  torch.scope(() => {
    torch.manualSeed(1);
    const shape = [128, 64, 5, 5]; // fanIn 1600, fanOut 3200
    const [fanIn, fanOut] = [64 * 25, 128 * 25];
    const w = torch.empty(shape);
    assert.deepEqual(init.calculateFanInAndFanOut(w), [fanIn, fanOut]);

    const xuBound = 1.5 * Math.sqrt(6 / (fanIn + fanOut));
    const xu = stats(init.xavierUniform_(w, 1.5));
    assert.ok(xu.max <= xuBound && xu.max > 0.99 * xuBound && xu.min >= -xuBound, `xavierUniform_ range ${xu.min}..${xu.max}`);
    near(xu.std, xuBound / Math.sqrt(3), 0.01, 'xavierUniform_ std');

    near(stats(init.xavierNormal_(w, 2)).std, 2 * Math.sqrt(2 / (fanIn + fanOut)), 0.01, 'xavierNormal_ std');

    const kuBound = Math.sqrt(3) * Math.sqrt(2 / (1 + 5)) / Math.sqrt(fanIn); // a = sqrt(5): PyTorch's layer default
    const ku = stats(init.kaimingUniform_(w, Math.sqrt(5)));
    assert.ok(ku.max <= kuBound && ku.max > 0.99 * kuBound, `kaimingUniform_ max ${ku.max} vs bound ${kuBound}`);
    near(kuBound, 1 / Math.sqrt(fanIn), 1e-12, 'kaiming_uniform(a=sqrt 5) bound is 1/sqrt(fanIn)');

    near(stats(init.kaimingNormal_(w)).std, Math.SQRT2 / Math.sqrt(fanIn), 0.01, 'kaimingNormal_ default (leaky_relu slope a = 0, fan_in)');
    near(stats(init.kaimingNormal_(w, 0, 'fan_out', 'relu')).std, Math.sqrt(2) / Math.sqrt(fanOut), 0.01, 'kaimingNormal_ fan_out relu');
    near(stats(init.kaimingNormal_(w, 0.2, 'fan_in', 'leaky_relu')).std, Math.sqrt(2 / 1.04) / Math.sqrt(fanIn), 0.01, 'kaimingNormal_ leaky 0.2');

    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('relu'), Math.SQRT2);
    assert.equal(init.calculateGain('conv2d'), 1);
    assert.equal(init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
    assert.throws(() => init.kaimingNormal_(torch.empty([5])), /at least 2 dims/);
  });
});

test('orthogonal_ gives QᵀQ = I (tall), QQᵀ = I (wide), scaled by gain, for conv-shaped weights too', () => {
  torch.scope(() => {
    torch.manualSeed(2);
    const maxDev = (a: torch.Tensor, b: torch.Tensor): number => a.sub(b).abs().max().item();
    const tall = init.orthogonal_(torch.empty([40, 16]));
    assert.ok(maxDev(tall.transpose(0, 1).matmul(tall), torch.eye(16)) < 1e-5, 'tall: QᵀQ = I');
    const wide = init.orthogonal_(torch.empty([16, 40]), 2);
    assert.ok(maxDev(wide.matmul(wide.transpose(0, 1)), torch.eye(16).mul(4)) < 1e-4, 'wide with gain 2: QQᵀ = 4I');
    const conv = init.orthogonal_(torch.empty([8, 3, 3, 3])).view([8, 27]);
    assert.ok(maxDev(conv.matmul(conv.transpose(0, 1)), torch.eye(8)) < 1e-5, 'conv weight rows are orthonormal');
    // Not the identity: the matrix is random.
    assert.ok(maxDev(init.orthogonal_(torch.empty([6, 6])), torch.eye(6)) > 0.1);
  });
});

test('layers start from PyTorch\'s default initialisation', () => {
  torch.scope(() => {
    torch.manualSeed(3);
    const conv = new nn.Conv2d(64, 128, 3);
    const bound = 1 / Math.sqrt(64 * 9);
    const w = stats(conv.weight);
    assert.ok(w.max <= bound && w.max > 0.99 * bound && w.min >= -bound, `Conv2d weight in ±1/sqrt(fanIn): ${w.min}..${w.max}`);
    near(w.std, bound / Math.sqrt(3), 0.02, 'Conv2d weight std');
    const b = stats(conv.bias as torch.Tensor);
    assert.ok(b.max <= bound && b.min >= -bound);
    // ConvTranspose2d reads fanIn from weight dim 1 (outChannels / groups) as PyTorch does.
    const ct = new nn.ConvTranspose2d(128, 32, 4);
    const ctBound = 1 / Math.sqrt(32 * 16);
    const c = stats(ct.weight);
    assert.ok(c.max <= ctBound && c.max > 0.98 * ctBound, `ConvTranspose2d weight bound ${c.max} vs ${ctBound}`);
    const lin = new nn.Linear(300, 200);
    near(stats(lin.weight).max, 1 / Math.sqrt(300), 0.01, 'Linear weight bound');
    const bn = new nn.BatchNorm2d(5);
    assert.deepEqual(bn.weight?.toArray(), [1, 1, 1, 1, 1]);
    assert.deepEqual(bn.bias?.toArray(), [0, 0, 0, 0, 0]);
    assert.deepEqual(bn.runningVar?.toArray(), [1, 1, 1, 1, 1]);
    assert.equal(bn.numBatchesTracked?.dtype, 'int64');
    assert.deepEqual(bn.numBatchesTracked?.shape, []);
    for (const m of [conv, ct, lin, bn]) m.dispose();
  });
});
