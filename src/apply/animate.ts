// Animation (GFLA's application): one photo and a sequence of poses become frames, made in batched passes, written
// as an animated GIF or WebP with exact frame timing, or as a folder of PNGs.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { generatePoses, parsePose, type GeneratedFrames, type LoadedModel } from '../generate/index.js';
import { readAnnotationCsvSync } from '../data/formats.js';
import { NUM_JOINTS, type Pose } from '../pose/skeleton.js';

/**
 * The poses of a sequence given at `poseFps` poses per second, resampled to `fps` frames per second: frame k shows time
 * k / fps, and its joints are interpolated linearly between the keyframes around that time. A joint missing from either
 * keyframe is missing between them. The sequence keeps its duration, so it has floor((P - 1) * fps / poseFps) + 1 frames.
 */
export function resamplePoses(poses: readonly Pose[], poseFps: number, fps: number): Pose[] {
  if (poses.length === 0) throw new Error('animate: the pose sequence is empty');
  for (const [name, v] of [['fps', fps], ['pose rate', poseFps]] as const) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`animate: ${name} must be a positive number, got ${v}`);
  }
  const count = Math.floor(((poses.length - 1) * fps) / poseFps + 1e-9) + 1;
  const out: Pose[] = [];
  for (let k = 0; k < count; k++) {
    const t = (k * poseFps) / fps; // position in keyframes
    const i = Math.min(Math.floor(t + 1e-9), poses.length - 1);
    const a = poses[i] as Pose;
    const b = poses[Math.min(i + 1, poses.length - 1)] as Pose;
    const w = Math.abs(t - i) < 1e-9 ? 0 : t - i;
    const p = new Float32Array(2 * NUM_JOINTS) as Pose;
    for (let j = 0; j < NUM_JOINTS; j++) {
      const [ay, ax, by, bx] = [a[2 * j], a[2 * j + 1], b[2 * j], b[2 * j + 1]] as number[] as [number, number, number, number];
      const missing = w === 0 ? ay < 0 || ax < 0 : ay < 0 || ax < 0 || by < 0 || bx < 0;
      p[2 * j] = missing ? -1 : ay + w * (by - ay);
      p[2 * j + 1] = missing ? -1 : ax + w * (bx - ax);
    }
    out.push(p);
  }
  return out;
}

/**
 * Per-frame delays in milliseconds for `count` frames at `fps`, each a multiple of `unitMs` (GIF stores centiseconds:
 * 10; WebP milliseconds: 1). Rounding is carried from frame to frame, so frame k ends at round(k x 1000 / fps) to the
 * unit, and the whole animation lasts count / fps seconds to within one unit: 30 fps in a GIF is 30, 40, 30, 30, 40 ... ms.
 */
export function frameDelays(count: number, fps: number, unitMs: number): number[] {
  const delays: number[] = [];
  let shown = 0;
  for (let k = 1; k <= count; k++) {
    const end = Math.round((k * 1000) / fps / unitMs) * unitMs;
    delays.push(Math.max(unitMs, end - shown));
    shown += delays[delays.length - 1] as number;
  }
  return delays;
}

export type AnimationFormat = 'gif' | 'webp' | 'frames';

/** The format `out` asks for: .gif, .webp, or anything else as a folder of PNG frames. */
export function animationFormat(out: string): AnimationFormat {
  const ext = extname(out).toLowerCase();
  return ext === '.gif' ? 'gif' : ext === '.webp' ? 'webp' : 'frames';
}

/**
 * Writes frames at `fps` to `out` (atomically): an animated GIF or WebP that loops, or a folder of frame-NNNNN.png
 * with frames.json (fps and each frame's delay). The GIF and WebP encoders merge identical consecutive frames into one
 * longer frame, which keeps the timing but lowers the frame count.
 */
export async function writeAnimation(video: GeneratedFrames, out: string, fps: number): Promise<{ format: AnimationFormat; frames: number; delays: number[] }> {
  const { width, height, frames } = video;
  if (frames.length === 0) throw new Error('animate: no frames to write');
  const format = animationFormat(out);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  if (format === 'frames') {
    const delays = frameDelays(frames.length, fps, 1);
    mkdirSync(tmp, { recursive: true });
    await Promise.all(frames.map((f, i) => sharp(f, { raw: { width, height, channels: 3 } }).png().toFile(join(tmp, `frame-${String(i).padStart(5, '0')}.png`))));
    writeFileSync(join(tmp, 'frames.json'), `${JSON.stringify({ fps, width, height, delaysMs: delays }, null, 2)}\n`);
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    return { format, frames: frames.length, delays };
  }
  const delays = frameDelays(frames.length, fps, format === 'gif' ? 10 : 1);
  writeFileSync(tmp, await encodeAnimation(video, format, delays));
  renameSync(tmp, out);
  return { format, frames: frames.length, delays };
}

/**
 * Encodes frames as a looping animated GIF or WebP with the given per-frame delays in ms (see frameDelays). GIF and
 * WebP encoders merge identical consecutive frames into one frame with the summed delay.
 */
export async function encodeAnimation(video: GeneratedFrames, format: 'gif' | 'webp', delays: readonly number[]): Promise<Buffer> {
  const { width, height, frames } = video;
  if (frames.length === 0) throw new Error('animate: no frames to encode');
  if (delays.length !== frames.length) throw new Error(`animate: ${frames.length} frames but ${delays.length} delays`);
  const strip = sharp(Buffer.concat(frames), { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } });
  // GIF needs one delay per frame: a single number would set only the first.
  return (format === 'gif' ? strip.gif({ loop: 0, delay: [...delays] }) : strip.webp({ loop: 0, delay: [...delays], quality: 90 })).toBuffer();
}

export interface AnimateOptions {
  /** The person's photo, any size. */
  source: string | Buffer;
  /** The source's keypoints in its own pixels. */
  sourcePose: Pose;
  /** The pose sequence (keyframes), in the source photo's pixels. */
  poses: readonly Pose[];
  /** Output frames per second. Default 10. */
  fps?: number;
  /** The rate the poses are given at; below `fps`, frames between them are interpolated. Default: fps. */
  poseFps?: number;
  /** Frames per forward pass. Default 8. */
  batchSize?: number;
  /** .gif, .webp, or a folder for PNG frames. */
  out: string;
}

/** Animates `source` through the pose sequence and writes it; returns what was written. */
export async function animate(loaded: LoadedModel, o: AnimateOptions): Promise<{ format: AnimationFormat; frames: number; delays: number[] }> {
  const fps = o.fps ?? 10;
  const targetPoses = resamplePoses(o.poses, o.poseFps ?? fps, fps);
  const video = await generatePoses(loaded, { source: o.source, sourcePose: o.sourcePose, targetPoses, batchSize: o.batchSize });
  return writeAnimation(video, o.out, fps);
}

/**
 * A pose sequence: an annotation CSV (its rows in file order), or a JSON list of poses (each a list of 18 [x, y],
 * -1 for missing), inline or in a file.
 */
export function parsePoseSequence(text: string, what = '--poses'): Pose[] {
  if (text.endsWith('.csv')) {
    if (!existsSync(text)) throw new Error(`${what}: annotation CSV ${text} does not exist`);
    const rows = readAnnotationCsvSync(text);
    if (rows.length === 0) throw new Error(`${what}: ${text} has no rows`);
    return rows.map((r) => r.pose);
  }
  const inline = text.trim().startsWith('[');
  if (!inline && !existsSync(text)) throw new Error(`${what}: '${text}' is neither an annotation CSV, a JSON list of poses, nor an existing JSON file holding one`);
  let json: unknown;
  try {
    json = JSON.parse(inline ? text : readFileSync(text, 'utf8'));
  } catch (err) {
    throw new Error(`${what}: ${inline ? 'the JSON given' : text} is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(json) || json.length === 0) throw new Error(`${what}: expected a non-empty JSON list of poses, each a list of ${NUM_JOINTS} [x, y]`);
  return json.map((p, i) => parsePose(JSON.stringify(p), `${what} pose ${i}`));
}
