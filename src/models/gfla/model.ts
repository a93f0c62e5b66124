// GFLA as a TrainableModel, in two stages as the authors trained it:
// - 'flow': the flow-field estimator alone (official model/poseflownet_model.py), on λ_c·correctness +
//   λ_r·regularisation (20 and 0.01), with its own Adam; it ends when its iterations are spent or, earlier, when the
//   logged correctness (averaged over loss.flowStopWindow steps) falls below loss.flowStopCorrectness;
// - 'main': the whole model (model/pose_model.py optimize_parameters): one generator forward, the discriminator's
//   update (LSGAN, (real + fake)/2), then the generator's on L1·5 + correctness·5 + GAN·2 + regularisation·0.0025 +
//   content·0.5 + style·500, with a fresh Adam over all of G (the official run restarts with --continue_train).
// The iterations a flow stage ends early leave to the main stage (the run's length is the schedule's total).
// Variants without flow (baseline, global-attn) have no flow stage and no correctness or regularisation terms.
import * as torch from '../../torch/index.js';
import type { PairBatch } from '../batch.js';
import { lossValue, type OptimizerLike, type TrainableModel, type TrainingState } from '../registry.js';
import { makeVgg, type Vgg19Features } from '../layers/vgg.js';
import { iterationsPerEpoch } from '../sections.js';
import { flowFromOffsets } from '../../eval/flow.js';
import { attentionOf, usesFlow, validateGflaConfig, type GflaConfig } from './config.js';
import { ResDiscriminator } from './discriminator.js';
import { GflaGenerator } from './generator.js';
import { orthogonalInit } from './layers.js';
import { affineRegularization, contentStyle, correctnessLoss, lsganLoss, vggFeatures } from './losses.js';

type Tensor = torch.Tensor;

/** The generator and discriminator a config describes, orthogonally initialised (gain generator.initGain). */
export function buildGflaNetworks(cfg: GflaConfig): { generator: GflaGenerator; discriminator: ResDiscriminator } {
  validateGflaConfig(cfg);
  const g = cfg.generator;
  const generator = new GflaGenerator({
    imageChannels: g.imageChannels, poseChannels: g.poseChannels, ngf: g.ngf, imgF: g.imgF, layers: g.layers,
    numBlocks: g.numBlocks, attnLayers: g.attnLayers, kernelSizes: g.kernelSizes, flowNgf: g.flowNgf,
    flowImgF: g.flowImgF, flowLayers: g.flowLayers, attention: attentionOf(cfg.variant),
  });
  const d = cfg.discriminator;
  const discriminator = new ResDiscriminator({ inChannels: g.imageChannels, ndf: d.ndf, imgF: d.imgF, layers: d.layers, spectralNorm: d.spectralNorm });
  orthogonalInit(generator, g.initGain);
  orthogonalInit(discriminator, g.initGain);
  return { generator, discriminator };
}

/** The attention layers coarsest first (the order of the flows), with their windows. */
function layersCoarsestFirst(cfg: GflaConfig): { layer: number; window: number }[] {
  const g = cfg.generator;
  return g.attnLayers.map((layer, i) => ({ layer, window: g.kernelSizes[i] as number })).sort((a, b) => b.layer - a.layer);
}

function checkBatch(batch: PairBatch, cfg: GflaConfig): void {
  const { height, width } = cfg.image;
  const { imageChannels: ic, poseChannels: pc } = cfg.generator;
  const s = batch.imageA.shape;
  if (s.length !== 4 || s[1] !== ic || s[2] !== height || s[3] !== width) {
    throw new Error(`gfla: batch.imageA is [${s.join(',')}] but the config wants (N,${ic},${height},${width}); resize the data or set image.height/image.width`);
  }
  for (const [name, t, c] of [['imageB', batch.imageB, ic], ['poseMapA', batch.poseMapA, pc], ['poseMapB', batch.poseMapB, pc]] as const) {
    const q = t.shape;
    if (q.length !== 4 || q[0] !== s[0] || q[1] !== c || q[2] !== height || q[3] !== width) {
      throw new Error(`gfla: batch.${name} must be (${s[0]},${c},${height},${width}), got [${q.join(',')}]`);
    }
  }
}

export class GflaModel implements TrainableModel {
  readonly generator: GflaGenerator;
  readonly discriminator: ResDiscriminator;
  readonly discriminators: ReadonlyMap<string, torch.nn.Module>;
  readonly vgg: Vgg19Features;
  private readonly optG: torch.optim.Adam;
  private readonly optD: torch.optim.Adam;
  private readonly optFlow: torch.optim.Adam | null;
  private readonly flowSteps: number;
  private step = 0;
  private stage: 'flow' | 'main';
  /** The flow stage's recent logged correctness values (for the early stop). */
  private recent: number[] = [];

  /** `vgg` overrides the one the config names (tests pass small random weights). */
  constructor(readonly cfg: GflaConfig, options: { vgg?: Vgg19Features } = {}) {
    const { generator, discriminator } = buildGflaNetworks(cfg);
    this.generator = generator;
    this.discriminator = discriminator;
    this.discriminators = new Map<string, torch.nn.Module>([['D', discriminator]]);
    this.vgg = options.vgg ?? makeVgg(cfg.loss.vgg);
    const o = cfg.optim;
    const betas: [number, number] = [o.beta1, o.beta2];
    this.optG = new torch.optim.Adam(generator.parameters(), { lr: o.lr, betas });
    this.optD = new torch.optim.Adam(discriminator.parameters(), { lr: o.lr * o.lrRatioD, betas });
    this.optFlow = generator.flow_net ? new torch.optim.Adam(generator.flow_net.parameters(), { lr: o.lr, betas }) : null;
    const [flowStage] = cfg.schedule.stages;
    this.flowSteps = usesFlow(cfg.variant) && flowStage
      ? (flowStage.epochs + flowStage.decayEpochs) * iterationsPerEpoch(cfg.schedule, cfg.data.batchSize) : 0;
    this.stage = this.flowSteps > 0 ? 'flow' : 'main';
  }

  /** 'flow' while the flow estimator pre-trains, then 'main'. */
  get currentStage(): 'flow' | 'main' {
    return this.stage;
  }

  /** The trainer logs this, so an early end of the flow stage shows in log.jsonl. */
  stageName(): string {
    return this.stage;
  }

  generate(batch: PairBatch): Tensor {
    checkBatch(batch, this.cfg);
    const was = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => this.generator.forward(batch.imageA, batch.poseMapA, batch.poseMapB));
    } finally {
      this.generator.train(was);
    }
  }

  generateFlow(batch: PairBatch): Tensor | null {
    if (!usesFlow(this.cfg.variant)) return null;
    checkBatch(batch, this.cfg);
    const was = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => {
        const { flows } = this.generator.forwardWithFlows(batch.imageA, batch.poseMapA, batch.poseMapB);
        return flowFromOffsets(flows[flows.length - 1] as Tensor, [this.cfg.image.height, this.cfg.image.width]);
      }));
    } finally {
      this.generator.train(was);
    }
  }

  /** Σ over attention layers of correctness and of regularisation, unweighted. */
  private flowTerms(batch: PairBatch, flows: Tensor[]): { correctness: Tensor; regularization: Tensor } {
    return torch.scope(() => {
      const L = this.cfg.loss;
      const layers = layersCoarsestFirst(this.cfg);
      const taps = layers.map(({ layer }) => L.correctnessTaps[layer] as string);
      const [target, source] = torch.noGrad(() => [
        vggFeatures(this.vgg, batch.imageB, taps, L.vggInput), vggFeatures(this.vgg, batch.imageA, taps, L.vggInput),
      ]) as [Map<string, Tensor>, Map<string, Tensor>];
      let correctness: Tensor = torch.zeros([]);
      let regularization: Tensor = torch.zeros([]);
      layers.forEach(({ window }, i) => {
        const flow = flows[i] as Tensor;
        const tap = taps[i] as string;
        correctness = correctness.add(correctnessLoss(target.get(tap) as Tensor, source.get(tap) as Tensor, flow));
        regularization = regularization.add(affineRegularization(flow, window));
      });
      return { correctness, regularization };
    });
  }

  trainStep(batch: PairBatch): Record<string, number> {
    checkBatch(batch, this.cfg);
    this.generator.train();
    this.discriminator.train();
    const out = this.stage === 'flow' ? this.trainFlow(batch) : this.trainMain(batch);
    this.step++;
    if (this.stage === 'flow' && this.flowStageDone(out.correctness as number)) this.stage = 'main';
    return out;
  }

  private flowStageDone(correctness: number): boolean {
    const { flowStopCorrectness: stop, flowStopWindow: window } = this.cfg.loss;
    this.recent.push(correctness);
    if (this.recent.length > window) this.recent.shift();
    if (this.step >= this.flowSteps) return true;
    return stop > 0 && this.recent.length === window && this.recent.reduce((a, b) => a + b, 0) / window < stop;
  }

  private trainFlow(batch: PairBatch): Record<string, number> {
    const L = this.cfg.loss;
    const opt = this.optFlow as torch.optim.Adam;
    return torch.scope(() => {
      opt.zeroGrad();
      const { flows } = this.generator.flows(batch.imageA, batch.poseMapA, batch.poseMapB);
      const t = this.flowTerms(batch, flows);
      const correctness = t.correctness.mul(L.flowLambdaCorrect);
      const regularization = t.regularization.mul(L.flowLambdaRegularization);
      correctness.add(regularization).backward();
      opt.step();
      opt.zeroGrad();
      return {
        correctness: lossValue('gfla', 'correctness (flow stage)', correctness),
        regularization: lossValue('gfla', 'regularization (flow stage)', regularization),
      };
    });
  }

  private trainMain(batch: PairBatch): Record<string, number> {
    const L = this.cfg.loss;
    const out: Record<string, number> = {};
    torch.scope(() => {
      const { image: fake, flows } = this.generator.forwardWithFlows(batch.imageA, batch.poseMapA, batch.poseMapB);
      // D first, on the real target and the detached fake.
      torch.scope(() => {
        this.optD.zeroGrad();
        const dLoss = lsganLoss(this.discriminator.forward(batch.imageB), true)
          .add(lsganLoss(this.discriminator.forward(fake.detach()), false)).mul(0.5);
        out.dis_img_gen = lossValue('gfla', 'dis_img_gen (discriminator)', dLoss);
        dLoss.backward();
        this.optD.step();
        this.optD.zeroGrad();
      });
      // Then G against the updated D, whose weights are frozen meanwhile.
      this.optG.zeroGrad();
      const terms: [string, Tensor][] = [['app_gen', torch.l1Loss(fake, batch.imageB).mul(L.lambdaRec)]];
      if (flows.length > 0) {
        const t = this.flowTerms(batch, flows);
        terms.push(['correctness_gen', t.correctness.mul(L.lambdaCorrect)]);
        terms.push(['regularization', t.regularization.mul(L.lambdaRegularization)]);
      }
      this.discriminator.requiresGrad_(false);
      try {
        terms.push(['ad_gen', lsganLoss(this.discriminator.forward(fake), true).mul(L.lambdaGan)]);
      } finally {
        this.discriminator.requiresGrad_(true);
      }
      const taps = [...L.contentTaps, ...L.styleTaps];
      const real = torch.noGrad(() => vggFeatures(this.vgg, batch.imageB, taps, L.vggInput));
      const { content, style } = contentStyle(vggFeatures(this.vgg, fake, taps, L.vggInput), real, { content: L.contentTaps, style: L.styleTaps });
      terms.push(['content_gen', content.mul(L.lambdaContent)], ['style_gen', style.mul(L.lambdaStyle)]);
      let total: Tensor | null = null;
      for (const [name, t] of terms) {
        out[name] = lossValue('gfla', name, t);
        total = total ? total.add(t) : t;
      }
      (total as Tensor).backward();
      this.optG.step();
      this.optG.zeroGrad();
      this.optD.zeroGrad();
    });
    return out;
  }

  modules(): Map<string, torch.nn.Module> {
    return new Map<string, torch.nn.Module>([['netG', this.generator], ['netD', this.discriminator]]);
  }

  optimizers(): Map<string, OptimizerLike> {
    const m = new Map<string, OptimizerLike>([['optimizer_G', this.optG], ['optimizer_D', this.optD]]);
    if (this.optFlow) m.set('optimizer_flow', this.optFlow);
    return m;
  }

  /** The official rate is constant (niter_decay 0). */
  endEpoch(): void {}

  /** The step count, the stage and the flow stage's recent correctness values. */
  trainingState(): TrainingState {
    return { tensors: new Map(), json: { step: this.step, stage: this.stage, recent: [...this.recent] } };
  }

  loadTrainingState(state: TrainingState): void {
    const j = state.json as { step?: unknown; stage?: unknown; recent?: unknown } | null;
    if (!j || typeof j.step !== 'number' || (j.stage !== 'flow' && j.stage !== 'main') || !Array.isArray(j.recent)) {
      throw new Error('gfla: the checkpoint\'s training state lacks step, stage or recent; was it written by a gfla model?');
    }
    this.step = j.step;
    this.stage = j.stage;
    this.recent = j.recent.map(Number);
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.vgg.dispose();
    this.optG.dispose();
    this.optD.dispose();
    this.optFlow?.dispose();
  }
}
