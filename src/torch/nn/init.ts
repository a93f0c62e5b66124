// torch.nn.init: in-place initialisers, with PyTorch's formulas and argument order. Each runs without gradient
// recording and returns the tensor it filled.
import { Tensor, noGrad, scope } from '../tensor.js';
import { linalgQr, randn } from '../gen/ops.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d'
  | 'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain); `param` is leaky_relu's slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new Error(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * [fanIn, fanOut] of a weight of at least 2 dims: dim 1 and dim 0 times the receptive field (product of dims 2..).
 * For ConvTranspose2d's (Cin, Cout/groups, kH, kW) weight this gives PyTorch's (transposed) reading too.
 */
export function calculateFanInAndFanOut(tensor: Tensor): [number, number] {
  const shape = tensor.shape;
  if (shape.length < 2) {
    throw new Error(`calculateFanInAndFanOut: the tensor has shape [${shape.join(',')}]; fan in and fan out need at least 2 dims`);
  }
  let receptive = 1;
  for (let d = 2; d < shape.length; d++) receptive *= shape[d] as number;
  return [(shape[1] as number) * receptive, (shape[0] as number) * receptive];
}

function fan(tensor: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new Error(`init: mode '${String(mode)}' must be 'fan_in' or 'fan_out'`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return mode === 'fan_in' ? fanIn : fanOut;
}

/** Fills with U(a, b). Defaults a = 0, b = 1. */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => tensor.uniform_(a, b));
}

/** Fills with N(mean, std²). Defaults mean = 0, std = 1. */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => tensor.normal_(mean, std));
}

/** Fills with `value`. */
export function constant_(tensor: Tensor, value: number): Tensor {
  return noGrad(() => tensor.fill_(value));
}

export function ones_(tensor: Tensor): Tensor {
  return constant_(tensor, 1);
}

export function zeros_(tensor: Tensor): Tensor {
  return constant_(tensor, 0);
}

/** Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)). Default gain 1. */
export function xavierUniform_(tensor: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const a = Math.sqrt(3) * gain * Math.sqrt(2 / (fanIn + fanOut));
  return uniform_(tensor, -a, a);
}

/** Glorot normal: N(0, std²), std = gain * sqrt(2 / (fanIn + fanOut)). Default gain 1. */
export function xavierNormal_(tensor: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return normal_(tensor, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/**
 * He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculateGain(nonlinearity, a).
 * Defaults a = 0, mode 'fan_in', nonlinearity 'leaky_relu' (as torch.nn.init.kaiming_uniform_).
 */
export function kaimingUniform_(tensor: Tensor, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): Tensor {
  const bound = Math.sqrt(3) * calculateGain(nonlinearity, a) / Math.sqrt(fan(tensor, mode));
  return uniform_(tensor, -bound, bound);
}

/** He normal: N(0, std²), std = gain / sqrt(fan). Same defaults as kaimingUniform_. */
export function kaimingNormal_(tensor: Tensor, a = 0, mode: FanMode = 'fan_in', nonlinearity: Nonlinearity = 'leaky_relu'): Tensor {
  return normal_(tensor, 0, calculateGain(nonlinearity, a) / Math.sqrt(fan(tensor, mode)));
}

/**
 * A (semi-)orthogonal matrix times gain, for a tensor of at least 2 dims viewed as (size(0), rest). Rows (or
 * columns, whichever are fewer) are orthonormal. As torch.nn.init.orthogonal_: QR of a Gaussian matrix with the
 * signs of R's diagonal folded into Q so the result is uniformly distributed.
 */
export function orthogonal_(tensor: Tensor, gain = 1): Tensor {
  const shape = tensor.shape;
  if (shape.length < 2) throw new Error(`orthogonal_: the tensor has shape [${shape.join(',')}]; it needs at least 2 dims`);
  if (tensor.size === 0) return tensor;
  const rows = shape[0] as number;
  const cols = tensor.size / rows;
  noGrad(() => scope(() => {
    let flat = randn([rows, cols], tensor.dtype, tensor.device);
    if (rows < cols) flat = flat.transpose(0, 1);
    const [qRaw, r] = linalgQr(flat);
    let q = qRaw.mul(r.diag(0).sign());
    if (rows < cols) q = q.transpose(0, 1);
    tensor.copy_(q.reshape([...shape]).mul(gain));
  }));
  return tensor;
}
