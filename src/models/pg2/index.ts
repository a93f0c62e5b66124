// PG2 (Ma et al., "Pose Guided Person Image Generation", NIPS 2017), registered as 'pg2'.
// Training has two stages, as the official trainer: for the first `stage1Steps` steps only G1 trains, on L1 plus
// pose-mask L1; after that G1 is frozen and G2 trains adversarially against the DCGAN D with
// lambdaL1 * (L1 + pose-mask L1), lambda 10 on Market and 50 on DeepFashion.
import * as torch from '../../torch/index.js';
import { pg2Mask, splitKeypoints } from '../../pose/index.js';
import type { PairBatch } from '../batch.js';
import { glorotInit, tflibStdevInit } from '../layers/init.js';
import { lossValue, registerModel, type ModelFamily, type OptimizerLike, type TrainableModel } from '../registry.js';
import { pg2Defaults, validatePg2Config, type Pg2Config } from './config.js';
import { Pg2Discriminator } from './discriminator.js';
import { Pg2Generator } from './generator.js';
import { bceLogits, pg2DiscriminatorLoss, pg2Reconstruction } from './losses.js';

export { Pg2G1, Pg2G2, Pg2Generator } from './generator.js';
export { Pg2Discriminator } from './discriminator.js';
export { pg2Defaults, type Pg2Config } from './config.js';

/**
 * PG2's pose maps (_getSparsePose, mode 'Solid'): channel j is 1 within `radius` pixels (Euclidean, inclusive) of
 * joint j's position truncated to integers, 0 elsewhere and for a missing joint. keypoints (N,18,2) (y, x) ->
 * (N,18,H,W) float32.
 */
export function pg2PoseMaps(keypoints: torch.Tensor, frame: readonly [number, number], radius = 4): torch.Tensor {
  const [h, w] = frame;
  return torch.scope(() => {
    const { y, x, visible } = splitKeypoints(keypoints);
    const n = y.shape[0] as number;
    const j = y.shape[1] as number;
    const rows = torch.arange(0, h, 1, 'float32').view([1, 1, h, 1]);
    const cols = torch.arange(0, w, 1, 'float32').view([1, 1, 1, w]);
    const dy = rows.sub(y.floor().view([n, j, 1, 1])).square();
    const dx = cols.sub(x.floor().view([n, j, 1, 1])).square();
    return dy.add(dx).le(radius * radius).to('float32').mul(visible.view([n, j, 1, 1]));
  });
}

/** G1's pose input in [-1,1], as the official maps * 2 - 1. */
function poseInput(batch: PairBatch, cfg: Pg2Config): torch.Tensor {
  return torch.scope(() => {
    const maps = cfg.poseInput === 'disks' ? pg2PoseMaps(batch.keypointsB, cfg.imageSize, cfg.poseRadius) : batch.heatmapB;
    return maps.mul(2).sub(1);
  });
}

function checkBatch(batch: PairBatch, cfg: Pg2Config): void {
  const [h, w] = cfg.imageSize;
  const s = batch.imageA.shape;
  if (s.length !== 4 || s[1] !== 3 || s[2] !== h || s[3] !== w) {
    throw new Error(`pg2: batch.imageA has shape [${s.join(',')}], expected (N,3,${h},${w}) for this config; resize the data or set imageSize`);
  }
  const p = batch.heatmapB.shape;
  if (p[1] !== cfg.poseChannels || p[2] !== h || p[3] !== w) {
    throw new Error(`pg2: batch.heatmapB has shape [${p.join(',')}], expected (N,${cfg.poseChannels},${h},${w})`);
  }
  const m = batch.maskB?.shape;
  if (m !== undefined && (m.length !== 4 || m[0] !== s[0] || m[1] !== 1 || m[2] !== h || m[3] !== w)) {
    throw new Error(`pg2: batch.maskB has shape [${m.join(',')}], expected (${s[0]},1,${h},${w})`);
  }
}

/** The target's pose mask: the batch's, else PG2's mask drawn from keypointsB (src/pose). Owned by the current scope. */
function targetMask(batch: PairBatch, cfg: Pg2Config): torch.Tensor {
  return batch.maskB ?? pg2Mask(batch.keypointsB, cfg.imageSize);
}

export class Pg2Model implements TrainableModel {
  readonly generator: Pg2Generator;
  readonly discriminator: Pg2Discriminator;
  readonly discriminators: ReadonlyMap<string, torch.nn.Module>;
  readonly optG1: torch.optim.Adam;
  readonly optG2: torch.optim.Adam;
  readonly optD: torch.optim.Adam;

  constructor(readonly cfg: Pg2Config) {
    validatePg2Config(cfg);
    // The official initialisations: slim's xavier for G1/G2, tflib's U(+-0.02*sqrt(3)) for D.
    this.generator = glorotInit(new Pg2Generator(cfg));
    this.discriminator = tflibStdevInit(new Pg2Discriminator({ imageSize: cfg.imageSize, dim: cfg.dDim, layers: cfg.dLayers }));
    this.discriminators = new Map<string, torch.nn.Module>([['D', this.discriminator]]);
    const o = { lr: cfg.optim.lr, betas: [cfg.optim.beta1, cfg.optim.beta2] as [number, number] };
    this.optG1 = new torch.optim.Adam(this.generator.g1.parameters(), o);
    this.optG2 = new torch.optim.Adam(this.generator.g2.parameters(), o);
    this.optD = new torch.optim.Adam(this.discriminator.parameters(), o);
  }

  /** Training steps taken (kept in the generator's `trainSteps` buffer, so checkpoints resume in the right stage). */
  get step(): number {
    return this.generator.trainSteps.item();
  }

  get stage(): 1 | 2 {
    return this.step < this.cfg.stage1Steps ? 1 : 2;
  }

  generate(batch: PairBatch): torch.Tensor {
    checkBatch(batch, this.cfg);
    const wasTraining = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => {
        const pose = poseInput(batch, this.cfg);
        // Before stage 2 has run, G2 is untrained noise; G1's output is the model's answer then.
        if (this.stage === 1) return this.generator.g1.forward(batch.imageA, pose).clamp(-1, 1);
        return this.generator.forward(batch.imageA, pose).clamp(-1, 1);
      }));
    } finally {
      this.generator.train(wasTraining);
    }
  }

  trainStep(batch: PairBatch): Record<string, number> {
    checkBatch(batch, this.cfg);
    const out = this.stage === 1 ? this.trainStage1(batch) : this.trainStage2(batch);
    torch.noGrad(() => this.generator.trainSteps.add_(1));
    return out;
  }

  private trainStage1(batch: PairBatch): Record<string, number> {
    return torch.scope(() => {
      this.optG1.zeroGrad();
      const g1 = this.generator.g1.forward(batch.imageA, poseInput(batch, this.cfg));
      const r = pg2Reconstruction(g1, batch.imageB, targetMask(batch, this.cfg));
      r.total.backward();
      this.optG1.step();
      this.optG1.zeroGrad();
      return {
        G1: lossValue('pg2', 'G1', r.total),
        G1_L1: lossValue('pg2', 'G1_L1', r.l1),
        G1_maskL1: lossValue('pg2', 'G1_maskL1', r.maskL1),
      };
    });
  }

  private trainStage2(batch: PairBatch): Record<string, number> {
    const { imageA, imageB } = batch;
    const n = imageA.shape[0] as number;
    return torch.scope(() => {
      const mask = targetMask(batch, this.cfg);
      // G1 is frozen in stage 2 (the official g_optim2 only updates G2's variables).
      const g1 = torch.noGrad(() => this.generator.g1.forward(imageA, poseInput(batch, this.cfg)));
      // D sees real targets, source images and refined outputs in one batch (one set of batch-norm statistics).
      const dStep = torch.scope(() => {
        this.optD.zeroGrad();
        const g2 = torch.noGrad(() => g1.add(this.generator.g2.forward(g1, imageA)));
        const logits = this.discriminator.forward(torch.cat([imageB, imageA, g2], 0));
        const loss = pg2DiscriminatorLoss(logits.narrow(0, 0, n), logits.narrow(0, n, 2 * n));
        loss.backward();
        this.optD.step();
        this.optD.zeroGrad();
        return lossValue('pg2', 'D', loss);
      });
      this.optG2.zeroGrad();
      const g2 = g1.add(this.generator.g2.forward(g1, imageA));
      const logits = this.discriminator.forward(torch.cat([imageB, imageA, g2], 0));
      const gan = bceLogits(logits.narrow(0, 2 * n, n), 1);
      const r = pg2Reconstruction(g2, imageB, mask);
      const total = gan.add(r.total.mul(this.cfg.lambdaL1));
      total.backward();
      this.optG2.step();
      this.optG2.zeroGrad();
      // The G step also left gradients on D's weights; D's next step starts from zero anyway.
      this.discriminator.zeroGrad();
      return {
        D: dStep,
        G2: lossValue('pg2', 'G2', total),
        G2_GAN: lossValue('pg2', 'G2_GAN', gan),
        G2_L1: lossValue('pg2', 'G2_L1', r.l1),
        G2_maskL1: lossValue('pg2', 'G2_maskL1', r.maskL1),
      };
    });
  }

  modules(): Map<string, torch.nn.Module> {
    return new Map<string, torch.nn.Module>([['netG', this.generator], ['netD', this.discriminator]]);
  }

  optimizers(): Map<string, OptimizerLike> {
    return new Map<string, OptimizerLike>([['optimizer_G1', this.optG1], ['optimizer_G2', this.optG2], ['optimizer_D', this.optD]]);
  }

  /** The official optimisers run at a constant learning rate (their lr variable's halving never reaches Adam). */
  endEpoch(): void {}

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    for (const o of [this.optG1, this.optG2, this.optD]) o.dispose();
  }
}

export const pg2Family: ModelFamily<Pg2Config> = registerModel<Pg2Config>({
  name: 'pg2',
  summary: 'PG2 (Ma et al. 2017): two-stage G1 (U-Net with FC bottleneck) + G2 (difference U-Net), DCGAN D, pose-mask L1',
  defaults: pg2Defaults,
  create: (cfg) => new Pg2Model(cfg),
  parameterCounts: (cfg) => {
    validatePg2Config(cfg);
    const g = new Pg2Generator(cfg);
    const d = new Pg2Discriminator({ imageSize: cfg.imageSize, dim: cfg.dDim, layers: cfg.dLayers });
    try {
      return { netG: g.numParameters(), netD: d.numParameters() };
    } finally {
      g.dispose();
      d.dispose();
    }
  },
});
