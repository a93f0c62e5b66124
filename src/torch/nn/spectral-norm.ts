// Spectral normalisation (Miyato et al. 2018) as torch.nn.utils.spectral_norm: the weight is divided by an estimate of
// its largest singular value, kept up to date by power iteration.
import { Tensor, noGrad, scope } from '../tensor.js';
import { randn } from '../gen/ops.js';
import { Module, registryEdit, registryRead } from './module.js';
import { ConvTranspose2d } from './conv.js';

export interface SpectralNormOptions {
  /** The parameter to normalise. Default 'weight'. */
  name?: string;
  /** Power-iteration steps per training-mode forward. Default 1. */
  nPowerIterations?: number;
  /** Floor on the norms when normalising u and v. Default 1e-12. */
  eps?: number;
  /** The weight dim that indexes output features: 1 for ConvTranspose2d, 0 otherwise (the default picks). */
  dim?: number;
}

/** x / max(||x||, eps) for a vector, as F.normalize(x, dim=0). */
function normalize(x: Tensor, eps: number): Tensor {
  return x.div(x.norm(2, [0], true).clamp(eps));
}

/** The weight viewed as a (size(dim), rest) matrix. */
function toMatrix(weight: Tensor, dim: number): Tensor {
  let w = weight;
  if (dim !== 0) {
    const order = [dim, ...weight.shape.map((_, d) => d).filter((d) => d !== dim)];
    w = w.permute(order);
  }
  return w.reshape([weight.shape[dim] as number, -1]);
}

/**
 * Re-parametrises `module[name]` (default 'weight') as weight_orig / sigma, where sigma = uᵀ W v estimates W's largest
 * singular value, W being the weight as a (size(dim), rest) matrix. Registers the parameter `<name>_orig` (the same
 * tensor as before) and buffers `<name>_u` (size(dim)) and `<name>_v` (rest), so state dicts match PyTorch's. Each
 * forward sets `module[name]` to the normalised weight (owned by the caller's scope, like any forward result); in
 * training mode it first runs nPowerIterations steps of power iteration on u and v without gradient. Returns module.
 */
export function spectralNorm<M extends Module>(module: M, options: SpectralNormOptions = {}): M {
  const name = options.name ?? 'weight';
  const nPower = options.nPowerIterations ?? 1;
  const eps = options.eps ?? 1e-12;
  const layer = `spectralNorm(${module.constructor.name}, '${name}')`;
  if (!Number.isInteger(nPower) || nPower < 0) throw new Error(`${layer}: nPowerIterations must be an integer >= 0, got ${nPower}`);
  if (!(eps > 0)) throw new Error(`${layer}: eps must be > 0, got ${eps}`);
  const entry = registryRead(module, name);
  if (entry?.kind !== 'param') {
    const already = registryRead(module, `${name}_orig`) ? ' (spectral norm is already applied to it)' : '';
    throw new Error(`${layer}: the module has no parameter '${name}'${already}`);
  }
  const weight = entry.value;
  const dim = options.dim ?? (module instanceof ConvTranspose2d ? 1 : 0);
  if (!Number.isInteger(dim) || dim < 0 || dim >= weight.ndim) throw new Error(`${layer}: dim ${dim} is not a dim of the weight [${weight.shape.join(',')}]`);

  const [u, v] = noGrad(() => scope((): [Tensor, Tensor] => {
    const [h, w] = toMatrix(weight, dim).shape as [number, number];
    return [normalize(randn([h], weight.dtype, weight.device), eps), normalize(randn([w], weight.dtype, weight.device), eps)];
  }));
  registryEdit(module, name, null);
  registryEdit(module, `${name}_orig`, { kind: 'param', value: weight });
  registryEdit(module, `${name}_u`, { kind: 'buffer', value: u.keep() });
  registryEdit(module, `${name}_v`, { kind: 'buffer', value: v.keep() });

  const fields = module as unknown as Record<string, unknown>;
  fields[name] = weight;
  const forward = module.forward as (...args: unknown[]) => unknown;
  const normalised = (): Tensor => scope(() => {
    const mat = toMatrix(weight, dim);
    if (module.training && nPower > 0) {
      noGrad(() => scope(() => {
        for (let i = 0; i < nPower; i++) {
          v.copy_(normalize(mat.transpose(0, 1).matmul(u), eps));
          u.copy_(normalize(mat.matmul(v), eps));
        }
      }));
    }
    // Copies, so that later in-place power iterations do not invalidate this graph's saved u and v.
    const [uc, vc] = noGrad((): [Tensor, Tensor] => [u.clone(), v.clone()]);
    const sigma = uc.dot(mat.matmul(vc));
    return weight.div(sigma);
  });
  Object.defineProperty(module, 'forward', {
    configurable: true,
    writable: true,
    value: function spectralNormForward(...args: unknown[]): unknown {
      fields[name] = normalised();
      return forward.apply(module, args);
    },
  });
  return module;
}
