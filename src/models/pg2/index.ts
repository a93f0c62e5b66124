// PG2 (Ma et al., "Pose Guided Person Image Generation", NIPS 2017), registered as 'pg2'.
import { registerModel, type ModelFamily } from '../registry.js';
import { pg2Defaults, type Pg2Config } from './config.js';
import { Pg2Model, buildPg2Networks } from './model.js';

export const pg2Family: ModelFamily<Pg2Config> = registerModel<Pg2Config>({
  name: 'pg2',
  summary: 'PG2 (Ma et al. 2017): two-stage G1 (U-Net with FC bottleneck) + G2 (difference U-Net), DCGAN D, pose-mask L1',
  defaults: pg2Defaults,
  create: (cfg) => new Pg2Model(cfg),
  parameterCounts: (cfg) => {
    const { generator: g, discriminator: d } = buildPg2Networks(cfg);
    try {
      return { netG: g.numParameters(), netD: d.numParameters() };
    } finally {
      g.dispose();
      d.dispose();
    }
  },
  // The target's pose mask, for the pose-mask L1.
  batchNeeds: () => ({ masks: ['pg2'] }),
});

export { Pg2Model, buildPg2Networks } from './model.js';
export { Pg2G1, Pg2G2, Pg2Generator } from './generator.js';
export { Pg2Discriminator } from './discriminator.js';
export { pg2Defaults, pg2Stage1Steps, type Pg2Config } from './config.js';
