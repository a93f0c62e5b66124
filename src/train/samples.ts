// Sample grids: one row per pair, columns source | target pose | generated | target.
import { renameSync } from 'node:fs';
import sharp from 'sharp';
import * as torch from '../torch/index.js';
import { drawSkeletons, type Pose } from '../pose/index.js';
import type { PairBatch } from '../models/batch.js';
import type { TrainableModel } from '../models/registry.js';

/** (N,3,H,W) in [-1,1] -> (N,3,H,W) uint8. */
export function toBytes(images: torch.Tensor): torch.Tensor {
  return torch.scope(() => images.add(1).mul(127.5).round().clamp(0, 255).to('uint8'));
}

/** Generates `batch` with `model` and writes the grid as a PNG at `path`, scaled by `scale` (nearest). */
export async function writeSampleGrid(model: TrainableModel, batch: PairBatch, path: string, scale = 1.5): Promise<void> {
  const n = batch.imageA.shape[0] as number;
  const [h, w] = [batch.imageA.shape[2] as number, batch.imageA.shape[3] as number];
  const kp = torch.scope(() => batch.keypointsB.to('float32').contiguous().data()) as Float32Array;
  const poses: Pose[] = [];
  for (let i = 0; i < n; i++) poses.push(kp.slice(i * 36, (i + 1) * 36) as Pose);
  const skeletons = await drawSkeletons(poses, [h, w]);
  const sheet = torch.scope(() => {
    const fake = model.generate(batch);
    const row = torch.cat([toBytes(batch.imageA), skeletons, toBytes(fake), toBytes(batch.imageB)], 3);
    return row.permute([0, 2, 3, 1]).reshape([n * h, 4 * w, 3]).contiguous();
  });
  skeletons.dispose();
  const bytes = sheet.data() as Uint8Array;
  sheet.dispose();
  const tmp = `${path}.tmp-${process.pid}.png`;
  await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { raw: { width: 4 * w, height: n * h, channels: 3 } })
    .resize(Math.round(scale * 4 * w), Math.round(scale * n * h), { kernel: 'nearest' })
    .png()
    .toFile(tmp);
  renameSync(tmp, path);
}
