// PG2 (Ma et al., "Pose Guided Person Image Generation", NIPS 2017) as a TrainableModel. Training has two stages,
// as the official trainer: for the first schedule.stages[0] steps only G1 trains, on L1 plus pose-mask L1; after
// that G1 is frozen and G2 trains adversarially against the DCGAN D with lambdaL1 * (L1 + pose-mask L1), lambda 10 on
// Market and 50 on DeepFashion. In stage 2 the official loop runs G2's update, then D's.
import * as torch from '../../torch/index.js';
import { pg2Mask } from '../../pose/index.js';
import type { PairBatch } from '../batch.js';
import { glorotInit, tflibStdevInit } from '../layers/init.js';
import { emptyTrainingState, lossValue, type OptimizerLike, type TrainableModel, type TrainingState } from '../registry.js';
import { pg2Stage1Steps, validatePg2Config, type Pg2Config } from './config.js';
import { Pg2Discriminator } from './discriminator.js';
import { Pg2Generator } from './generator.js';
import { bceLogits, pg2DiscriminatorLoss, pg2Reconstruction } from './losses.js';

/** The networks a config describes (fresh, uninitialised weights). */
export function buildPg2Networks(cfg: Pg2Config): { generator: Pg2Generator; discriminator: Pg2Discriminator } {
  validatePg2Config(cfg);
  const { height, width } = cfg.image;
  const g = cfg.generator;
  return {
    generator: new Pg2Generator({ imageSize: [height, width], poseChannels: g.poseChannels, hidden: g.hidden, repeatNum: g.repeatNum, zNum: g.zNum, g2Skips: g.g2Skips }),
    discriminator: new Pg2Discriminator({ imageSize: [height, width], dim: cfg.discriminator.dim, layers: cfg.discriminator.layers }),
  };
}

/** G1's pose input in [-1,1], as the official maps * 2 - 1. */
function poseInput(batch: PairBatch): torch.Tensor {
  return torch.scope(() => batch.poseMapB.mul(2).sub(1));
}

function checkBatch(batch: PairBatch, cfg: Pg2Config): void {
  const { height: h, width: w } = cfg.image;
  const s = batch.imageA.shape;
  if (s.length !== 4 || s[1] !== 3 || s[2] !== h || s[3] !== w) {
    throw new Error(`pg2: batch.imageA has shape [${s.join(',')}], expected (N,3,${h},${w}) for this config; resize the data or set image.height/image.width`);
  }
  const p = batch.poseMapB.shape;
  const pc = cfg.generator.poseChannels;
  if (p[1] !== pc || p[2] !== h || p[3] !== w) {
    throw new Error(`pg2: batch.poseMapB has shape [${p.join(',')}], expected (N,${pc},${h},${w})`);
  }
  const m = batch.maskB?.shape;
  if (m !== undefined && (m.length !== 4 || m[0] !== s[0] || m[1] !== 1 || m[2] !== h || m[3] !== w)) {
    throw new Error(`pg2: batch.maskB has shape [${m.join(',')}], expected (${s[0]},1,${h},${w})`);
  }
}

/** The target's pose mask: the batch's, else PG2's mask drawn from keypointsB (src/pose). Owned by the current scope. */
function targetMask(batch: PairBatch, cfg: Pg2Config): torch.Tensor {
  return batch.maskB ?? pg2Mask(batch.keypointsB, [cfg.image.height, cfg.image.width]);
}

export class Pg2Model implements TrainableModel {
  readonly generator: Pg2Generator;
  readonly discriminator: Pg2Discriminator;
  readonly discriminators: ReadonlyMap<string, torch.nn.Module>;
  readonly optG1: torch.optim.Adam;
  readonly optG2: torch.optim.Adam;
  readonly optD: torch.optim.Adam;

  readonly stage1Steps: number;

  constructor(readonly cfg: Pg2Config) {
    const { generator, discriminator } = buildPg2Networks(cfg);
    this.stage1Steps = pg2Stage1Steps(cfg);
    // The official initialisations: slim's xavier for G1/G2, tflib's U(+-0.02*sqrt(3)) for D.
    this.generator = glorotInit(generator);
    this.discriminator = tflibStdevInit(discriminator);
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
    return this.step < this.stage1Steps ? 1 : 2;
  }

  generate(batch: PairBatch): torch.Tensor {
    checkBatch(batch, this.cfg);
    const wasTraining = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => {
        const pose = poseInput(batch);
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
      const g1 = this.generator.g1.forward(batch.imageA, poseInput(batch));
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
      const g1 = torch.noGrad(() => this.generator.g1.forward(imageA, poseInput(batch)));
      // D scores one batch, so that its batch norm sees the official statistics: [target, source, (G1,) G2].
      const judge = (g2: torch.Tensor): { real: torch.Tensor; source: torch.Tensor; refined: torch.Tensor } => {
        const parts = this.cfg.discriminator.seesG1 ? [imageB, imageA, g1, g2] : [imageB, imageA, g2];
        const logits = this.discriminator.forward(torch.cat(parts, 0));
        return { real: logits.narrow(0, 0, n), source: logits.narrow(0, n, n), refined: logits.narrow(0, (parts.length - 1) * n, n) };
      };
      // G2's update first, as the official loop.
      this.optG2.zeroGrad();
      const g2 = g1.add(this.generator.g2.forward(g1, imageA));
      const gan = bceLogits(judge(g2).refined, 1);
      const r = pg2Reconstruction(g2, imageB, mask);
      const total = gan.add(r.total.mul(this.cfg.loss.lambdaL1));
      total.backward();
      this.optG2.step();
      this.optG2.zeroGrad();
      // The G step also left gradients on D's weights; D's step starts from zero.
      const dLoss = torch.scope(() => {
        this.optD.zeroGrad();
        const refined = torch.noGrad(() => g1.add(this.generator.g2.forward(g1, imageA)));
        const d = judge(refined);
        const loss = pg2DiscriminatorLoss(d.real, d.source, d.refined);
        loss.backward();
        this.optD.step();
        this.optD.zeroGrad();
        return lossValue('pg2', 'D', loss);
      });
      return {
        D: dLoss,
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

  /** Nothing beyond modules and optimisers: the learning rate is constant and the step lives in netG's trainSteps buffer. */
  trainingState(): TrainingState {
    return emptyTrainingState();
  }

  loadTrainingState(): void {}

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    for (const o of [this.optG1, this.optG2, this.optD]) o.dispose();
  }
}

