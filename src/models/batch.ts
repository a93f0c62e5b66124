// The batch every model family consumes is defined beside the loader that produces it.
export type { PairBatch } from '../data/batch.js';
