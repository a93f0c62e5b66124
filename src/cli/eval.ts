// `reposer eval`: a thin shell over evaluate(): one of the field's protocols, named, on a folder of generated images.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { evaluate, PROTOCOLS } from '../eval/index.js';
import { positiveInt } from './options.js';

interface EvalCliOptions {
  pred: string;
  data: string;
  protocol: string;
  metrics?: string;
  split: string;
  batchSize: number;
  weights?: string;
  fidReference?: string;
  json?: boolean;
  out?: string;
}

export function registerEval(program: Command): void {
  program.command('eval')
    .description("score generated images with one of the field's protocols (each a documented preset: docs/eval.md)")
    .requiredOption('--pred <dir>', 'generated images named <from>___<to>.png (what reposer test writes)')
    .requiredOption('--data <dir>', 'the dataset: targets are its test images <to>')
    .requiredOption('--protocol <name>', `one of ${Object.keys(PROTOCOLS).join(', ')}`)
    .option('--metrics <a,b>', "the protocol's metrics to compute (default: its defaults)")
    .option('--split <name>', 'split the targets come from', 'test')
    .option('--batch-size <n>', 'pairs scored at once', positiveInt, 32)
    .option('--weights <dir>', 'folder of the user-supplied weight files (InceptionV3, LPIPS)')
    .option('--fid-reference <dir>', "FID's real images (default: the dataset's train split)")
    .option('--json', 'print JSON')
    .option('--out <file.json>', 'also write the result there (e.g. RUN_DIR/eval.json, which reposer report shows)')
    .addHelpText('after', '\nExample:\n  reposer test --checkpoint runs/patn --data data/market --out runs/patn/test\n  reposer eval --pred runs/patn/test --data data/market --protocol patn --out runs/patn/eval.json')
    .action(async (o: EvalCliOptions) => {
      const r = await evaluate({
        pred: o.pred, data: o.data, protocol: o.protocol, metrics: o.metrics?.split(',').map((m) => m.trim()).filter(Boolean),
        split: o.split, batchSize: o.batchSize, weights: o.weights, fidReference: o.fidReference,
      });
      if (o.out) writeFileSync(o.out, `${JSON.stringify(r, null, 2)}\n`);
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(`${r.protocol} protocol, ${r.count} images (${r.settings.source})`);
        for (const [k, v] of Object.entries(r.metrics)) console.log(`  ${k.padEnd(12)} ${v.toFixed(4)}`);
      }
    });
}
