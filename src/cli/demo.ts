// The main job on embedded data. Until the model families land, it trains a tiny conv net on the engine
// and prints its falling loss.
import * as torch from '../torch/index.js';

export async function demo(_args: string[]): Promise<void> {
  torch.manualSeed(0);
  const target = torch.randn([1, 3, 16, 16]).keep();
  const input = torch.randn([1, 4, 16, 16]).keep();
  const w1 = torch.randn([8, 4, 3, 3]).mul(0.2).requiresGrad_().keep();
  const w2 = torch.randn([3, 8, 3, 3]).mul(0.2).requiresGrad_().keep();
  console.log(`reposer engine demo: libtorch ${torch.libtorchVersion()}, ${torch.getNumThreads()} threads`);
  for (let step = 0; step <= 200; step++) {
    const loss = torch.scope(() => {
      const y = torch.conv2d(torch.conv2d(input, w1, null, 1, 1).relu(), w2, null, 1, 1);
      const l = torch.mseLoss(y, target);
      l.backward();
      torch.noGrad(() => {
        for (const w of [w1, w2]) {
          const g = w.grad as torch.Tensor;
          w.sub_(g, 0.05);
          w.grad = null;
        }
      });
      return l.item();
    });
    if (step % 40 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.toFixed(5)}`);
  }
  torch.dispose([target, input, w1, w2]);
}
