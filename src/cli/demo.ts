// The main job on embedded data. Until the model families land, it trains a tiny conv net with torch.nn and Adam
// to map a random image to a target (a shifted, channel-mixed copy) and prints the falling loss.
import * as torch from '../torch/index.js';

const { nn, optim } = torch;

export async function demo(_args: string[]): Promise<void> {
  torch.manualSeed(0);
  const net = new nn.Sequential(
    new nn.Conv2d(3, 16, 3, { padding: 1 }), new nn.BatchNorm2d(16), new nn.LeakyReLU(0.2),
    new nn.Conv2d(16, 16, 3, { padding: 1, paddingMode: 'reflect' }), new nn.ReLU(),
    new nn.Conv2d(16, 3, 3, { padding: 1 }), new nn.Tanh(),
  );
  const opt = new optim.Adam(net.parameters(), { lr: 2e-3, betas: [0.5, 0.999] });
  const sched = new optim.StepLR(opt, { stepSize: 150, gamma: 0.5 });
  const input = torch.scope(() => torch.rand([4, 3, 16, 16]).mul(2).sub(1)).keep();
  const target = torch.scope(() => input.roll([2], [3]).flip([1]).mul(0.8)).keep();
  console.log(`reposer engine demo: libtorch ${torch.libtorchVersion()}, ${torch.getNumThreads()} threads, ` +
    `${net.numParameters()} parameters`);
  const started = performance.now();
  for (let step = 0; step <= 300; step++) {
    const loss = torch.scope(() => {
      opt.zeroGrad();
      const l = torch.l1Loss(net.forward(input), target);
      l.backward();
      opt.step();
      return l.item();
    });
    sched.step();
    if (step % 50 === 0) console.log(`step ${String(step).padStart(3)}  L1 loss ${loss.toFixed(5)}  lr ${opt.lr.toExponential(1)}`);
  }
  net.eval();
  const evalLoss = torch.scope(() => torch.noGrad(() => torch.l1Loss(net.forward(input), target).item()));
  console.log(`eval-mode L1 loss ${evalLoss.toFixed(5)}; ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
    `live tensors ${torch.memory().numTensors}`);
  opt.dispose();
  net.dispose();
  torch.dispose([input, target]);
}
