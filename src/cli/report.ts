// `reposer report RUN_DIR`: one self-contained HTML page of a run.
import type { Command } from 'commander';
import { writeReport } from '../report/index.js';
import { positiveInt } from './options.js';

export function registerReport(program: Command): void {
  program.command('report')
    .description('write RUN_DIR/report.html: loss curves, samples over time, eval table, resolved config (no network)')
    .argument('<run_dir>', 'a run directory written by reposer train')
    .option('--out <file.html>', 'where to write it (default RUN_DIR/report.html)')
    .option('--max-samples <n>', 'sample grids shown, evenly spaced, the last always kept', positiveInt, 12)
    .addHelpText('after', '\nExample:\n  reposer report runs/patn')
    .action((runDir: string, o: { out?: string; maxSamples: number }) => {
      console.log(`wrote ${writeReport(runDir, { out: o.out, maxSamples: o.maxSamples })}`);
    });
}
