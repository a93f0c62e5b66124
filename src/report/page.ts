// The report page: one HTML string with its CSS inline, curves as SVG and sample grids as data: URLs.
import { readFileSync } from 'node:fs';
import { escapeHtml, formatNumber, lineChart, type Series, type XMarker } from './chart.js';
import { thinEvenly, type LogEntry, type RunDir, type SampleFile } from './run-dir.js';

export interface PageOptions {
  /** Most sample grids to embed, evenly spaced over the run, the last always kept. Default 12. */
  maxSamples?: number;
}

export const DEFAULT_MAX_SAMPLES = 12;
// Small grids (tiny presets are 32x16 per tile) are scaled up by a whole factor to about this width, so they stay crisp.
const MIN_SAMPLE_WIDTH = 480;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const STYLE = `
:root { color-scheme: light; --ink: #1d232a; --muted: #5d6875; --line: #d9dee4; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1640px; padding: 24px 32px 64px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.path { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; margin: 16px 0 0; }
dl.summary div { background: var(--panel); border-radius: 6px; padding: 8px 10px; }
dl.summary dt { color: var(--muted); font-size: 12px; }
dl.summary dd { margin: 0; font-size: 16px; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
figure { margin: 0; }
figure.chart { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg { width: 100%; height: auto; display: block; }
svg .plot { fill: #fff; stroke: var(--line); }
svg .grid { stroke: #eef1f4; }
svg .tick, svg .axis-label, svg .marker-label { font-size: 11px; fill: var(--muted); }
svg .marker { stroke: #8a94a0; stroke-dasharray: 4 3; }
svg .series { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
ul.legend { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 3px; vertical-align: middle; margin-right: 5px; }
.last { color: var(--muted); font-variant-numeric: tabular-nums; }
.bad { color: #b3261e; font-weight: 600; }
.off { color: var(--muted); font-style: italic; }
p.cut { margin: 4px 0 0; font-size: 12px; color: var(--muted); }
svg .outlier { fill: #fff; stroke-width: 1.2; }
.empty { color: var(--muted); font-style: italic; }
.samples { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.samples figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.samples img { display: block; max-width: 100%; height: auto; image-rendering: pixelated; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 12px; text-align: right; vertical-align: top; }
th:first-child, td:first-child, th:last-child, td:last-child { text-align: left; }
pre { background: var(--panel); border-radius: 6px; padding: 12px 14px; overflow: auto; font: 12px/1.5 ui-monospace, monospace; }
td pre { margin: 0; padding: 4px 8px; text-align: left; }
`;

/** The Content-Security-Policy makes the "nothing from the network" promise hold in the browser, not just in review. */
const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

function pngSize(bytes: Buffer, path: string): { width: number; height: number } {
  const isPng = bytes.length >= 24 && bytes.subarray(0, 8).equals(PNG_SIGNATURE) && bytes.toString('latin1', 12, 16) === 'IHDR';
  if (!isPng) throw new Error(`${path} is not a PNG file; the trainer writes sample grids as samples/step-NNNNNNNN.png`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Loss names grouped by the prefix before their first '_': G, D, then other prefixes, then names without one. */
function lossGroups(log: readonly LogEntry[]): Array<{ title: string; names: string[] }> {
  const groups = new Map<string, string[]>();
  for (const entry of log) {
    for (const name of Object.keys(entry.losses)) {
      const cut = name.indexOf('_');
      const prefix = cut > 0 ? name.slice(0, cut) : '';
      const names = groups.get(prefix) ?? [];
      if (!names.includes(name)) names.push(name);
      groups.set(prefix, names);
    }
  }
  const rank = (p: string): string => (p === 'G' ? '0' : p === 'D' ? '1' : p === '' ? '3' : `2${p}`);
  const title = (p: string): string =>
    p === 'G' ? 'Generator losses (G_*)' : p === 'D' ? 'Discriminator losses (D_*)' : p === '' ? 'Other losses' : `${p}_* losses`;
  return [...groups.keys()].sort((a, b) => rank(a).localeCompare(rank(b))).map((p) => ({ title: title(p), names: groups.get(p)! }));
}

/** One series per name found in `pick(entry)`, in order of first appearance; steps that lack the name are skipped. */
function seriesOf(log: readonly LogEntry[], pick: (e: LogEntry) => Record<string, number> | undefined, only?: string[]): Series[] {
  const points = new Map<string, Array<[number, number]>>();
  for (const name of only ?? []) points.set(name, []);
  for (const entry of log) {
    for (const [name, value] of Object.entries(pick(entry) ?? {})) {
      if (only && !only.includes(name)) continue;
      const list = points.get(name) ?? [];
      list.push([entry.step, value]);
      points.set(name, list);
    }
  }
  return [...points].map(([name, pts]) => ({ name, points: pts }));
}

function stageMarkers(log: readonly LogEntry[]): XMarker[] {
  const markers: XMarker[] = [];
  let previous: string | undefined;
  for (const entry of log) {
    if (entry.stage !== undefined && entry.stage !== previous) {
      if (previous !== undefined) markers.push({ x: entry.step, label: entry.stage });
      previous = entry.stage;
    }
  }
  return markers;
}

function summary(run: RunDir): string {
  const first = run.log[0];
  const last = run.log[run.log.length - 1];
  const items: Array<[string, string]> = [['steps logged', String(run.log.length)]];
  if (first && last) items.push(['steps', first.step === last.step ? String(last.step) : `${first.step} – ${last.step}`]);
  if (last?.epoch !== undefined) items.push(['epoch', String(last.epoch)]);
  if (last?.stage !== undefined) items.push(['stage', last.stage]);
  if (last?.imagesPerSec !== undefined) items.push(['images / s (last)', formatNumber(last.imagesPerSec)]);
  if (last?.time?.stepMs !== undefined) items.push(['step ms (last)', formatNumber(last.time.stepMs)]);
  if (last?.wall !== undefined) items.push(['last logged', last.wall.replace('T', ' ').replace(/\.\d+Z$/, 'Z')]);
  items.push(['sample grids', String(run.samples.length)]);
  return `<dl class="summary">${items.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl>`;
}

function charts(run: RunDir): string {
  if (run.log.length === 0) return '<p class="empty">log.jsonl holds no complete line yet.</p>';
  const markers = stageMarkers(run.log);
  const figures = lossGroups(run.log).map((g) => lineChart(seriesOf(run.log, (e) => e.losses, g.names), { title: g.title, xLabel: 'step', markers }));
  const lr = seriesOf(run.log, (e) => e.lr);
  if (lr.length) figures.push(lineChart(lr, { title: 'Learning rate', xLabel: 'step', markers }));
  const time = seriesOf(run.log, (e) => e.time);
  if (time.length) figures.push(lineChart(time, { title: 'Time per step (ms)', xLabel: 'step', markers }));
  return `<div class="charts">${figures.join('')}</div>`;
}

function samples(list: readonly SampleFile[], maxSamples: number): string {
  const shown = thinEvenly(list, maxSamples);
  if (shown.length === 0) return '<p class="empty">No sample grids yet (samples/step-NNNNNNNN.png).</p>';
  const figures = shown.map((s) => {
    const bytes = readFileSync(s.path);
    const { width, height } = pngSize(bytes, s.path);
    const scale = Math.max(1, Math.floor(MIN_SAMPLE_WIDTH / width));
    return `<figure><figcaption>step ${s.step}</figcaption><img alt="sample grid at step ${s.step}" data-step="${s.step}" ` +
      `width="${width * scale}" height="${height * scale}" src="data:image/png;base64,${bytes.toString('base64')}"></figure>`;
  });
  const note = shown.length < list.length ? ` ${shown.length} of ${list.length} grids, evenly spaced, the last kept.` : '';
  return `<p>Rows are pairs; columns are source | target pose | generated | target.${note}</p><div class="samples">${figures.join('')}</div>`;
}

function evalTable(run: RunDir): string {
  if (run.evals.length === 0) return '<p class="empty">No eval.json in this run directory.</p>';
  const metrics = [...new Set(run.evals.flatMap((e) => Object.keys(e.metrics)))];
  const head = ['protocol', ...metrics, 'count', 'settings'].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = run.evals.map((e) => {
    // Papers report these to 3 decimals (SSIM 0.773, IS 3.209), so 4 significant digits.
    const cells = metrics.map((m) => `<td>${m in e.metrics ? formatNumber(e.metrics[m]!, 4) : '–'}</td>`).join('');
    const settings = e.settings ? `<pre>${escapeHtml(JSON.stringify(e.settings, null, 2))}</pre>` : '–';
    return `<tr><td>${escapeHtml(e.protocol)}</td>${cells}<td>${e.count}</td><td>${settings}</td></tr>`;
  });
  return `<table class="eval"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The whole report page for a read run directory. */
export function renderReport(run: RunDir, options: PageOptions = {}): string {
  const maxSamples = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const model = typeof run.config.model === 'string' ? run.config.model : 'run';
  const preset = typeof run.config.preset === 'string' ? ` / ${run.config.preset}` : '';
  const title = escapeHtml(`${model}${preset}`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reposer report: ${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>reposer report: ${title}</h1><div class="path">${escapeHtml(run.dir)}</div>${summary(run)}</header>
<section id="curves"><h2>Training curves</h2>${charts(run)}</section>
<section id="samples"><h2>Samples</h2>${samples(run.samples, maxSamples)}</section>
<section id="eval"><h2>Evaluation</h2>${evalTable(run)}</section>
<section id="config"><h2>Resolved config</h2><pre class="config">${escapeHtml(JSON.stringify(run.config, null, 2))}</pre></section>
</body>
</html>
`;
}
