// `reposer demo` (what `make demo` runs): the shipped checkpoints of every family and the training-free baseline on
// people they never saw (src/quality/demo.ts). Trains nothing.
import type { Command } from 'commander';
import * as torch from '../torch/index.js';
import { runDemo, metricsTable, type DemoOptions } from '../quality/demo.js';
import { SHIPPED_CHECKPOINTS } from '../quality/index.js';
import { nonNegativeInt, positiveInt } from './options.js';

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('every family\'s shipped checkpoint and the baseline on unseen synthetic people: demo.png, index.html, metrics (what `make demo` runs)')
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--identities <n>', 'unseen synthetic people (one picture row each)', positiveInt, 6)
    .option('--poses <k>', 'images per person; every ordered pair of them is generated and scored', positiveInt, 3)
    .option('--seed <s>', 'which people (the checkpoints trained on seed 11)', nonNegativeInt, 7)
    .option('--poses-from <annotation.csv>', "target poses: an annotation CSV at 128x64 (default: Market's test CSV in ../shared/data)")
    .option('--pckh', 'also score PCKh with MoveNet (adds about 30 s)', false)
    .option('--checkpoints <dir>', 'a folder of run directories, one per family', SHIPPED_CHECKPOINTS)
    .addHelpText('after', `
Your own photo: 'reposer generate --checkpoint checkpoints/<family> --source photo.jpg --target-image pose.jpg --out posed.png'
detects both poses with MoveNet (docs/detect.md); 'reposer serve' poses a photo by hand in the browser.

Example:
  reposer demo --identities 10 --pckh`)
    .action(async (o: DemoOptions) => {
      console.log(`reposer demo: libtorch ${torch.libtorchVersion()}, ${torch.getNumThreads()} threads, checkpoints in ${o.checkpoints}`);
      const r = await runDemo({ ...o, log: (line) => console.log(line) });
      console.log(`\n${metricsTable(r.metrics)}\n\n(${r.pairs} held-out pairs; SSIM and PCKh higher is better, L1 and EPE lower)`);
      console.log(`picture: ${r.picture}\npage:    ${r.page}`);
    });
}
