// SPT (Song et al., "Unsupervised Person Image Generation with Semantic Parsing Transformation", CVPR 2019),
// registered as 'spt'.
import { registerModel, type ModelFamily } from '../registry.js';
import { SPT_VARIANTS, sptDefaults, type SptConfig } from './config.js';
import { SptModel, sptNetworkCounts } from './model.js';

export const sptFamily: ModelFamily<SptConfig> = registerModel<SptConfig>({
  name: 'spt',
  summary: 'SPT (Song et al. 2019): semantic generator (parsing transformation) + appearance generator with part-warped skips; parsing, image and face Ds (variants ts-pred/ts-gt/e2e)',
  variants: SPT_VARIANTS,
  defaults: sptDefaults,
  create: (cfg) => new SptModel(cfg),
  // Without VGG16 (a frozen loss network) and without optimisers, under the names modules() checkpoints; netG holds
  // G_S, G_A and the pose estimator (sptNetworkCounts splits it).
  parameterCounts: (cfg) => {
    const { generator: g, discriminators } = sptNetworkCounts(cfg);
    return { netG: g.semantic + g.appearance + g.poseEstimator, ...discriminators };
  },
  // Parsing maps of both images (G_S and G_A read the source's, 'ts-gt' the target's), and the searched pseudo-labels
  // of the targets when the semantic stage learns from them.
  batchNeeds: (cfg) => ({ parsing: true, pseudoParsing: cfg.loss.pseudoLabel === 'searched' }),
});

export { SptModel, buildSptNetworks, sptNetworkCounts, type SptModelOptions, type SptBatch, type SptNetworkCounts } from './model.js';
export { SemanticGenerator, AppearanceGenerator, PoseEstimator, SptGenerator, ResBlock, SEMANTIC_IN } from './generator.js';
export { PatchDiscriminator } from './discriminator.js';
export { lsgan, discriminatorLoss, maskedCrossEntropy, regionGrams, styleLoss, poseLoss } from './losses.js';
export { NUM_LABELS, oneHotParsing, foregroundChannels, warpParsing, parsingIoU, faceCrops, PART_LABELS } from './parsing.js';
export { makeVgg16, VGG16_URL } from './vgg16.js';
export { sptDefaults, validateSptConfig, SPT_VARIANTS, SPT_STYLE_KINDS, SPT_STAGES, DEFAULT_VGG16_WEIGHTS, type SptConfig, type SptVariant, type SptStyleKind } from './config.js';
export { searchPseudoLabels, pseudoLabelCacheFile, poseDistance, pairKey, type PseudoLabel, type PseudoLabelOptions } from './pseudo-labels.js';
