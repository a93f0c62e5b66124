// Evaluation: the field's protocols (PATN, GFLA, PIDM, CFLD) as named presets over metrics checked against the
// official implementations (scikit-image, scipy, PyTorch). See docs/eval.md.
export { evaluate, resolveMetrics, type EvaluateOptions, type EvalResult } from './evaluate.js';
export { PROTOCOLS, SYNTH_METRICS, getProtocol, metricSpec, type Protocol, type ProtocolName, type MetricSpec, type InceptionInput } from './protocols.js';
export { ssim, windowTaps, type SsimOptions, type SsimWindow } from './ssim.js';
export { sqrtmPsd, gaussianStats, frechetDistance, type GaussianStats, type SqrtmOptions } from './linalg.js';
export { listPredictions, readRgb, padFashionToSquare, type PredFile } from './images.js';
export { Lpips, AlexNetFeatures, LpipsLinear } from './lpips.js';
export { InceptionV3, prepareInceptionInput, inceptionScore, type InceptionVariant, type InceptionOutput } from './inception.js';
export { WEIGHTS_DIR, WEIGHT_FILES, weightPath, loadWeights, type WeightName, type WeightFile } from './weights.js';
export { flowEndPointError, flowFromGrid, flowFromOffsets, flowPath, readFlow, writeFlow, evaluateFlows, type FlowScore } from './flow.js';
export { detectionMetrics, DETECTION_METRICS, type DetectionMetricSpec } from './detection.js';
