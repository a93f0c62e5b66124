// Registers PATN (Zhu et al., CVPR 2019, "Progressive Pose Attention Transfer for Person Image Generation").
import { registerModel, type ModelFamily } from '../registry.js';
import { patnDefaults, type PATNConfig } from './config.js';
import { PATNModel, buildDiscriminators, buildGenerator } from './model.js';
import { OFFICIAL_DISCRIMINATORS, importPatnOfficial } from './official.js';

const D_MODULE: Record<string, string> = { shape: 'netD_PB', appearance: 'netD_PP' };

function parameterCounts(cfg: PATNConfig): Record<string, number> {
  const g = buildGenerator(cfg);
  const ds = buildDiscriminators(cfg);
  try {
    const out: Record<string, number> = { netG: g.numParameters() };
    for (const [name, d] of ds) out[D_MODULE[name] ?? name] = d.numParameters();
    return out;
  } finally {
    g.dispose();
    for (const d of ds.values()) d.dispose();
  }
}

export const patn: ModelFamily<PATNConfig> = registerModel<PATNConfig>({
  name: 'patn',
  summary: 'PATN (Zhu et al. 2019): two-stream generator with 9 Pose-Attentional Transfer Blocks; shape + appearance discriminators',
  defaults: patnDefaults,
  create: (cfg) => new PATNModel(cfg),
  parameterCounts,
  // Pose maps and images only: the loader's defaults.
  batchNeeds: () => ({}),
  officialModules: Object.fromEntries(Object.entries(OFFICIAL_DISCRIMINATORS).map(([k, v]) => [k, v.what])),
  importOfficial: importPatnOfficial,
});

export { PATNModel } from './model.js';
export { PATNGenerator, PATBlock } from './generator.js';
export { PATNDiscriminator } from './discriminator.js';
export type { PATNConfig, NormKind, GanLossKind } from './config.js';
export { officialGeneratorTable, officialDiscriminatorTable, loadOfficialGenerator, loadOfficialDiscriminator, importPatnOfficial } from './official.js';
export { patnDefaults } from './config.js';
