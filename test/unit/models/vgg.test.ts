import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import {
  DEFAULT_VGG19_WEIGHTS, VGG19_TAPS, Vgg19Features, loadVgg19, randomVgg19StateDict, vgg19TapIndex,
} from '../../../src/models/layers/vgg.js';

test('taps follow torchvision features indices', () => {
  assert.equal(vgg19TapIndex('conv1_1'), 0);
  assert.equal(vgg19TapIndex('conv1_2'), 2);
  assert.equal(vgg19TapIndex('relu1_2'), 3);
  assert.equal(vgg19TapIndex('relu2_1'), 6);
  assert.equal(vgg19TapIndex('relu3_1'), 11);
  assert.equal(vgg19TapIndex('relu4_1'), 20);
  assert.equal(vgg19TapIndex('conv5_4'), 34);
  assert.equal(vgg19TapIndex('pool5'), 36);
  assert.equal(VGG19_TAPS.length, 37);
  assert.throws(() => vgg19TapIndex('block1_conv2'), /unknown layer 'block1_conv2'.*relu1_2/);
});

test('the full extractor has torchvision vgg19 features names, shapes and 20,024,384 parameters', () => {
  const vgg = new Vgg19Features();
  try {
    const sd = vgg.stateDict();
    assert.equal(sd.size, 32);
    assert.deepEqual(sd.get('features.0.weight')?.shape, [64, 3, 3, 3]);
    assert.deepEqual(sd.get('features.34.weight')?.shape, [512, 512, 3, 3]);
    assert.deepEqual(sd.get('features.34.bias')?.shape, [512]);
    assert.equal(sd.has('features.1.weight'), false, 'ReLU and pool slots hold no weights');
    assert.equal(vgg.numParameters(), 20024384);
    assert.ok(vgg.parameters().every((p) => !p.requiresGrad), 'frozen');
  } finally {
    vgg.dispose();
  }
});

test('injected random weights load; weights get no gradient, the input does', () => {
  const before = torch.memory().numTensors;
  const state = randomVgg19StateDict('relu2_1');
  state.set('classifier.0.weight', torch.zeros([2, 2]).keep());
  const vgg = new Vgg19Features({ lastLayer: 'relu2_1' });
  try {
    vgg.loadTorchvision(state);
    assert.ok(torch.scope(() => vgg.stateDict().get('features.5.weight')!.equal(state.get('features.5.weight')!)));
    torch.scope(() => {
      const x = torch.rand([2, 3, 16, 12]).mul(2).sub(1).requiresGrad_();
      const [a, b] = vgg.forward(x, ['relu1_2', 'relu2_1']);
      assert.deepEqual(a!.shape, [2, 64, 16, 12]);
      assert.deepEqual(b!.shape, [2, 128, 8, 6]);
      assert.ok(a!.min().item() >= 0, 'relu taps are non-negative');
      b!.sum().backward();
      const g = x.grad;
      assert.ok(g !== null && g.abs().sum().item() > 0, 'gradient reaches the input');
      for (const p of vgg.parameters()) assert.equal(p.grad, null);
    });
    torch.scope(() => assert.throws(() => vgg.forward(torch.zeros([1, 3, 8, 8]), ['relu3_1']), /deeper than this extractor's lastLayer/));
  } finally {
    vgg.dispose();
    torch.dispose([...state.values()]);
  }
  assert.equal(torch.memory().numTensors, before, 'no tensors leak');
});

test('"random" VGG weights are one fixed network: the same on every call, whatever the torch seed, He-scaled', () => {
  torch.manualSeed(1);
  const a = randomVgg19StateDict('relu1_2');
  torch.manualSeed(2);
  const b = randomVgg19StateDict('relu1_2');
  const c = randomVgg19StateDict('relu1_2', 12345);
  try {
    for (const [k, v] of a) assert.deepEqual(Array.from(v.data() as Float32Array), Array.from(b.get(k)!.data() as Float32Array), k);
    const w = a.get('features.2.weight')!;
    const std = torch.scope(() => w.std().item());
    assert.ok(Math.abs(std - Math.sqrt(2 / (64 * 9))) < 0.005, `conv1_2 std ${std}`);
    assert.notDeepEqual(Array.from(c.get('features.0.weight')!.data() as Float32Array), Array.from(a.get('features.0.weight')!.data() as Float32Array));
  } finally {
    torch.dispose([...a.values(), ...b.values(), ...c.values()]);
  }
});

test('a state dict without the needed keys is refused, naming them', () => {
  const state = randomVgg19StateDict('relu1_1');
  const vgg = new Vgg19Features({ lastLayer: 'relu1_2' });
  try {
    assert.throws(() => vgg.loadTorchvision(state), /lacks features\.2\.weight, features\.2\.bias/);
  } finally {
    vgg.dispose();
    torch.dispose([...state.values()]);
  }
});

test('ImageNet normalisation maps [-1,1] inputs to (x01 - mean) / std', () => {
  const vgg = new Vgg19Features({ lastLayer: 'relu1_1' });
  try {
    torch.scope(() => {
      const x = torch.tensor([-1, 0, 1], [1, 3, 1, 1]);
      const y = vgg.normalize(x).data();
      const expect = [(0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (1 - 0.406) / 0.225];
      expect.forEach((e, i) => assert.ok(Math.abs((y[i] as number) - e) < 1e-5, `channel ${i}: ${y[i]} vs ${e}`));
      assert.throws(() => vgg.normalize(torch.zeros([1, 1, 4, 4])), /expected images \(N,3,H,W\)/);
    });
  } finally {
    vgg.dispose();
  }
});

test('a missing weights file stops with the file, the config key and where to get it', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'vgg-')), 'vgg19-dcbb9e9d.pth');
  assert.throws(() => loadVgg19(path), (err: Error) => {
    assert.match(err.message, new RegExp(`not found at '${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
    assert.match(err.message, /loss\.vgg\.weights/);
    assert.match(err.message, /https:\/\/download\.pytorch\.org\/models\/vgg19-dcbb9e9d\.pth/);
    assert.ok(err.message.includes(DEFAULT_VGG19_WEIGHTS));
    return true;
  });
});
