// Module mechanics: names, registration, modes, state dicts, ownership and the errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';

const { nn } = torch;

class Block extends nn.Module {
  conv1: torch.nn.Conv2d;
  norm: torch.nn.BatchNorm2d;
  scale: torch.Tensor;
  constructor(c: number) {
    super();
    this.conv1 = this.module('conv1', new nn.Conv2d(c, c, 3, { padding: 1 }));
    this.norm = this.module('norm', new nn.BatchNorm2d(c));
    this.scale = this.param('scale', torch.ones([1]));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return this.norm.forward(this.conv1.forward(x)).mul(this.scale).add(x);
  }
}

class Net extends nn.Module {
  model: torch.nn.Sequential;
  heads: torch.nn.ModuleList<torch.nn.Conv2d>;
  constructor() {
    super();
    this.model = this.module('model', new nn.Sequential(new Block(2), new nn.ReLU(), new nn.Dropout(0.5)));
    this.heads = this.module('heads', new nn.ModuleList([new nn.Conv2d(2, 1, 1), new nn.Conv2d(2, 1, 1, { bias: false })]));
  }

  forward(x: torch.Tensor): torch.Tensor[] {
    const h = this.model.forward(x);
    return [...this.heads].map((m) => m.forward(h));
  }
}

test('names are dotted PyTorch paths, in PyTorch order', () => {
  const before = torch.memory().numTensors;
  const net = new Net();
  assert.deepEqual(net.namedParameters().map(([n]) => n), [
    'model.0.scale', 'model.0.conv1.weight', 'model.0.conv1.bias', 'model.0.norm.weight', 'model.0.norm.bias',
    'heads.0.weight', 'heads.0.bias', 'heads.1.weight',
  ]);
  assert.deepEqual([...net.stateDict().keys()], [
    'model.0.scale', 'model.0.conv1.weight', 'model.0.conv1.bias', 'model.0.norm.weight', 'model.0.norm.bias',
    'model.0.norm.running_mean', 'model.0.norm.running_var', 'model.0.norm.num_batches_tracked',
    'heads.0.weight', 'heads.0.bias', 'heads.1.weight',
  ]);
  assert.deepEqual(net.namedBuffers().map(([n]) => n), ['model.0.norm.running_mean', 'model.0.norm.running_var', 'model.0.norm.num_batches_tracked']);
  assert.deepEqual(net.namedModules().map(([n]) => n), ['', 'model', 'model.0', 'model.0.conv1', 'model.0.norm', 'model.1', 'model.2', 'heads', 'heads.0', 'heads.1']);
  assert.equal(net.numParameters(), 1 + 2 * 2 * 9 + 2 + 2 + 2 + 2 + 1 + 2);
  assert.ok(net.parameters().every((p) => p.requiresGrad && p.isLeaf()));
  assert.equal(net.heads.length, 2);
  assert.equal(net.model.at(-1).constructor.name, 'Dropout');
  net.dispose();
  assert.equal(torch.memory().numTensors, before, 'dispose releases every parameter and buffer');
});

test('a parameter shared by two modules is listed once', () => {
  const a = new nn.Linear(3, 3);
  const seq = new nn.Sequential(a, a);
  assert.equal(seq.parameters().length, 2);
  assert.deepEqual(seq.namedModules().map(([n]) => n), ['', '0']);
  assert.deepEqual([...seq.stateDict().keys()], ['0.weight', '0.bias', '1.weight', '1.bias']);
  a.dispose();
});

test('train() and eval() reach every descendant and change dropout and batch norm', () => {
  torch.scope(() => {
    const net = new Net();
    assert.ok(net.namedModules().every(([, m]) => m.training));
    net.eval();
    assert.ok(net.namedModules().every(([, m]) => !m.training));
    const x = torch.randn([2, 2, 4, 4]);
    const [a] = net.forward(x);
    const [b] = net.forward(x);
    assert.ok((a as torch.Tensor).equal(b as torch.Tensor), 'eval mode is deterministic');
    assert.equal(net.model.at(0).stateDict().get('norm.num_batches_tracked')?.item(), 0, 'eval mode does not count batches');
    net.train();
    net.forward(x);
    assert.equal(net.stateDict().get('model.0.norm.num_batches_tracked')?.item(), 1);
    net.dispose();
  });
});

test('stateDict holds live tensors; loadStateDict copies in place and checks names and shapes', () => {
  torch.scope(() => {
    const a = new Net();
    const b = new Net();
    const weight = b.stateDict().get('heads.0.weight') as torch.Tensor;
    torch.noGrad(() => a.stateDict().get('model.0.norm.running_mean')?.fill_(3));
    const result = b.loadStateDict(a.stateDict());
    assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
    assert.equal(b.stateDict().get('heads.0.weight'), weight, 'same tensor object after loading');
    for (const [k, v] of a.stateDict()) assert.ok(v.equal(b.stateDict().get(k) as torch.Tensor), `${k} copied`);
    assert.notEqual(a.stateDict().get('heads.0.weight'), weight, 'copies, not shared tensors');

    const partial = new Map(a.stateDict());
    partial.delete('heads.1.weight');
    partial.set('extra.weight', torch.zeros([1]));
    assert.throws(() => b.loadStateDict(partial), (e: Error) => {
      assert.match(e.message, /missing keys: 'heads\.1\.weight'/);
      assert.match(e.message, /unexpected keys: 'extra\.weight'/);
      assert.match(e.message, /strict: false/);
      return true;
    });
    assert.deepEqual(b.loadStateDict(partial, { strict: false }), { missingKeys: ['heads.1.weight'], unexpectedKeys: ['extra.weight'] });

    const old = new Map([...a.stateDict()].filter(([k]) => !k.endsWith('num_batches_tracked')));
    torch.noGrad(() => b.stateDict().get('model.0.norm.num_batches_tracked')?.fill_(7));
    assert.deepEqual(b.loadStateDict(old), { missingKeys: [], unexpectedKeys: [] }, 'a pre-0.4.1 checkpoint loads strictly');
    assert.equal(b.stateDict().get('model.0.norm.num_batches_tracked')?.item(), 0, 'its count starts at 0, as PyTorch');

    const wrong = new Map(a.stateDict());
    wrong.set('heads.0.weight', torch.zeros([1, 3, 1, 1]));
    assert.throws(() => b.loadStateDict(wrong, { strict: false }), /size mismatch for 'heads\.0\.weight': the state has shape \[1,3,1,1\], the module \[1,2,1,1\]/);
    a.dispose();
    b.dispose();
  });
});

test('zeroGrad clears gradients; toDtype converts in place and keeps integer buffers', () => {
  torch.scope(() => {
    const net = new Block(2);
    net.forward(torch.randn([1, 2, 3, 3])).sum().backward();
    assert.ok(net.parameters().every((p) => p.grad !== null));
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null));
    net.requiresGrad_(false);
    assert.ok(net.parameters().every((p) => !p.requiresGrad));
    assert.equal(net.forward(torch.randn([1, 2, 3, 3])).requiresGrad, false, 'a frozen module records no graph');
    net.requiresGrad_();
    assert.ok(net.parameters().every((p) => p.requiresGrad));
    const w = net.conv1.weight;
    net.toDtype('float64');
    assert.equal(net.conv1.weight, w, 'same object');
    assert.equal(w.dtype, 'float64');
    assert.ok(w.requiresGrad && w.isLeaf(), 'still a trainable leaf');
    assert.equal(net.norm.numBatchesTracked?.dtype, 'int64');
    assert.equal(net.forward(torch.randn([1, 2, 3, 3], 'float64')).dtype, 'float64');
    net.toDevice('cpu');
    assert.equal(w.device, 'cpu');
    assert.throws(() => net.toDtype('int32'), /not a floating-point dtype/);
    net.dispose();
  });
});

test('registration and layer errors name the input and what to do', () => {
  torch.scope(() => {
    class Bad extends nn.Module {
      constructor(kind: 'dup' | 'dot' | 'nonleaf') {
        super();
        if (kind === 'dup') {
          this.param('w', torch.zeros([1]));
          this.buffer('w', torch.zeros([1]));
        } else if (kind === 'dot') {
          this.param('a.b', torch.zeros([1]));
        } else {
          const leaf = torch.zeros([1]).requiresGrad_();
          this.param('w', leaf.mul(2));
        }
      }

      forward(): torch.Tensor {
        return torch.zeros([1]);
      }
    }
    assert.throws(() => new Bad('dup'), /'w' is already registered as a param/);
    assert.throws(() => new Bad('dot'), /without '\.'/);
    assert.throws(() => new Bad('nonleaf'), /not a leaf.*detach/);

    const conv = new nn.Conv2d(3, 8, 3);
    assert.throws(() => conv.forward(torch.zeros([1, 4, 5, 5])), /Conv2d\(3, 8\): the input has 4 channels .* expects 3/);
    assert.throws(() => conv.forward(torch.zeros([3, 5, 5])), /expected a 4-d \(N,C,H,W\) input, got shape \[3,5,5\]/);
    assert.throws(() => new nn.Conv2d(3, 8, 3, { groups: 2 }), /must both divide by groups/);
    assert.throws(() => new nn.Conv2d(3, 8, 0), /kernelSize must be an integer >= 1/);
    assert.throws(() => new nn.ConvTranspose2d(3, 8, 3, { stride: 2, outputPadding: 2 }), /outputPadding/);
    assert.throws(() => new nn.Linear(4, 2).forward(torch.zeros([2, 3])), /last dim must be 4/);
    assert.throws(() => new nn.BatchNorm2d(3, { momentum: 2 }), /momentum must be in \[0, 1\]/);
    assert.throws(() => new nn.Dropout(1.5), /p must be a probability/);
    assert.throws(() => new nn.ModuleList().forward(), /iterate over it/);
    conv.dispose();
  });
});

test('Dropout zeroes about p of the elements in training and scales the rest by 1/(1-p); eval mode is identity', () => {
  torch.scope(() => {
    const d = new nn.Dropout(0.3);
    const x = torch.ones([200, 500]);
    const y = d.forward(x);
    const zeroFraction = y.eq(0).to('float32').mean().item();
    assert.ok(Math.abs(zeroFraction - 0.3) < 0.01, `zero fraction ${zeroFraction}`);
    const kept = y.maskedSelect(y.ne(0));
    assert.ok(kept.sub(1 / 0.7).abs().max().item() < 1e-6);
    d.eval();
    assert.equal(d.forward(x).equal(x), true);
    const d2 = new nn.Dropout2d(0.5);
    const z = d2.forward(torch.ones([4, 64, 3, 3]));
    const perChannel = z.amax([2, 3]).sub(z.amin([2, 3])).abs().max().item();
    assert.equal(perChannel, 0, 'Dropout2d drops whole channels');
  });
});

test('Sequential chains its modules and applies a function to every module', () => {
  torch.scope(() => {
    const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 2));
    const x = torch.randn([5, 3]);
    const manual = (seq.at(2) as torch.nn.Linear).forward((seq.at(0) as torch.nn.Linear).forward(x).tanh());
    assert.ok(seq.forward(x).equal(manual));
    const visited: string[] = [];
    seq.apply((m) => visited.push(m.constructor.name));
    assert.deepEqual(visited, ['Linear', 'Tanh', 'Linear', 'Sequential']);
    seq.apply((m) => {
      if (m instanceof nn.Linear) nn.init.constant_(m.weight, 0.5);
    });
    assert.equal((seq.at(0) as torch.nn.Linear).weight.max().item(), 0.5);
    seq.dispose();
  });
});

test('ConvTranspose2d outputSize picks the output padding', () => {
  torch.scope(() => {
    const up = new nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1 });
    const x = torch.randn([1, 2, 4, 5]);
    assert.deepEqual(up.forward(x).shape, [1, 3, 7, 9]);
    const y = up.forward(x, [8, 9]);
    assert.deepEqual(y.shape, [1, 3, 8, 9]);
    assert.ok(y.equal(torch.convTranspose2d(x, up.weight, up.bias, 2, 1, [1, 0])));
    assert.throws(() => up.forward(x, [9, 9]), /outputSize \[9,9\] is not reachable .* dim 2 can be 7 to 8/);
    up.dispose();
  });
});
