// Importing this module registers every model family: each family's index.ts calls registerModel() on import.
// Families (PATN, PG2, Deformable GAN, ...) are added here as their folders land.

export * from './registry.js';
export * from './config.js';
export type { PairBatch } from './batch.js';
