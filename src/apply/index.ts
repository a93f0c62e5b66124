// The papers' applications as library functions: animation (GFLA), re-ID augmentation (PATN), and texture transfer
// and parsing editing (SPT).
export { animate, animationFormat, frameDelays, parsePoseSequence, resamplePoses, writeAnimation, type AnimateOptions, type AnimationFormat } from './animate.js';
export { augmentDataset, type AugmentOptions, type AugmentResult } from './augment.js';
export {
  editParsing, transferTexture, predictPhotoParsing, renderPhotoParsing, swapGarment, wearGarment, transferLabels, GARMENT_LABELS,
  type EditParsingOptions, type TransferTextureOptions, type ParsedPhoto, type PhotoParsingOptions, type RenderPhotoParsingOptions, type SwapGarmentOptions,
} from './parsing.js';
