// Creation, random draws (bitwise under a shared seed), conversion and autograd plumbing.
import * as torch from '../../../src/torch/index.js';
import { pc, rn, type ParityCase } from './harness.js';

const none = (): Record<never, torch.Tensor> => ({});
const kinds: torch.DType[] = ['float32', 'float64', 'int64', 'int32', 'uint8', 'bool'];

export const cases: ParityCase[] = [
  // ---- creation ----
  pc({ op: 'zeros', dtypes: kinds, inputs: none, ts: (_, dt) => torch.zeros([2, 3], dt), py: 'torch.zeros(2, 3, dtype=dt)' }),
  pc({ op: 'ones', dtypes: kinds, inputs: none, ts: (_, dt) => torch.ones([2, 3], dt), py: 'torch.ones(2, 3, dtype=dt)' }),
  // empty's values are arbitrary: compare dtype and shape after zeroing.
  pc({ op: 'empty', dtypes: kinds, inputs: none, ts: (_, dt) => torch.empty([4, 1, 2], dt).zero_(), py: 'torch.empty(4, 1, 2, dtype=dt).zero_()' }),
  pc({ op: 'full', inputs: none, ts: (_, dt) => torch.full([2, 3], 2.5, dt), py: 'torch.full((2, 3), 2.5, dtype=dt)' }),
  // Deliberate difference: JS numbers carry no int/float distinction, so an integral fill stays float32 (Python infers int64).
  pc({ op: 'full', label: 'integral fill defaults to float32', dtypes: ['float32'], inputs: none, ts: () => torch.full([3], 4), py: 'torch.full((3,), 4, dtype=torch.float32)' }),
  pc({ op: 'full', label: 'int64', dtypes: ['int64'], inputs: none, ts: () => torch.full([3], 4, 'int64'), py: 'torch.full((3,), 4)' }),
  pc({ op: 'arange', label: 'integers give int64', dtypes: ['int64'], inputs: none, ts: () => torch.arange(-3, 9, 2), py: 'torch.arange(-3, 9, 2)' }),
  pc({ op: 'arange', label: 'fractional step gives float32', dtypes: ['float32'], inputs: none, ts: () => torch.arange(0, 1, 0.1), py: 'torch.arange(0, 1, 0.1)' }),
  pc({ op: 'arange', label: 'explicit dtype', inputs: none, ts: (_, dt) => torch.arange(1, 4, 0.5, dt), py: 'torch.arange(1, 4, 0.5, dtype=dt)' }),
  pc({ op: 'linspace', inputs: none, ts: (_, dt) => torch.linspace(-1, 2, 7, dt), py: 'torch.linspace(-1, 2, 7, dtype=dt)' }),
  pc({ op: 'eye', inputs: none, ts: (_, dt) => torch.eye(3, null, dt), py: 'torch.eye(3, dtype=dt)' }),
  pc({ op: 'eye', label: 'rectangular', dtypes: ['float32', 'int64'], inputs: none, ts: (_, dt) => torch.eye(3, 5, dt), py: 'torch.eye(3, 5, dtype=dt)' }),
  pc({ op: 'scalarTensor', inputs: none, ts: (_, dt) => torch.scalarTensor(-2.25, dt), py: 'torch.scalar_tensor(-2.25, dtype=dt)' }),
  pc({ op: 'zerosLike', dtypes: ['float32', 'int32'], inputs: (dt) => ({ a: rn([2, 5]).to(dt) }), ts: (x) => x.a.zerosLike(), py: 'torch.zeros_like(a)' }),
  pc({ op: 'onesLike', dtypes: ['float64', 'bool'], inputs: (dt) => ({ a: rn([2, 5]).to(dt) }), ts: (x) => x.a.onesLike(), py: 'torch.ones_like(a)' }),
  pc({ op: 'fullLike', inputs: (dt) => ({ a: rn([2, 5], dt) }), ts: (x) => x.a.fullLike(-7.5), py: 'torch.full_like(a, -7.5)' }),

  // ---- random draws: libtorch's CPU generator is the one python3-torch uses, so a shared seed gives equal bits ----
  pc({ op: 'randn', seed: 11, inputs: none, ts: (_, dt) => torch.randn([5, 3], dt), py: 'torch.randn(5, 3, dtype=dt)' }),
  // 16 or more elements take libtorch's vectorised normal fill, a different code path from the small one.
  pc({ op: 'randn', label: 'vectorised path', seed: 12, inputs: none, ts: (_, dt) => torch.randn([64, 33], dt), py: 'torch.randn(64, 33, dtype=dt)' }),
  pc({ op: 'rand', seed: 13, inputs: none, ts: (_, dt) => torch.rand([100, 7], dt), py: 'torch.rand(100, 7, dtype=dt)' }),
  pc({ op: 'randint', seed: 14, dtypes: ['int64', 'int32'], inputs: none, ts: (_, dt) => torch.randint(-5, 20, [50, 3], dt), py: 'torch.randint(-5, 20, (50, 3), dtype=dt)' }),
  pc({ op: 'randperm', seed: 15, dtypes: ['int64'], inputs: none, ts: () => torch.randperm(300), py: 'torch.randperm(300)' }),
  pc({ op: 'randnLike', seed: 16, inputs: (dt) => ({ a: rn([40, 3], dt) }), ts: (x) => x.a.randnLike(), py: 'torch.randn_like(a)' }),
  pc({ op: 'randLike', seed: 17, inputs: (dt) => ({ a: rn([40, 3], dt) }), ts: (x) => x.a.randLike(), py: 'torch.rand_like(a)' }),
  pc({ op: 'normal_', seed: 18, inputs: (dt) => ({ a: rn([70], dt) }), ts: (x) => x.a.normal_(1, 2), py: 'a.normal_(1, 2)' }),
  pc({ op: 'uniform_', seed: 19, inputs: (dt) => ({ a: rn([70], dt) }), ts: (x) => x.a.uniform_(-1, 3), py: 'a.uniform_(-1, 3)' }),
  pc({ op: 'dropout', seed: 20, inputs: (dt) => ({ a: rn([8, 30], dt) }), grad: ['a'], ts: (x) => x.a.dropout(0.3), py: 'F.dropout(a, 0.3)' }),
  pc({ op: 'dropout', label: 'eval is identity', inputs: (dt) => ({ a: rn([8, 30], dt) }), grad: ['a'], ts: (x) => x.a.dropout(0.3, false), py: 'F.dropout(a, 0.3, False)' }),
  pc({ op: 'dropout2d', seed: 21, inputs: (dt) => ({ a: rn([4, 16, 3, 3], dt) }), grad: ['a'], ts: (x) => x.a.dropout2d(0.4), py: 'F.dropout2d(a, 0.4)' }),

  // ---- conversion, copies, autograd plumbing ----
  pc({ op: 'to', label: 'float to int64 truncates', dtypes: ['float32'], inputs: () => ({ a: rn([3, 4]).mul(10) }), ts: (x) => x.a.to('int64'), py: 'a.to(torch.int64)' }),
  pc({ op: 'to', label: 'float32 to float64 keeps grad', dtypes: ['float32'], inputs: () => ({ a: rn([3, 4]) }), grad: ['a'], ts: (x) => x.a.to('float64'), py: 'a.to(torch.float64)' }),
  pc({ op: 'to', label: 'float32 to bfloat16 and float16: nearest even, float16 overflow and subnormals', dtypes: ['float32'], inputs: () => ({ a: rn([4, 64]).mul(torch.tensor([[1e-6], [1e-3], [1], [7e4]])) }),
    ts: (x) => [x.a.to('bfloat16'), x.a.to('float16'), x.a.to('bfloat16').to('float16')], py: '[a.to(torch.bfloat16), a.to(torch.float16), a.to(torch.bfloat16).to(torch.float16)]' }),
  pc({ op: 'to', label: 'to bool', dtypes: ['int64'], inputs: () => ({ a: torch.randint(-1, 2, [9]) }), ts: (x) => x.a.to('bool'), py: 'a.to(torch.bool)' }),
  pc({ op: 'toDevice', inputs: (dt) => ({ a: rn([3, 4], dt) }), grad: ['a'], ts: (x) => x.a.toDevice('cpu'), py: "a.to('cpu')" }),
  pc({ op: 'contiguous', inputs: (dt) => ({ a: rn([3, 4], dt) }), grad: ['a'], ts: (x) => x.a.transpose(0, 1).contiguous(), py: 'a.transpose(0, 1).contiguous()' }),
  pc({ op: 'contiguous', label: 'strides', inputs: (dt) => ({ a: rn([3, 4], dt) }), ts: (x) => x.a.transpose(0, 1).contiguous().stride(), py: 'a.transpose(0, 1).contiguous().stride()' }),
  pc({ op: 'clone', inputs: (dt) => ({ a: rn([3, 4], dt) }), grad: ['a'], ts: (x) => x.a.clone(), py: 'a.clone()' }),
  pc({ op: 'detach', inputs: (dt) => ({ a: rn([3, 4], dt) }), ts: (x) => x.a.detach(), py: 'a.detach()' }),
  pc({ op: 'isContiguous', inputs: (dt) => ({ a: rn([3, 4], dt) }), ts: (x) => [x.a.isContiguous(), x.a.transpose(0, 1).isContiguous()], py: '[a.is_contiguous(), a.transpose(0, 1).is_contiguous()]' }),
  pc({ op: 'stride', inputs: (dt) => ({ a: rn([3, 4, 5], dt) }), ts: (x) => x.a.permute([2, 0, 1]).stride(), py: 'a.permute(2, 0, 1).stride()' }),
  pc({ op: 'asStrided', inputs: (dt) => ({ a: rn([3, 4], dt) }), grad: ['a'], ts: (x) => x.a.asStrided([2, 3], [1, 2], 1), py: 'a.as_strided((2, 3), (1, 2), 1)' }),
  pc({ op: 'copy_', inputs: (dt) => ({ a: rn([3, 4], dt), b: rn([4], dt) }), grad: ['a', 'b'], ts: (x) => x.a.clone().copy_(x.b), py: 'a.clone().copy_(b)' }),
  pc({ op: 'copy_', label: 'casts', dtypes: ['float32'], inputs: () => ({ a: torch.zeros([5], 'int64'), b: rn([5]).mul(5) }), ts: (x) => x.a.copy_(x.b), py: 'a.copy_(b)' }),
  pc({ op: 'fill_', inputs: (dt) => ({ a: rn([3, 4], dt) }), ts: (x) => x.a.fill_(1.5), py: 'a.fill_(1.5)' }),
  pc({ op: 'zero_', inputs: (dt) => ({ a: rn([3, 4], dt) }), grad: ['a'], ts: (x) => x.a.mul(1).zero_(), py: 'a.mul(1).zero_()' }),
  pc({ op: 'isLeaf', inputs: (dt) => ({ a: rn([3], dt) }), ts: (x) => { const y = x.a.detach().requiresGrad_(); return [y.isLeaf(), y.mul(2).isLeaf()]; }, py: '(lambda y: [y.is_leaf, (y * 2).is_leaf])(a.detach().requires_grad_())' }),
  // Python's `t.data = src`: swaps the storage (shape may change) without touching autograd history.
  pc({ op: 'setData_', inputs: (dt) => ({ a: rn([3, 4], dt), b: rn([2, 5], dt) }), ts: (x) => { const y = x.a.clone(); y.setData_(x.b); return [y, x.b.mul(2)]; }, py: "(lambda y: (setattr(y, 'data', b), [y, b * 2])[1])(a.clone())" }),
  pc({ op: 'numel', inputs: (dt) => ({ a: rn([3, 4, 2], dt) }), ts: (x) => x.a.numel(), py: 'a.numel()' }),
];
