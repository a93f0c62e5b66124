// Registers GFLA (Ren et al., CVPR 2020, "Deep Image Spatial Transformation for Person Image Generation": global
// flow fields and local attention) as 'gfla'.
import { registerModel, type ModelFamily } from '../registry.js';
import { GFLA_VARIANTS, gflaDefaults, type GflaConfig } from './config.js';
import { GflaModel, buildGflaNetworks } from './model.js';
import { OFFICIAL_MODULES, importGflaOfficial } from './official.js';

/** Parameters of netG, of the flow estimator inside it (netG.flow_net; 0 without flow) and of netD. */
export function gflaParameterBreakdown(cfg: GflaConfig): { netG: number; flowEstimator: number; netD: number } {
  const { generator: g, discriminator: d } = buildGflaNetworks(cfg);
  try {
    return { netG: g.numParameters(), flowEstimator: g.flow_net?.numParameters() ?? 0, netD: d.numParameters() };
  } finally {
    g.dispose();
    d.dispose();
  }
}

export const gflaFamily: ModelFamily<GflaConfig> = registerModel<GflaConfig>({
  name: 'gfla',
  summary: 'GFLA (Ren et al. 2020): global flow-field estimator + flow-guided local attention in the target decoder; ResDiscriminator (variants baseline/global-attn/bi-sample/full)',
  variants: GFLA_VARIANTS,
  defaults: gflaDefaults,
  create: (cfg) => new GflaModel(cfg),
  // Without VGG19 and optimisers, one entry per checkpointed module (the registry checks they match create()).
  parameterCounts: (cfg) => {
    const { netG, netD } = gflaParameterBreakdown(cfg);
    return { netG: netG as number, netD: netD as number };
  },
  // Images and pose maps only.
  batchNeeds: () => ({}),
  officialModules: OFFICIAL_MODULES,
  importOfficial: importGflaOfficial,
});

export { GflaModel, buildGflaNetworks } from './model.js';
export { GflaGenerator, PoseFlowNet, PoseSourceNet, PoseTargetNet, type GflaOutput, type AttentionKind } from './generator.js';
export { ResDiscriminator } from './discriminator.js';
export { LocalAttention, GlobalAttention } from './layers.js';
export { blockExtractor, localAttnReshape, contentAwareSample, occlusionBlend, resample2d, bilinearWarp, flowToGrid } from './ops.js';
export { correctnessLoss, affineRegularization, contentStyle, vggFeatures, gram } from './losses.js';
export { importGflaOfficial, loadOfficial, officialTable, detectOfficialPreset } from './official.js';
export { gflaDefaults, GFLA_VARIANTS, type GflaConfig, type GflaVariant } from './config.js';
