// `reposer pose detect`: keypoints of photos without annotations, written as the field's annotation CSV so every
// other command reads them. A thin shell over src/detect.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { DEFAULT_MIN_SCORE, detectMany, listImages, mapPool, PersonSegmenter, PoseDetector, skeletonSheet, type BatchItem, type MoveNetVariant } from '../detect/index.js';
import { formatAnnotationCsv } from '../data/formats.js';
import { poseToYX, type Pose } from '../pose/skeleton.js';
import { fraction, oneOf, positiveInt } from './options.js';

interface PoseDetectCliOptions {
  out?: string;
  json?: boolean;
  draw?: string;
  masks?: string;
  model: MoveNetVariant;
  minScore: number;
  concurrency: number;
  people: boolean;
}

/** A pose as 18 [x, y] pairs, x first (what parsePose and drawing tools read); -1 for a missing joint. */
function xyPairs(pose: Pose): [number, number][] {
  const [ys, xs] = poseToYX(pose);
  return ys.map((y, j) => [Math.round(xs[j] as number), Math.round(y)]);
}

/** Writes each photo's person mask (selfie model) as <stem>.png, 0 background and 255 person, at the photo's size. */
async function writeMasks(files: string[], dir: string, concurrency: number): Promise<void> {
  const stems = files.map((f) => basename(f, extname(f)));
  const twice = stems.find((s, i) => stems.indexOf(s) !== i);
  if (twice !== undefined) throw new Error(`--masks: two photos share the stem '${twice}', so their masks would share ${twice}.png; rename one`);
  mkdirSync(dir, { recursive: true });
  const segmenter = await PersonSegmenter.load();
  await mapPool(files, concurrency, async (file) => {
    const m = await segmenter.segment(file);
    const [h, w] = m.size;
    await sharp(Buffer.from(m.mask.map((v) => v * 255)), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png()
      .toFile(join(dir, `${basename(file, extname(file))}.png`));
  });
  console.error(`wrote ${files.length} person masks to ${dir}`);
}

async function runDetect(inputs: string[], o: PoseDetectCliOptions): Promise<void> {
  if (o.out === undefined && !o.json) throw new Error('pose detect: give --out annotations.csv, --json, or both');
  const files = listImages(inputs);
  const detector = await PoseDetector.load({ model: o.model, minScore: o.minScore, checkPeople: o.people });
  const tty = process.stderr.isTTY === true;
  const bar = tty && files.length > 1 ? new cliProgress.SingleBar({ format: 'detect {value}/{total} |{bar}| {percentage}% eta {eta}s', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  bar?.start(files.length, 0);
  const lines: string[] = [];
  const items = await detectMany(detector, files, {
    concurrency: o.concurrency,
    onItem: (item, done, total) => {
      const said = item.error ? [`error: ${item.error.message}`] : item.result.warnings.map((w) => `warning: ${w}`);
      if (bar) {
        lines.push(...said);
        bar.update(done);
      } else {
        for (const l of said) console.error(l);
        if (!tty && total > 1 && (done % 50 === 0 || done === total)) console.error(`detect ${done}/${total}`);
      }
    },
  });
  bar?.stop();
  for (const l of lines) console.error(l);
  const ok = items.filter((i): i is Extract<BatchItem, { result: object }> => i.result !== undefined);
  if (o.out !== undefined) {
    writeFileSync(o.out, formatAnnotationCsv(ok.map((i) => ({ name: basename(i.file), pose: i.result.pose }))));
    console.error(`wrote ${ok.length} rows to ${o.out} (${detector.label}, joints under ${o.minScore} are -1)`);
  }
  if (o.draw !== undefined && ok.length > 0) {
    writeFileSync(o.draw, await skeletonSheet(ok.map((i) => ({ file: i.file, pose: i.result.pose }))));
    console.error(`wrote ${o.draw}`);
  }
  if (o.masks !== undefined && ok.length > 0) await writeMasks(ok.map((i) => i.file), o.masks, o.concurrency);
  if (o.json) {
    console.log(JSON.stringify(items.map((i) => i.error ? { file: i.file, error: i.error.message } : {
      file: i.file,
      name: basename(i.file),
      size: i.result.size,
      keypoints: xyPairs(i.result.pose),
      scores: Array.from(i.result.scores, (s) => Math.round(s * 1000) / 1000),
      people: i.result.people,
      warnings: i.result.warnings,
    }), null, 2));
  }
  const failed = items.length - ok.length;
  if (failed > 0) {
    console.error(`${failed} of ${items.length} images could not be read (named above); their rows are left out`);
    process.exitCode = 1;
  }
}

export function registerPose(program: Command): void {
  const pose = program.command('pose').description('keypoints of photos: detect them with MoveNet');
  pose.command('detect')
    .description('detect the pose of the person in each photo (MoveNet, OpenPose-18 joints) and write an annotation CSV')
    .argument('<images...>', 'image files, or one folder of images')
    .option('--out <annotations.csv>', 'write the annotation CSV (name:keypoints_y:keypoints_x, -1 for a missing joint)')
    .option('--json', 'print the detections as JSON: [x, y] keypoints, per-joint scores, warnings')
    .option('--draw <sheet.png>', 'also draw every photo with its skeleton on one sheet')
    .option('--masks <dir>', 'also write each photo\'s person mask (selfie segmentation) as <dir>/<stem>.png, 255 on the person')
    .option('--model <variant>', 'MoveNet thunder (more accurate) or lightning (about 3x faster)', oneOf(['thunder', 'lightning'] as const), 'thunder')
    .option('--min-score <p>', 'a joint under this confidence is -1', fraction, DEFAULT_MIN_SCORE)
    .option('--concurrency <n>', 'images in flight', positiveInt, 4)
    .option('--no-people', 'skip the multi-person check (faster; for photos known to hold one person)')
    .addHelpText('after', `
A photo without a person gets every joint -1 and a warning; with several people, the most confident is kept and a
warning names the file. A file that is not a readable image is named and left out (exit status 1).

Examples:
  reposer pose detect photos/ --out photos.csv --draw photos-skeletons.png
  reposer pose detect me.jpg --json`)
    .action((images: string[], o: PoseDetectCliOptions) => runDetect(images, o));
}
