// Training-free baselines that are scored like models.
export {
  warpBaseline, writeBaselinePredictions, COMPOSITE_ORDER, type WarpBaselineOptions, type WarpBaselineResult, type BaselinePredictionOptions,
} from './warp.js';
