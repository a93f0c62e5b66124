// The papers' applications as library functions: animation (GFLA), re-ID augmentation (PATN), and texture transfer
// and parsing editing (SPT).
export { animate, animationFormat, frameDelays, parsePoseSequence, resamplePoses, writeAnimation, type AnimateOptions, type AnimationFormat } from './animate.js';
export { augmentDataset, type AugmentOptions, type AugmentResult } from './augment.js';
export { editParsing, transferTexture, GARMENT_LABELS, type EditParsingOptions, type TransferTextureOptions } from './parsing.js';
