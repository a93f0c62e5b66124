// CUDA paths. This machine has no GPU: each test skips by name unless torch.cudaAvailable().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

const skip = torch.cudaAvailable() ? false : 'no CUDA device';

test('cudaAvailable agrees with cudaDeviceCount', () => {
  assert.equal(torch.cudaAvailable(), torch.cudaDeviceCount() > 0);
});

test('creation on cuda', { skip }, () => {
  torch.scope(() => {
    const z = torch.zeros([2, 3], 'float32', 'cuda');
    assert.match(z.device, /^cuda/);
    assert.deepEqual(z.shape, [2, 3]);
    assert.deepEqual(torch.ones([2], 'float64', 'cuda:0').toArray(), [1, 1]);
    assert.equal(torch.randn([4], 'float32', 'cuda').device, 'cuda:0');
  });
});

test('moving to cuda and back keeps values', { skip }, () => {
  torch.scope(() => {
    const x = torch.randn([3, 4]);
    const g = x.toDevice('cuda');
    assert.match(g.device, /^cuda/);
    const back = g.toDevice('cpu');
    assert.equal(back.device, 'cpu');
    assert.ok(back.equal(x));
    assert.deepEqual(torch.tensor([1, 2, 3], { device: 'cuda' }).toDevice('cpu').toArray(), [1, 2, 3]);
  });
});

test('ops and gradients on cuda match the cpu', { skip }, () => {
  torch.scope(() => {
    const x = torch.randn([2, 3, 8, 8]);
    const w = torch.randn([4, 3, 3, 3]);
    const cpu = torch.conv2d(x, w, null, 1, 1).relu().sum();
    const wg = w.toDevice('cuda').requiresGrad_();
    const gpu = torch.conv2d(x.toDevice('cuda'), wg, null, 1, 1).relu().sum();
    gpu.backward();
    assert.ok(Math.abs(gpu.toDevice('cpu').item() - cpu.item()) <= 1e-3 * Math.max(1, Math.abs(cpu.item())));
    const grad = wg.grad;
    assert.ok(grad);
    assert.match(grad.device, /^cuda/);
    assert.deepEqual(grad.shape, [4, 3, 3, 3]);
  });
});

test('mixing devices is an error naming the op', { skip }, () => {
  torch.scope(() => {
    assert.throws(() => torch.ones([2]).add(torch.ones([2], 'float32', 'cuda')), /add: .*device/i);
  });
});

test('cuda autocast: float16 conv and matmul, float32 loss and parameter gradients; the CPU state is untouched', { skip }, () => {
  torch.scope(() => {
    const x = torch.randn([2, 3, 8, 8], 'float32', 'cuda');
    const w = torch.randn([4, 3, 3, 3], 'float32', 'cuda').requiresGrad_();
    const { y, m, loss, cpuOn } = torch.autocast('cuda', 'float16', () => {
      const out = torch.conv2d(x, w, null, 1, 1);
      return {
        y: out,
        m: torch.matmul(x.flatten(1), x.flatten(1).transpose(0, 1)),
        loss: torch.mseLoss(out, torch.zerosLike(out).to('float32')),
        cpuOn: torch.isAutocastEnabled('cpu'),
      };
    });
    assert.equal(y.dtype, 'float16');
    assert.equal(m.dtype, 'float16');
    assert.equal(loss.dtype, 'float32');
    assert.equal(cpuOn, false);
    assert.equal(torch.isAutocastEnabled('cuda'), false);
    loss.backward();
    assert.equal(w.dtype, 'float32');
    assert.equal(w.grad?.dtype, 'float32');
    assert.equal(torch.autocastSupported('cuda', 'float16'), true);
  });
});
