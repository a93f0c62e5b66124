// The metrics that run a detector on the generated images: PCKh (keypoints of the generated person against the
// target pose) and DS (how confidently an object detector sees a person). Both are named after the detector that
// computes them, since the papers used others (OpenPose for PCKh, SSD300 for DS) and the numbers do not carry over.
import { decodeImage, mapPool, pckh, PersonDetector, PoseDetector } from '../detect/index.js';
import { emptyPose, isVisible, jointX, jointY, NUM_JOINTS, setJoint, type Pose } from '../pose/skeleton.js';
import type { Dataset } from '../data/index.js';
import type { PredFile } from './images.js';

/** Metric specs of the detector metrics (see protocols.ts's MetricSpec). */
export type DetectionMetricSpec = { kind: 'pckh'; detector: 'movenet-thunder' } | { kind: 'ds'; detector: 'centernet' };

/** The detector metrics every protocol offers (none is a default: they need no weights but cost ~0.1-0.3 s/image). */
export const DETECTION_METRICS: Record<string, DetectionMetricSpec> = {
  pckh_movenet: { kind: 'pckh', detector: 'movenet-thunder' },
  ds_centernet: { kind: 'ds', detector: 'centernet' },
};

/** A pose detected in a (h, w) image, in the (H, W) target frame (the PIDM protocol scores other sizes). */
function toFrame(pose: Pose, [h, w]: readonly [number, number], [th, tw]: readonly [number, number]): Pose {
  if (h === th && w === tw) return pose;
  const out = emptyPose();
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (isVisible(pose, j)) setJoint(out, j, (jointY(pose, j) + 0.5) * (th / h) - 0.5, (jointX(pose, j) + 0.5) * (tw / w) - 0.5);
  }
  return out;
}

/**
 * Computes the asked detector metrics over the generated images. PCKh pools every pair whose target pose has a head
 * box (PATN's calPCKH scripts); DS is the mean of the top person score. Every target must be annotated for PCKh.
 */
export async function detectionMetrics(names: readonly string[], specs: Record<string, { kind: string }>, preds: readonly PredFile[], dataset: Dataset,
  concurrency = 4): Promise<Record<string, number>> {
  const pckhName = names.find((n) => specs[n]?.kind === 'pckh');
  const dsName = names.find((n) => specs[n]?.kind === 'ds');
  if (!pckhName && !dsName) return {};
  if (pckhName) {
    const missing = preds.find((p) => !dataset.annotations.has(p.to));
    if (missing) {
      throw new Error(`${pckhName} needs the target pose of ${missing.path}, but '${missing.to}' is not in ${dataset.annotationFile}; drop ${pckhName} or annotate the image`);
    }
  }
  // Generated images hold one person by construction: no multi-person pass.
  const poses = pckhName ? await PoseDetector.load({ model: 'thunder', checkPeople: false }) : null;
  const persons = dsName ? await PersonDetector.load() : null;
  const results = await mapPool(preds, concurrency, async (p) => {
    const img = await decodeImage(p.path);
    const detected = poses ? await poses.detectDecoded(img) : null;
    const ds = persons ? (await persons.scoreDecoded(img)).score : 0;
    return { p, detected, ds };
  });
  const metrics: Record<string, number> = {};
  if (pckhName) {
    const pairs = results.map(({ p, detected }) => [
      toFrame((detected as NonNullable<typeof detected>).pose, (detected as NonNullable<typeof detected>).size, dataset.frame),
      (dataset.annotations.get(p.to) as { pose: Pose }).pose,
    ] as const);
    metrics[pckhName] = pckh(pairs).pckh;
  }
  if (dsName) metrics[dsName] = results.reduce((s, r) => s + r.ds, 0) / results.length;
  return metrics;
}
