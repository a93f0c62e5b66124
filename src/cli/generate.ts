// `reposer generate` (one photo, or every pair of a dataset) and `reposer test` (the whole test split), thin shells
// over src/generate.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { detectPoseFor, generateDataset, generate, imageSize, loadModel, parsePose, targetPoseInSource, type OutputLayout } from '../generate/index.js';
import { visibleCount, type Pose } from '../pose/skeleton.js';
import { nonNegativeInt, oneOf, positiveInt } from './options.js';
import type { Precision } from '../train/precision.js';

interface GenerateCliOptions {
  checkpoint: string;
  out: string;
  source?: string;
  sourcePose?: string;
  targetPose?: string;
  targetImage?: string;
  data?: string;
  pairs?: string;
  split: string;
  batchSize: number;
  workers: number;
  layouts: OutputLayout[];
  precision: Precision;
}

const POSE_HELP = 'FILE.csv#name (a row of an annotation CSV), a JSON list of 18 [x, y] (-1 missing), or a JSON file';

async function runGenerate(o: GenerateCliOptions): Promise<void> {
  const single = o.source !== undefined;
  if (single === (o.data !== undefined)) {
    throw new Error('generate: give either --source IMG (one photo) or --data DIR (every pair of a dataset), not both or neither');
  }
  if (single) {
    if (o.targetImage !== undefined && o.targetPose !== undefined) throw new Error('generate: give the wanted pose with --target-pose or --target-image, not both');
    if (o.targetPose === undefined && o.targetImage === undefined) {
      throw new Error(`generate: give the wanted pose with --target-pose (${POSE_HELP}) or --target-image IMG (its pose is detected)`);
    }
  }
  const loaded = loadModel(o.checkpoint, { precision: o.precision, notice: (line) => console.error(line) });
  try {
    if (single) {
      const source = o.source as string;
      const warn = (line: string): void => console.error(`warning: ${line}`);
      let sourcePose: Pose;
      if (o.sourcePose !== undefined) sourcePose = parsePose(o.sourcePose, '--source-pose');
      else {
        sourcePose = (await detectPoseFor(source, '--source', warn)).pose;
        console.error(`detected the source pose with MoveNet thunder (${visibleCount(sourcePose)} of 18 joints)`);
      }
      let targetPose: Pose;
      if (o.targetPose !== undefined) targetPose = parsePose(o.targetPose, '--target-pose');
      else {
        const detected = await detectPoseFor(o.targetImage as string, '--target-image', warn);
        const frame: [number, number] = [loaded.cfg.image.height, loaded.cfg.image.width];
        targetPose = targetPoseInSource(detected.pose, detected.size, await imageSize(source, '--source'), frame);
        console.error(`took the target pose from ${o.targetImage} (${visibleCount(targetPose)} of 18 joints)`);
      }
      const png = await generate(loaded, { source, sourcePose, targetPose });
      writeFileSync(o.out, png);
      console.log(`wrote ${o.out}`);
    } else {
      const n = await generateDataset(loaded, { data: o.data as string, split: o.split, pairs: o.pairs, out: o.out, batchSize: o.batchSize, workers: o.workers, layouts: o.layouts });
      console.log(`generated ${n} pairs into ${o.out} (${o.layouts.join(', ')})`);
    }
  } finally {
    loaded.model.dispose();
  }
}

export function registerGenerate(program: Command): void {
  program.command('generate')
    .description('generate a person in a new pose: one photo (any size), or every pair of a dataset')
    .requiredOption('--checkpoint <run_dir>', "a run directory of 'reposer train' or 'reposer import'")
    .requiredOption('--out <path>', 'OUT.png for one photo; a folder with --data')
    .option('--source <img>', 'the photo of the person (letterboxed to the model frame; the result has its size)')
    .option('--source-pose <pose>', `its keypoints: ${POSE_HELP}; default: detected (MoveNet)`)
    .option('--target-pose <pose>', 'the wanted pose, in the source photo\'s pixels')
    .option('--target-image <img>', 'take the wanted pose from this photo (detected with MoveNet)')
    .option('--data <dir>', 'generate every pair of this dataset split instead')
    .option('--pairs <pairs.csv>', 'with --data: these pairs instead of the split\'s own')
    .option('--split <name>', 'with --data: the split', 'test')
    .option('--batch-size <n>', 'with --data: pairs per batch', positiveInt, 8)
    .option('--workers <n>', 'with --data: loader threads', nonNegativeInt, 1)
    .option('--precision <p>', 'fp32, or bf16 (autocast) where the CPU has native bf16', oneOf(['fp32', 'bf16'] as const), 'fp32')
    .option('--layout <name>', "with --data: pairs (<from>___<to>.png), patn (PATN's test strips in patn/), gfla (GFLA's names in gfla/); repeatable",
      (v: string, prev: OutputLayout[] | undefined) => [...(prev ?? []), oneOf(['pairs', 'patn', 'gfla'] as const)(v)])
    .addHelpText('after', `
Examples:
  reposer generate --checkpoint runs/patn --source me.jpg --source-pose 'poses.csv#me.jpg' --target-pose '[[30,20],...]' --out me-posed.png
  reposer generate --checkpoint runs/patn --source me.jpg --target-image dancer.jpg --out me-dancing.png
  reposer generate --checkpoint runs/patn --data data/market --pairs market-pairs-test.csv --out results/`)
    .action((o: GenerateCliOptions & { layout?: OutputLayout[] }) => runGenerate({ ...o, layouts: o.layout ?? ['pairs'] }));

  program.command('test')
    .description("generate the whole test split: <from>___<to>.png per pair (what 'reposer eval' reads), PATN's strips in patn/ and GFLA's names in gfla/, for their official scripts")
    .requiredOption('--checkpoint <run_dir>', "a run directory of 'reposer train' or 'reposer import'")
    .requiredOption('--data <dir>', 'dataset folder with a test split')
    .requiredOption('--out <dir>', 'folder for the images')
    .option('--batch-size <n>', 'pairs per batch', positiveInt, 8)
    .option('--workers <n>', 'loader threads', nonNegativeInt, 1)
    .option('--precision <p>', 'fp32, or bf16 (autocast) where the CPU has native bf16', oneOf(['fp32', 'bf16'] as const), 'fp32')
    .addHelpText('after', '\nExample:\n  reposer test --checkpoint runs/patn --data data/market --out runs/patn/test')
    .action((o: GenerateCliOptions) => runGenerate({ ...o, split: 'test', layouts: ['pairs', 'patn', 'gfla'] }));
}
