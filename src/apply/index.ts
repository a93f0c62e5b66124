// The papers' applications as library functions: animation (GFLA) and re-ID augmentation (PATN).
export { animate, animationFormat, frameDelays, parsePoseSequence, resamplePoses, writeAnimation, type AnimateOptions, type AnimationFormat } from './animate.js';
export { augmentDataset, type AugmentOptions, type AugmentResult } from './augment.js';
