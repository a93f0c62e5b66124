// Deformable GAN (Siarohin et al., "Deformable GANs for Pose-based Human Image Generation", CVPR 2018), registered
// as 'defgan'.
import { registerModel, type ModelFamily } from '../registry.js';
import { DEFGAN_VARIANTS, defganDefaults, type DefGanConfig } from './config.js';
import { DefGanModel, buildDefGanNetworks } from './model.js';

export const defganFamily: ModelFamily<DefGanConfig> = registerModel<DefGanConfig>({
  name: 'defgan',
  summary: 'Deformable GAN (Siarohin et al. 2018): two-stream U-Net with deformable skips, conditional patch D, NN loss (variants baseline/dsc/full)',
  variants: DEFGAN_VARIANTS,
  defaults: defganDefaults,
  create: (cfg) => new DefGanModel(cfg),
  // Without VGG19 (a frozen loss network, not part of the model) and without optimisers.
  parameterCounts: (cfg) => {
    const { generator: g, discriminator: d } = buildDefGanNetworks(cfg);
    try {
      return { netG: g.numParameters(), netD: d.numParameters() };
    } finally {
      g.dispose();
      d.dispose();
    }
  },
  // The deformable skips warp by the parts' affines and masks; the baseline has plain skips.
  batchNeeds: (cfg) => ({ affines: cfg.variant !== 'baseline' }),
});

export { DefGanModel, buildDefGanNetworks, type DefGanModelOptions } from './model.js';
export { DefGanGenerator, DefGanEncoder } from './generator.js';
export { DefGanDiscriminator } from './discriminator.js';
export { deformableSkip, identityAffines, translationAffines, NUM_PARTS } from './deformable.js';
export { nearestNeighbourLoss } from './losses.js';
export { defganDefaults, DEFGAN_VARIANTS, type DefGanConfig, type DefGanVariant } from './config.js';
