// `node dist/bench/gfla-torch.js [--preset market] [--batch 2] [--reps 3]`: GFLA's whole-model training step (the
// main stage: D update, then G on L1, correctness, regularisation, GAN, content and style) against the same graph in
// python3-torch, built from the same CPU formulations of the three CUDA ops (test/parity/models/gfla_reference.py),
// at the same thread count, in one run. Prints one JSON line: both medians and ours / PyTorch's (goal <= 1).
// VGG19 has the same random weights on both sides (timing does not depend on values).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { GflaModel, gflaDefaults } from '../src/models/gfla/index.js';
import { loadVgg19, type Vgg19Features } from '../src/models/layers/vgg.js';
import { randomVggFile } from './models.js';
import type { Preset } from '../src/models/index.js';

const PYTHON = process.env.REPOSER_PYTHON ?? '/usr/bin/python3';
const REFERENCE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'parity', 'models', 'gfla_reference.py');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function main(): void {
  const preset = arg('--preset', 'market') as Preset;
  const batch = Number(arg('--batch', '2'));
  const reps = Number(arg('--reps', '3'));
  const cfg = gflaDefaults(preset);
  // Straight into the main stage: the whole model's step.
  cfg.schedule.stages[0] = { name: 'flow', epochs: 0, decayEpochs: 0 };
  const { height: h, width: w } = cfg.image;
  const g = cfg.generator;
  const threads = torch.getNumThreads();
  const kz = `{${g.attnLayers.map((l, i) => `${l}: ${g.kernelSizes[i]}`).join(', ')}}`;
  const python = (vggPath: string): string => `${readFileSync(REFERENCE, 'utf8')}
import json, time
torch.set_num_threads(${threads})
torch.manual_seed(0)
vgg = torch.load(${JSON.stringify(vggPath)})
gen = PoseGenerator(ngf=${g.ngf}, img_f=${g.imgF}, layers=${g.layers}, num_blocks=${g.numBlocks}, attn_layer=(${g.attnLayers.join(', ')},), kz=${kz},
                    flow_ngf=${g.flowNgf}, flow_img_f=${g.flowImgF}, flow_layers=${g.flowLayers})
dis = ResDiscriminator(3, ${cfg.discriminator.ndf}, ${cfg.discriminator.imgF}, ${cfg.discriminator.layers})
tr = RefTrainer(gen, dis, vgg, [${g.attnLayers.join(', ')}], ${kz})
P1, P2 = torch.rand(${batch}, 3, ${h}, ${w}) * 2 - 1, torch.rand(${batch}, 3, ${h}, ${w}) * 2 - 1
BP1, BP2 = torch.rand(${batch}, 18, ${h}, ${w}), torch.rand(${batch}, 18, ${h}, ${w})
tr.step(P1, BP1, P2, BP2)
times = []
for _ in range(${reps}):
    t0 = time.perf_counter()
    tr.step(P1, BP1, P2, BP2)
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps(sorted(times)[len(times) // 2]))
`;
  // The same random VGG19 file for both sides.
  const tmp = mkdtempSync(join(tmpdir(), 'gfla-torch-'));
  let torchMs: number;
  let vgg: Vgg19Features;
  try {
    const vggPath = randomVggFile(tmp);
    const r = spawnSync(PYTHON, ['-c', python(vggPath)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`gfla-torch: the PyTorch side failed (${PYTHON}): ${r.stderr}`);
    torchMs = JSON.parse(r.stdout.trim().split('\n').pop() as string) as number;
    vgg = loadVgg19(vggPath, { lastLayer: 'relu5_2' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const model = new GflaModel(cfg, { vgg });
  const data = torch.scope(() => ({
    imageA: torch.rand([batch, 3, h, w]).mul(2).sub(1), imageB: torch.rand([batch, 3, h, w]).mul(2).sub(1),
    poseMapA: torch.rand([batch, 18, h, w]), poseMapB: torch.rand([batch, 18, h, w]),
  }));
  try {
    const step = (): void => { model.trainStep(data as never); };
    step();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      step();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const oursMs = median(times);
    console.log(JSON.stringify({
      model: 'gfla', preset, stage: 'main', batch, height: h, width: w, threads, reps,
      oursMs: Math.round(oursMs), torchMs: Math.round(torchMs), ratio: Math.round((oursMs / torchMs) * 1000) / 1000,
    }));
  } finally {
    model.dispose();
    torch.dispose(data);
  }
}

main();
