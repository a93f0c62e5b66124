// `reposer data <subcommand>`: dataset tools, thin shells over src/data and src/synth.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { frame, fraction, integer, nonNegativeInt, oneOf, positiveInt } from './options.js';
import { LAYOUTS, type LayoutName } from '../data/layouts.js';

export function registerData(program: Command): void {
  const data = program.command('data').description('dataset tools: check, draw, pairs, synth, synth-grid');

  data.command('check')
    .description('validate a dataset; report every problem with file and line (exit 1 when any)')
    .argument('<dir>', 'dataset folder')
    .option('--split <name>', 'only this split (train, test, ...)')
    .option('--layout <name>', `auto or one of ${LAYOUTS.join(', ')}`, oneOf(['auto', ...LAYOUTS] as const))
    .option('--frame <HxW>', 'image size when it cannot be detected', frame)
    .option('--shift-x <dx>', "keypoint x shift (PATN's 256x176 frame: -40)", integer)
    .addHelpText('after', '\nExample:\n  reposer data check ../shared/data/market --layout market')
    .action(async (dir: string, o: { split?: string; layout?: LayoutName | 'auto'; frame?: [number, number]; shiftX?: number }) => {
      const { checkDataset, formatCheckReport } = await import('../data/check.js');
      const report = await checkDataset(dir, { splits: o.split ? [o.split] : undefined, layout: o.layout, frame: o.frame, shiftX: o.shiftX });
      console.log(formatCheckReport(report));
      if (report.problems.length > 0) process.exitCode = 1;
    });

  data.command('draw')
    .description('draw annotated images with their skeletons side by side into one PNG')
    .argument('<dir>', 'dataset folder')
    .requiredOption('--out <file.png>', 'the picture to write')
    .option('--split <name>', 'split to read', 'train')
    .option('--count <n>', 'how many images', positiveInt, 8)
    .option('--names <a.jpg,b.jpg>', 'these images instead of the first ones')
    .addHelpText('after', '\nExample:\n  reposer data draw ../shared/data/spt-samples --out skeletons.png --names 1_A.jpg,1_B.jpg')
    .action(async (dir: string, o: { out: string; split: string; count: number; names?: string }) => {
      const { openDataset, imagePath } = await import('../data/layouts.js');
      const { overlaySkeleton } = await import('../pose/draw.js');
      const sharp = (await import('sharp')).default;
      const ds = await openDataset(dir, { split: o.split });
      const rows = o.names
        ? o.names.split(',').map((n) => { const r = ds.annotations.get(n); if (!r) throw new Error(`${n} is not in ${ds.annotationFile}`); return r; })
        : [...ds.annotations.values()].filter((r) => existsSync(imagePath(ds, r.name))).slice(0, o.count);
      if (rows.length === 0) throw new Error(`no annotated image of ${dir} is on disk`);
      const [h, w] = ds.frame;
      const tiles = await Promise.all(rows.map((r) => overlaySkeleton(imagePath(ds, r.name), r.pose, ds.frame)));
      await sharp({ create: { width: w * tiles.length, height: h, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .composite(tiles.map((t, i) => ({ input: t, top: 0, left: i * w })))
        .png()
        .toFile(o.out);
      console.log(`${o.out}: ${rows.map((r) => r.name).join(', ')}`);
    });

  data.command('pairs')
    .description('make a pairs CSV from an annotation CSV (same identity, full torso, no distractors)')
    .argument('<annotation.csv>', 'annotation CSV (name:keypoints_y:keypoints_x)')
    .requiredOption('--out <pairs.csv>', 'the pairs CSV to write')
    .option('--identity <rule>', 'how names give the identity: market or deepfashion', oneOf(['market', 'deepfashion'] as const), 'market')
    .option('--limit <n>', 'at most this many pairs', nonNegativeInt)
    .option('--seed <s>', 'seed of the sampling under --limit', nonNegativeInt)
    .addHelpText('after', '\nExample:\n  reposer data pairs market-annotation-test.csv --out pairs.csv --limit 500 --seed 2')
    .action(async (file: string, o: { out: string; identity: 'market' | 'deepfashion'; limit?: number; seed?: number }) => {
      const { readAnnotationCsv, formatPairsCsv } = await import('../data/formats.js');
      const { makePairs } = await import('../data/pairs.js');
      const pairs = makePairs(await readAnnotationCsv(file), { identity: o.identity, limit: o.limit, seed: o.seed });
      await writeFile(o.out, formatPairsCsv(pairs));
      console.log(`${o.out}: ${pairs.length} pairs`);
    });

  data.command('synth')
    .description('write a synthetic Market-layout dataset (images, CSVs, parsing maps, masks); same options, same bytes')
    .requiredOption('--out <dir>', 'dataset folder to write')
    .option('--size <HxW>', 'image size', '128x64')
    .option('--identities <n>', 'people', positiveInt, 20)
    .option('--poses <k>', 'images per person (>= 2)', positiveInt, 8)
    .option('--seed <s>', 'seed', nonNegativeInt, 0)
    .option('--prefix <p>', 'file-name prefix of the CSVs')
    .option('--test-fraction <f>', 'share of people held out for test', fraction, 0.2)
    .option('--poses-from <annotation.csv>', 'draw poses from a real annotation CSV of the same frame size')
    .option('--test-poses-from <annotation.csv>', "the test split's poses from another CSV (e.g. Market's test annotations)")
    .option('--image-format <fmt>', 'jpg (Market, quality 95) or png (lossless)', oneOf(['jpg', 'png'] as const))
    .addHelpText('after', `
Writes DIR/{train,test}/*.jpg, DIR/<prefix>-annotation-{train,test}.csv, DIR/<prefix>-pairs-{train,test}.csv (split
by identity), DIR/parsing/{train,test}/*.png (SPT labels 0..9), DIR/masks/{train,test}/*.png and DIR/synth.json.

Example:
  reposer data synth --out data/synth --identities 40 --poses 6 --seed 1`)
    .action(async (o: { out: string; size: string; identities: number; poses: number; seed: number; prefix?: string; testFraction: number; posesFrom?: string; testPosesFrom?: string; imageFormat?: 'jpg' | 'png' }) => {
      const { readAnnotationCsv } = await import('../data/formats.js');
      const { parseSize, writeSynthDataset } = await import('../synth/index.js');
      const size = parseSize(o.size);
      const readPoses = async (flag: string, file: string): Promise<Float32Array[]> => {
        const rows = await readAnnotationCsv(file);
        const outside = rows.find((r) => {
          for (let j = 0; j < 18; j++) if ((r.pose[2 * j] as number) >= size.height || (r.pose[2 * j + 1] as number) >= size.width) return true;
          return false;
        });
        if (outside) {
          throw new Error(`${flag}: ${file} line ${outside.line} (${outside.name}) has a keypoint outside the ` +
            `${size.height}x${size.width} frame; pass the --size the CSV was made for`);
        }
        return rows.map((r) => r.pose);
      };
      const posesFrom = o.posesFrom ? await readPoses('--poses-from', o.posesFrom) : undefined;
      const testPosesFrom = o.testPosesFrom ? await readPoses('--test-poses-from', o.testPosesFrom) : undefined;
      const t0 = performance.now();
      const s = await writeSynthDataset({
        out: o.out, size, posesFrom, testPosesFrom, identities: o.identities, poses: o.poses, seed: o.seed, prefix: o.prefix,
        testFraction: o.testFraction, imageFormat: o.imageFormat,
      });
      console.log(`wrote ${o.out}: train ${s.train.identities} identities, ${s.train.images} images, ${s.train.pairs} pairs; ` +
        `test ${s.test.identities} identities, ${s.test.images} images, ${s.test.pairs} pairs (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    });

  data.command('synth-grid')
    .description('write the README picture of synthetic identities in several poses, each beside its parsing map')
    .requiredOption('--out <file.png>', 'the picture to write')
    .option('--identities <n>', 'people', positiveInt, 4)
    .option('--poses <k>', 'poses per person', positiveInt, 5)
    .option('--seed <s>', 'seed', nonNegativeInt, 8)
    .option('--size <HxW>', 'image size', '128x64')
    .addHelpText('after', '\nExample:\n  reposer data synth-grid --out docs/images/synth.png')
    .action(async (o: { out: string; identities: number; poses: number; seed: number; size: string }) => {
      const { parseSize, synthGridPng } = await import('../synth/index.js');
      const png = await synthGridPng({ identities: o.identities, poses: o.poses, seed: o.seed, size: parseSize(o.size) });
      await mkdir(dirname(o.out), { recursive: true });
      await writeFile(o.out, png);
      console.log(`wrote ${o.out} (${png.length} bytes)`);
    });
}
