// Precision of training and generation: fp32, or bf16 under libtorch's CPU autocast where the CPU runs bf16 natively.
import * as torch from '../torch/index.js';

export type Precision = 'fp32' | 'bf16';

/**
 * How work runs at `precision`: plainly, or under CPU bf16 autocast (convolutions and matrix products in bf16; master
 * weights, optimiser state and losses stay fp32). On a CPU without native bf16 (avx512_bf16 or amx_bf16), where bf16
 * runs many times slower, it says so once through `notice` and runs fp32. `what` names the caller in messages.
 */
export function runAt(precision: Precision, what: string, notice: (line: string) => void): <T>(fn: () => T) => T {
  if (precision !== 'fp32' && precision !== 'bf16') throw new Error(`${what}: --precision must be fp32 or bf16, got '${String(precision)}'`);
  if (precision === 'fp32') return (fn) => fn();
  if (!torch.autocastSupported('cpu', 'bfloat16')) {
    notice(`${what}: this CPU has no native bfloat16 (avx512_bf16 or amx_bf16), where bf16 runs many times slower than fp32; running in fp32`);
    return (fn) => fn();
  }
  return (fn) => torch.autocast('cpu', 'bfloat16', fn);
}
