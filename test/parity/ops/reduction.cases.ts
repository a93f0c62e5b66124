// Reductions (over all elements and over dims, with and without keepdim) and linear algebra.
import * as torch from '../../../src/torch/index.js';
import { pc, rn, un, ri, rb, HALF, type ParityCase, type Tol } from './harness.js';

const cube = (dt: torch.DType) => ({ a: rn([3, 4, 5], dt) });
// Two libtorch threads here, one in the oracle: float32 sums over many elements may round in another order.
const sumTol: Partial<Record<'float32' | 'float64', Tol>> = { float32: { atol: 3e-5, rtol: 1e-4 } };
const why = 'reduction order differs with the thread count';
// A well-conditioned square matrix batch.
const wellConditioned = (dt: torch.DType, n: number, batch: number[] = []): torch.Tensor =>
  rn([...batch, n, n], dt).add(torch.eye(n, null, dt).mul(n));

export const cases: ParityCase[] = [
  pc({ op: 'sum', inputs: cube, grad: ['a'], ts: (x) => x.a.sum(), py: 'a.sum()' }),
  pc({ op: 'sum', label: 'half dtypes, with mean and max', dtypes: HALF, inputs: cube, ts: (x) => [x.a.sum(), x.a.sum([1], true), x.a.mean([2]), x.a.max()], py: '[a.sum(), a.sum([1], True), a.mean([2]), a.max()]' }),
  pc({ op: 'sum', label: 'dims, keepdim', inputs: cube, grad: ['a'], ts: (x) => [x.a.sum([1], true), x.a.sum([0, 2]), x.a.sum(-1)], py: '[a.sum([1], True), a.sum([0, 2]), a.sum(-1)]' }),
  pc({ op: 'sum', label: 'accumulate in float64', dtypes: ['float32'], inputs: cube, grad: ['a'], ts: (x) => x.a.sum([1], false, 'float64'), py: 'a.sum([1], dtype=torch.float64)' }),
  pc({ op: 'sum', label: 'ints and bools sum to int64', dtypes: ['int32', 'bool'], inputs: (dt) => ({ a: ri([4, 6], 0, 3).to(dt) }), ts: (x) => [x.a.sum(), x.a.sum([0])], py: '[a.sum(), a.sum([0])]' }),
  pc({ op: 'sum', label: 'dim null with keepdim', inputs: cube, grad: ['a'], ts: (x) => x.a.sum(null, true), py: 'a.sum(dim=None, keepdim=True)' }),
  pc({ op: 'mean', label: 'dim null with keepdim', inputs: cube, grad: ['a'], ts: (x) => x.a.mean(null, true), py: 'a.mean(dim=None, keepdim=True)' }),
  pc({ op: 'var', label: 'dim null with keepdim', inputs: cube, grad: ['a'], ts: (x) => [x.a.var(null, true, true), x.a.std(null, false, true), x.a.norm(2, null, true)], py: '[a.var(None, True, True), a.std(None, False, True), a.norm(2, None, True)]', tol: sumTol, tolWhy: why }),
  pc({ op: 'mean', inputs: cube, grad: ['a'], ts: (x) => [x.a.mean(), x.a.mean([0, 2], true), x.a.mean(1)], py: '[a.mean(), a.mean([0, 2], True), a.mean(1)]' }),
  pc({ op: 'prod', inputs: (dt) => ({ a: un([3, 4], 0.5, 1.5, dt) }), grad: ['a'], ts: (x) => x.a.prod(), py: 'a.prod()' }),
  pc({ op: 'max', inputs: cube, grad: ['a'], ts: (x) => x.a.max(), py: 'a.max()' }),
  pc({ op: 'max', label: 'int', dtypes: ['int64'], inputs: () => ({ a: ri([9], -50, 50) }), ts: (x) => x.a.max(), py: 'a.max()' }),
  pc({ op: 'min', inputs: cube, grad: ['a'], ts: (x) => x.a.min(), py: 'a.min()' }),
  pc({ op: 'maxDim', inputs: cube, grad: ['a'], ts: (x) => [...x.a.maxDim(1), ...x.a.maxDim(-1, true)], py: '[*a.max(1), *a.max(-1, True)]' }),
  pc({ op: 'minDim', inputs: cube, grad: ['a'], ts: (x) => [...x.a.minDim(0), ...x.a.minDim(2, true)], py: '[*a.min(0), *a.min(2, True)]' }),
  pc({ op: 'amax', inputs: cube, grad: ['a'], ts: (x) => [x.a.amax([1, 2]), x.a.amax(0, true)], py: '[a.amax([1, 2]), a.amax(0, True)]' }),
  pc({ op: 'amin', inputs: cube, grad: ['a'], ts: (x) => [x.a.amin([0, 2], true), x.a.amin(-1)], py: '[a.amin([0, 2], True), a.amin(-1)]' }),
  pc({ op: 'argmax', inputs: cube, ts: (x) => [x.a.argmax(), x.a.argmax(1), x.a.argmax(2, true)], py: '[a.argmax(), a.argmax(1), a.argmax(2, True)]' }),
  pc({ op: 'argmin', inputs: cube, ts: (x) => [x.a.argmin(), x.a.argmin(0), x.a.argmin(-1, true)], py: '[a.argmin(), a.argmin(0), a.argmin(-1, True)]' }),
  pc({ op: 'var', inputs: cube, grad: ['a'], ts: (x) => [x.a.var(), x.a.var(null, false), x.a.var([1, 2]), x.a.var(0, false, true)], py: '[a.var(), a.var(unbiased=False), a.var([1, 2]), a.var(0, unbiased=False, keepdim=True)]', tol: sumTol, tolWhy: why }),
  pc({ op: 'std', inputs: cube, grad: ['a'], ts: (x) => [x.a.std(), x.a.std(null, false), x.a.std([0, 1], true, true)], py: '[a.std(), a.std(unbiased=False), a.std([0, 1], unbiased=True, keepdim=True)]', tol: sumTol, tolWhy: why }),
  pc({ op: 'norm', inputs: cube, grad: ['a'], ts: (x) => [x.a.norm(), x.a.norm(1, [1], true), x.a.norm(3, [0, 2])], py: '[a.norm(), a.norm(1, [1], True), a.norm(3, [0, 2])]', tol: sumTol, tolWhy: why }),
  pc({ op: 'logsumexp', inputs: cube, grad: ['a'], ts: (x) => [x.a.logsumexp([1]), x.a.logsumexp([0, 2], true)], py: '[a.logsumexp([1]), a.logsumexp([0, 2], True)]' }),
  pc({ op: 'cumsum', inputs: cube, grad: ['a'], ts: (x) => [x.a.cumsum(1), x.a.cumsum(-1)], py: '[a.cumsum(1), a.cumsum(-1)]' }),
  pc({ op: 'cumsum', label: 'int', dtypes: ['int64'], inputs: () => ({ a: ri([3, 4], -5, 5) }), ts: (x) => x.a.cumsum(0), py: 'a.cumsum(0)' }),
  pc({ op: 'any', dtypes: ['bool', 'float32'], inputs: (dt) => ({ a: rb([3, 4]).to(dt), z: torch.zeros([3], dt) }), ts: (x) => [x.a.any(), x.z.any()], py: '[a.any(), z.any()]' }),
  pc({ op: 'all', dtypes: ['bool', 'int64'], inputs: (dt) => ({ a: rb([3, 4]).to(dt), o: torch.ones([3], dt) }), ts: (x) => [x.a.all(), x.o.all()], py: '[a.all(), o.all()]' }),
  pc({ op: 'sort', inputs: cube, grad: ['a'], ts: (x) => [...x.a.sort(), ...x.a.sort(1, true)], py: '[*a.sort(), *a.sort(1, True)]' }),
  pc({ op: 'topk', inputs: cube, grad: ['a'], ts: (x) => [...x.a.topk(2), ...x.a.topk(3, 1, false)], py: '[*a.topk(2), *a.topk(3, 1, False)]' }),

  // ---- linear algebra ----
  // No float16 matmul kernels on CPU in libtorch 1.13.
  pc({ op: 'matmul', label: 'bfloat16, with mm', dtypes: ['bfloat16'], inputs: (dt) => ({ a: rn([2, 1, 3, 4], dt), b: rn([5, 4, 2], dt), v: rn([4], dt) }), ts: (x) => [x.a.matmul(x.b), x.a.matmul(x.v), torch.mm(x.a.select(0, 0).select(0, 0), x.b.select(0, 0))],
    py: '[a.matmul(b), a.matmul(v), torch.mm(a[0][0], b[0])]' }),
  pc({ op: 'matmul', inputs: (dt) => ({ a: rn([2, 1, 3, 4], dt), b: rn([5, 4, 2], dt), v: rn([4], dt) }), grad: ['a', 'b', 'v'], ts: (x) => [x.a.matmul(x.b), x.a.matmul(x.v)], py: '[a @ b, a @ v]' }),
  pc({ op: 'mm', inputs: (dt) => ({ a: rn([3, 4], dt), b: rn([4, 5], dt) }), grad: ['a', 'b'], ts: (x) => x.a.mm(x.b), py: 'a.mm(b)' }),
  pc({ op: 'bmm', inputs: (dt) => ({ a: rn([2, 3, 4], dt), b: rn([2, 4, 5], dt) }), grad: ['a', 'b'], ts: (x) => x.a.bmm(x.b), py: 'a.bmm(b)' }),
  pc({ op: 'einsum', label: 'batched matmul', inputs: (dt) => ({ a: rn([2, 3, 4], dt), b: rn([2, 4, 5], dt) }), grad: ['a', 'b'], ts: (x) => torch.einsum('bij,bjk->bik', [x.a, x.b]), py: "torch.einsum('bij,bjk->bik', a, b)" }),
  pc({ op: 'einsum', label: 'Gram matrix', inputs: (dt) => ({ f: rn([2, 3, 6], dt) }), grad: ['f'], ts: (x) => torch.einsum('bcn,bdn->bcd', [x.f, x.f]), py: "torch.einsum('bcn,bdn->bcd', f, f)" }),
  pc({ op: 'einsum', label: 'trace, diagonal, full contraction', inputs: (dt) => ({ m: rn([4, 4], dt), a: rn([3, 4], dt) }), grad: ['m', 'a'], ts: (x) => [torch.einsum('ii', [x.m]), torch.einsum('ii->i', [x.m]), torch.einsum('ij,ij->', [x.a, x.a]), torch.einsum('ij->ji', [x.a])], py: "[torch.einsum('ii', m), torch.einsum('ii->i', m), torch.einsum('ij,ij->', a, a), torch.einsum('ij->ji', a)]" }),
  pc({ op: 'einsum', label: 'ellipsis and outer', inputs: (dt) => ({ a: rn([2, 3, 4], dt), u: rn([3], dt), v: rn([5], dt) }), grad: ['a', 'u', 'v'], ts: (x) => [torch.einsum('...ij->...ji', [x.a]), torch.einsum('i,j->ij', [x.u, x.v])], py: "[torch.einsum('...ij->...ji', a), torch.einsum('i,j->ij', u, v)]" }),
  pc({ op: 'outer', inputs: (dt) => ({ u: rn([3], dt), v: rn([5], dt) }), grad: ['u', 'v'], ts: (x) => x.u.outer(x.v), py: 'torch.outer(u, v)' }),
  pc({ op: 'dot', inputs: (dt) => ({ u: rn([7], dt), v: rn([7], dt) }), grad: ['u', 'v'], ts: (x) => x.u.dot(x.v), py: 'torch.dot(u, v)' }),
  pc({ op: 'inverse', inputs: (dt) => ({ a: wellConditioned(dt, 4, [2]) }), grad: ['a'], ts: (x) => x.a.inverse(), py: 'torch.linalg.inv(a)' }),
  pc({ op: 'linalgSolve', inputs: (dt) => ({ a: wellConditioned(dt, 3, [2]), b: rn([2, 3, 2], dt) }), grad: ['a', 'b'], ts: (x) => torch.linalgSolve(x.a, x.b), py: 'torch.linalg.solve(a, b)' }),
  // PyTorch's CPU default driver is gelsy; for a full-rank system every driver gives the one least-squares solution.
  pc({ op: 'linalgLstsq', inputs: (dt) => ({ a: rn([2, 6, 3], dt), b: rn([2, 6, 2], dt) }), grad: ['a', 'b'], ts: (x) => torch.linalgLstsq(x.a, x.b), py: 'torch.linalg.lstsq(a, b).solution', tol: { float32: { atol: 1e-4, rtol: 1e-4 }, float64: { atol: 1e-9, rtol: 1e-9 } }, tolWhy: 'gelsd (SVD) vs gelsy (QR) round differently' }),
  pc({ op: 'linalgQr', inputs: (dt) => ({ a: rn([2, 5, 3], dt) }), grad: ['a'], ts: (x) => torch.linalgQr(x.a), py: 'list(torch.linalg.qr(a))' }),
  pc({ op: 'diag', inputs: (dt) => ({ v: rn([4], dt), m: rn([4, 5], dt) }), grad: ['v', 'm'], ts: (x) => [x.v.diag(), x.v.diag(1), x.m.diag(), x.m.diag(-2)], py: '[v.diag(), v.diag(1), m.diag(), m.diag(-2)]' }),
  pc({ op: 'tril', inputs: (dt) => ({ m: rn([2, 4, 5], dt) }), grad: ['m'], ts: (x) => [x.m.tril(), x.m.tril(1), x.m.tril(-1)], py: '[m.tril(), m.tril(1), m.tril(-1)]' }),
  pc({ op: 'triu', inputs: (dt) => ({ m: rn([4, 5], dt) }), grad: ['m'], ts: (x) => [x.m.triu(), x.m.triu(2), x.m.triu(-1)], py: '[m.triu(), m.triu(2), m.triu(-1)]' }),
];
