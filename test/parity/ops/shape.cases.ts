// Shape manipulation and indexing.
import * as torch from '../../../src/torch/index.js';
import { pc, rn, ri, rb, type ParityCase } from './harness.js';

const cube = (dt: torch.DType) => ({ a: rn([3, 4, 5], dt) });
/** A random permutation of 0..n-1 along the last dim of a [rows, n] index, cut to k columns (unique per row). */
const uniqueIndex = (rows: number, n: number, k: number): torch.Tensor => torch.rand([rows, n]).sort(1)[1].slice(1, 0, k);

export const cases: ParityCase[] = [
  pc({ op: 'reshape', inputs: cube, grad: ['a'], ts: (x) => [x.a.reshape([5, -1]), x.a.transpose(0, 2).reshape(60)], py: '[a.reshape(5, -1), a.transpose(0, 2).reshape(60)]' }),
  pc({ op: 'view', inputs: cube, grad: ['a'], ts: (x) => [x.a.view([12, 5]), x.a.view([-1])], py: '[a.view(12, 5), a.view(-1)]' }),
  pc({ op: 'permute', inputs: cube, grad: ['a'], ts: (x) => x.a.permute([2, 0, 1]), py: 'a.permute(2, 0, 1)' }),
  pc({ op: 'transpose', inputs: cube, grad: ['a'], ts: (x) => [x.a.transpose(0, 2), x.a.transpose(-1, 1)], py: '[a.transpose(0, 2), a.transpose(-1, 1)]' }),
  pc({ op: 'flatten', inputs: cube, grad: ['a'], ts: (x) => [x.a.flatten(), x.a.flatten(1), x.a.flatten(0, 1)], py: '[a.flatten(), a.flatten(1), a.flatten(0, 1)]' }),
  pc({ op: 'squeeze', inputs: (dt) => ({ a: rn([3, 1, 4, 1], dt) }), grad: ['a'], ts: (x) => [x.a.squeeze(), x.a.squeeze(1), x.a.squeeze(0), x.a.squeeze(-1)], py: '[a.squeeze(), a.squeeze(1), a.squeeze(0), a.squeeze(-1)]' }),
  pc({ op: 'unsqueeze', inputs: cube, grad: ['a'], ts: (x) => [x.a.unsqueeze(0), x.a.unsqueeze(-1), x.a.unsqueeze(2)], py: '[a.unsqueeze(0), a.unsqueeze(-1), a.unsqueeze(2)]' }),
  pc({ op: 'expand', inputs: (dt) => ({ a: rn([3, 1], dt) }), grad: ['a'], ts: (x) => [x.a.expand([3, 4]), x.a.expand([2, -1, 5])], py: '[a.expand(3, 4), a.expand(2, -1, 5)]' }),
  pc({ op: 'expandAs', inputs: (dt) => ({ a: rn([1, 4], dt), b: rn([3, 4], dt) }), grad: ['a'], ts: (x) => x.a.expandAs(x.b), py: 'a.expand_as(b)' }),
  pc({ op: 'repeat', inputs: (dt) => ({ a: rn([2, 3], dt) }), grad: ['a'], ts: (x) => [x.a.repeat([2, 1]), x.a.repeat([2, 1, 3])], py: '[a.repeat(2, 1), a.repeat(2, 1, 3)]' }),
  pc({ op: 'repeatInterleave', inputs: (dt) => ({ a: rn([2, 3], dt) }), grad: ['a'], ts: (x) => [x.a.repeatInterleave(2), x.a.repeatInterleave(3, 1)], py: '[a.repeat_interleave(2), a.repeat_interleave(3, 1)]' }),
  pc({ op: 'flip', inputs: cube, grad: ['a'], ts: (x) => [x.a.flip([0]), x.a.flip([1, 2])], py: '[a.flip(0), a.flip(1, 2)]' }),
  pc({ op: 'roll', inputs: cube, grad: ['a'], ts: (x) => [x.a.roll([1], [0]), x.a.roll([-2, 3], [1, 2])], py: '[a.roll(1, 0), a.roll((-2, 3), (1, 2))]' }),
  pc({ op: 'cat', inputs: (dt) => ({ a: rn([2, 3], dt), b: rn([4, 3], dt), c: rn([2, 2], dt) }), grad: ['a', 'b', 'c'], ts: (x) => [torch.cat([x.a, x.b]), torch.cat([x.a, x.c], 1), torch.cat([x.a, x.c], -1)], py: '[torch.cat([a, b]), torch.cat([a, c], 1), torch.cat([a, c], -1)]' }),
  pc({ op: 'stack', inputs: (dt) => ({ a: rn([2, 3], dt), b: rn([2, 3], dt) }), grad: ['a', 'b'], ts: (x) => [torch.stack([x.a, x.b]), torch.stack([x.a, x.b], 2), torch.stack([x.a, x.b], -2)], py: '[torch.stack([a, b]), torch.stack([a, b], 2), torch.stack([a, b], -2)]' }),
  pc({ op: 'broadcastTensors', inputs: (dt) => ({ a: rn([3, 1], dt), b: rn([4], dt) }), grad: ['a', 'b'], ts: (x) => torch.broadcastTensors([x.a, x.b]), py: 'list(torch.broadcast_tensors(a, b))' }),
  pc({ op: 'split', inputs: (dt) => ({ a: rn([7, 4], dt) }), grad: ['a'], ts: (x) => [...x.a.split(3), ...x.a.split([1, 3], 1)], py: '[*a.split(3), *a.split([1, 3], 1)]' }),
  pc({ op: 'chunk', inputs: (dt) => ({ a: rn([7, 4], dt) }), grad: ['a'], ts: (x) => [...x.a.chunk(3), ...x.a.chunk(2, 1)], py: '[*a.chunk(3), *a.chunk(2, 1)]' }),
  pc({ op: 'unbind', inputs: cube, grad: ['a'], ts: (x) => [...x.a.unbind(), ...x.a.unbind(2)], py: '[*a.unbind(), *a.unbind(2)]' }),
  pc({ op: 'narrow', inputs: cube, grad: ['a'], ts: (x) => [x.a.narrow(1, 1, 2), x.a.narrow(-1, 0, 3)], py: '[a.narrow(1, 1, 2), a.narrow(-1, 0, 3)]' }),
  pc({ op: 'slice', inputs: cube, grad: ['a'], ts: (x) => [x.a.slice(1, 1, 3), x.a.slice(2, null, null, 2), x.a.slice(0, -2), x.a.slice(2, 1, -1, 3), x.a.slice()], py: '[a[:, 1:3], a[:, :, ::2], a[-2:], a[:, :, 1:-1:3], a[:]]' }),
  pc({ op: 'select', inputs: cube, grad: ['a'], ts: (x) => [x.a.select(0, 1), x.a.select(2, -1)], py: '[a[1], a[:, :, -1]]' }),
  pc({ op: 'indexSelect', inputs: (dt) => ({ a: rn([3, 4, 5], dt), i: ri([6], 0, 4) }), grad: ['a'], ts: (x) => x.a.indexSelect(1, x.i), py: 'a.index_select(1, i)' }),
  pc({ op: 'index', label: 'integer tensors', inputs: (dt) => ({ a: rn([3, 4, 5], dt), i: ri([2, 6], 0, 3), j: ri([6], 0, 4) }), grad: ['a'], ts: (x) => x.a.index([x.i, x.j]), py: 'a[i, j]' }),
  pc({ op: 'index', label: 'boolean mask', inputs: (dt) => ({ a: rn([3, 4, 5], dt), m: rb([3, 4]) }), grad: ['a'], ts: (x) => x.a.index([x.m]), py: 'a[m]' }),
  pc({ op: 'indexPut_', label: 'accumulate with repeats', inputs: (dt) => ({ a: rn([5, 3], dt), i: ri([8], 0, 5), v: rn([8, 3], dt) }), grad: ['a', 'v'], ts: (x) => x.a.clone().indexPut_([x.i], x.v, true), py: 'a.clone().index_put_((i,), v, accumulate=True)', tol: { float32: { atol: 2e-5, rtol: 1e-4 } }, tolWhy: 'repeated indices accumulate in another order' }),
  pc({ op: 'indexPut_', label: 'assign at unique indices', inputs: (dt) => ({ a: rn([5, 3], dt), i: torch.randperm(5).slice(0, 0, 3), v: rn([3, 3], dt) }), grad: ['a', 'v'], ts: (x) => x.a.clone().indexPut_([x.i], x.v), py: 'a.clone().index_put_((i,), v)' }),
  pc({ op: 'indexPut_', label: 'mask and broadcast value', inputs: (dt) => ({ a: rn([4, 3], dt), m: rb([4, 3]), v: rn([1], dt) }), ts: (x) => x.a.indexPut_([x.m], x.v), py: 'a.index_put_((m,), v)' }),
  pc({ op: 'gather', inputs: (dt) => ({ a: rn([3, 5], dt), i: ri([3, 7], 0, 5) }), grad: ['a'], ts: (x) => x.a.gather(1, x.i), py: 'a.gather(1, i)' }),
  pc({ op: 'scatter', inputs: (dt) => ({ a: rn([3, 6], dt), i: uniqueIndex(3, 6, 4), s: rn([3, 4], dt) }), grad: ['a', 's'], ts: (x) => [x.a.scatter(1, x.i, x.s), x.a.scatter(1, x.i, 2.5)], py: '[a.scatter(1, i, s), a.scatter(1, i, 2.5)]' }),
  pc({ op: 'scatterAdd', inputs: (dt) => ({ a: rn([4, 3], dt), i: ri([6, 3], 0, 4), s: rn([6, 3], dt) }), grad: ['a', 's'], ts: (x) => x.a.scatterAdd(0, x.i, x.s), py: 'a.scatter_add(0, i, s)', tol: { float32: { atol: 2e-5, rtol: 1e-4 } }, tolWhy: 'repeated indices accumulate in another order' }),
  pc({ op: 'maskedFill', inputs: (dt) => ({ a: rn([3, 4], dt), m: rb([4]), v: rn([], dt) }), grad: ['a', 'v'], ts: (x) => [x.a.maskedFill(x.m, -1.5), x.a.maskedFill(x.m, x.v)], py: '[a.masked_fill(m, -1.5), a.masked_fill(m, v)]' }),
  pc({ op: 'maskedFill', label: 'int', dtypes: ['int64'], inputs: () => ({ a: ri([3, 4], 0, 9), m: rb([3, 4]) }), ts: (x) => x.a.maskedFill(x.m, 7), py: 'a.masked_fill(m, 7)' }),
  pc({ op: 'maskedSelect', inputs: (dt) => ({ a: rn([3, 4], dt), m: rb([3, 4]) }), grad: ['a'], ts: (x) => x.a.maskedSelect(x.m), py: 'a.masked_select(m)' }),
  pc({ op: 'nonzero', dtypes: ['float32', 'bool'], inputs: (dt) => ({ a: ri([3, 4, 2], 0, 2).to(dt) }), ts: (x) => x.a.nonzero(), py: 'a.nonzero()' }),
  pc({ op: 'oneHot', dtypes: ['int64'], inputs: () => ({ i: ri([2, 5], 0, 4) }), ts: (x) => [x.i.oneHot(6), x.i.slice(1, 0, 4).oneHot()], py: '[F.one_hot(i, 6), F.one_hot(i[:, 0:4])]' }),
];
