// torch.autocast: the scope's state (on, off, nested, restored after a throw), its refusals, autocastSupported, and a
// training step under autocast that keeps float32 master weights and gradients without leaking tensors.
// Values against PyTorch's autocast are in test/parity/autocast.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '../../../src/torch/index.js';

const conv = (): torch.DType => torch.scope(() => torch.conv2d(torch.ones([1, 2, 4, 4]), torch.ones([3, 2, 3, 3])).dtype);

test('autocast is off by default and on inside the scope, for the ops PyTorch lists', () => {
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.equal(torch.autocastDtype('cpu'), 'bfloat16', "libtorch's default CPU autocast dtype");
  assert.equal(conv(), 'float32');
  const inside = torch.autocast('cpu', 'bfloat16', () => torch.scope(() => {
    const a = torch.randn([4, 5]);
    const b = torch.randn([5, 3]);
    return {
      enabled: torch.isAutocastEnabled('cpu'),
      conv: conv(),
      matmul: torch.matmul(a, b).dtype,
      linear: torch.linear(a, b.transpose(0, 1)).dtype,
      mse: torch.mseLoss(a, a.mul(2)).dtype,
      // Ops on neither list follow their inputs: a float32 add stays float32.
      add: a.add(a).dtype,
    };
  }));
  assert.deepEqual(inside, { enabled: true, conv: 'bfloat16', matmul: 'bfloat16', linear: 'bfloat16', mse: 'float32', add: 'float32' });
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.equal(conv(), 'float32');
});

test('autocast scopes nest, enabled: false turns it off inside, and each level restores its predecessor', () => {
  const seen: [string, boolean, torch.DType][] = [];
  torch.autocast('cpu', 'bfloat16', () => {
    seen.push(['outer', torch.isAutocastEnabled(), conv()]);
    torch.autocast('cpu', 'bfloat16', () => {
      seen.push(['off', torch.isAutocastEnabled(), conv()]);
      torch.autocast('cpu', 'bfloat16', () => seen.push(['on again', torch.isAutocastEnabled(), conv()]));
      seen.push(['off after', torch.isAutocastEnabled(), conv()]);
    }, { enabled: false });
    seen.push(['outer after', torch.isAutocastEnabled(), conv()]);
  });
  seen.push(['outside', torch.isAutocastEnabled(), conv()]);
  assert.deepEqual(seen, [
    ['outer', true, 'bfloat16'], ['off', false, 'float32'], ['on again', true, 'bfloat16'],
    ['off after', false, 'float32'], ['outer after', true, 'bfloat16'], ['outside', false, 'float32'],
  ]);
});

test('a throw inside restores the state at every level and propagates', () => {
  const boom = new Error('boom');
  assert.throws(() => torch.autocast('cpu', 'bfloat16', () => {
    try {
      torch.autocast('cpu', 'bfloat16', () => {
        throw boom;
      }, { enabled: false });
    } catch (e) {
      assert.equal(torch.isAutocastEnabled(), true, 'the inner scope restored the outer state');
      throw e;
    }
  }), (e) => e === boom);
  assert.equal(torch.isAutocastEnabled(), false);
  // A libtorch error inside (an op with bad shapes) takes the same path.
  assert.throws(() => torch.autocast('cpu', 'bfloat16', () => torch.scope(() => torch.mm(torch.ones([2, 3]), torch.ones([2, 3])))), /^Error: mm: /);
  assert.equal(torch.isAutocastEnabled(), false);
  assert.equal(conv(), 'float32');
});

test('a Promise from fn is refused, with the state already restored', () => {
  assert.throws(() => torch.autocast('cpu', 'bfloat16', () => Promise.resolve(1)), /autocast: fn returned a Promise/);
  assert.equal(torch.isAutocastEnabled(), false);
});

test('bad arguments and unsupported combinations are refused by name, leaving the state alone', () => {
  const noop = (): number => 1;
  assert.throws(() => torch.autocast('gpu' as 'cpu', 'bfloat16', noop), /autocast: device must be 'cpu' or 'cuda'.*got 'gpu'/);
  assert.throws(() => torch.autocast('cpu', 'float32' as 'bfloat16', noop), /autocast: dtype must be 'bfloat16' or 'float16', got 'float32'/);
  assert.throws(() => torch.autocast('cpu', 'float16', noop), /CPU autocast in libtorch 1\.13 supports only 'bfloat16'/);
  assert.throws(() => torch.autocast('cpu', 'float16', noop, { enabled: false }), /supports only 'bfloat16'/);
  assert.throws(() => torch.autocast('cpu', 'bfloat16', 3 as unknown as () => number), /autocast: fn must be a function/);
  assert.throws(() => torch.isAutocastEnabled('mps' as 'cpu'), /isAutocastEnabled: device must be/);
  assert.throws(() => torch.autocastSupported('cpu', 'int8' as 'bfloat16'), /autocastSupported: dtype must be/);
  if (!torch.cudaAvailable()) {
    assert.throws(() => torch.autocast('cuda', 'float16', noop), /no CUDA device is available/);
    assert.equal(torch.autocast('cuda', 'float16', noop, { enabled: false }), 1, 'turning CUDA autocast off needs no device');
  }
  assert.equal(torch.isAutocastEnabled('cpu'), false);
  assert.equal(torch.autocastDtype('cpu'), 'bfloat16');
  assert.equal(torch.isAutocastEnabled('cuda'), false);
});

test('autocastSupported: CPU bfloat16 exactly when the CPU reports avx512_bf16 or amx_bf16; never CPU float16', () => {
  const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
  assert.ok(flags.includes('sse2'), 'the flags line was found');
  assert.equal(torch.autocastSupported('cpu', 'bfloat16'), flags.includes('avx512_bf16') || flags.includes('amx_bf16'));
  assert.equal(torch.autocastSupported('cpu', 'float16'), false);
  if (!torch.cudaAvailable()) {
    assert.equal(torch.autocastSupported('cuda', 'float16'), false);
    assert.equal(torch.autocastSupported('cuda', 'bfloat16'), false);
  }
});

test('a training step under autocast keeps float32 parameters and gradients and leaks nothing', () => {
  torch.manualSeed(3);
  const before = torch.memory().numTensors;
  const net = new torch.nn.Sequential(new torch.nn.Conv2d(3, 8, 3, { padding: 1 }), new torch.nn.ReLU(), new torch.nn.Conv2d(8, 2, 3, { padding: 1 }));
  const opt = new torch.optim.Adam(net.parameters(), { lr: 1e-2 });
  const x = torch.randn([2, 3, 8, 8]);
  const target = torch.randn([2, 2, 8, 8]);
  const start = torch.scope(() => net.parameters().map((p) => p.clone().keep()));
  let steady = -1;
  for (let step = 0; step < 3; step++) {
    torch.scope(() => {
      const { y, loss } = torch.autocast('cpu', 'bfloat16', () => {
        const out = net.forward(x);
        return { y: out, loss: torch.mseLoss(out, target) };
      });
      assert.equal(y.dtype, 'bfloat16');
      assert.equal(loss.dtype, 'float32', 'mse_loss is on the float32 list');
      loss.backward();
      for (const p of net.parameters()) {
        assert.equal(p.dtype, 'float32');
        assert.equal(p.grad?.dtype, 'float32', 'the gradient flows back through the cast to the float32 parameter');
      }
    });
    opt.step();
    opt.zeroGrad();
    if (step === 1) steady = torch.memory().numTensors;
    if (step === 2) assert.equal(torch.memory().numTensors, steady, 'no tensors accumulate per step');
  }
  torch.scope(() => {
    net.parameters().forEach((p, i) => {
      assert.equal(p.dtype, 'float32');
      assert.ok(p.sub(start[i] as torch.Tensor).abs().max().item() > 1e-3, 'the step moved the parameters');
    });
  });
  torch.dispose([start, x, target, net.parameters(), opt.stateDict().state]);
  assert.equal(torch.memory().numTensors, before);
});
