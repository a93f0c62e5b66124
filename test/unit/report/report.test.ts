import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLog, readRunDir, thinEvenly, writeReport } from '../../../src/report/index.js';
import { formatNumber } from '../../../src/report/chart.js';
import {
  CONFIG, DIVERGED_G_L1, EVALS, INF_STEPS, LAST_STEP, NAN_STEPS, RESUME_FROM, SAMPLE_SIZE, SAMPLE_STEPS, makeRunDir,
} from './run-dir-fixture.js';

interface Path {
  /** data-points: what the path says it draws. */
  declared: number;
  /** data-logged: the finite values logged for the series. */
  logged: number;
  /** The points actually in `d`. */
  inD: number;
  d: string;
}

interface Chart {
  title: string;
  body: string;
  /** data-series -> the path's declared count and the points actually in its `d`. */
  paths: Map<string, Path>;
  yTicks: number[];
}

function charts(html: string): Map<string, Chart> {
  const out = new Map<string, Chart>();
  for (const m of html.matchAll(/<figure class="chart"><figcaption>([^<]*)<\/figcaption>(.*?)<\/figure>/gs)) {
    const [, title, body] = m as unknown as [string, string, string];
    const paths = new Map<string, Path>();
    for (const p of body.matchAll(/<path class="series" data-series="([^"]*)" data-points="(\d+)" data-logged="(\d+)" d="([^"]*)"/g)) {
      paths.set(p[1]!, { declared: Number(p[2]), logged: Number(p[3]), inD: (p[4]!.match(/[ML]/g) ?? []).length, d: p[4]! });
    }
    const yTicks = [...body.matchAll(/<text class="tick"[^>]*text-anchor="end"[^>]*>([^<]*)</g)].map((t) => Number(t[1]));
    out.set(title, { title, body, paths, yTicks });
  }
  return out;
}

function xsOf(d: string): number[] {
  return [...d.matchAll(/[ML]([-\d.]+),/g)].map((m) => Number(m[1]));
}

function ysOf(d: string): number[] {
  return [...d.matchAll(/[ML][-\d.]+,([-\d.]+)/g)].map((m) => Number(m[1]));
}

test('the report draws every loss, the learning rate and the step time, one point per logged step', async () => {
  const dir = await makeRunDir();
  try {
    const out = writeReport(dir);
    assert.equal(out, join(dir, 'report.html'));
    const html = readFileSync(out, 'utf8');
    const found = charts(html);
    assert.deepEqual([...found.keys()], [
      'Generator losses (G_*)', 'Discriminator losses (D_*)', 'Learning rate', 'Time per step (ms)',
    ]);
    const expected: Record<string, Record<string, number>> = {
      'Generator losses (G_*)': { G_L1: LAST_STEP, G_GAN: LAST_STEP - NAN_STEPS.length, G_perceptual: LAST_STEP },
      'Discriminator losses (D_*)': { D_PB: LAST_STEP, D_PP: LAST_STEP - INF_STEPS.length },
      'Learning rate': { optimizer_G: LAST_STEP, optimizer_D: LAST_STEP },
      'Time per step (ms)': { dataMs: LAST_STEP, stepMs: LAST_STEP },
    };
    for (const [title, series] of Object.entries(expected)) {
      const chart = found.get(title)!;
      assert.deepEqual([...chart.paths.keys()].sort(), Object.keys(series).sort(), title);
      for (const [name, n] of Object.entries(series)) {
        const path = chart.paths.get(name)!;
        assert.equal(path.declared, n, `${title} ${name} declares ${n} points`);
        assert.equal(path.inD, n, `${title} ${name} draws ${n} points`);
        assert.equal(path.logged, n, `${title} ${name}: ${n} finite values logged`);
        const xs = xsOf(path.d);
        assert.ok(xs.every((x, i) => i === 0 || x > xs[i - 1]!), `${name}: steps strictly increase (duplicates merged)`);
      }
    }
    // Each non-finite value breaks the line (a new M) and is flagged with a title naming it.
    const g = found.get('Generator losses (G_*)')!;
    assert.equal((g.paths.get('G_GAN')!.d.match(/M/g) ?? []).length, 3, 'G_GAN: NaN at 40-41 and 250 leave three runs');
    for (const step of NAN_STEPS) assert.match(g.body, new RegExp(`<title>G_GAN = NaN at ${step}</title>`));
    assert.match(found.get('Discriminator losses (D_*)')!.body, new RegExp(`<title>D_PP = ∞ at ${INF_STEPS[0]}</title>`));
    assert.match(g.body, /G_GAN <span class="last">[^<]*<\/span> <span class="bad">3 non-finite<\/span><\/li>/);
    assert.match(found.get('Discriminator losses (D_*)')!.body, /D_PP <span class="last">[^<]*<\/span> <span class="bad">1 non-finite<\/span><\/li>/,
      'Infinity is non-finite, not off the axis');
    // The first run diverged (G_L1 = 1000) on the steps the resume logged again; the later lines win, so the
    // axis stays near the resumed values.
    assert.ok(g.yTicks.length >= 2 && Math.max(...g.yTicks) < 5, `G axis ${g.yTicks} ignores the overwritten ${DIVERGED_G_L1}`);
    const merged = readRunDir(dir).log;
    assert.equal(merged.length, LAST_STEP);
    assert.notEqual(merged.find((e) => e.step === RESUME_FROM)!.losses.G_L1, DIVERGED_G_L1, 'the resumed line wins');
    assert.doesNotMatch(html, /class="cut"/, 'no axis is cut when no value is an outlier');
    // The stage change is marked on every chart.
    for (const chart of found.values()) assert.match(chart.body, /<text class="marker-label"[^>]*>main<\/text>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report embeds the samples, the eval table and the config, and references nothing on the network', async () => {
  const dir = await makeRunDir();
  try {
    const html = readFileSync(writeReport(dir), 'utf8');
    const images = [...html.matchAll(/<img [^>]*data-step="(\d+)"[^>]*width="(\d+)" height="(\d+)" src="data:image\/png;base64,([^"]+)"/g)];
    assert.deepEqual(images.map((m) => Number(m[1])), SAMPLE_STEPS);
    for (const m of images) {
      const step = Number(m[1]);
      const onDisk = readFileSync(join(dir, 'samples', `step-${String(step).padStart(8, '0')}.png`));
      assert.ok(Buffer.from(m[4]!, 'base64').equals(onDisk), `sample ${step} is embedded byte for byte`);
      assert.equal(Number(m[2]) / Number(m[3]), SAMPLE_SIZE.width / SAMPLE_SIZE.height, 'aspect ratio kept');
    }
    for (const attr of html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/gi)) {
      assert.doesNotMatch(attr[1]!, /^\s*(?:https?:)?\/\//i, 'no network reference');
    }
    assert.doesNotMatch(html, /https?:\/\//, 'no URL anywhere in the page');
    assert.doesNotMatch(html, /<script|<link|@import|url\(/i, 'no script, stylesheet link or CSS url()');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:;/);

    const table = /<table class="eval">(.*?)<\/table>/s.exec(html)![1]!;
    const headers = [...table.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(headers, ['protocol', 'ssim', 'l1', 'mask_ssim', 'is', 'count', 'settings']);
    const rows = [...table.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>(\d+)<\/td>/g)];
    assert.deepEqual(rows.map((r) => r.slice(1, 7)), [
      ['patn', '0.773', '0.181', '0.811', '–', '12000'], ['pg2', '0.762', '–', '–', '3.209', '12000'],
    ]);
    assert.equal(EVALS.length, rows.length);

    const config = /<pre class="config">(.*?)<\/pre>/s.exec(html)![1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'");
    assert.deepEqual(JSON.parse(config), CONFIG);
    assert.match(html, /<h1>reposer report: patn \/ tiny<\/h1>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sample grids are thinned evenly, always keeping the last', async () => {
  assert.deepEqual(thinEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4), [1, 4, 7, 10]);
  assert.deepEqual(thinEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 3), [1, 6, 11]);
  assert.deepEqual(thinEvenly([1, 2, 3], 1), [3]);
  assert.deepEqual(thinEvenly([1, 2, 3], 12), [1, 2, 3]);
  const many = Array.from({ length: 100 }, (_, i) => i);
  for (const max of [2, 7, 12, 99]) {
    const kept = thinEvenly(many, max);
    assert.equal(kept.length, max);
    assert.equal(new Set(kept).size, max, 'no grid twice');
    assert.equal(kept.at(-1), 99);
    const gaps = kept.slice(1).map((v, i) => v - kept[i]!);
    assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 1, `even spacing for ${max}: ${gaps}`);
  }
  assert.throws(() => thinEvenly([1], 0), /maxSamples must be an integer >= 1, got 0/);

  const dir = await makeRunDir({ evals: false });
  try {
    const html = readFileSync(writeReport(dir, { maxSamples: 2 }), 'utf8');
    const steps = [...html.matchAll(/<img [^>]*data-step="(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(steps, [SAMPLE_STEPS[0], SAMPLE_STEPS.at(-1)]);
    assert.match(html, /2 of 3 grids, evenly spaced, the last kept\./);
    assert.match(html, /No eval\.json in this run directory\./);
    assert.throws(() => writeReport(dir, { maxSamples: 1.5 }), /maxSamples must be an integer >= 1, got 1\.5/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the log: later line wins, a torn last line is dropped, non-finite values are read, other bad lines are errors', () => {
  const text = [
    '{"step": 1, "losses": {"G_L1": 1}}',
    '{"step": 2, "losses": {"G_L1": 2, "D_PB": "NaN"}}',
    '{"step": 3, "losses": {"G_L1": 30}}',
    '{"step": 2, "losses": {"G_L1": 20, "D_PB": null}}',
    '{"step": 3, "losses": {"G_L1": "-Infinity"}}',
    '{"step": 4, "losses": {"G_',
  ].join('\n');
  const log = parseLog(text, 'run/log.jsonl');
  assert.deepEqual(log.map((e) => e.step), [1, 2, 3]);
  assert.equal(log[1]!.losses.G_L1, 20);
  assert.ok(Number.isNaN(log[1]!.losses.D_PB));
  assert.equal(log[2]!.losses.G_L1, -Infinity);
  assert.throws(() => parseLog('{"step": 1, "losses": {}}\n{"step": 2, "los\n{"step": 3, "losses": {}}\n', 'run/log.jsonl'),
    /run\/log\.jsonl:2 is not valid JSON/);
  assert.throws(() => parseLog('{"step": -1, "losses": {}}\n', 'L'), /L:1: 'step' must be an integer >= 0, got -1/);
  assert.throws(() => parseLog('{"step": 1, "losses": {"G_L1": "big"}}\n', 'L'), /L:1: 'losses\.G_L1' must be a number/);
  assert.throws(() => parseLog('{"step": 1}\n', 'L'), /L:1: 'losses' must be an object/);
});

test('a one-step log and an all-NaN series still make a readable chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-report-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'log.jsonl'), '{"step": 7, "losses": {"G_L1": 0.3, "D_PB": "NaN"}, "lr": {"optimizer_G": 0.0002}}\n');
    const html = readFileSync(writeReport(dir), 'utf8');
    const found = charts(html);
    const g = found.get('Generator losses (G_*)')!;
    assert.equal(g.paths.get('G_L1')!.inD, 1);
    assert.match(g.body, /<circle class="dot" cx="[\d.]+" cy="[\d.]+" r="3"/, 'a lone point is drawn as a dot');
    assert.doesNotMatch(html, /NaN"|Infinity"|="NaN|undefined/, 'no non-number leaks into coordinates');
    const d = found.get('Discriminator losses (D_*)')!;
    assert.equal(d.paths.get('D_PB')!.inD, 0);
    assert.match(d.body, /<title>D_PB = NaN at 7<\/title>/);
    assert.match(html, /No sample grids yet/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a long log is drawn with at most 2000 points per curve, its axis cut past a spike, breaks kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-report-'));
  const steps = 20_000;
  const spike = 12_345;
  const broken = 15_000;
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    const lines = [];
    for (let step = 1; step <= steps; step++) {
      const G_L1 = step === spike ? 50 : step === broken ? 'NaN' : 0.1 + 0.01 * Math.sin(step);
      lines.push(JSON.stringify({ step, losses: { G_L1 } }));
    }
    writeFileSync(join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);
    const chart = charts(readFileSync(writeReport(dir), 'utf8')).get('Generator losses (G_*)')!;
    const path = chart.paths.get('G_L1')!;
    assert.equal(path.logged, steps - 1);
    assert.equal(path.declared, path.inD);
    assert.ok(path.inD <= 2000 && path.inD > 1000, `${path.inD} points drawn`);
    assert.equal((path.d.match(/M/g) ?? []).length, 2, 'the NaN still breaks the line');
    const xs = xsOf(path.d);
    assert.ok(xs.every((x, i) => i === 0 || x >= xs[i - 1]!), 'x order kept');
    // The spike would flatten the ripple around 0.1 to a line: the axis is cut, the spike runs along the top of the
    // frame (y = 30) and is flagged, and the ripple fills the plot (210 high).
    assert.match(chart.body, /<p class="cut">The y axis is cut to 0\.09\d* – 0\.1\d* /);
    assert.match(chart.body, /<title>G_L1 = 50 at 12345, above the cut axis<\/title>/);
    assert.match(chart.body, /G_L1 <span class="last">[^<]*<\/span> <span class="bad">1 non-finite<\/span> <span class="off">1 off the axis<\/span>/);
    const ys = ysOf(path.d);
    assert.equal(Math.min(...ys), 30, 'the spike sits on the frame');
    const ripple = ys.filter((y) => y > 30);
    assert.ok(Math.max(...ripple) - Math.min(...ripple) > 100, `the ripple spans ${Math.max(...ripple) - Math.min(...ripple)} of 210`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder without config.json or log.jsonl is refused, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-report-'));
  try {
    assert.throws(() => writeReport(dir), /has no config\.json: it is not a run directory written by 'reposer train'/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    assert.throws(() => writeReport(dir), /has no log\.jsonl: it is not a run directory written by 'reposer train'/);
    writeFileSync(join(dir, 'log.jsonl'), '');
    writeFileSync(join(dir, 'config.json'), '[1]');
    assert.throws(() => readRunDir(dir), /config\.json must hold a JSON object/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(join(dir, 'eval.json'), JSON.stringify([EVALS[0], { protocol: 'x', metrics: {} }]));
    assert.throws(() => readRunDir(dir), /eval\.json\[1\]: 'count' must be an integer >= 0/);
    rmSync(join(dir, 'eval.json'));
    mkdirSync(join(dir, 'samples'));
    writeFileSync(join(dir, 'samples', 'step-00000001.png'), 'not a png');
    assert.throws(() => writeReport(dir), /step-00000001\.png is not a PNG file/);
    assert.ok(!existsSync(join(dir, 'report.html')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the page is written atomically: to a temp name beside it, renamed, no temp left behind on failure', async () => {
  const dir = await makeRunDir({ samples: false });
  const outDir = mkdtempSync(join(tmpdir(), 'reposer-report-out-'));
  try {
    const out = writeReport(dir, { out: join(outDir, 'page.html') });
    assert.equal(out, join(outDir, 'page.html'));
    assert.deepEqual(readdirSync(outDir), ['page.html']);
    // A directory where the page should go makes the rename fail; the temp file must not stay.
    mkdirSync(join(outDir, 'blocked.html', 'inside'), { recursive: true });
    assert.throws(() => writeReport(dir, { out: join(outDir, 'blocked.html') }), /cannot write the report to .*blocked\.html: /);
    assert.throws(() => writeReport(dir, { out: join(outDir, 'missing', 'page.html') }), /check that its folder exists/);
    assert.deepEqual(readdirSync(outDir).sort(), ['blocked.html', 'page.html']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('numbers are labelled short: 3 significant digits, exponents for the very small, words for non-finite', () => {
  assert.deepEqual([0.0002, 0.00015, 0.69314, 412.5, 12000, 0, 2.5e7, NaN, Infinity, -Infinity].map((v) => formatNumber(v)),
    ['2e-4', '1.5e-4', '0.693', '413', '12000', '0', '2.5e7', 'NaN', '∞', '−∞']);
  assert.equal(formatNumber(3.20934, 4), '3.209');
});
