// PATN as a TrainableModel: the generator, the shape (D_PB) and appearance (D_PP) discriminators, their Adam
// optimisers and linear-decay schedules, and one training iteration in the official order (models/PATN.py
// optimize_parameters): the G update first, then D_PP, then D_PB, each D `dgRatio` times on pooled fakes.
import * as torch from '../../torch/index.js';
import type { PairBatch } from '../batch.js';
import { lossValue, type OptimizerLike, type TrainableModel, type TrainingState } from '../registry.js';
import { makeVgg, type Vgg19Features } from '../layers/vgg.js';
import type { PATNConfig } from './config.js';
import { validateSchedule, type StageSection } from '../sections.js';
import { PATNGenerator, initPATNGenerator } from './generator.js';
import { PATNDiscriminator } from './discriminator.js';
import { ImagePool, ganLoss, reconstructionLoss } from './losses.js';

export function buildGenerator(cfg: PATNConfig): PATNGenerator {
  const { ngf, nBlocks, nDownsampling, norm, dropout, imageChannels, poseChannels } = cfg.generator;
  const g = new PATNGenerator({ ngf, nBlocks, nDownsampling, norm, dropout, imageChannels, poseChannels });
  initPATNGenerator(g, cfg.generator.initStd);
  return g;
}

/** The two discriminators by name: 'shape' (D_PB: image ++ target heatmaps) and 'appearance' (D_PP: image ++ source image). */
export function buildDiscriminators(cfg: PATNConfig): Map<string, PATNDiscriminator> {
  const d = cfg.discriminator;
  const { imageChannels: ic, poseChannels: pc } = cfg.generator;
  const make = (inChannels: number): PATNDiscriminator => new PATNDiscriminator({
    inChannels, ndf: d.ndf, nBlocks: d.nBlocks, nDownsampling: d.nDownsampling, norm: d.norm, dropout: d.dropout,
  });
  const out = new Map<string, PATNDiscriminator>();
  if (d.shape) out.set('shape', make(ic + pc));
  if (d.appearance) out.set('appearance', make(ic + ic));
  return out;
}

/** Official names of the saved networks and their optimisers (save_network labels). */
const D_NAMES: Record<string, { net: string; opt: string; loss: string; gLoss: string }> = {
  shape: { net: 'netD_PB', opt: 'optimizer_D_PB', loss: 'D_PB', gLoss: 'G_GAN_PB' },
  appearance: { net: 'netD_PP', opt: 'optimizer_D_PP', loss: 'D_PP', gLoss: 'G_GAN_PP' },
};

function checkBatch(batch: PairBatch, cfg: PATNConfig): void {
  const { imageChannels: ic, poseChannels: pc } = cfg.generator;
  const img = batch.imageA.shape;
  const { height, width } = cfg.image;
  if (img[2] !== height || img[3] !== width) {
    throw new Error(`patn: batch.imageA is ${img[2]}x${img[3]} but the config's image is ${height}x${width}; resize the data or set image.height/image.width`);
  }
  const want = (name: string, t: torch.Tensor, c: number): void => {
    const s = t.shape;
    if (s.length !== 4 || s[0] !== img[0] || s[1] !== c || s[2] !== img[2] || s[3] !== img[3]) {
      throw new Error(`patn: batch.${name} must be (${img[0]},${c},${img[2]},${img[3]}), got [${s.join(',')}]`);
    }
  };
  if (img.length !== 4 || img[1] !== ic) throw new Error(`patn: batch.imageA must be (N,${ic},H,W), got [${img.join(',')}]`);
  want('imageB', batch.imageB, ic);
  want('poseMapA', batch.poseMapA, pc);
  want('poseMapB', batch.poseMapB, pc);
}

export class PATNModel implements TrainableModel {
  readonly generator: PATNGenerator;
  readonly discriminators: Map<string, PATNDiscriminator>;
  readonly vgg: Vgg19Features | null;
  private readonly optG: torch.optim.Adam;
  private readonly optD = new Map<string, torch.optim.Adam>();
  private readonly schedules: torch.optim.LinearDecayLR[] = [];
  private readonly pools = new Map<string, ImagePool>();

  /** `vgg` overrides the one the config names (tests pass small random weights). */
  constructor(readonly cfg: PATNConfig, options: { vgg?: Vgg19Features } = {}) {
    this.generator = buildGenerator(cfg);
    this.discriminators = buildDiscriminators(cfg);
    validateSchedule(cfg.schedule, 'patn');
    this.vgg = options.vgg ?? (cfg.loss.lambdaPerceptual === 0 ? null : makeVgg(cfg.loss.vgg));
    const o = cfg.optim;
    const adam = (m: torch.nn.Module): torch.optim.Adam => new torch.optim.Adam(m.parameters(), { lr: o.lr, betas: [o.beta1, o.beta2] });
    this.optG = adam(this.generator);
    for (const [name, d] of this.discriminators) {
      this.optD.set(name, adam(d));
      this.pools.set(name, new ImagePool(cfg.discriminator.poolSize));
    }
    // PATN's rule 1 - max(0, epoch + 1 + epoch_count - niter) / (niter_decay + 1), epoch_count 1: offset 1.
    const [stage] = cfg.schedule.stages as [StageSection];
    for (const opt of [this.optG, ...this.optD.values()]) {
      this.schedules.push(new torch.optim.LinearDecayLR(opt, { constantSteps: stage.epochs, decaySteps: stage.decayEpochs, offset: 1 }));
    }
  }

  /** G input: the source image, and source ++ target heatmaps (N, 36, H, W). */
  private fake(batch: PairBatch): torch.Tensor {
    return torch.scope(() => this.generator.forward(batch.imageA, torch.cat([batch.poseMapA, batch.poseMapB], 1)));
  }

  generate(batch: PairBatch): torch.Tensor {
    checkBatch(batch, this.cfg);
    const was = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => this.fake(batch));
    } finally {
      this.generator.train(was);
    }
  }

  /** The input each discriminator judges: D_PB (image ++ target pose), D_PP (image ++ source image). */
  private dInput(name: string, image: torch.Tensor, batch: PairBatch): torch.Tensor {
    return torch.cat([image, name === 'shape' ? batch.poseMapB : batch.imageA], 1);
  }

  trainStep(batch: PairBatch): Record<string, number> {
    checkBatch(batch, this.cfg);
    const { loss: L } = this.cfg;
    const out: Record<string, number> = {};
    this.generator.train();
    for (const d of this.discriminators.values()) d.train();
    torch.scope(() => {
      // G update. The discriminators' weights are frozen meanwhile: only G's gradients are needed.
      const fake = this.fake(batch);
      const rec = reconstructionLoss(fake, batch.imageB, this.vgg, {
        lambdaL1: L.lambdaL1, lambdaPerceptual: L.lambdaPerceptual, layer: L.vgg.layers[0] as string, l1: L.perceptualL1,
      });
      let gan: torch.Tensor | null = null;
      for (const [name, d] of this.discriminators) {
        d.requiresGrad_(false);
        try {
          const term = ganLoss(L.gan, d.forward(this.dInput(name, fake, batch)), true);
          const label = (D_NAMES[name] as { gLoss: string }).gLoss;
          out[label] = lossValue('patn', `${label} (${name} discriminator on the fake)`, term);
          gan = gan ? gan.add(term) : term;
        } finally {
          d.requiresGrad_(true);
        }
      }
      // Official: λ_GAN times the mean of the two GAN terms.
      const ganTotal = gan ? gan.mul(L.lambdaGAN / this.discriminators.size) : null;
      const total = ganTotal ? rec.total.add(ganTotal) : rec.total;
      out.G_L1 = lossValue('patn', 'G_L1 (pixel L1)', rec.l1);
      out.G_perceptual = lossValue('patn', 'G_perceptual (VGG relu1_2 L1)', rec.perceptual);
      if (ganTotal) out.G_GAN = lossValue('patn', 'G_GAN', ganTotal);
      out.G_total = lossValue('patn', 'G_total', total);
      this.optG.zeroGrad();
      total.backward();
      this.optG.step();
      this.optG.zeroGrad();

      // D updates on (real, pooled fake), each λ_GAN·(real + fake)/2; D_PP first, as the official code.
      const fakeDetached = fake.detach();
      for (const name of ['appearance', 'shape']) {
        const d = this.discriminators.get(name);
        if (!d) continue;
        const opt = this.optD.get(name) as torch.optim.Adam;
        const pool = this.pools.get(name) as ImagePool;
        const label = (D_NAMES[name] as { loss: string }).loss;
        for (let k = 0; k < this.cfg.discriminator.dgRatio; k++) {
          torch.scope(() => {
            const real = this.dInput(name, batch.imageB, batch);
            const pooled = pool.query(this.dInput(name, fakeDetached, batch));
            const lossD = ganLoss(L.gan, d.forward(real), true).add(ganLoss(L.gan, d.forward(pooled), false))
              .mul(0.5 * L.lambdaGAN);
            out[label] = lossValue('patn', `${label} (${name} discriminator)`, lossD);
            opt.zeroGrad();
            lossD.backward();
            opt.step();
            opt.zeroGrad();
          });
        }
      }
    });
    return out;
  }

  modules(): Map<string, torch.nn.Module> {
    const m = new Map<string, torch.nn.Module>([['netG', this.generator]]);
    for (const [name, d] of this.discriminators) m.set((D_NAMES[name] as { net: string }).net, d);
    return m;
  }

  optimizers(): Map<string, OptimizerLike> {
    const m = new Map<string, OptimizerLike>([['optimizer_G', this.optG]]);
    for (const [name, o] of this.optD) m.set((D_NAMES[name] as { opt: string }).opt, o);
    return m;
  }

  endEpoch(): void {
    for (const s of this.schedules) s.step();
  }

  /** The image pools' contents ('pool.<discriminator>.<slot>') and the schedules' positions. */
  trainingState(): TrainingState {
    const tensors = new Map<string, torch.Tensor>();
    const pools: Record<string, number> = {};
    for (const [name, pool] of this.pools) {
      const images = pool.stateTensors();
      pools[name] = images.length;
      images.forEach((t, i) => tensors.set(`pool.${name}.${i}`, t));
    }
    return { tensors, json: { pools, schedules: this.schedules.map((s) => ({ ...s.stateDict() })) } };
  }

  loadTrainingState(state: TrainingState): void {
    const json = state.json as { pools: Record<string, number>; schedules: { lastEpoch: number; baseLrs: number[] }[] };
    if (!json || typeof json !== 'object' || !Array.isArray(json.schedules) || json.schedules.length !== this.schedules.length) {
      throw new Error(`patn: the checkpoint's training state does not match this model (${this.schedules.length} schedules expected)`);
    }
    json.schedules.forEach((s, i) => (this.schedules[i] as torch.optim.LinearDecayLR).loadStateDict(s));
    for (const [name, pool] of this.pools) {
      const count = json.pools[name] ?? 0;
      const images: torch.Tensor[] = [];
      for (let i = 0; i < count; i++) {
        const t = state.tensors.get(`pool.${name}.${i}`);
        if (!t) throw new Error(`patn: the checkpoint lacks pool.${name}.${i}`);
        images.push(t);
      }
      pool.loadStateTensors(images);
    }
  }

  /** The generator's current learning rate (all three optimisers share the schedule). */
  get lr(): number {
    return this.optG.lr;
  }

  dispose(): void {
    this.generator.dispose();
    for (const d of this.discriminators.values()) d.dispose();
    for (const p of this.pools.values()) p.dispose();
    for (const o of [this.optG, ...this.optD.values()]) o.dispose();
    this.vgg?.dispose();
  }
}
