// VGG19 feature extractor for perceptual and nearest-neighbour losses, laid out exactly as torchvision's
// `vgg19().features` so torchvision's ImageNet state dict loads by name (`features.0.weight` ... `features.34.bias`).
// The network is frozen: its weights never require gradients, but gradients still flow through it to the input.
import { existsSync } from 'node:fs';
import * as torch from '../../torch/index.js';
import type { VggSection } from '../sections.js';
import { Rng, deriveSeed } from '../../random.js';

/** Where every family's config names the VGG19 weights file. */
export const VGG_WEIGHTS_KEY = 'loss.vgg.weights';

/** The default place for torchvision's VGG19 ImageNet weights (config key `loss.vgg.weights`); no other path literal names it. */
export const DEFAULT_VGG19_WEIGHTS = 'weights/vgg19-dcbb9e9d.pth';
/** Where torchvision downloads them from (`torchvision.models.vgg19(weights='IMAGENET1K_V1')`). */
export const VGG19_URL = 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth';

// torchvision's configuration 'E': channel counts, 'M' for a 2x2 max-pool.
const CFG: readonly (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'];

type Layer = { kind: 'conv'; index: number; inC: number; outC: number } | { kind: 'relu'; index: number } | { kind: 'pool'; index: number };

/** The `features` layers in torchvision order, with the Caffe-style names the losses use. */
function layout(): { layers: Layer[]; names: Map<string, number> } {
  const layers: Layer[] = [];
  const names = new Map<string, number>();
  let inC = 3;
  let block = 1;
  let conv = 1;
  for (const c of CFG) {
    if (c === 'M') {
      names.set(`pool${block}`, layers.length);
      layers.push({ kind: 'pool', index: layers.length });
      block += 1;
      conv = 1;
    } else {
      names.set(`conv${block}_${conv}`, layers.length);
      layers.push({ kind: 'conv', index: layers.length, inC, outC: c });
      names.set(`relu${block}_${conv}`, layers.length);
      layers.push({ kind: 'relu', index: layers.length });
      inC = c;
      conv += 1;
    }
  }
  return { layers, names };
}

const LAYOUT = layout();

/** Every tap name: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ... relu5_4, pool5. */
export const VGG19_TAPS: readonly string[] = [...LAYOUT.names.keys()];
export type Vgg19Tap = string;

/** Index of a tap in torchvision's `features` (e.g. relu1_2 -> 3); throws naming the valid taps. */
export function vgg19TapIndex(tap: Vgg19Tap): number {
  const i = LAYOUT.names.get(tap);
  if (i === undefined) throw new Error(`VGG19: unknown layer '${tap}'. Valid names: ${VGG19_TAPS.join(', ')}`);
  return i;
}

// ImageNet statistics torchvision's weights were trained with (inputs in [0,1], RGB).
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const SCALE = Float32Array.from(STD, (s) => 0.5 / s);
const SHIFT = Float32Array.from(MEAN, (m, i) => (0.5 - m) / (STD[i] as number));

/** Holds the convolutions under their torchvision indices ('0', '2', '5', ...), so names read `features.0.weight`. */
class FeatureStack extends torch.nn.Module {
  readonly convs = new Map<number, torch.nn.Conv2d>();

  constructor(lastIndex: number) {
    super();
    for (const l of LAYOUT.layers) {
      if (l.index > lastIndex) break;
      if (l.kind === 'conv') this.convs.set(l.index, this.module(String(l.index), new torch.nn.Conv2d(l.inC, l.outC, 3, { padding: 1 })));
    }
  }

  forward(x: torch.Tensor): torch.Tensor {
    return x;
  }
}

export interface Vgg19Options {
  /** The deepest layer to build; later layers are not built (their weights are not loaded). Default 'relu5_4'. */
  lastLayer?: Vgg19Tap;
}

/**
 * VGG19 `features` up to `lastLayer`, frozen. forward() takes images in [-1,1], applies ImageNet normalisation and
 * returns the requested taps.
 */
export class Vgg19Features extends torch.nn.Module {
  readonly features: FeatureStack;
  readonly lastIndex: number;

  constructor(options: Vgg19Options = {}) {
    super();
    this.lastIndex = vgg19TapIndex(options.lastLayer ?? 'relu5_4');
    this.features = this.module('features', new FeatureStack(this.lastIndex));
    this.freeze();
    this.eval();
  }

  /** Stops gradients to the weights (they still flow to the input). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }

  /** ImageNet normalisation of (N,3,H,W) images in [-1,1]. */
  normalize(x: torch.Tensor): torch.Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) {
      throw new Error(`VGG19: expected images (N,3,H,W) in [-1,1], got shape [${x.shape.join(',')}]`);
    }
    // [-1,1] -> [0,1] -> (x - mean) / std, folded into one multiply-add: x * (0.5/std) + (0.5 - mean)/std.
    // The constants are made per call: a module nested in another is released by the parent's dispose(), which
    // frees registered tensors only (and buffers would add keys torchvision's state dict does not have).
    return torch.scope(() => {
      let scale = torch.tensor(SCALE, [1, 3, 1, 1]);
      let shift = torch.tensor(SHIFT, [1, 3, 1, 1]);
      if (x.dtype !== 'float32') [scale, shift] = [scale.to(x.dtype), shift.to(x.dtype)];
      if (x.device !== 'cpu') [scale, shift] = [scale.toDevice(x.device), shift.toDevice(x.device)];
      return x.mul(scale).add(shift);
    });
  }

  /**
   * Runs the network on images (N,3,H,W) in [-1,1] and returns the named taps (e.g. ['relu1_2', 'relu2_1']),
   * in the order asked. Stops after the deepest tap asked for.
   */
  forward(x: torch.Tensor, taps: readonly Vgg19Tap[] = ['relu1_2']): torch.Tensor[] {
    const wanted = taps.map((t) => vgg19TapIndex(t));
    const deepest = Math.max(...wanted);
    if (deepest > this.lastIndex) {
      throw new Error(`VGG19: layer '${taps[wanted.indexOf(deepest)]}' is deeper than this extractor's lastLayer; build it with a deeper lastLayer`);
    }
    return torch.scope(() => {
      const out = new Map<number, torch.Tensor>();
      let h = this.normalize(x);
      for (const l of LAYOUT.layers) {
        if (l.index > deepest) break;
        if (l.kind === 'conv') h = (this.features.convs.get(l.index) as torch.nn.Conv2d).forward(h);
        else if (l.kind === 'relu') h = h.relu();
        else h = torch.maxPool2d(h, 2, 2);
        if (wanted.includes(l.index)) out.set(l.index, h);
      }
      return wanted.map((i) => out.get(i) as torch.Tensor);
    });
  }

  /**
   * Loads torchvision's vgg19 state dict entries `features.N.*` (others, such as `classifier.*`, are ignored).
   * Every layer this extractor has must be present with torchvision's shape.
   */
  loadTorchvision(state: Map<string, torch.Tensor>): this {
    const own = this.stateDict();
    const picked = new Map<string, torch.Tensor>();
    const missing: string[] = [];
    for (const name of own.keys()) {
      const t = state.get(name);
      if (t === undefined) missing.push(name);
      else picked.set(name, t);
    }
    if (missing.length > 0) {
      throw new Error(`VGG19: the state dict lacks ${missing.join(', ')}; is it torchvision's vgg19 (keys 'features.0.weight' ... 'features.34.bias')?`);
    }
    torch.noGrad(() => this.loadStateDict(picked));
    return this.freeze();
  }

}

/** The error raised when the VGG19 weights file is absent; it says which file, which config key, and where to get it. */
export function missingVgg19Error(path: string, configKey = VGG_WEIGHTS_KEY): Error {
  return new Error(
    `VGG19 weights not found at '${path}'. This loss needs torchvision's VGG19 ImageNet weights (vgg19-dcbb9e9d.pth, ` +
      `548 MB). Download ${VGG19_URL} and save it as '${DEFAULT_VGG19_WEIGHTS}' (the default), or point the config key ` +
      `'${configKey}' at it, e.g. --set ${configKey}=/path/to/vgg19-dcbb9e9d.pth`,
  );
}

/**
 * Builds a frozen VGG19 extractor from torchvision's .pth file, read by the engine's importer
 * (torch.io.loadPthStateDict). Throws missingVgg19Error when the file is absent. The file's tensors are disposed
 * after loading.
 */
export function loadVgg19(path: string, options: Vgg19Options & { configKey?: string } = {}): Vgg19Features {
  if (!existsSync(path)) throw missingVgg19Error(path, options.configKey);
  const state = torch.io.loadPthStateDict(path);
  const vgg = new Vgg19Features(options);
  try {
    vgg.loadTorchvision(state);
  } catch (err) {
    vgg.dispose();
    throw err;
  } finally {
    for (const t of state.values()) t.dispose();
  }
  return vgg;
}

/** The seed of the "random" VGG weights: one fixed feature network, the same on every machine and every run. */
export const RANDOM_VGG_SEED = 0x76676719;

/**
 * A state dict in torchvision's vgg19 layout (`features.N.weight/bias`, up to `lastLayer`) with He-normal weights and
 * biases of std 0.01, drawn from our own generator at a fixed seed: the `"random"` value of `loss.vgg.weights`. It is
 * the shippable stand-in for ImageNet VGG (a fixed random feature network) and what the tests use; it does not touch
 * libtorch's generator, so a run resumes identically. The caller owns the tensors.
 */
export function randomVgg19StateDict(lastLayer: Vgg19Tap = 'relu5_4', seed = RANDOM_VGG_SEED): Map<string, torch.Tensor> {
  const last = vgg19TapIndex(lastLayer);
  const out = new Map<string, torch.Tensor>();
  for (const l of LAYOUT.layers) {
    if (l.index > last) break;
    if (l.kind !== 'conv') continue;
    const rng = new Rng(deriveSeed(seed, l.index));
    out.set(`features.${l.index}.weight`, torch.tensor(normals(rng, l.outC * l.inC * 9, Math.sqrt(2 / (l.inC * 9))), [l.outC, l.inC, 3, 3]).keep());
    out.set(`features.${l.index}.bias`, torch.tensor(normals(rng, l.outC, 0.01), [l.outC]).keep());
  }
  return out;
}

/** n normal draws of standard deviation `std` (Box-Muller). */
function normals(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng.next())) * std;
    const a = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/**
 * The frozen VGG19 a family's losses read, from its config's `loss.vgg` section: torchvision's weights from
 * `weights`, built up to the deepest of `layers`. "random" gives the fixed random network of randomVgg19StateDict. A missing file
 * stops with an error naming it and the config key.
 */
export function makeVgg(section: VggSection): Vgg19Features {
  if (section.layers.length === 0) throw new Error(`${VGG_WEIGHTS_KEY.replace('.weights', '.layers')} is empty: name the VGG19 layers the losses read, e.g. ["relu1_2"]`);
  const lastLayer = section.layers.reduce((a, b) => (vgg19TapIndex(b) > vgg19TapIndex(a) ? b : a));
  if (section.weights !== 'random') return loadVgg19(section.weights, { lastLayer, configKey: VGG_WEIGHTS_KEY });
  const state = randomVgg19StateDict(lastLayer);
  try {
    return new Vgg19Features({ lastLayer }).loadTorchvision(state);
  } finally {
    torch.dispose([...state.values()]);
  }
}
