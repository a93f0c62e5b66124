// SPT (Song et al., CVPR 2019) as a TrainableModel, trained in the config's three stages:
// - 'semantic': G_S alone: masked cross-entropy against the pseudo-label of the target parsing, plus LSGAN against
//   D_S (real: the source's own parsing with its pose); G's update, then D_S's.
// - 'appearance': G_A alone, as the official optimize_parameters: A -> B with the target parsing (G_S's prediction,
//   detached, or the ground truth for 'ts-gt'), then B -> A back (the cycle); G's update (LSGAN of D and D_face,
//   pose loss, content loss, style loss), then the discriminators'. Our pose estimator (the pose-loss substitute)
//   first takes one step on the real images.
// - 'joint': for 'e2e' both generators at once, G_S also receiving the appearance losses through its probabilities
//   (plus its own semantic losses); for the two-stage variants G_A alone, as in 'appearance'.
// Adam for every network; each stage's learning rate follows CycleGAN's linear rule over that stage's epochs.
import * as torch from '../../torch/index.js';
import { partAffines, pg2Mask } from '../../pose/index.js';
import type { PartAffines } from '../../pose/index.js';
import type { PairBatch } from '../batch.js';
import type { Vgg19Features } from '../layers/vgg.js';
import { lossValue, type OptimizerLike, type TrainableModel, type TrainingState } from '../registry.js';
import { iterationsPerEpoch, stageAt } from '../sections.js';
import { validateSptConfig, type SptConfig, type SptStage } from './config.js';
import { PatchDiscriminator } from './discriminator.js';
import { SptGenerator } from './generator.js';
import { discriminatorLoss, lsgan, maskedCrossEntropy, poseLoss, styleLoss } from './losses.js';
import { checkLabels, faceCrops, foregroundChannels, NUM_LABELS, oneHotParsing, warpParsing } from './parsing.js';
import { makeVgg16 } from './vgg16.js';

/** SPT reads the common batch; its searched pseudo-labels travel in parsingPseudoB. */
export type SptBatch = PairBatch;

/** The networks a config describes (fresh weights): netG (G_S, G_A, pose estimator) and the discriminators. */
export function buildSptNetworks(cfg: SptConfig): { generator: SptGenerator; discriminators: Map<string, PatchDiscriminator> } {
  validateSptConfig(cfg);
  const g = cfg.generator;
  const d = cfg.discriminator;
  const discriminators = new Map<string, PatchDiscriminator>([
    ['semantic', new PatchDiscriminator(NUM_LABELS + 18, d.ndf, d.layers)],
    ['image', new PatchDiscriminator(3 + NUM_LABELS - 1, d.ndf, d.layers)],
  ]);
  if (d.face) discriminators.set('face', new PatchDiscriminator(3, d.ndf, d.faceLayers));
  return { generator: new SptGenerator({ semantic: g.semantic, appearance: g.appearance, poseEstimator: g.poseEstimator }), discriminators };
}

/** Parameter counts of netG's three networks and of each discriminator (no VGG, no optimisers). */
export interface SptNetworkCounts {
  generator: { semantic: number; appearance: number; poseEstimator: number };
  /** By checkpoint name: netD_semantic, netD_image, netD_face. */
  discriminators: Record<string, number>;
}

export function sptNetworkCounts(cfg: SptConfig): SptNetworkCounts {
  const { generator: g, discriminators } = buildSptNetworks(cfg);
  try {
    return {
      generator: { semantic: g.semantic.numParameters(), appearance: g.appearance.numParameters(), poseEstimator: g.poseEstimator.numParameters() },
      discriminators: Object.fromEntries([...discriminators].map(([name, d]) => [`netD_${name}`, d.numParameters()])),
    };
  } finally {
    g.dispose();
    for (const d of discriminators.values()) d.dispose();
  }
}

/** The official init_weights('normal'): conv weights N(0, 0.02), biases 0 (the norms have no affine weights here). */
function normalInit<M extends torch.nn.Module>(m: M): M {
  for (const [, c] of m.namedModules()) {
    if (!(c instanceof torch.nn.Conv2d || c instanceof torch.nn.ConvTranspose2d)) continue;
    torch.nn.init.normal_(c.weight, 0, 0.02);
    if (c.bias) torch.nn.init.zeros_(c.bias);
  }
  return m;
}

export interface SptModelOptions {
  /** A ready VGG16 front (tests pass random weights); without it the model loads cfg.loss.vgg. The model disposes it. */
  vgg?: Vgg19Features;
}

/** Everything a step derives from the batch once. */
interface Prepared {
  n: number;
  hotA: torch.Tensor;
  fgA: torch.Tensor;
  maskA: torch.Tensor;
  maskB: torch.Tensor;
  aToB: PartAffines;
  bToA: PartAffines;
}

export class SptModel implements TrainableModel {
  readonly generator: SptGenerator;
  readonly discriminators: ReadonlyMap<string, PatchDiscriminator>;
  readonly vgg: Vgg19Features;
  private readonly opts = new Map<string, torch.optim.Adam>();
  private readonly perEpoch: number;
  /** Epochs completed (endEpoch calls), for the learning-rate schedule. */
  private epoch = 0;

  constructor(readonly cfg: SptConfig, options: SptModelOptions = {}) {
    const { generator, discriminators } = buildSptNetworks(cfg);
    this.generator = normalInit(generator);
    for (const d of discriminators.values()) normalInit(d);
    this.discriminators = discriminators;
    this.vgg = options.vgg ?? makeVgg16(cfg.loss.vgg);
    const o = { lr: cfg.optim.lr, betas: [cfg.optim.beta1, cfg.optim.beta2] as [number, number] };
    this.opts.set('optimizer_G_S', new torch.optim.Adam(generator.semantic.parameters(), o));
    this.opts.set('optimizer_G_A', new torch.optim.Adam(generator.appearance.parameters(), o));
    this.opts.set('optimizer_pose', new torch.optim.Adam(generator.poseEstimator.parameters(), o));
    this.opts.set('optimizer_D_S', new torch.optim.Adam(discriminators.get('semantic')!.parameters(), o));
    // The official model steps the image and face discriminators with one optimiser.
    const dParams = [...discriminators].filter(([k]) => k !== 'semantic').flatMap(([, d]) => d.parameters());
    this.opts.set('optimizer_D', new torch.optim.Adam(dParams, o));
    this.perEpoch = iterationsPerEpoch(cfg.schedule, cfg.data.batchSize);
    this.applyLr();
  }

  private opt(name: string): torch.optim.Adam {
    return this.opts.get(name) as torch.optim.Adam;
  }

  private disc(name: 'semantic' | 'image' | 'face'): PatchDiscriminator {
    return this.discriminators.get(name) as PatchDiscriminator;
  }

  /** Training steps taken (netG's trainSteps buffer, so checkpoints resume in the right stage). */
  get step(): number {
    return this.generator.trainSteps.item();
  }

  /** The stage the next training step belongs to. */
  get stage(): SptStage {
    return stageAt(this.cfg.schedule, Math.floor(this.step / this.perEpoch)).stage.name as SptStage;
  }

  private prepare(batch: SptBatch): Prepared {
    const { height: h, width: w } = this.cfg.image;
    const s = batch.imageA.shape;
    if (s.length !== 4 || s[1] !== 3 || s[2] !== h || s[3] !== w) {
      throw new Error(`spt: batch.imageA has shape [${s.join(',')}], expected (N,3,${h},${w}) for this config; resize the data or set image.height/image.width`);
    }
    const n = s[0] as number;
    if (!batch.parsingA) {
      throw new Error('spt: the batch has no parsingA. SPT reads the source parsing map: give the dataset a parsing folder (DIR/parsing/<split>/<stem>.npy or .png, labels 0..9) and load it with parsing on');
    }
    checkLabels(batch.parsingA, 'batch.parsingA', n, [h, w]);
    const frame: [number, number] = [h, w];
    return {
      n,
      hotA: oneHotParsing(batch.parsingA),
      fgA: foregroundChannels(batch.parsingA),
      maskA: pg2Mask(batch.keypointsA, frame),
      maskB: pg2Mask(batch.keypointsB, frame),
      aToB: partAffines(batch.keypointsA, batch.keypointsB, frame),
      bToA: partAffines(batch.keypointsB, batch.keypointsA, frame),
    };
  }

  /** G_S's target parsing logits (N,10,H,W). */
  private semanticLogits(batch: PairBatch, p: Prepared): torch.Tensor {
    return this.generator.semantic.predict(p.hotA, batch.poseMapA, p.maskA, batch.poseMapB, p.maskB);
  }

  /** The semantic stage's target: the searched pseudo-label, or the source parsing moved part by part to the target pose. */
  private pseudoLabel(batch: SptBatch): torch.Tensor {
    if (this.cfg.loss.pseudoLabel === 'searched') {
      if (!batch.parsingPseudoB) {
        throw new Error("spt: loss.pseudoLabel is 'searched' but the batch has no parsingPseudoB: the loader found no DIR/spt-pseudo-labels-<split>.json. Run the search first (spt.searchPseudoLabels(await openDataset(DIR)) from reposer/models), or set loss.pseudoLabel=warped");
      }
      checkLabels(batch.parsingPseudoB, 'batch.parsingPseudoB', batch.imageA.shape[0], [this.cfg.image.height, this.cfg.image.width]);
      return batch.parsingPseudoB;
    }
    return warpParsing(batch.parsingA as torch.Tensor, batch.keypointsA, batch.keypointsB);
  }

  /** The semantic losses of G_S (weighted sum and parts) for logits whose probabilities D_S judges. */
  private semanticLosses(batch: SptBatch, p: Prepared, logits: torch.Tensor): { total: torch.Tensor; ce: torch.Tensor; gan: torch.Tensor } {
    const ce = maskedCrossEntropy(logits, this.pseudoLabel(batch), p.maskB);
    const gan = lsgan(this.disc('semantic').forward(torch.cat([logits.softmax(1), batch.poseMapB], 1)), true);
    return { total: ce.mul(this.cfg.loss.crossEntropy).add(gan.mul(this.cfg.loss.semanticGan)), ce, gan };
  }

  private updateSemanticD(batch: PairBatch, p: Prepared, logits: torch.Tensor): number {
    return torch.scope(() => {
      const opt = this.opt('optimizer_D_S');
      opt.zeroGrad();
      const d = this.disc('semantic');
      const loss = discriminatorLoss(d.forward(torch.cat([p.hotA, batch.poseMapA], 1)), d.forward(torch.cat([logits.detach().softmax(1), batch.poseMapB], 1)));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return lossValue('spt', 'D_S', loss);
    });
  }

  private trainSemantic(batch: SptBatch, p: Prepared): Record<string, number> {
    const opt = this.opt('optimizer_G_S');
    opt.zeroGrad();
    const logits = this.semanticLogits(batch, p);
    const l = this.semanticLosses(batch, p, logits);
    l.total.backward();
    opt.step();
    opt.zeroGrad();
    const out = { S: lossValue('spt', 'S', l.total), S_CE: lossValue('spt', 'S_CE', l.ce), S_GAN: lossValue('spt', 'S_GAN', l.gan) };
    return { ...out, D_S: this.updateSemanticD(batch, p, logits) };
  }

  /** The target parsing G_A reads, as 9 foreground channels: ground truth ('ts-gt') or G_S's probabilities. */
  private targetParsing(batch: PairBatch, p: Prepared, logits: torch.Tensor | null): torch.Tensor {
    if (this.cfg.variant === 'ts-gt') {
      if (!batch.parsingB) throw new Error("spt: variant 'ts-gt' reads the ground-truth target parsing, but the batch has no parsingB; give the dataset parsing maps for every image or use variant ts-pred/e2e");
      checkLabels(batch.parsingB, 'batch.parsingB', p.n, [this.cfg.image.height, this.cfg.image.width]);
      return foregroundChannels(batch.parsingB);
    }
    const l = logits ?? torch.noGrad(() => this.semanticLogits(batch, p));
    return l.softmax(1).narrow(1, 1, NUM_LABELS - 1);
  }

  /** G_A's A -> B. */
  private forwardAB(batch: PairBatch, p: Prepared, fgB: torch.Tensor): torch.Tensor {
    return this.generator.appearance.forward({ image: batch.imageA, parsingA: p.fgA, parsingB: fgB, poseA: batch.poseMapA, poseB: batch.poseMapB, affines: p.aToB.theta, masks: p.aToB.masks });
  }

  /** A -> B, then B -> A with the parsings swapped (the official forward). */
  private cycle(batch: PairBatch, p: Prepared, fgB: torch.Tensor): { fakeB: torch.Tensor; fakeA: torch.Tensor } {
    const fakeB = this.forwardAB(batch, p, fgB);
    const fakeA = this.generator.appearance.forward({ image: fakeB, parsingA: fgB, parsingB: p.fgA, poseA: batch.poseMapB, poseB: batch.poseMapA, affines: p.bToA.theta, masks: p.bToA.masks });
    return { fakeB, fakeA };
  }

  /** The style regions of B and A at the features' resolution (N,K,h,w). */
  private styleRegions(p: Prepared, fgB: torch.Tensor, size: [number, number]): [torch.Tensor, torch.Tensor] {
    const pool = (x: torch.Tensor): torch.Tensor => {
      const f = (x.shape[2] as number) / size[0];
      return f > 1 ? torch.avgPool2d(x, f, f) : x;
    };
    switch (this.cfg.loss.styleKind) {
      case 'semantic-aware':
        // Labels 2..9: the official B_parsing[:, 1:] of its 9 foreground channels leaves the face out.
        return [pool(fgB.narrow(1, 1, NUM_LABELS - 2)), pool(p.fgA.narrow(1, 1, NUM_LABELS - 2))];
      case 'mask-style':
        return [pool(fgB.sum([1], true)), pool(p.fgA.sum([1], true))];
      case 'patch-style':
        return [pool(p.aToB.masks), pool(p.bToA.masks)];
    }
  }

  private trainAppearance(batch: SptBatch, p: Prepared, joint: boolean): Record<string, number> {
    const L = this.cfg.loss;
    const out: Record<string, number> = {};
    const est = this.generator.poseEstimator;
    // The estimator learns the pose maps from the real images before it judges the generated ones.
    out.P_est = torch.scope(() => {
      const opt = this.opt('optimizer_pose');
      opt.zeroGrad();
      const loss = poseLoss(est.forward(batch.imageA), batch.poseMapA, est.forward(batch.imageB), batch.poseMapB);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return lossValue('spt', 'P_est', loss);
    });
    const gOpts = [this.opt('optimizer_G_A'), ...(joint ? [this.opt('optimizer_G_S')] : [])];
    for (const o of gOpts) o.zeroGrad();
    const logits = joint ? this.semanticLogits(batch, p) : null;
    const fgB = this.targetParsing(batch, p, logits);
    const { fakeB, fakeA } = this.cycle(batch, p, fgB);
    const dImg = this.disc('image');
    const gan = lsgan(dImg.forward(torch.cat([fakeB, fgB], 1)), true).add(lsgan(dImg.forward(torch.cat([fakeA, p.fgA], 1)), true));
    const face = this.cfg.discriminator.face ? this.disc('face') : null;
    const faceSize = this.cfg.discriminator.faceSize;
    const faceGan = face
      ? lsgan(face.forward(faceCrops(fakeB, batch.keypointsB, faceSize)), true).add(lsgan(face.forward(faceCrops(fakeA, batch.keypointsA, faceSize)), true))
      : null;
    const pose = poseLoss(est.forward(fakeA), batch.poseMapA, est.forward(fakeB), batch.poseMapB);
    const taps = this.cfg.loss.vgg.layers.slice(0, 1);
    const [fakeFeat] = this.vgg.forward(torch.cat([fakeB, fakeA], 0), taps) as [torch.Tensor];
    const [realA] = torch.noGrad(() => this.vgg.forward(batch.imageA, taps)) as [torch.Tensor];
    const fB = fakeFeat.narrow(0, 0, p.n);
    const fA = fakeFeat.narrow(0, p.n, p.n);
    const content = torch.mseLoss(fA, realA);
    const [regionsB, regionsA] = this.styleRegions(p, fgB, [fB.shape[2] as number, fB.shape[3] as number]);
    const style = styleLoss(fB, realA, fA, regionsB, regionsA);
    let total = gan.mul(L.appearanceGan).add(pose.mul(L.pose)).add(content.mul(L.content)).add(style.mul(L.style));
    if (faceGan) total = total.add(faceGan.mul(L.faceGan));
    let semantic: ReturnType<SptModel['semanticLosses']> | null = null;
    if (logits) {
      semantic = this.semanticLosses(batch, p, logits);
      total = total.add(semantic.total);
    }
    total.backward();
    for (const o of gOpts) o.step();
    for (const o of gOpts) o.zeroGrad();
    // G's backward also reached the estimator and the discriminators; their own steps start from zero.
    est.zeroGrad();
    for (const d of this.discriminators.values()) d.zeroGrad();
    Object.assign(out, {
      G: lossValue('spt', 'G', total),
      G_GAN: lossValue('spt', 'G_GAN', gan),
      G_pose: lossValue('spt', 'G_pose', pose),
      G_content: lossValue('spt', 'G_content', content),
      G_style: lossValue('spt', 'G_style', style),
    });
    if (faceGan) out.G_face = lossValue('spt', 'G_face', faceGan);
    if (semantic && logits) {
      Object.assign(out, { S_CE: lossValue('spt', 'S_CE', semantic.ce), S_GAN: lossValue('spt', 'S_GAN', semantic.gan) });
      out.D_S = this.updateSemanticD(batch, p, logits);
    }
    out.D = torch.scope(() => {
      const opt = this.opt('optimizer_D');
      opt.zeroGrad();
      const realImg = torch.cat([batch.imageA, p.fgA], 1);
      const fB = fgB.detach();
      let loss = discriminatorLoss(dImg.forward(realImg), dImg.forward(torch.cat([fakeA.detach(), p.fgA], 1)))
        .add(discriminatorLoss(dImg.forward(realImg), dImg.forward(torch.cat([fakeB.detach(), fB], 1))));
      if (face) {
        const realFace = faceCrops(batch.imageA, batch.keypointsA, faceSize);
        const fa = discriminatorLoss(face.forward(realFace), face.forward(faceCrops(fakeA.detach(), batch.keypointsA, faceSize)));
        const fb = discriminatorLoss(face.forward(realFace), face.forward(faceCrops(fakeB.detach(), batch.keypointsB, faceSize)));
        out.D_face = lossValue('spt', 'D_face', fa.add(fb));
        loss = loss.add(fa).add(fb);
      }
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return lossValue('spt', 'D', loss);
    });
    return out;
  }

  trainStep(batch: SptBatch): Record<string, number> {
    const stage = this.stage;
    const out = torch.scope(() => {
      const p = this.prepare(batch);
      if (stage === 'semantic') return this.trainSemantic(batch, p);
      return this.trainAppearance(batch, p, stage === 'joint' && this.cfg.variant === 'e2e');
    });
    torch.noGrad(() => this.generator.trainSteps.add_(1));
    return out;
  }

  /** A -> B with the target parsing the variant reads (G_S's probabilities, or the ground truth for 'ts-gt'). */
  generate(batch: PairBatch): torch.Tensor {
    const was = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => {
        const p = this.prepare(batch);
        return this.forwardAB(batch, p, this.targetParsing(batch, p, null));
      }));
    } finally {
      this.generator.train(was);
    }
  }

  /**
   * A -> B rendered to a parsing the caller gives, (N,H,W) int64 labels 0..9, instead of the one the variant reads: what
   * SPT's applications do (texture transfer renders A's clothes to B's parsing; parsing editing renders an image to
   * its edited parsing).
   */
  generateWithParsing(batch: PairBatch, parsingB: torch.Tensor): torch.Tensor {
    const was = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => {
        const p = this.prepare(batch);
        checkLabels(parsingB, 'parsingB', p.n, [this.cfg.image.height, this.cfg.image.width]);
        return this.forwardAB(batch, p, foregroundChannels(parsingB));
      }));
    } finally {
      this.generator.train(was);
    }
  }

  /** The target parsing G_S predicts, (N,H,W) int64 labels (argmax of its softmax). */
  predictParsing(batch: PairBatch): torch.Tensor {
    const was = this.generator.training;
    this.generator.eval();
    try {
      return torch.noGrad(() => torch.scope(() => this.semanticLogits(batch, this.prepare(batch)).argmax(1)));
    } finally {
      this.generator.train(was);
    }
  }

  modules(): Map<string, torch.nn.Module> {
    const out = new Map<string, torch.nn.Module>([['netG', this.generator]]);
    for (const [name, d] of this.discriminators) out.set(`netD_${name}`, d);
    return out;
  }

  optimizers(): Map<string, OptimizerLike> {
    return new Map<string, OptimizerLike>(this.opts);
  }

  /** CycleGAN's linear rule within each stage: constant for the stage's epochs, then linear decay over decayEpochs. */
  endEpoch(): void {
    this.epoch += 1;
    this.applyLr();
  }

  private applyLr(): void {
    const { stage, firstEpoch } = stageAt(this.cfg.schedule, this.epoch);
    const local = this.epoch - firstEpoch;
    const f = Math.max(0, 1 - Math.max(0, local + 1 - stage.epochs) / (stage.decayEpochs + 1));
    for (const o of this.opts.values()) o.lr = this.cfg.optim.lr * f;
  }

  trainingState(): TrainingState {
    return { tensors: new Map(), json: { epoch: this.epoch } };
  }

  loadTrainingState(state: TrainingState): void {
    const epoch = (state.json as { epoch?: unknown } | null)?.epoch;
    if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0) {
      throw new Error('spt: the checkpoint\'s training state lacks a whole "epoch"; it was not written by the spt model');
    }
    this.epoch = epoch;
    this.applyLr();
  }

  dispose(): void {
    this.generator.dispose();
    for (const d of this.discriminators.values()) d.dispose();
    for (const o of this.opts.values()) o.dispose();
    this.vgg.dispose();
  }
}
