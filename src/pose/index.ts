// Poses: the OpenPose-18 skeleton, heatmaps, masks, skeleton pictures, Deformable GAN's part affines, augmentation.
export * from './skeleton.js';
export * from './heatmaps.js';
export * from './masks.js';
export * from './parts.js';
export * from './draw.js';
export * from './augment.js';
