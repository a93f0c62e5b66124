// Skeleton pictures: the coloured-limb image people expect (OpenPose palette), drawn as SVG and rasterised by sharp.
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import type { Frame } from './heatmaps.js';
import { JOINT_COLORS, LIMBS, NUM_JOINTS, isVisible, jointX, jointY, assertPose, type Pose } from './skeleton.js';

export interface DrawOptions {
  /** Limb stroke width in pixels; default max(2, round(min(H, W) / 32)). */
  limbWidth?: number;
  /** Joint dot radius in pixels; default limbWidth. */
  jointRadius?: number;
  /** Background RGB; default black; null leaves it transparent (for overlaying on a photo). */
  background?: readonly [number, number, number] | null;
  /** Limb opacity 0..1 (OpenPose draws limbs at 0.6 over the joints); default 0.6. */
  limbOpacity?: number;
}

const rgb = (c: readonly number[]): string => `rgb(${c[0]},${c[1]},${c[2]})`;

/**
 * The skeleton as an SVG document of the frame's size: each limb of LIMBS in its OpenPose colour (limb i takes
 * colour i, the 19th the last colour), a dot per present joint in the joint's colour. Coordinates are pixel centres.
 */
export function skeletonSvg(pose: Pose, frame: Frame, options: DrawOptions = {}): string {
  assertPose(pose, 'skeletonSvg');
  const [h, w] = frame;
  const lw = options.limbWidth ?? Math.max(2, Math.round(Math.min(h, w) / 32));
  const jr = options.jointRadius ?? lw;
  const bg = options.background === undefined ? [0, 0, 0] : options.background;
  const opacity = options.limbOpacity ?? 0.6;
  const parts: string[] = [];
  if (bg !== null) parts.push(`<rect x="0" y="0" width="${w}" height="${h}" fill="${rgb(bg)}"/>`);
  LIMBS.forEach(([a, b], i) => {
    if (!isVisible(pose, a) || !isVisible(pose, b)) return;
    const color = JOINT_COLORS[Math.min(i, JOINT_COLORS.length - 1)] as readonly number[];
    // +0.5: SVG puts pixel (0,0)'s centre at (0.5, 0.5).
    parts.push(`<line x1="${jointX(pose, a) + 0.5}" y1="${jointY(pose, a) + 0.5}" x2="${jointX(pose, b) + 0.5}" y2="${jointY(pose, b) + 0.5}" ` +
      `stroke="${rgb(color)}" stroke-opacity="${opacity}" stroke-width="${lw}" stroke-linecap="round"/>`);
  });
  for (let j = 0; j < NUM_JOINTS; j++) {
    if (!isVisible(pose, j)) continue;
    parts.push(`<circle cx="${jointX(pose, j) + 0.5}" cy="${jointY(pose, j) + 0.5}" r="${jr}" fill="${rgb(JOINT_COLORS[j] as readonly number[])}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${parts.join('')}</svg>`;
}

/** The skeleton as raw RGB bytes, H*W*3, row-major (H, W, 3). */
export async function drawSkeleton(pose: Pose, frame: Frame, options: DrawOptions = {}): Promise<Buffer> {
  const [h, w] = frame;
  const { data, info } = await sharp(Buffer.from(skeletonSvg(pose, frame, options)), { density: 72 })
    .resize(w, h, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h || info.channels !== 3) {
    throw new Error(`drawSkeleton: sharp returned ${info.width}x${info.height}x${info.channels}, expected ${w}x${h}x3`);
  }
  return data;
}

/** The skeleton as a (3,H,W) uint8 tensor (the caller owns it). */
export async function drawSkeletonTensor(pose: Pose, frame: Frame, options: DrawOptions = {}): Promise<torch.Tensor> {
  const [h, w] = frame;
  const bytes = await drawSkeleton(pose, frame, options);
  return torch.scope(() => torch.tensor(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), [h, w, 3]).permute([2, 0, 1]).contiguous());
}

/** Skeletons of a batch, stacked as (N,3,H,W) uint8. */
export async function drawSkeletons(poses: readonly Pose[], frame: Frame, options: DrawOptions = {}): Promise<torch.Tensor> {
  const [h, w] = frame;
  const images = await Promise.all(poses.map((p) => drawSkeleton(p, frame, options)));
  const all = new Uint8Array(poses.length * h * w * 3);
  images.forEach((im, i) => all.set(im, i * h * w * 3));
  return torch.scope(() => torch.tensor(all, [poses.length, h, w, 3]).permute([0, 3, 1, 2]).contiguous());
}

/**
 * A photo with its skeleton drawn over it, as PNG bytes, for looking at annotations (OpenPose palette: the person's
 * right arm orange to yellow, left arm yellow-green; right leg green, left leg blue).
 * @param image path or encoded bytes of an image whose size is the frame
 */
export async function overlaySkeleton(image: string | Buffer, pose: Pose, frame: Frame, options: DrawOptions = {}): Promise<Buffer> {
  const [h, w] = frame;
  const svg = Buffer.from(skeletonSvg(pose, frame, { ...options, background: null }));
  return sharp(image).resize(w, h, { fit: 'fill' }).composite([{ input: svg, top: 0, left: 0 }]).png().toBuffer();
}
