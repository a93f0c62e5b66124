// Line charts as inline SVG strings: no script, no fonts to fetch, and the points can be counted in the markup.

/** One curve: [x, y] points in x order; y may be NaN or ±Infinity, which breaks the line and is marked on the top edge. */
export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

/** A labelled vertical line, e.g. where a schedule stage begins. */
export interface XMarker {
  x: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  xLabel?: string;
  markers?: readonly XMarker[];
}

const WIDTH = 760;
const HEIGHT = 280;
// The right margin leaves room for half of the last step label (e.g. "600000") centred on the plot edge.
const MARGIN = { left: 64, right: 28, top: 30, bottom: 40 };
// Ten hues that stay apart for colour-blind readers (the Tableau 10 set).
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Short human form of a number: `digits` significant digits, exponent form for the very small or large. */
export function formatNumber(v: number, digits = 3): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(digits - 1).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(digits)));
}

/** Tick values covering [lo, hi] at a 1-2-5 spacing, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const spacing = [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / spacing - 1e-9); k * spacing <= hi + spacing * 1e-9; k++) {
    // Multiplying an integer by the spacing keeps 0.1 + 0.2 drift out of the labels.
    ticks.push(Number((k * spacing).toPrecision(12)));
  }
  return ticks;
}

function paddedRange(lo: number, hi: number): [number, number] {
  if (lo < hi) return [lo, hi];
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}

/** [min, max] without spreading into arguments, which overflows the stack for long logs. */
function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * Long logs have far more points than the plot has pixels. Past MAX_DRAWN finite points, each run of finite points
 * keeps, per one of BUCKETS equal x slices, its lowest and highest point (in x order): the drawn line looks the same
 * and spikes survive. Non-finite points are always kept, so breaks and their flags stay where they were.
 */
const BUCKETS = 1000;
const MAX_DRAWN = 2 * BUCKETS;

function decimate(points: Series['points'], x0: number, x1: number): Series['points'] {
  if (points.filter(([, y]) => Number.isFinite(y)).length <= MAX_DRAWN) return points;
  const out: Array<readonly [number, number]> = [];
  let bucket = -1;
  let low: readonly [number, number] | undefined;
  let high: readonly [number, number] | undefined;
  const flush = (): void => {
    if (low && high) out.push(...(low === high ? [low] : low[0] <= high[0] ? [low, high] : [high, low]));
    low = high = undefined;
  };
  for (const point of points) {
    const [x, y] = point;
    if (!Number.isFinite(y)) {
      flush();
      out.push(point);
      continue;
    }
    const b = Math.min(BUCKETS - 1, Math.floor(((x - x0) / (x1 - x0)) * BUCKETS));
    if (b !== bucket) flush();
    bucket = b;
    if (!low || y < low[1]) low = point;
    if (!high || y > high[1]) high = point;
  }
  flush();
  return out;
}

/**
 * GAN losses spike. When the full range of a chart's values is more than OUTLIER_SPAN times the range of its middle
 * 98% (1st to 99th percentile), the axis is cut to that middle range plus half of it on each side; the few values
 * outside run along the frame and are flagged, so one spike cannot flatten every other curve. Short logs (under
 * about 50 values) are never cut: there the percentiles are the extremes.
 */
const OUTLIER_SPAN = 4;

function yRange(ys: readonly number[]): { lo: number; hi: number; cut: boolean } {
  if (ys.length === 0) return { lo: 0, hi: 1, cut: false };
  const [lo, hi] = extent(ys);
  const sorted = Float64Array.from(ys).sort();
  const quantile = (q: number): number => sorted[Math.round(q * (sorted.length - 1))]!;
  const [qLo, qHi] = [quantile(0.01), quantile(0.99)];
  const middle = qHi - qLo;
  if (!(middle > 0) || hi - lo <= OUTLIER_SPAN * middle) {
    const [a, b] = paddedRange(lo, hi);
    return { lo: a, hi: b, cut: false };
  }
  return { lo: Math.max(lo, qLo - middle / 2), hi: Math.min(hi, qHi + middle / 2), cut: true };
}

const fixed = (v: number): string => v.toFixed(1);

/**
 * An SVG line chart of `series` with a legend, as an HTML `<figure>`. Each curve is one `<path class="series"
 * data-series=NAME data-points=N data-logged=L>` whose `d` holds exactly N points: all L finite points, or past
 * 2000 of them, the lowest and highest per 1/1000 of the x range. A non-finite value starts a new sub-path and is
 * flagged on the top edge; a point with no finite neighbour also gets a dot so a one-step log is visible.
 */
export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const finite = series.flatMap((s) => s.points.filter(([, y]) => Number.isFinite(y)));
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const title = escapeHtml(options.title);
  if (xs.length === 0) return `<figure class="chart"><figcaption>${title}</figcaption><p class="empty">nothing logged</p></figure>`;

  const [x0, x1] = paddedRange(...extent(xs));
  const ys = finite.map(([, y]) => y);
  const { lo: yLo, hi: yHi, cut } = yRange(ys);
  // A little air above and below so a flat curve does not run along the frame.
  const air = (yHi - yLo) * 0.04;
  const [y0, y1] = [yLo - air, yHi + air];
  const yTicks = niceTicks(y0, y1);

  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
  // Values beyond a cut axis are drawn on the frame (and flagged below).
  const sy = (y: number): number => MARGIN.top + (1 - (Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0)) * plotH;
  const bottom = MARGIN.top + plotH;

  const parts: string[] = [];
  parts.push(`<rect class="plot" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}"/>`);
  for (const t of yTicks) {
    const y = fixed(sy(t));
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatNumber(t)}</text>`);
  }
  const integerX = xs.every(Number.isInteger);
  for (const t of niceTicks(x0, x1, 6)) {
    if (integerX && !Number.isInteger(t)) continue;
    const x = fixed(sx(t));
    parts.push(`<line class="grid" x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${bottom}"/>`);
    parts.push(`<text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${formatNumber(t)}</text>`);
  }
  if (options.xLabel) {
    parts.push(`<text class="axis-label" x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 4}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`);
  }
  for (const m of options.markers ?? []) {
    const x = fixed(sx(m.x));
    parts.push(`<line class="marker" x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${bottom}"/>`);
    parts.push(`<text class="marker-label" x="${x}" y="${MARGIN.top - 6}" text-anchor="middle">${escapeHtml(m.label)}</text>`);
  }

  const legend: string[] = [];
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const name = escapeHtml(s.name);
    const segments: string[] = [];
    const dots: string[] = [];
    const flags: string[] = [];
    const outliers: string[] = [];
    let penDown = false;
    let nFinite = 0;
    const drawn = decimate(s.points, x0, x1);
    drawn.forEach(([x, y], j) => {
      if (!Number.isFinite(y)) {
        penDown = false;
        flags.push(`<path class="nonfinite" d="M${fixed(sx(x))},${MARGIN.top}l-4,-7h8z" fill="${colour}"><title>${name} = ${formatNumber(y)} at ${x}</title></path>`);
        return;
      }
      nFinite++;
      if (y > y1 || y < y0) {
        const edge = y > y1 ? `M${fixed(sx(x))},${MARGIN.top - 1}l-4,-7h8z` : `M${fixed(sx(x))},${bottom + 1}l-4,7h8z`;
        outliers.push(`<path class="outlier" d="${edge}" stroke="${colour}"><title>${name} = ${formatNumber(y)} at ${x}, ` +
          `${y > y1 ? 'above' : 'below'} the cut axis</title></path>`);
      }
      segments.push(`${penDown ? 'L' : 'M'}${fixed(sx(x))},${fixed(sy(y))}`);
      penDown = true;
      const before = drawn[j - 1];
      const after = drawn[j + 1];
      const isolated = !(before && Number.isFinite(before[1])) && !(after && Number.isFinite(after[1]));
      if (isolated) dots.push(`<circle class="dot" cx="${fixed(sx(x))}" cy="${fixed(sy(y))}" r="3" fill="${colour}"/>`);
    });
    const logged = s.points.filter(([, y]) => Number.isFinite(y)).length;
    const last = s.points[s.points.length - 1];
    const lastText = last ? `${formatNumber(last[1])} at ${last[0]}` : 'none';
    parts.push(`<path class="series" data-series="${name}" data-points="${nFinite}" data-logged="${logged}" d="${segments.join('')}" stroke="${colour}">` +
      `<title>${name}: last ${lastText}</title></path>`, ...dots, ...flags, ...outliers);
    const offScale = s.points.filter(([, y]) => Number.isFinite(y) && (y > y1 || y < y0)).length;
    let badge = flags.length ? ` <span class="bad">${flags.length} non-finite</span>` : '';
    if (offScale) badge += ` <span class="off">${offScale} off the axis</span>`;
    legend.push(`<li><span class="swatch" style="background:${colour}"></span>${name} <span class="last">${lastText}</span>${badge}</li>`);
  });

  return `<figure class="chart"><figcaption>${title}</figcaption>` +
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${title}">${parts.join('')}</svg>` +
    `<ul class="legend">${legend.join('')}</ul>` +
    (cut ? `<p class="cut">The y axis is cut to ${formatNumber(yLo)} – ${formatNumber(yHi)} so that a few outlying values do ` +
      'not flatten the rest; they run along the frame, flagged with an open triangle.</p>' : '') +
    '</figure>';
}
