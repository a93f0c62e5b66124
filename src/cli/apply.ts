// `reposer animate`, `augment`, `transfer-texture` and `edit-parsing`: thin shells over src/apply.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeFileSync, renameSync } from 'node:fs';
import { animate, augmentDataset, editParsing, parsePoseSequence, transferTexture, GARMENT_LABELS } from '../apply/index.js';
import { loadModel, parsePose } from '../generate/index.js';
import { nonNegativeInt, positiveInt, positiveNumber } from './options.js';

interface AnimateCliOptions {
  checkpoint: string;
  source: string;
  sourcePose?: string;
  poses: string;
  out: string;
  fps: number;
  poseFps?: number;
  batchSize: number;
}

interface ParsingCliOptions {
  checkpoint: string;
  data: string;
  split: string;
  out: string;
}

/** Writes PNG bytes atomically. */
function writePng(path: string, bytes: Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** --garment names, comma-separated, as parsing labels. */
function garments(value: string): number[] {
  return value.split(',').map((name) => {
    const label = GARMENT_LABELS[name.trim()];
    if (label === undefined) throw new Error(`--garment: '${name}' is not one of ${Object.keys(GARMENT_LABELS).join(', ')}`);
    return label;
  });
}

interface AugmentCliOptions {
  checkpoint: string;
  data: string;
  split: string;
  poses: number;
  out: string;
  seed: number;
  batchSize: number;
}

export function registerApply(program: Command): void {
  program.command('animate')
    .description('animate a photo through a pose sequence (GFLA\'s application): an animated GIF or WebP, or a folder of PNG frames')
    .requiredOption('--checkpoint <run_dir>', "a run directory of 'reposer train' or 'reposer import'")
    .requiredOption('--source <img>', 'the photo of the person')
    .option('--source-pose <pose>', 'its keypoints: FILE.csv#name, a JSON list of 18 [x, y] (-1 missing), or a JSON file')
    .requiredOption('--poses <csv|json>', 'the pose sequence in the photo\'s pixels: an annotation CSV (rows in order) or a JSON list of poses')
    .requiredOption('--out <path>', 'OUT.gif, OUT.webp, or a folder for frame-NNNNN.png and frames.json')
    .option('--fps <n>', 'output frames per second', positiveNumber, 10)
    .option('--pose-fps <n>', 'the rate the poses are given at; below --fps, frames between them are interpolated (default: --fps)', positiveNumber)
    .option('--batch-size <n>', 'frames per forward pass', positiveInt, 8)
    .addHelpText('after', `
Frame timing is exact to the format's unit (GIF: 10 ms, carried from frame to frame). GIF and WebP merge identical
consecutive frames into one longer frame.

Example:
  reposer animate --checkpoint runs/gfla --source me.jpg --source-pose 'me.csv#me.jpg' --poses dance.csv --fps 20 --pose-fps 5 --out dance.gif`)
    .action(async (o: AnimateCliOptions) => {
      if (o.sourcePose === undefined) {
        throw new Error("animate: --source-pose is required: the photo's keypoints as FILE.csv#name, a JSON list of 18 [x, y], or a JSON file");
      }
      const sourcePose = parsePose(o.sourcePose, '--source-pose');
      const poses = parsePoseSequence(o.poses);
      const loaded = loadModel(o.checkpoint, { notice: (line) => console.error(line) });
      try {
        const r = await animate(loaded, { source: o.source, sourcePose, poses, fps: o.fps, poseFps: o.poseFps, batchSize: o.batchSize, out: o.out });
        const ms = r.delays.reduce((a, b) => a + b, 0);
        console.log(`wrote ${o.out}: ${r.frames} frames (${r.format}), ${(ms / 1000).toFixed(2)} s at ${o.fps} fps`);
      } finally {
        loaded.model.dispose();
      }
    });

  program.command('augment')
    .description('re-ID augmentation (PATN\'s application): every identity of a Market-layout dataset in N new poses, written in the same layout')
    .requiredOption('--checkpoint <run_dir>', "a run directory of 'reposer train' or 'reposer import'")
    .requiredOption('--data <dir>', 'a Market-layout dataset at the model\'s frame')
    .option('--split <name>', 'its split to augment', 'train')
    .requiredOption('--poses <n>', 'new poses per identity, drawn from the split\'s pose bank', positiveInt)
    .requiredOption('--out <dir>', 'OUT/<split>/<source>_g<k>.jpg and OUT/market-annotation-<split>.csv')
    .option('--seed <s>', 'seeds the choice of poses', nonNegativeInt, 0)
    .option('--batch-size <n>', 'poses per forward pass', positiveInt, 8)
    .addHelpText('after', `
Names keep the identity and camera fields (0002_c1s1_000451_03_g00.jpg), so re-ID trainers read them unchanged. An
interrupted run, started again with the same options, generates only what is missing.

Example:
  reposer augment --checkpoint runs/patn-market --data data/market --poses 4 --out data/market-augmented`)
    .action(async (o: AugmentCliOptions) => {
      const loaded = loadModel(o.checkpoint, { notice: (line) => console.error(line) });
      const bar = process.stdout.isTTY ? new cliProgress.SingleBar({ format: 'augment |{bar}| {value}/{total} images  eta {eta_formatted}' }, cliProgress.Presets.shades_classic) : null;
      let last = 0;
      try {
        const r = await augmentDataset(loaded, {
          data: o.data, split: o.split, poses: o.poses, out: o.out, seed: o.seed, batchSize: o.batchSize,
          onProgress: (done, total) => {
            if (bar) {
              if (last === 0) bar.start(total, 0);
              bar.update(done);
            } else if (done === total || done - last >= Math.max(1, Math.floor(total / 20))) {
              console.log(`augment: ${done}/${total} images`);
            }
            last = done;
          },
        });
        bar?.stop();
        console.log(`augmented ${r.identities} identities: ${r.images} images in ${o.out} (${r.generated} generated now); annotations ${r.annotationFile}`);
      } finally {
        bar?.stop();
        loaded.model.dispose();
      }
    });

  program.command('transfer-texture')
    .description("SPT's texture transfer: the receiver wearing the donor's garment, through their parsing maps")
    .requiredOption('--checkpoint <run_dir>', 'an SPT run directory (e.g. checkpoints/spt)')
    .requiredOption('--data <dir>', 'a dataset with parsing maps, at the model\'s frame')
    .option('--split <name>', 'the split the images are in', 'test')
    .requiredOption('--donor <name>', 'the image whose garment is taken')
    .requiredOption('--receiver <name>', 'the image of the person who gets it (pose, shape and the rest stay)')
    .option('--garment <names>', `garments carried over, comma-separated: ${Object.keys(GARMENT_LABELS).join(', ')}`, garments, [GARMENT_LABELS['upper-clothes'] as number])
    .requiredOption('--out <file.png>', 'the result')
    .addHelpText('after', `
Example:
  reposer transfer-texture --checkpoint checkpoints/spt --data runs/demo/data --donor 0001_c1s1_000001_00.png --receiver 0002_c1s1_000001_00.png --garment upper-clothes,pants --out swap.png`)
    .action(async (o: ParsingCliOptions & { donor: string; receiver: string; garment: number[] }) => {
      const loaded = loadModel(o.checkpoint, { notice: (line) => console.error(line) });
      try {
        writePng(o.out, await transferTexture(loaded, { data: o.data, split: o.split, donor: o.donor, receiver: o.receiver, labels: o.garment }));
        console.log(`wrote ${o.out}: ${o.receiver} wearing the garment of ${o.donor}`);
      } finally {
        loaded.model.dispose();
      }
    });

  program.command('edit-parsing')
    .description("SPT's parsing editing: an image regenerated after its parsing map is edited (a PNG of labels 0..9)")
    .requiredOption('--checkpoint <run_dir>', 'an SPT run directory (e.g. checkpoints/spt)')
    .requiredOption('--data <dir>', 'a dataset with parsing maps, at the model\'s frame')
    .option('--split <name>', 'the split the image is in', 'test')
    .requiredOption('--image <name>', 'the image to regenerate')
    .requiredOption('--parsing <labels.png>', "its edited parsing map: labels 0..9 (the dataset's parsing/<split>/<stem>.png is the unedited one)")
    .requiredOption('--out <file.png>', 'the result')
    .addHelpText('after', `
Labels: 0 background, 1 face, 2 hair, 3 upper clothes, 4 pants, 5 skirt, 6 left arm, 7 right arm, 8 left leg, 9 right leg.

Example:
  reposer edit-parsing --checkpoint checkpoints/spt --data runs/demo/data --image 0001_c1s1_000001_00.png --parsing edited.png --out edited-person.png`)
    .action(async (o: ParsingCliOptions & { image: string; parsing: string }) => {
      const loaded = loadModel(o.checkpoint, { notice: (line) => console.error(line) });
      try {
        writePng(o.out, await editParsing(loaded, { data: o.data, split: o.split, image: o.image, parsing: o.parsing }));
        console.log(`wrote ${o.out}: ${o.image} regenerated to ${o.parsing}`);
      } finally {
        loaded.model.dispose();
      }
    });
}
