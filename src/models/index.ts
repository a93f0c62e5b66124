// The model families and what they share. Importing this module registers every family (each family's index.ts
// calls registerModel() on import); each family is also a namespace with its typed config, model and networks:
//
//   import { patn, getModel } from 'reposer/models';
//   const cfg: patn.PATNConfig = patn.patnDefaults('market');
import * as patn from './patn/index.js';
import * as pg2 from './pg2/index.js';
import * as defgan from './defgan/index.js';
import * as gfla from './gfla/index.js';
import * as spt from './spt/index.js';

export { patn, pg2, defgan, gfla, spt };
export * from './registry.js';
export * from './config.js';
export * from './sections.js';
export { makeVgg, loadVgg19, Vgg19Features, DEFAULT_VGG19_WEIGHTS, VGG_WEIGHTS_KEY } from './layers/vgg.js';
export type { PairBatch } from './batch.js';
