// A contact sheet of photos with their detected skeletons drawn over them, for checking a detection run by eye.
import sharp from 'sharp';
import { skeletonSvg } from '../pose/draw.js';
import { emptyPose, isVisible, jointX, jointY, NUM_JOINTS, setJoint, type Pose } from '../pose/skeleton.js';

export interface SheetOptions {
  /** Cell size in pixels, [height, width]; each photo is letterboxed (grey) into its cell. Default [256, 192]. */
  cell?: [number, number];
  /** Cells per row. Default: ceil(sqrt(n * 1.5)), about square. */
  columns?: number;
}

/**
 * Draws each photo with its pose (in the photo's pixels) in a grid, row-major in the given order, as PNG bytes.
 * A photo that cannot be decoded gets a grey cell.
 */
export async function skeletonSheet(items: readonly { file: string | Buffer; pose: Pose }[], options: SheetOptions = {}): Promise<Buffer> {
  if (items.length === 0) throw new Error('skeletonSheet: no images to draw');
  const [ch, cw] = options.cell ?? [256, 192];
  const columns = options.columns ?? Math.max(1, Math.ceil(Math.sqrt(items.length * 1.5)));
  const rows = Math.ceil(items.length / columns);
  const cells = await Promise.all(items.map(async ({ file, pose }) => {
    let meta: { height?: number; width?: number };
    try {
      meta = await sharp(file).metadata();
    } catch {
      return null;
    }
    const [h, w] = [meta.height ?? 1, meta.width ?? 1];
    const scale = Math.min(ch / h, cw / w);
    const [sh, sw] = [Math.max(1, Math.round(h * scale)), Math.max(1, Math.round(w * scale))];
    const [top, left] = [Math.floor((ch - sh) / 2), Math.floor((cw - sw) / 2)];
    const placed = emptyPose();
    for (let j = 0; j < NUM_JOINTS; j++) {
      if (isVisible(pose, j)) setJoint(placed, j, (jointY(pose, j) + 0.5) * (sh / h) - 0.5 + top, (jointX(pose, j) + 0.5) * (sw / w) - 0.5 + left);
    }
    const photo = await sharp(file).resize(sw, sh, { fit: 'fill' }).removeAlpha().png().toBuffer().catch(() => null);
    if (!photo) return null;
    const svg = Buffer.from(skeletonSvg(placed, [ch, cw], { background: null, limbWidth: 3 }));
    return sharp({ create: { width: cw, height: ch, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .composite([{ input: photo, top, left }, { input: svg, top: 0, left: 0 }]).png().toBuffer();
  }));
  const layers = cells.flatMap((c, i) => c ? [{ input: c, top: Math.floor(i / columns) * ch, left: (i % columns) * cw }] : []);
  return sharp({ create: { width: columns * cw, height: rows * ch, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite(layers).png().toBuffer();
}
