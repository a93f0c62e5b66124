// Elementwise arithmetic (out of place and in place), comparison and logic, activations.
import * as torch from '../../../src/torch/index.js';
import { pc, rn, un, ri, rb, HALF, type ParityCase } from './harness.js';

const ab = (dt: torch.DType) => ({ a: rn([3, 4], dt), b: rn([4], dt) });
const one = (dt: torch.DType) => ({ a: rn([3, 5], dt) });
const posA = (dt: torch.DType) => ({ a: un([3, 5], 0.2, 3, dt) });
// Small integers as floats, so comparisons hit ties.
const tiesAB = (dt: torch.DType) => ({ a: ri([3, 4], 0, 3).to(dt), b: ri([4], 0, 3).to(dt) });

/** A unary op with its gradient; py is the torch function name. */
const unary = (op: string, py: string, inputs: (dt: torch.DType) => { a: torch.Tensor } = one): ParityCase =>
  pc({ op, inputs, grad: ['a'], ts: (x) => (x.a as unknown as Record<string, () => torch.Tensor>)[op]!.call(x.a), py: `torch.${py}(a)` });

export const cases: ParityCase[] = [
  // ---- arithmetic ----
  pc({ op: 'add', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.add(x.b, 0.5), py: 'torch.add(a, b, alpha=0.5)' }),
  pc({ op: 'add', label: 'half dtypes, with mul and a scalar', dtypes: HALF, inputs: ab, ts: (x) => [x.a.add(x.b, 0.5), x.a.mul(x.b), x.a.add(2.5), x.a.gt(x.b)], py: '[torch.add(a, b, alpha=0.5), a * b, a + 2.5, a > b]' }),
  // libtorch 1.13 has these CPU kernels for bfloat16 only, not float16.
  pc({ op: 'exp', label: 'bfloat16, with relu, tanh, sigmoid, softmax', dtypes: ['bfloat16'], inputs: one, ts: (x) => [x.a.exp(), x.a.relu(), x.a.tanh(), x.a.sigmoid(), x.a.softmax(1)], py: '[a.exp(), a.relu(), a.tanh(), a.sigmoid(), F.softmax(a, 1)]' }),
  pc({ op: 'add', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.add(2.5), py: 'a + 2.5' }),
  pc({ op: 'add', label: 'int64 stays integer', dtypes: ['int64', 'int32', 'uint8'], inputs: (dt) => ({ a: ri([5], 0, 100, dt), b: ri([5], 0, 100, dt) }), ts: (x) => [x.a.add(x.b), x.a.add(3)], py: '[a + b, a + 3]' }),
  pc({ op: 'add', label: 'int tensor + fractional scalar promotes to float32', dtypes: ['int64'], inputs: () => ({ a: ri([5], -9, 9) }), ts: (x) => x.a.add(0.5), py: 'a + 0.5' }),
  pc({ op: 'add', label: 'float32 + float64 promotes', dtypes: ['float32'], inputs: () => ({ a: rn([4]), b: rn([4], 'float64') }), ts: (x) => x.a.add(x.b), py: 'a + b' }),
  pc({ op: 'sub', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.sub(x.b, 2), py: 'torch.sub(a, b, alpha=2)' }),
  pc({ op: 'sub', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.sub(1.25), py: 'a - 1.25' }),
  pc({ op: 'rsub', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.rsub(x.b, 0.5), py: 'torch.rsub(a, b, alpha=0.5)' }),
  pc({ op: 'rsub', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.rsub(1), py: '1 - a' }),
  pc({ op: 'mul', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.mul(x.b), py: 'a * b' }),
  pc({ op: 'mul', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.mul(-3), py: 'a * -3' }),
  pc({ op: 'mul', label: 'bool scalar', dtypes: ['bool'], inputs: () => ({ a: rb([6]) }), ts: (x) => x.a.mul(true), py: 'a * True' }),
  pc({ op: 'div', inputs: (dt) => ({ a: rn([3, 4], dt), b: un([4], 0.5, 2, dt) }), grad: ['a', 'b'], ts: (x) => x.a.div(x.b), py: 'a / b' }),
  pc({ op: 'div', label: 'int true division', dtypes: ['int64'], inputs: () => ({ a: ri([6], -20, 20), b: ri([6], 1, 7) }), ts: (x) => x.a.div(x.b), py: 'a / b' }),
  pc({ op: 'div', label: 'trunc', dtypes: ['int64', 'float32'], inputs: (dt) => ({ a: ri([6], -20, 20).to(dt), b: ri([6], 1, 7).to(dt) }), ts: (x) => x.a.div(x.b, 'trunc'), py: "torch.div(a, b, rounding_mode='trunc')" }),
  pc({ op: 'div', label: 'floor', dtypes: ['int64', 'float64'], inputs: (dt) => ({ a: ri([6], -20, 20).to(dt), b: ri([6], 1, 7).to(dt) }), ts: (x) => x.a.div(x.b, 'floor'), py: "torch.div(a, b, rounding_mode='floor')" }),
  pc({ op: 'div', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.div(4), py: 'a / 4' }),
  pc({ op: 'remainder', inputs: (dt) => ({ a: rn([3, 4], dt).mul(5), b: un([4], 0.5, 2, dt) }), grad: ['a'], ts: (x) => x.a.remainder(x.b), py: 'torch.remainder(a, b)' }),
  pc({ op: 'remainder', label: 'negative scalar divisor', dtypes: ['int64', 'float64'], inputs: (dt) => ({ a: ri([8], -20, 20).to(dt) }), ts: (x) => x.a.remainder(-3), py: 'torch.remainder(a, -3)' }),
  pc({ op: 'pow', inputs: (dt) => ({ a: un([3, 4], 0.5, 2, dt), b: rn([4], dt) }), grad: ['a', 'b'], ts: (x) => x.a.pow(x.b), py: 'a ** b' }),
  pc({ op: 'pow', label: 'scalar exponents', inputs: posA, grad: ['a'], ts: (x) => [x.a.pow(3), x.a.pow(0.5), x.a.pow(-1.5)], py: '[a ** 3, a ** 0.5, a ** -1.5]' }),
  pc({ op: 'pow', label: 'int base', dtypes: ['int64'], inputs: () => ({ a: ri([6], -4, 5) }), ts: (x) => [x.a.pow(2), x.a.pow(0.5)], py: '[a ** 2, a ** 0.5]' }),
  pc({ op: 'atan2', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.atan2(x.b), py: 'torch.atan2(a, b)' }),
  pc({ op: 'maximum', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.maximum(x.b), py: 'torch.maximum(a, b)' }),
  pc({ op: 'minimum', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.minimum(x.b), py: 'torch.minimum(a, b)' }),
  unary('neg', 'neg'),
  unary('abs', 'abs'),
  unary('exp', 'exp'),
  unary('log', 'log', posA),
  unary('log1p', 'log1p', posA),
  unary('sqrt', 'sqrt', posA),
  unary('rsqrt', 'rsqrt', posA),
  unary('square', 'square'),
  unary('reciprocal', 'reciprocal', posA),
  unary('sin', 'sin'),
  unary('cos', 'cos'),
  unary('sign', 'sign'),
  unary('floor', 'floor', (dt) => ({ a: rn([3, 5], dt).mul(4) })),
  unary('ceil', 'ceil', (dt) => ({ a: rn([3, 5], dt).mul(4) })),
  // Halves round to even in both.
  unary('round', 'round', (dt) => ({ a: torch.cat([rn([8], dt).mul(4), torch.tensor([0.5, 1.5, 2.5, -0.5, -2.5], { dtype: dt })]) })),
  pc({ op: 'abs', label: 'int', dtypes: ['int64', 'int32'], inputs: (dt) => ({ a: ri([7], -9, 9, dt) }), ts: (x) => x.a.abs(), py: 'a.abs()' }),
  pc({ op: 'clamp', inputs: one, grad: ['a'], ts: (x) => x.a.clamp(-0.5, 0.7), py: 'a.clamp(-0.5, 0.7)' }),
  pc({ op: 'clamp', label: 'min only / max only', inputs: one, grad: ['a'], ts: (x) => [x.a.clamp(0), x.a.clamp(null, 0.25)], py: '[a.clamp(min=0), a.clamp(max=0.25)]' }),
  pc({ op: 'clamp', label: 'int', dtypes: ['int64'], inputs: () => ({ a: ri([9], -9, 9) }), ts: (x) => x.a.clamp(-2, 3), py: 'a.clamp(-2, 3)' }),
  pc({ op: 'lerp', inputs: (dt) => ({ a: rn([3, 4], dt), b: rn([3, 4], dt), w: un([4], 0, 1, dt) }), grad: ['a', 'b', 'w'], ts: (x) => x.a.lerp(x.b, x.w), py: 'torch.lerp(a, b, w)' }),
  pc({ op: 'lerp', label: 'scalar weight', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.lerp(x.b, 0.3), py: 'torch.lerp(a, b, 0.3)' }),

  // ---- in place (on a clone, so the graph reaches the inputs) ----
  pc({ op: 'add_', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.clone().add_(x.b, -2), py: 'a.clone().add_(b, alpha=-2)' }),
  pc({ op: 'add_', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.clone().add_(0.5), py: 'a.clone().add_(0.5)' }),
  pc({ op: 'sub_', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.clone().sub_(x.b, 0.5), py: 'a.clone().sub_(b, alpha=0.5)' }),
  pc({ op: 'mul_', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.clone().mul_(x.b), py: 'a.clone().mul_(b)' }),
  pc({ op: 'mul_', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.clone().mul_(0.9), py: 'a.clone().mul_(0.9)' }),
  pc({ op: 'div_', inputs: (dt) => ({ a: rn([3, 4], dt), b: un([4], 0.5, 2, dt) }), grad: ['a', 'b'], ts: (x) => x.a.clone().div_(x.b), py: 'a.clone().div_(b)' }),
  pc({ op: 'div_', label: 'scalar', inputs: one, grad: ['a'], ts: (x) => x.a.clone().div_(3), py: 'a.clone().div_(3)' }),
  pc({ op: 'addcmul_', inputs: (dt) => ({ a: rn([3, 4], dt), b: rn([3, 4], dt), c: rn([4], dt) }), grad: ['a', 'b', 'c'], ts: (x) => x.a.clone().addcmul_(x.b, x.c, 0.3), py: 'a.clone().addcmul_(b, c, value=0.3)' }),
  pc({ op: 'addcdiv_', inputs: (dt) => ({ a: rn([3, 4], dt), b: rn([3, 4], dt), c: un([4], 0.5, 2, dt) }), grad: ['a', 'b', 'c'], ts: (x) => x.a.clone().addcdiv_(x.b, x.c, -0.7), py: 'a.clone().addcdiv_(b, c, value=-0.7)' }),
  pc({ op: 'lerp_', inputs: ab, grad: ['a', 'b'], ts: (x) => x.a.clone().lerp_(x.b.expand([3, 4]), 0.25), py: 'a.clone().lerp_(b.expand(3, 4), 0.25)' }),
  pc({ op: 'clamp_', inputs: one, grad: ['a'], ts: (x) => x.a.clone().clamp_(-0.3, null), py: 'a.clone().clamp_(min=-0.3)' }),
  pc({ op: 'sqrt_', inputs: posA, grad: ['a'], ts: (x) => x.a.clone().sqrt_(), py: 'a.clone().sqrt_()' }),
  // An out= call: PyTorch gives it no autograd, so forward only.
  pc({ op: 'maximum_', inputs: ab, ts: (x) => x.a.maximum_(x.b), py: 'torch.maximum(a, b, out=a)' }),

  // ---- comparison and logic: exact ----
  ...(['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const).map((op) => pc({
    op, dtypes: ['float32', 'int64'], inputs: tiesAB,
    ts: (x) => [x.a[op](x.b), x.a[op](1)], py: `[torch.${op}(a, b), torch.${op}(a, 1)]`,
  })),
  pc({ op: 'logicalAnd', dtypes: ['bool'], inputs: () => ({ a: rb([3, 4]), b: rb([4]) }), ts: (x) => x.a.logicalAnd(x.b), py: 'torch.logical_and(a, b)' }),
  pc({ op: 'logicalOr', dtypes: ['bool'], inputs: () => ({ a: rb([3, 4]), b: rb([4]) }), ts: (x) => x.a.logicalOr(x.b), py: 'torch.logical_or(a, b)' }),
  pc({ op: 'logicalNot', dtypes: ['bool', 'float32'], inputs: (dt) => ({ a: ri([3, 4], 0, 2).to(dt) }), ts: (x) => x.a.logicalNot(), py: 'torch.logical_not(a)' }),
  pc({ op: 'isnan', inputs: (dt) => ({ a: torch.cat([rn([5], dt), torch.tensor([0, 1, -1], { dtype: dt }).div(0)]) }), ts: (x) => x.a.isnan(), py: 'torch.isnan(a)' }),
  pc({ op: 'isfinite', inputs: (dt) => ({ a: torch.cat([rn([5], dt), torch.tensor([0, 1, -1], { dtype: dt }).div(0)]) }), ts: (x) => x.a.isfinite(), py: 'torch.isfinite(a)' }),
  pc({ op: 'where', inputs: (dt) => ({ c: rb([3, 4]), a: rn([3, 4], dt), b: rn([4], dt) }), grad: ['a', 'b'], ts: (x) => torch.where(x.c, x.a, x.b), py: 'torch.where(c, a, b)' }),
  pc({ op: 'where', label: 'scalars', dtypes: ['float32'], inputs: () => ({ c: rb([3, 4]), a: rn([3, 4]) }), ts: (x) => [torch.where(x.c, x.a, 0), torch.where(x.c, 1.5, -2.5)], py: '[torch.where(c, a, 0.0), torch.where(c, 1.5, -2.5)]' }),
  pc({ op: 'allclose', inputs: ab, ts: (x) => [x.a.allclose(x.a.add(1e-9)), x.a.allclose(x.a.add(1e-3)), x.a.allclose(x.a.add(1e-3), 0, 1e-2)], py: '[a.allclose(a + 1e-9), a.allclose(a + 1e-3), a.allclose(a + 1e-3, 0, 1e-2)]' }),
  pc({ op: 'equal', inputs: ab, ts: (x) => [x.a.equal(x.a.clone()), x.a.equal(x.b)], py: '[a.equal(a.clone()), a.equal(b)]' }),

  // ---- activations ----
  unary('relu', 'relu'),
  pc({ op: 'leakyRelu', inputs: one, grad: ['a'], ts: (x) => [x.a.leakyRelu(), x.a.leakyRelu(0.2)], py: '[F.leaky_relu(a), F.leaky_relu(a, 0.2)]' }),
  pc({ op: 'elu', inputs: one, grad: ['a'], ts: (x) => [x.a.elu(), x.a.elu(0.5)], py: '[F.elu(a), F.elu(a, 0.5)]' }),
  unary('tanh', 'tanh'),
  unary('sigmoid', 'sigmoid'),
  pc({ op: 'gelu', inputs: one, grad: ['a'], ts: (x) => x.a.gelu(), py: 'F.gelu(a)' }),
  pc({ op: 'gelu', label: 'tanh approximation', inputs: one, grad: ['a'], ts: (x) => x.a.gelu('tanh'), py: "F.gelu(a, approximate='tanh')" }),
  pc({ op: 'softplus', inputs: (dt) => ({ a: rn([3, 5], dt).mul(4) }), grad: ['a'], ts: (x) => [x.a.softplus(), x.a.softplus(2, 5)], py: '[F.softplus(a), F.softplus(a, 2, 5)]' }),
  pc({ op: 'hardtanh', inputs: one, grad: ['a'], ts: (x) => [x.a.hardtanh(), x.a.hardtanh(-0.5, 0.25)], py: '[F.hardtanh(a), F.hardtanh(a, -0.5, 0.25)]' }),
  pc({ op: 'softmax', inputs: (dt) => ({ a: rn([2, 3, 4], dt) }), grad: ['a'], ts: (x) => x.a.softmax(1), py: 'F.softmax(a, 1)' }),
  pc({ op: 'logSoftmax', inputs: (dt) => ({ a: rn([2, 3, 4], dt) }), grad: ['a'], ts: (x) => x.a.logSoftmax(-1), py: 'F.log_softmax(a, -1)' }),
];
