// The synthetic figure world: seeded identities, random or real poses, and a renderer with exact ground truth.
export { Rng, deriveSeed, mix32 } from '../random.js';
export { makeIdentity, type Identity, type Proportions, type Garment, type Background, type RGB } from './identity.js';
export { samplePose, sampleAngles, bodyJoints, limitAngles, type BodyAngles, type SampleOptions } from './poses.js';
export { LABELS, LABEL_NAMES, SURFACE_FRAMES, layoutFigure, layoutSvg, completeSkeleton, figureSvg, type FigureGeometry, type SurfaceFrame } from './figure.js';
export {
  correspondenceField, surfaceFromMaps, encodeSurface, parseSurface, readSurface, PART_STRIDE, type Surface, type Correspondence,
} from './surface.js';
export { renderFigure, parseSize, checkSize, type Render, type FrameSize } from './render.js';
export {
  writeSynthDataset, planSynthDataset, encodeRender, synthImageName, identityOfName,
  type SynthDatasetOptions, type SynthDatasetSummary, type SynthImage,
} from './dataset.js';
export { synthGridPng, colorizeParsing, LABEL_PALETTE, type GridOptions } from './grid.js';
export { benchSynth } from './bench.js';
