// Training reports: one self-contained HTML page per run directory (docs/run-dir.md).
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { renderReport } from './page.js';
import { readRunDir } from './run-dir.js';

export { readRunDir, parseLog, thinEvenly, type RunDir, type LogEntry, type SampleFile, type EvalResult } from './run-dir.js';
export { renderReport, DEFAULT_MAX_SAMPLES, type PageOptions } from './page.js';
export { lineChart, type Series, type XMarker, type ChartOptions } from './chart.js';

export interface ReportOptions {
  /** Where to write the page. Default RUN_DIR/report.html. */
  out?: string;
  /** Most sample grids to embed, evenly spaced, the last always kept. Default 12. */
  maxSamples?: number;
}

/**
 * Writes the report of `runDir` (loss curves, learning rate, sample grids over time, evaluation, resolved config)
 * as one HTML file that fetches nothing, and returns its path. The file is written to a temporary name beside it and
 * renamed, so a reader never sees a partial page. Throws, naming the file, if `runDir` lacks config.json or log.jsonl.
 */
export function writeReport(runDir: string, options: ReportOptions = {}): string {
  const run = readRunDir(runDir);
  const html = renderReport(run, { maxSamples: options.maxSamples });
  const out = resolve(options.out ?? join(runDir, 'report.html'));
  const temp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, html);
    renameSync(temp, out);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new Error(`cannot write the report to ${out}: ${(err as Error).message}; check that its folder exists and is writable`,
      { cause: err });
  }
  return out;
}
