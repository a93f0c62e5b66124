// `make bench-quality`: every shipped checkpoint (checkpoints/<family>), every ablation variant shipped beside them
// (checkpoints/ablations/) and the training-free baseline, on one held-out synthetic set: people never trained on,
// in poses from Market-1501's test annotations. Scores SSIM (patn and gfla protocols), mask-SSIM, L1, PCKh (MoveNet;
// the real targets' PCKh is the ceiling), flow EPE where a method has a flow, and FID / LPIPS when their weights are in
// weights/. Checks the issue's goals and the papers' ablation claims, writes the picture and quality.json to BENCH_OUT,
// and prints the JSON as the last line of stdout (progress on stderr).
//
// Environment: BENCH_IDENTITIES (30), BENCH_POSES (3: every ordered pair, so 6 pairs a person), BENCH_SEED (2026),
// BENCH_OUT (runs/bench-quality), BENCH_PCKH (1; 0 skips the detector), BENCH_CHECKPOINTS (checkpoints).
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import {
  FAMILIES, MARKET_TEST_POSES, SHIPPED_CHECKPOINTS, SYNTH_RUNS, copyTargets, firstPairPerPerson, predict, readTrainingRecord, runCheckpointPath, score,
  writeComparisonPicture, writeHeldOutSet, writeJson,
} from '../src/quality/index.js';

const num = (name: string, def: number): number => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got '${process.env[name]}'`);
  return v;
};
const identities = num('BENCH_IDENTITIES', 30);
const poses = num('BENCH_POSES', 3);
const seed = num('BENCH_SEED', 2026);
const pckh = process.env.BENCH_PCKH !== '0';
const out = resolve(process.env.BENCH_OUT ?? 'runs/bench-quality');
const checkpoints = resolve(process.env.BENCH_CHECKPOINTS ?? SHIPPED_CHECKPOINTS);
const log = (line: string): void => { console.error(`bench-quality: ${line}`); };

const data = join(out, 'data');
const held = await writeHeldOutSet({ out: data, identities, poses, seed, posesFrom: MARKET_TEST_POSES });
log(`${identities} unseen people x ${poses} poses, ${held.pairs} pairs`);

// Every method: the baseline, the shipped families, and whichever ablation checkpoints exist.
const methods: { name: string; runDir?: string; training?: ReturnType<typeof readTrainingRecord> }[] = [{ name: 'baseline' }];
for (const run of SYNTH_RUNS) {
  const dir = runCheckpointPath(run, checkpoints);
  if (!existsSync(join(dir, 'config.json'))) {
    if (!run.ablation) throw new Error(`no ${run.name} checkpoint at ${dir}; the repository ships one per family ('make bench-quality-train' retrains it)`);
    log(`ablation ${run.name}: no checkpoint at ${dir}, left out`);
    continue;
  }
  methods.push({ name: run.name, runDir: dir, training: readTrainingRecord(dir) });
}

const results: Record<string, { metrics: Record<string, number>; generateSeconds: number; training?: unknown }> = {};
for (const m of methods) {
  const pred = join(out, 'pred', m.name);
  const r = await predict(m.runDir ? { runDir: m.runDir } : 'baseline', data, pred);
  const metrics = await score(pred, data, { pckh, flowEpe: existsSync(join(pred, 'flows')) });
  results[m.name] = { metrics, generateSeconds: Number(r.seconds.toFixed(2)), ...(m.training ? { training: m.training } : {}) };
  log(`${m.name}: ${JSON.stringify(metrics)}`);
}
let realPckh: number | undefined;
if (pckh) {
  const pred = join(out, 'pred', 'real');
  await copyTargets(data, pred);
  realPckh = (await score(pred, data, { pckh: true, flowEpe: false })).pckh;
}

// The issue's goals and the papers' ablation claims, each with whether it holds here and by how much.
const metric = (name: string, key: string): number | undefined => results[name]?.metrics[key];
const base = results.baseline!.metrics;
const goals = FAMILIES.map((f) => ({
  goal: `${f} beats the baseline on SSIM (gfla protocol) and L1`,
  holds: (metric(f, 'ssim_gfla') as number) > (base.ssim_gfla as number) && (metric(f, 'l1') as number) < (base.l1 as number),
  ssimGflaMinusBaseline: (metric(f, 'ssim_gfla') as number) - (base.ssim_gfla as number),
  l1MinusBaseline: (metric(f, 'l1') as number) - (base.l1 as number),
}));
if (realPckh !== undefined) {
  for (const f of FAMILIES) {
    const ratio = (metric(f, 'pckh') as number) / realPckh;
    goals.push({ goal: `${f} PCKh >= 0.9 x the real targets' (${realPckh.toFixed(4)})`, holds: ratio >= 0.9, ratio } as never);
  }
}
if (metric('gfla', 'flow_epe') !== undefined) {
  goals.push({ goal: "GFLA's flow EPE is below the baseline's", holds: (metric('gfla', 'flow_epe') as number) < (base.flow_epe as number),
    gfla: metric('gfla', 'flow_epe'), baseline: base.flow_epe } as never);
}

/** "a < b < c" on a metric where lower is better (or higher, with `higher`), checked pairwise. */
const ordering = (claim: string, names: string[], key: string, higher: boolean): Record<string, unknown> => {
  const values = names.map((n) => metric(n, key));
  if (values.some((v) => v === undefined)) return { claim, holds: null, why: `not all of ${names.join(', ')} have ${key}` };
  const v = values as number[];
  const pairs = v.slice(1).map((x, i) => ({ better: names[i], worse: names[i + 1], margin: higher ? (v[i] as number) - x : x - (v[i] as number) }));
  return { claim, holds: pairs.every((p) => p.margin > 0), metric: key, values: Object.fromEntries(names.map((n, i) => [n, v[i]])), pairs };
};
const fidOrSsim = metric('gfla', 'fid') !== undefined ? ['fid', false] as const : ['ssim_gfla', true] as const;
const claims = [
  ordering('Deformable GAN: full > DSC > baseline (Table 1, SSIM)', ['defgan', 'defgan-dsc', 'defgan-baseline'], 'ssim_gfla', true),
  ordering(`GFLA: Full < Bi-Sample < Baseline < Global-Attn in FID (Table 2)${fidOrSsim[0] === 'fid' ? '' : '; no FID weights, so SSIM (gfla), higher better'}`,
    ['gfla', 'gfla-bi-sample', 'gfla-baseline', 'gfla-global-attn'], fidOrSsim[0], fidOrSsim[1]),
  ordering('SPT: end-to-end training (E2E) improves on the two-stage TS-Pred (SSIM)', ['spt', 'spt-ts-pred'], 'ssim_gfla', true),
  // TS-GT feeds the appearance generator the true target parsing: an upper reference for the parsing step, no claim.
  ordering('SPT (reference, no claim): E2E against TS-GT, the true target parsing (SSIM)', ['spt', 'spt-ts-gt'], 'ssim_gfla', true),
];

const picture = join(out, 'quality.png');
await writeComparisonPicture(picture, data, await firstPairPerPerson(data, 8), [
  { label: 'source', dir: 'source' }, { label: 'target pose', dir: 'pose' },
  ...['baseline', ...FAMILIES].map((n) => ({ label: n, dir: join(out, 'pred', n) })),
  { label: 'ground truth', dir: 'target' },
]);
const report = {
  heldOut: { identities, poses, seed, pairs: held.pairs, poses_from: MARKET_TEST_POSES },
  cpu: cpus()[0]?.model, methods: results, realTargets: realPckh !== undefined ? { pckh: realPckh } : undefined, goals, claims, picture,
};
writeJson(join(out, 'quality.json'), report);
log(`wrote ${picture} and ${join(out, 'quality.json')}`);
console.log(JSON.stringify(report));
