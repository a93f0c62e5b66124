// The field's evaluation protocols as named presets. Each setting names the official script it comes from; see
// docs/eval.md for the table and for what each protocol leaves out.
import type { SsimOptions } from './ssim.js';
import { DETECTION_METRICS, type DetectionMetricSpec } from './detection.js';

export type ProtocolName = 'patn' | 'gfla' | 'pidm' | 'cfld';

/** How a metric of a protocol is computed. */
export type MetricSpec =
  /** SSIM on images scaled as `scale` says: 'uint8' is 0..255, 'unit' is 0..1 (float32 in the scripts). */
  | { kind: 'ssim'; scale: 'uint8' | 'unit'; options: SsimOptions; masked?: false }
  /** SSIM of both images multiplied by the Market mask of the target pose (Deformable GAN's produce_ma_mask). */
  | { kind: 'ssim'; scale: 'uint8'; options: SsimOptions; masked: true }
  /** Mean |generated - target| of images scaled to [-1,1] ('pm1') or [0,1] ('unit'). */
  | { kind: 'l1'; scale: 'pm1' | 'unit' }
  /** Frechet Inception distance against the reference set's pool3 statistics. */
  | { kind: 'fid' }
  /** LPIPS v0.1, AlexNet with the linear calibration, inputs in [-1,1]. */
  | { kind: 'lpips' }
  /** Inception score over `splits` splits (softmax of the 1008-way 2015-12-05 classifier). */
  | { kind: 'is'; splits: number }
  /** End-point error of the generated images' flows against the true correspondence (synthetic datasets). */
  | { kind: 'flow-epe' }
  /** PCKh or DS by one of our detectors (src/eval/detection.ts), named after it. */
  | DetectionMetricSpec;

export interface Protocol {
  name: ProtocolName;
  /** The official script(s) the settings come from. */
  source: string;
  /**
   * How a generated image is brought to the target's frame before any metric. 'exact' refuses a size mismatch;
   * 'bilinear' resizes generated images of another size to the target's with half-pixel-centre bilinear filtering
   * (F.interpolate align_corners=False, which is what cv2.resize INTER_LINEAR computes on float images).
   */
  resize: 'exact' | 'bilinear';
  /** PATN pads 256x176 DeepFashion images to 256x256 (40 white columns each side) before SSIM. */
  padFashion: boolean;
  /** Which images give the FID's real statistics. */
  fidReference: string;
  /** How images enter InceptionV3 for FID. */
  inception: InceptionInput;
  metrics: Record<string, MetricSpec>;
  /** Metrics computed when `evaluate` is given none. */
  defaults: string[];
}

/**
 * The InceptionV3 input step. torchvision's network with its `transform_input` (CFLD writes it out by hand; the GFLA
 * and PIDM copies of pytorch-fid's early InceptionV3 wrapper normalise [0,1] to [-1,1] and build the torchvision
 * network with transform_input off). Both resize to 299x299 bilinear first.
 */
export type InceptionInput = 'torchvision-transform' | 'minus-one-to-one';

const SSIM_256: SsimOptions = { window: { kind: 'gaussian', sigma: 1.5 }, sampleCovariance: false, dataRange: 'generated-range' };
const SSIM_WIN51: SsimOptions = { window: { kind: 'uniform', size: 51 }, sampleCovariance: true, dataRange: 1 };

export const PROTOCOLS: Record<ProtocolName, Protocol> = {
  patn: {
    name: 'patn',
    source: 'tengteng95/Pose-Transfer tool/getMetrics_market.py and tool/getMetrics_fashion.py (ssim_score, l1_score, ' +
      'create_masked_image; addBounding pads DeepFashion); the mask is pose_utils.produce_ma_mask',
    resize: 'exact',
    padFashion: true,
    fidReference: 'none: the PATN scripts report no FID',
    inception: 'minus-one-to-one',
    metrics: {
      // compare_ssim(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, multichannel=True,
      // data_range=generated.max() - generated.min()) on the uint8 images.
      ssim: { kind: 'ssim', scale: 'uint8', options: SSIM_256 },
      mask_ssim: { kind: 'ssim', scale: 'uint8', options: SSIM_256, masked: true },
      // np.abs(2 * (ref / 255 - 0.5) - 2 * (gen / 255 - 0.5)).mean()
      l1: { kind: 'l1', scale: 'pm1' },
      is: { kind: 'is', splits: 10 },
      ...DETECTION_METRICS,
    },
    defaults: ['ssim', 'l1'],
  },
  gfla: {
    name: 'gfla',
    source: 'RenYurui/Global-Flow-Local-Attention script/metrics.py (Reconstruction_Metrics.calculate_from_disk, ' +
      'FID, LPIPS)',
    resize: 'exact',
    padFashion: false,
    fidReference: "the dataset's train split images (the script's gt_path statistics)",
    inception: 'minus-one-to-one',
    metrics: {
      // compare_ssim(img_gt, img_pred, data_range=1, win_size=51, multichannel=True) on float32 images / 255.
      ssim: { kind: 'ssim', scale: 'unit', options: SSIM_WIN51 },
      // The same script's ssim_256: the PATN setting on the images * 255.
      ssim_256: { kind: 'ssim', scale: 'uint8', options: SSIM_256 },
      // compare_l1: mean |gt - pred| of the images / 255.
      l1: { kind: 'l1', scale: 'unit' },
      fid: { kind: 'fid' },
      lpips: { kind: 'lpips' },
      ...DETECTION_METRICS,
    },
    defaults: ['ssim', 'ssim_256', 'l1'],
  },
  pidm: {
    name: 'pidm',
    source: 'ankanbhunia/PIDM utils/metrics.py (FID, LPIPS.calculate_from_disk, Reconstruction_Metrics)',
    // cv2.resize(img, (176, 256)) (INTER_LINEAR) brings 256x256 samples to the 256x176 test frame.
    resize: 'bilinear',
    padFashion: false,
    fidReference: "the dataset's train split images, resized to 256x176 as the script's real_path",
    inception: 'minus-one-to-one',
    metrics: {
      ssim: { kind: 'ssim', scale: 'unit', options: SSIM_WIN51 },
      // PIDM's ssim_256 uses sigma=1.2, not 1.5 (a 9-tap window in skimage 0.19+).
      ssim_256: { kind: 'ssim', scale: 'uint8', options: { ...SSIM_256, window: { kind: 'gaussian', sigma: 1.2 } } },
      l1: { kind: 'l1', scale: 'unit' },
      fid: { kind: 'fid' },
      lpips: { kind: 'lpips' },
      ...DETECTION_METRICS,
    },
    defaults: ['ssim', 'ssim_256', 'l1'],
  },
  cfld: {
    name: 'cfld',
    source: 'YanzuoLu/CFLD models/metrics.py (build_metric) and pose_transfer_test.py (eval)',
    // CFLD resizes its samples with bicubic antialiased interpolation and quantises them before scoring; the saved
    // images are already at the test frame, so a size mismatch here means the images are not CFLD's.
    resize: 'exact',
    padFashion: false,
    fidReference: "the dataset's train split images (FidRealDeepFashion)",
    inception: 'torchvision-transform',
    metrics: {
      // compare_ssim(img_gt, img_pred, data_range=1, win_size=51, channel_axis=0)
      ssim: { kind: 'ssim', scale: 'unit', options: SSIM_WIN51 },
      ssim_256: { kind: 'ssim', scale: 'uint8', options: SSIM_256 },
      fid: { kind: 'fid' },
      lpips: { kind: 'lpips' },
      ...DETECTION_METRICS,
    },
    defaults: ['ssim', 'ssim_256'],
  },
};

/**
 * Metrics every protocol accepts on synthetic data, whose ground truth no official script has: the flow end-point
 * error against the true correspondence field (src/eval/flow.ts). Not in any protocol's defaults.
 */
export const SYNTH_METRICS: Record<string, MetricSpec> = {
  'flow-epe': { kind: 'flow-epe' },
};

/** The spec of metric `name` under `protocol` (its own metrics, then SYNTH_METRICS); undefined if neither has it. */
export function metricSpec(protocol: Protocol, name: string): MetricSpec | undefined {
  return protocol.metrics[name] ?? SYNTH_METRICS[name];
}

/** The protocol named `name`, or an error listing the known ones. */
export function getProtocol(name: string): Protocol {
  const p = (PROTOCOLS as Record<string, Protocol>)[name];
  if (!p) throw new Error(`unknown evaluation protocol '${name}'; use one of ${Object.keys(PROTOCOLS).join(', ')}`);
  return p;
}
