import { native as N } from './native.js';
import { Tensor, handles } from './tensor.js';

export interface GradOptions {
  /** Gradients flowing into each output; needed for non-scalar outputs. */
  gradOutputs?: (Tensor | null)[];
  /** Keep the graph for another backward pass. Defaults to createGraph. */
  retainGraph?: boolean;
  /** Record the gradient computation itself, for higher-order terms such as gradient penalties. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** d(outputs)/d(inputs) without touching .grad (torch.autograd.grad). New tensors, owned by the caller. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const create = options.createGraph ?? false;
  const gradOutputs = (options.gradOutputs ?? outs.map(() => null)).map((g) => (g === null ? null : g.handle));
  const hs = N.autogradGrad(handles(outs), handles(ins), gradOutputs, options.retainGraph ?? create, create,
    options.allowUnused ?? false);
  return hs.map((h) => (h < 0 ? null : new Tensor(h)));
}
