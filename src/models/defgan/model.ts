// Deformable GAN (Siarohin et al., "Deformable GANs for Pose-based Human Image Generation", CVPR 2018) as a
// TrainableModel. Each step trains D once, then G (the official training_ratio 1), both with Adam(2e-4, 0.5, 0.999).
// G's loss: loss.gan * BCE(D(fake), 1) plus loss.l1 * L1 ('baseline', 'dsc') or loss.nn * nearest-neighbour loss on
// VGG19 relu1_2 ('full'). D's loss: BCE(real, 1) + BCE(fake, 0).
import * as torch from '../../torch/index.js';
import { partAffines } from '../../pose/index.js';
import type { PairBatch } from '../batch.js';
import { makeVgg, type Vgg19Features } from '../layers/vgg.js';
import { glorotInit } from '../layers/init.js';
import { emptyTrainingState, lossValue, type OptimizerLike, type TrainableModel, type TrainingState } from '../registry.js';
import { validateDefGanConfig, type DefGanConfig } from './config.js';
import { checkPartInputs } from './deformable.js';
import { DefGanDiscriminator } from './discriminator.js';
import { DefGanGenerator, type DefGanInputs } from './generator.js';
import { bceLogits, nearestNeighbourLoss } from './losses.js';

/** The networks a config describes (fresh, uninitialised weights). */
export function buildDefGanNetworks(cfg: DefGanConfig): { generator: DefGanGenerator; discriminator: DefGanDiscriminator } {
  validateDefGanConfig(cfg);
  return {
    generator: new DefGanGenerator({ variant: cfg.variant, ...cfg.generator }),
    discriminator: new DefGanDiscriminator(6 + 2 * cfg.generator.poseChannels, cfg.discriminator.dim),
  };
}

export interface DefGanModelOptions {
  /**
   * A ready VGG19 extractor for the 'full' variant (tests pass one with random weights); without it the model loads
   * cfg.loss.vgg. The model disposes it.
   */
  vgg?: Vgg19Features;
}

export class DefGanModel implements TrainableModel {
  readonly generator: DefGanGenerator;
  readonly discriminator: DefGanDiscriminator;
  readonly discriminators: ReadonlyMap<string, torch.nn.Module>;
  readonly optG: torch.optim.Adam;
  readonly optD: torch.optim.Adam;
  readonly vgg: Vgg19Features | null;

  constructor(readonly cfg: DefGanConfig, options: DefGanModelOptions = {}) {
    const { generator, discriminator } = buildDefGanNetworks(cfg);
    this.vgg = options.vgg ?? (cfg.variant === 'full' ? makeVgg(cfg.loss.vgg) : null);
    // Keras's default initialisation (glorot-uniform kernels, zero biases).
    this.generator = glorotInit(generator);
    this.discriminator = glorotInit(discriminator);
    this.discriminators = new Map<string, torch.nn.Module>([['D', this.discriminator]]);
    const o = { lr: cfg.optim.lr, betas: [cfg.optim.beta1, cfg.optim.beta2] as [number, number] };
    this.optG = new torch.optim.Adam(this.generator.parameters(), o);
    this.optD = new torch.optim.Adam(this.discriminator.parameters(), o);
  }

  private inputs(batch: PairBatch): DefGanInputs {
    const { height: h, width: w } = this.cfg.image;
    const s = batch.imageA.shape;
    if (s.length !== 4 || s[1] !== 3 || s[2] !== h || s[3] !== w) {
      throw new Error(`defgan: batch.imageA has shape [${s.join(',')}], expected (N,3,${h},${w}) for this config; resize the data or set image.height/image.width`);
    }
    const n = s[0] as number;
    let affines = batch.partAffines;
    let masks = batch.partMasks;
    if (this.cfg.variant !== 'baseline') {
      if ((affines === undefined) !== (masks === undefined)) {
        throw new Error('defgan: the batch has only one of partAffines and partMasks; give both (they come from one partAffines() call) or neither');
      }
      if (affines === undefined || masks === undefined) {
        // Computed here from the keypoints; the caller's scope owns them.
        const parts = partAffines(batch.keypointsA, batch.keypointsB, [h, w]);
        parts.valid.dispose();
        affines = parts.theta;
        masks = parts.masks;
      }
      checkPartInputs(affines, masks, n, h, w, 'defgan');
    }
    return { image: batch.imageA, poseA: batch.poseMapA, poseB: batch.poseMapB, affines, masks };
  }

  generate(batch: PairBatch): torch.Tensor {
    const wasTraining = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => this.generator.forward(this.inputs(batch))));
    } finally {
      this.generator.train(wasTraining);
    }
  }

  /** The reconstruction term of the configured variant: [name, weighted loss, unweighted value]. */
  private reconstruction(fake: torch.Tensor, real: torch.Tensor): [string, torch.Tensor, torch.Tensor] {
    if (this.cfg.variant !== 'full') {
      const l1 = torch.l1Loss(fake, real);
      return ['G_L1', l1.mul(this.cfg.loss.l1), l1];
    }
    const vgg = this.vgg as Vgg19Features;
    const layers = this.cfg.loss.vgg.layers.slice(0, 1);
    const [ff] = vgg.forward(fake, layers);
    const [fr] = torch.noGrad(() => vgg.forward(real, layers));
    const nn = nearestNeighbourLoss(ff as torch.Tensor, fr as torch.Tensor, this.cfg.loss.nnSize);
    return ['G_NN', nn.mul(this.cfg.loss.nn), nn];
  }

  trainStep(batch: PairBatch): Record<string, number> {
    const { imageA, imageB, poseMapA, poseMapB } = batch;
    return torch.scope(() => {
      const x = this.inputs(batch);
      const fake = this.generator.forward(x);
      const dLoss = torch.scope(() => {
        this.optD.zeroGrad();
        const fakeD = fake.detach();
        const real = this.discriminator.forward(imageA, poseMapA, imageB, poseMapB);
        const fk = this.discriminator.forward(imageA, poseMapA, fakeD, poseMapB);
        const loss = bceLogits(real, 1).add(bceLogits(fk, 0));
        loss.backward();
        this.optD.step();
        this.optD.zeroGrad();
        return { total: lossValue('defgan', 'D', loss) };
      });
      this.optG.zeroGrad();
      const gan = bceLogits(this.discriminator.forward(imageA, poseMapA, fake, poseMapB), 1);
      const [name, weighted, raw] = this.reconstruction(fake, imageB);
      const total = gan.mul(this.cfg.loss.gan).add(weighted);
      total.backward();
      this.optG.step();
      this.optG.zeroGrad();
      this.discriminator.zeroGrad();
      return {
        D: dLoss.total,
        G: lossValue('defgan', 'G', total),
        G_GAN: lossValue('defgan', 'G_GAN', gan),
        [name]: lossValue('defgan', name, raw),
      };
    });
  }

  modules(): Map<string, torch.nn.Module> {
    return new Map<string, torch.nn.Module>([['netG', this.generator], ['netD', this.discriminator]]);
  }

  optimizers(): Map<string, OptimizerLike> {
    return new Map<string, OptimizerLike>([['optimizer_G', this.optG], ['optimizer_D', this.optD]]);
  }

  /** The official code trains at a constant learning rate. */
  endEpoch(): void {}

  /** Nothing beyond modules and optimisers: the learning rate is constant. */
  trainingState(): TrainingState {
    return emptyTrainingState();
  }

  loadTrainingState(): void {}

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.vgg?.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
