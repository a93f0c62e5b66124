// SPT's parsing helpers on the real material the release ships (../shared/data/spt-samples: three DeepFashion pairs
// at 256x256 with their 10-label parsing maps and keypoints): the maps load as labels 0..9, the part-wise warp runs
// on real poses (some with missing joints), and its overlap with the true target parsing is printed next to the
// untransformed source's (docs/models-spt.md quotes these figures). Skips without the shared data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { readParsing, scanAnnotationCsv } from '../../../src/data/index.js';
import { posesToTensor } from '../../../src/pose/index.js';
import { faceCrops, parsingIoU, warpParsing } from '../../../src/models/spt/index.js';
import { NO_SHARED, SHARED } from '../data/shared-data.js';

test('the released SPT samples: parsing maps load, warp to the target pose, and face crops find the head', { skip: NO_SHARED }, async () => {
  const dir = join(SHARED, 'spt-samples');
  const poses = new Map(scanAnnotationCsv(readFileSync(join(dir, 'keypoints.csv'), 'utf8'), 'keypoints.csv').rows.map((r) => [r.name, r.pose]));
  const start = torch.memory().numTensors;
  const lines: string[] = [];
  for (const i of [1, 2, 3]) {
    const [a, b] = await Promise.all(['A', 'B'].map((s) => readParsing(join(dir, 'parsing', `${i}_${s}.npy`), [256, 256])));
    torch.scope(() => {
      const [la, lb] = [torch.tensor(a as BigInt64Array, [1, 256, 256]), torch.tensor(b as BigInt64Array, [1, 256, 256])];
      assert.ok(la.min().item() >= 0 && la.max().item() <= 9, 'labels 0..9');
      const [ka, kb] = [posesToTensor([poses.get(`${i}_A.jpg`)!]), posesToTensor([poses.get(`${i}_B.jpg`)!])];
      const moved = warpParsing(la, ka, kb);
      const [source, warped, self] = [parsingIoU(la, lb).item(), parsingIoU(moved, lb).item(), parsingIoU(warpParsing(la, ka, ka), la).item()];
      for (const v of [source, warped, self]) assert.ok(v >= 0 && v <= 1);
      lines.push(`pair ${i}: source ${source.toFixed(4)}, warped ${warped.toFixed(4)} (warp onto its own pose ${self.toFixed(4)})`);
      // The face crop of A's image lies on A's face and hair labels (1, 2) more than the frame does on average.
      const face = faceCrops(la.unsqueeze(1).to('float32'), ka, 32).round();
      const share = (t: torch.Tensor): number => t.eq(1).logicalOr(t.eq(2)).to('float32').mean().item();
      assert.ok(share(face) > 3 * share(la), `face crop on face/hair: ${share(face)} vs ${share(la)} in the frame`);
    });
  }
  console.log(`# SPT samples, mean IoU with the true target parsing: ${lines.join('; ')}`);
  assert.equal(torch.memory().numTensors, start);
});
