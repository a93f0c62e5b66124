// LPIPS v0.1 with AlexNet (the lpips package's LPIPS(net='alex'), which GFLA, PIDM and CFLD call): torchvision's
// alexnet.features in its layout, the package's ScalingLayer, unit-normalised features at the five ReLUs, squared
// differences weighted by the 1x1 "lin" convolutions, averaged over space and summed over layers.
import * as torch from '../torch/index.js';
import { loadWeights, WEIGHTS_DIR } from './weights.js';

const { Module, Conv2d, ReLU, MaxPool2d, Sequential, Dropout } = torch.nn;

/** Channels at the five taps (relu1..relu5) of AlexNet's features. */
const TAP_CHANNELS = [64, 192, 384, 256, 256];
/** The index in `features` after which each tap is read (relu1 = features[1], ... relu5 = features[11]). */
const TAP_AFTER = [1, 4, 7, 9, 11];
// lpips.pretrained_networks ScalingLayer constants.
const SHIFT = [-0.030, -0.088, -0.188];
const SCALE = [0.458, 0.448, 0.450];

/** torchvision's alexnet().features, indices as there so `features.<i>.weight` keys load by name. */
export class AlexNetFeatures extends Module {
  readonly features: torch.nn.Sequential;

  constructor() {
    super();
    this.features = this.module('features', new Sequential(
      new Conv2d(3, 64, 11, { stride: 4, padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }), new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
    ));
  }

  /** x (N,3,H,W) -> the five relu taps, (N,64|192|384|256|256,h,w). */
  forward(x: torch.Tensor): torch.Tensor[] {
    const taps: torch.Tensor[] = [];
    let h = x;
    for (let i = 0; i <= TAP_AFTER[TAP_AFTER.length - 1]!; i++) {
      h = this.features.at(i).forward(h);
      if (TAP_AFTER.includes(i)) taps.push(h);
    }
    return taps;
  }
}

/** lpips' NetLinLayer: Dropout then a bias-free 1x1 conv to one channel (`lin<k>.model.1.weight`). */
class NetLinLayer extends Module {
  readonly model: torch.nn.Sequential;

  constructor(channels: number) {
    super();
    this.model = this.module('model', new Sequential(new Dropout(), new Conv2d(channels, 1, 1, { bias: false })));
  }

  forward(x: torch.Tensor): torch.Tensor {
    return this.model.forward(x);
  }
}

/** The v0.1 linear layers, named `lin0` .. `lin4` as in alex.pth. */
export class LpipsLinear extends Module {
  readonly lins: NetLinLayer[];

  constructor() {
    super();
    this.lins = TAP_CHANNELS.map((c, k) => this.module(`lin${k}`, new NetLinLayer(c)));
  }

  forward(): never {
    throw new Error('LpipsLinear holds the per-layer weights; call Lpips.forward');
  }
}

/** LPIPS(net='alex', version='0.1') in eval mode. */
export class Lpips extends Module {
  readonly net: AlexNetFeatures;
  readonly linear: LpipsLinear;

  constructor() {
    super();
    this.net = this.module('net', new AlexNetFeatures());
    this.linear = this.module('linear', new LpipsLinear());
    this.eval();
  }

  /**
   * Loads torchvision's alexnet weights (their `features.*`) and the LPIPS v0.1 linear layers from `dir`.
   * Throws naming a missing file.
   */
  static fromWeights(dir: string = WEIGHTS_DIR): Lpips {
    const model = new Lpips();
    const alex = loadWeights('alexnet', dir, ['features.']);
    const lin = loadWeights('lpipsAlex', dir);
    try {
      model.net.loadStateDict(alex);
      model.linear.loadStateDict(lin);
    } finally {
      torch.dispose([...alex.values(), ...lin.values()]);
    }
    return model;
  }

  /**
   * @param a (N,3,H,W) in [-1,1] (lpips' normalize=False input)
   * @param b (N,3,H,W) in [-1,1]
   * @returns (N) float32 distances
   */
  forward(a: torch.Tensor, b: torch.Tensor): torch.Tensor {
    if (a.ndim !== 4 || a.shape.join(',') !== b.shape.join(',') || a.shape[1] !== 3) {
      throw new Error(`Lpips: expected two (N,3,H,W) images of one shape, got [${a.shape}] and [${b.shape}]`);
    }
    return torch.noGrad(() => torch.scope(() => {
      const shift = torch.tensor(SHIFT).view([1, 3, 1, 1]);
      const scale = torch.tensor(SCALE).view([1, 3, 1, 1]);
      const fa = this.net.forward(a.sub(shift).div(scale));
      const fb = this.net.forward(b.sub(shift).div(scale));
      let total: torch.Tensor | null = null;
      fa.forEach((f, k) => {
        // lpips.normalize_tensor: x / (sqrt(sum_c x^2) + 1e-10)
        const unit = (t: torch.Tensor) => t.div(t.square().sum([1], true).sqrt().add(1e-10));
        const d = unit(f).sub(unit(fb[k]!)).square();
        const layer = this.linear.lins[k]!.forward(d).mean([2, 3], true);
        total = total === null ? layer : total.add(layer);
      });
      return (total as unknown as torch.Tensor).view([a.shape[0] as number]);
    }));
  }
}
