// The pretrained weights the metric networks need. The user supplies them (reposer never downloads anything); each
// file has one constant here, and a missing one is an error that says what it is and where it goes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';

/** Where weight files are looked for unless a caller passes another folder. */
export const WEIGHTS_DIR = 'weights';

export interface WeightFile {
  file: string;
  what: string;
  usedBy: string;
}

export const WEIGHT_FILES = {
  /** torchvision.models.inception_v3 ImageNet weights (IMAGENET1K_V1). */
  inceptionTorchvision: {
    file: 'inception_v3_google-0cc3c7bd.pth',
    what: "torchvision's inception_v3 ImageNet weights (models.inception_v3(pretrained=True), IMAGENET1K_V1)",
    usedBy: 'FID in the gfla, pidm and cfld protocols',
  },
  /** pytorch-fid's port of the TensorFlow Inception graph of 2015-12-05 (1008 classes). */
  inceptionFid: {
    file: 'pt_inception-2015-12-05-6726825d.pth',
    what: "pytorch-fid's FID Inception weights (the TensorFlow 2015-12-05 graph, 1008 classes)",
    usedBy: 'IS in the patn protocol',
  },
  /** torchvision.models.alexnet weights; LPIPS uses its `features`. */
  alexnet: {
    file: 'alexnet-owt-7be5be79.pth',
    what: "torchvision's alexnet ImageNet weights (models.alexnet(pretrained=True))",
    usedBy: 'LPIPS',
  },
  /** LPIPS v0.1 linear calibration layers for AlexNet (lpips/weights/v0.1/alex.pth). */
  lpipsAlex: {
    file: 'alex.pth',
    what: 'the LPIPS v0.1 linear layers for AlexNet (weights/v0.1/alex.pth of the lpips package)',
    usedBy: 'LPIPS',
  },
} as const satisfies Record<string, WeightFile>;

export type WeightName = keyof typeof WEIGHT_FILES;

/** The path of a weight file, or an error naming the file, what it is and where to put it. */
export function weightPath(name: WeightName, dir: string = WEIGHTS_DIR): string {
  const w = WEIGHT_FILES[name];
  const path = join(dir, w.file);
  if (!existsSync(path)) {
    throw new Error(`missing ${path}: ${w.what}, needed for ${w.usedBy}. reposer does not download weights; ` +
      `put the file at ${path} (or pass another weights folder)`);
  }
  return path;
}

/**
 * Loads a weight file's state dict, keeping only the keys under `prefixes` (others, such as a classifier the metric
 * does not use, are disposed).
 */
export function loadWeights(name: WeightName, dir: string = WEIGHTS_DIR, prefixes?: string[]): Map<string, torch.Tensor> {
  const all = torch.io.loadPthStateDict(weightPath(name, dir));
  if (!prefixes) return all;
  const kept = new Map<string, torch.Tensor>();
  for (const [k, v] of all) {
    if (prefixes.some((p) => k.startsWith(p))) kept.set(k, v);
    else v.dispose();
  }
  return kept;
}
