import * as torch from '../../../src/torch/index.js';

/** A deterministic chain of ops (no random numbers: the generator is shared by all threads) giving one number. */
export function deterministicWork(): number {
  return torch.scope(() => {
    const x = torch.arange(0, 2 * 3 * 16 * 16, 1, 'float32').reshape([2, 3, 16, 16]).div(1000).sin();
    const w = torch.arange(0, 8 * 3 * 3 * 3, 1, 'float32').reshape([8, 3, 3, 3]).div(100).cos();
    const y = torch.conv2d(x, w, null, 1, 1).relu();
    return torch.maxPool2d(y, 2).matmul(torch.eye(8)).sum().item();
  });
}
