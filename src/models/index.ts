// Importing this module registers every model family: each family's index.ts calls registerModel() on import.
import './patn/index.js';
import './pg2/index.js';
import './defgan/index.js';
import './defgan/index.js';

export * from './registry.js';
export * from './config.js';
export type { PairBatch } from './batch.js';
