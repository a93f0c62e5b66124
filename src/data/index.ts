// Datasets: CSV formats, layouts, identities and pairs, .npy, checks and the pair loader.
export * from './formats.js';
export * from './layouts.js';
export * from './pairs.js';
export * from './npy.js';
export * from './check.js';
export * from './batch.js';
export * from './loader.js';
