// PCKh (src/detect/pckh.ts) against a Python restatement of PATN's tool/calPCKH_market.py: the script reads a
// predicted-keypoint CSV whose names are `<from>___<to>.png` and the target annotation CSV, both as our writer formats
// them, and pools correct joints over the targets' visible joints. Poses are real Market test annotations, the
// predictions the same rows with seeded jitter of a few head sizes, dropped joints and targets without a head box.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from '../helpers/oracle.js';
import { NO_SHARED, SHARED } from '../unit/data/shared-data.js';
import { formatAnnotationCsv, readAnnotationCsvSync } from '../../src/data/formats.js';
import { pckh } from '../../src/detect/index.js';
import { Rng } from '../../src/random.js';
import { emptyPose, isVisible, jointX, jointY, NUM_JOINTS, setJoint, type Pose } from '../../src/pose/skeleton.js';

// The script's rules, restated: a joint is right when both are present and |dx| < w * alpha and |dy| < h * alpha;
// the head box needs at least two of joints 0, 1, 14-17; targets without one are skipped.
const ORACLE = String.raw`
import json, sys
PARTS = [0, 1, 14, 15, 16, 17]
def rows(path):
    out = {}
    lines = open(path).read().splitlines()
    assert lines[0] == 'name:keypoints_y:keypoints_x', lines[0]
    for line in lines[1:]:
        name, ys, xs = line.split(':')
        out[name.strip()] = (json.loads(ys), json.loads(xs))
    return out
targets = rows(sys.argv[1])
preds = rows(sys.argv[2])
n_all = n_right = 0
for pname, (py, px) in preds.items():
    tname = pname[:-4].split('___')[1]
    ty, tx = targets[tname]
    head = [(tx[c], ty[c]) for c in PARTS if tx[c] != -1 and ty[c] != -1]
    if len(head) < 2:
        continue
    w = max(p[0] for p in head) - min(p[0] for p in head)
    h = max(p[1] for p in head) - min(p[1] for p in head)
    n_all += sum(1 for v in ty if v != -1)
    for i in range(len(px)):
        if -1 in (px[i], py[i], tx[i], ty[i]):
            continue
        if abs(px[i] - tx[i]) < w * 0.5 and abs(py[i] - ty[i]) < h * 0.5:
            n_right += 1
print(json.dumps({'correct': n_right, 'total': n_all}))
`;

test('PCKh counts as PATN\'s calPCKH_market.py on 400 jittered Market annotations', { skip: NO_SHARED }, () => {
  const targets = readAnnotationCsvSync(join(SHARED, 'market', 'market-annotation-test.csv')).slice(0, 400);
  const rng = new Rng(20261202);
  const preds = targets.map((t, i) => {
    const p = emptyPose();
    for (let j = 0; j < NUM_JOINTS; j++) {
      if (!isVisible(t.pose, j) || rng.next() < 0.1) continue;
      // Integer offsets up to 6 px either way: the CSV holds integers, and head boxes on Market are 4-12 px wide.
      setJoint(p, j, jointY(t.pose, j) + Math.round((rng.next() - 0.5) * 12), jointX(t.pose, j) + Math.round((rng.next() - 0.5) * 12));
    }
    return { name: `from${i}.jpg___${t.name}.png`, pose: p };
  });
  // A quarter of the targets keep one head joint at most, so the skip rule is exercised.
  const stripped = targets.map((t, i) => {
    if (i % 4 !== 0) return t;
    const pose = Float32Array.from(t.pose) as Pose;
    for (const j of [1, 14, 15, 16, 17]) setJoint(pose, j, -1, -1);
    return { ...t, pose };
  });
  const dir = mkdtempSync(join(tmpdir(), 'detect-pckh-'));
  try {
    writeFileSync(join(dir, 'targets.csv'), formatAnnotationCsv(stripped));
    writeFileSync(join(dir, 'preds.csv'), formatAnnotationCsv(preds));
    const r = spawnSync(PYTHON, ['-c', ORACLE, join(dir, 'targets.csv'), join(dir, 'preds.csv')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as { correct: number; total: number };
    const ours = pckh(preds.map((p, i) => [p.pose, stripped[i]!.pose] as const));
    assert.deepEqual({ correct: ours.correct, total: ours.total }, expected);
    assert.ok(ours.skipped >= 100 && ours.pckh > 0.2 && ours.pckh < 0.95, `a discriminating mix: ${JSON.stringify(ours)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
