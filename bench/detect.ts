// `node dist/bench/detect.js` (make bench-detect): the time per image of every detector model, with 1 and with 4
// images in flight, on the real photos of ../shared/data (SPT's DeepFashion samples and the Market images; synthetic
// figures stand in without it). The models load before timing; each setting warms up on as many images as it keeps
// in flight, then runs every image BENCH_DETECT_ROUNDS (1) times. The machine is shared: compare the rows of one
// run, not runs.
//
// `node dist/bench/detect.js accuracy` prints the figures docs/detect.md reports (a few minutes):
//   1. PCKh and mean pixel error of MoveNet thunder and lightning on the real photos with ground-truth keypoints;
//   2. detection rates and mean CenterNet person score on the user-study images, real (`to`) and Deformable-GAN
//      generated (`gen`), Market and DeepFashion;
//   3. PCKh of MoveNet thunder on the synthetic world (src/synth) at 256x176 and 128x64, with each joint's hit rate
//      (`node dist/bench/detect.js synth` runs this part alone).
// The last line of stdout is one JSON object with every figure.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeImage, mapPool, meanPixelError, MIN_PERSON_JOINTS, pckh, pckhCount, PersonDetector, PersonSegmenter, PoseDetector,
  type DecodedImage,
} from '../src/detect/index.js';
import { readAnnotationCsvSync } from '../src/data/formats.js';
import { JOINT_NAMES, NUM_JOINTS, isVisible, visibleCount, type Pose } from '../src/pose/skeleton.js';
import { writeSynthDataset } from '../src/synth/index.js';

const SHARED = process.env.REPOSER_SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data');
const ROUNDS = Number(process.env.BENCH_DETECT_ROUNDS ?? 1);

/** The photos with ground-truth keypoints: SPT's 6 and the 2 Market images (rows of market-annotation-train.csv). */
function annotatedPhotos(): { path: string; pose: Pose }[] {
  const spt = join(SHARED, 'spt-samples');
  const out = readAnnotationCsvSync(join(spt, 'keypoints.csv')).map((r) => ({ path: join(spt, 'images', r.name), pose: r.pose }));
  const market = join(SHARED, 'market');
  const names = new Set(readdirSync(join(market, 'images')));
  for (const r of readAnnotationCsvSync(join(market, 'market-annotation-train.csv'))) {
    if (names.has(r.name)) out.push({ path: join(market, 'images', r.name), pose: r.pose });
  }
  return out;
}

async function timing(): Promise<Record<string, Record<string, number>>> {
  let images: DecodedImage[];
  let tmp: string | null = null;
  if (existsSync(join(SHARED, 'spt-samples'))) {
    images = await Promise.all(annotatedPhotos().map((p) => decodeImage(p.path)));
  } else {
    console.error(`bench detect: no ${SHARED}; synthetic figures stand in`);
    tmp = mkdtempSync(join(tmpdir(), 'bench-detect-'));
    await writeSynthDataset({ out: tmp, size: { height: 256, width: 176 }, identities: 4, poses: 2, seed: 1 });
    const dir = join(tmp, 'train');
    images = await Promise.all(readdirSync(dir).map((f) => decodeImage(join(dir, f))));
  }
  const runners: Record<string, (img: DecodedImage) => Promise<unknown>> = {};
  const thunder = await PoseDetector.load({ model: 'thunder', checkPeople: false, refine: false });
  const lightning = await PoseDetector.load({ model: 'lightning', checkPeople: false, refine: false });
  const full = await PoseDetector.load({ model: 'thunder' });
  const selfie = await PersonSegmenter.load({ model: 'selfie' });
  const meet = await PersonSegmenter.load({ model: 'meet' });
  const centernet = await PersonDetector.load();
  runners['movenet-thunder'] = (i) => thunder.detectDecoded(i);
  runners['movenet-lightning'] = (i) => lightning.detectDecoded(i);
  runners['pose detect (thunder + multipose + refine)'] = (i) => full.detectDecoded(i);
  runners.selfie = (i) => selfie.segmentDecoded(i);
  runners.meet = (i) => meet.segmentDecoded(i);
  runners.centernet = (i) => centernet.scoreDecoded(i);
  const table: Record<string, Record<string, number>> = {};
  console.log(`${images.length} images, ${ROUNDS} rounds; ms per image (decoded photos in memory)`);
  console.log(`${'model'.padEnd(44)} ${'1 in flight'.padStart(12)} ${'4 in flight'.padStart(12)}`);
  for (const [name, run] of Object.entries(runners)) {
    const row: Record<string, number> = {};
    for (const flight of [1, 4]) {
      await mapPool(images.slice(0, flight), flight, run);
      const t0 = performance.now();
      for (let r = 0; r < ROUNDS; r++) await mapPool(images, flight, run);
      row[`inflight${flight}`] = (performance.now() - t0) / (ROUNDS * images.length);
    }
    table[name] = row;
    console.log(`${name.padEnd(44)} ${row.inflight1!.toFixed(1).padStart(12)} ${row.inflight4!.toFixed(1).padStart(12)}`);
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  return table;
}

async function accuracy(): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  // 1. Ground truth.
  const photos = annotatedPhotos();
  for (const model of ['thunder', 'lightning'] as const) {
    const det = await PoseDetector.load({ model });
    const pairs: [Pose, Pose][] = [];
    let sum = 0;
    let count = 0;
    for (const p of photos) {
      const r = await det.detect(p.path);
      pairs.push([r.pose, p.pose]);
      const e = meanPixelError(r.pose, p.pose);
      sum += e.sum;
      count += e.count;
    }
    const s = pckh(pairs);
    result[`groundTruth_${model}`] = { images: photos.length, pckh: s.pckh, correct: s.correct, total: s.total, meanPixelError: sum / count, joints: count };
    console.log(`ground truth, MoveNet ${model}: PCKh ${s.correct}/${s.total} = ${s.pckh.toFixed(3)}, mean error ${(sum / count).toFixed(2)} px over ${count} joints`);
  }
  // 2. User-study images.
  const det = await PoseDetector.load({ model: 'thunder', checkPeople: false });
  const persons = await PersonDetector.load();
  for (const set of ['market', 'fashion']) {
    for (const kind of ['to', 'gen']) {
      const dir = join(SHARED, 'user-study', `${set}-userstudy`, kind);
      const files = readdirSync(dir).sort().map((f) => join(dir, f));
      const rows = await mapPool(files, 4, async (f) => {
        const img = await decodeImage(f);
        const [pose, person] = await Promise.all([det.detectDecoded(img), persons.scoreDecoded(img)]);
        return { joints: visibleCount(pose.pose), ds: person.score };
      });
      const found = rows.filter((r) => r.joints >= MIN_PERSON_JOINTS).length;
      const stats = {
        images: rows.length, personFound: found / rows.length,
        meanJoints: rows.reduce((s, r) => s + r.joints, 0) / rows.length,
        dsCenterNet: rows.reduce((s, r) => s + r.ds, 0) / rows.length,
      };
      result[`userStudy_${set}_${kind}`] = stats;
      console.log(`user study ${set} ${kind}: person found in ${found}/${rows.length}, ${stats.meanJoints.toFixed(1)} joints on average, DS (CenterNet) ${stats.dsCenterNet.toFixed(3)}`);
    }
  }
  await synthAccuracy(det, result);
  return result;
}

/** Section 3 of `accuracy` alone (`node dist/bench/detect.js synth`, under a minute): what the renderer is tuned by. */
async function synthAccuracy(det: PoseDetector, result: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  for (const size of [{ height: 256, width: 176 }, { height: 128, width: 64 }]) {
    const tmp = mkdtempSync(join(tmpdir(), 'detect-synth-'));
    try {
      await writeSynthDataset({ out: tmp, size, identities: 12, poses: 4, seed: 11, testFraction: 0.5, imageFormat: 'png' });
      const rows = ['train', 'test'].flatMap((split) => readAnnotationCsvSync(join(tmp, `synth-annotation-${split}.csv`)).map((r) => ({ path: join(tmp, split, r.name), pose: r.pose })));
      const detected = await mapPool(rows, 4, async (r) => ({ r, d: await det.detect(r.path) }));
      const s = pckh(detected.map(({ r, d }) => [d.pose, r.pose]));
      const perJoint: Record<string, number> = {};
      for (let j = 0; j < NUM_JOINTS; j++) {
        let hit = 0;
        let all = 0;
        for (const { r, d } of detected) {
          if (!isVisible(r.pose, j)) continue;
          const one = new Float32Array(d.pose).fill(-1);
          one[2 * j] = d.pose[2 * j] as number;
          one[2 * j + 1] = d.pose[2 * j + 1] as number;
          const c = pckhCount(one as Pose, r.pose);
          if (!c) continue;
          all++;
          hit += c.correct;
        }
        perJoint[JOINT_NAMES[j] as string] = all ? hit / all : NaN;
      }
      const none = detected.filter(({ d }) => visibleCount(d.pose) === 0).length;
      const key = `synth_${size.height}x${size.width}`;
      result[key] = { images: rows.length, pckh: s.pckh, correct: s.correct, total: s.total, noPerson: none, perJoint };
      console.log(`synthetic world ${size.height}x${size.width}: PCKh ${s.correct}/${s.total} = ${s.pckh.toFixed(3)} over ${rows.length} figures, no person in ${none}`);
      console.log(`  per joint: ${Object.entries(perJoint).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return result;
}

const mode = process.argv[2] ?? 'timing';
if (mode !== 'timing' && mode !== 'accuracy' && mode !== 'synth') throw new Error(`bench detect: unknown mode '${mode}'; use timing (default), accuracy or synth`);
const out = mode === 'timing' ? await timing()
  : mode === 'accuracy' ? await accuracy()
    : await synthAccuracy(await PoseDetector.load({ model: 'thunder', checkPeople: false }));
console.log(JSON.stringify(out));
