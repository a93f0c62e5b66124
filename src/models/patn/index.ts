// Registers PATN (Zhu et al., CVPR 2019, "Progressive Pose Attention Transfer for Person Image Generation").
import { registerModel, type ModelFamily } from '../registry.js';
import { patnDefaults, type PATNConfig } from './config.js';
import { PATNModel } from './model.js';

export const patn: ModelFamily<PATNConfig> = registerModel<PATNConfig>({
  name: 'patn',
  summary: 'PATN (Zhu et al. 2019): two-stream generator with 9 Pose-Attentional Transfer Blocks; shape + appearance discriminators',
  defaults: patnDefaults,
  create: (cfg) => new PATNModel(cfg),
});

export { PATNModel } from './model.js';
export { PATNGenerator, PATBlock } from './generator.js';
export { PATNDiscriminator } from './discriminator.js';
export type { PATNConfig } from './config.js';
