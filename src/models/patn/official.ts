// Loading the official PATN networks (tengteng95/Pose-Transfer: `latest_net_netG.pth`, and `latest_net_netD_PB.pth` /
// `latest_net_netD_PP.pth` for the discriminators, see officialDiscriminatorTable) into ours, by an explicit
// table (STYLE.md point 13): every official name, the name it becomes here, and the shape both must have.
// No transposes are needed: both sides use PyTorch's layouts (conv (out,in,k,k), transposed conv (in,out,k,k)).
//
// The official generator is PATNetwork → .model (PATNModel) with nn.Sequential streams, so names carry the
// Sequential index of each layer, counting the parameter-free ReflectionPad2d, ReLU and Dropout layers:
//   stream{1,2}_down: 0 pad, 1 conv7, 2 norm, 3 relu, then per downsampling i: 4+3i conv, 5+3i norm, 6+3i relu
//   att.k.conv_block_stream1: 0 pad, 1 conv, 2 norm, 3 relu, [4 dropout], pad, conv, norm
//   att.k.conv_block_stream2: 0 pad, 1 conv, 2 norm, 3 relu, [4 dropout], pad, conv (the attention logits)
//   stream1_up: per upsampling i: 3i convT, 3i+1 norm, 3i+2 relu; then pad, conv7, tanh
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../../torch/index.js';
import { saveResolvedConfig } from '../config.js';
import { resolveModelConfig, type OfficialImportRequest, type OfficialImportResult, type Preset } from '../registry.js';
import type { PATNConfig } from './config.js';
import type { PATNGenerator } from './generator.js';
import type { PATNDiscriminator } from './discriminator.js';
import { buildDiscriminators, buildGenerator } from './model.js';

export interface TableEntry {
  /** The official state-dict key. */
  official: string;
  /** Our generator's key, or null for an official entry that is read, checked and dropped (see `note`). */
  ours: string | null;
  /** The shape both sides must have. */
  shape: number[];
  /** Absent in some official files; when absent ours keeps its value. */
  optional?: boolean;
  note?: string;
}

const INSTANCE_STATS_NOTE = 'PyTorch 0.3 InstanceNorm2d saved running stats it never used (affine=False, instance statistics always); dropped';
const NUM_BATCHES_NOTE = 'num_batches_tracked exists from PyTorch 0.4.1 on; a 0.3 file lacks it and ours keeps 0';

/** Emits table rows for one official layer kind; `bias` says whether convs carry a bias (instance norm). */
function rowBuilder(rows: TableEntry[], norm: 'batch' | 'instance') {
  const bias = norm === 'instance';
  return {
    conv(off: string, ours: string, shape: number[], withBias = bias): void {
      rows.push({ official: `${off}.weight`, ours: `${ours}.weight`, shape });
      if (withBias) rows.push({ official: `${off}.bias`, ours: `${ours}.bias`, shape: [shape[0] as number] });
    },
    /** ConvTranspose2d: weight (in, out, k, k), so the bias has weight dim 1. */
    convT(off: string, ours: string, shape: number[]): void {
      rows.push({ official: `${off}.weight`, ours: `${ours}.weight`, shape });
      if (bias) rows.push({ official: `${off}.bias`, ours: `${ours}.bias`, shape: [shape[1] as number] });
    },
    norm(off: string, ours: string, c: number): void {
      if (norm === 'batch') {
        for (const k of ['weight', 'bias', 'running_mean', 'running_var']) rows.push({ official: `${off}.${k}`, ours: `${ours}.${k}`, shape: [c] });
        rows.push({ official: `${off}.num_batches_tracked`, ours: `${ours}.num_batches_tracked`, shape: [], optional: true, note: NUM_BATCHES_NOTE });
      } else {
        for (const k of ['running_mean', 'running_var']) rows.push({ official: `${off}.${k}`, ours: null, shape: [c], optional: true, note: INSTANCE_STATS_NOTE });
      }
    },
    /** The encoder stream layout shared by G's two streams and D: stem at .1/.2, downsampling i at .4+3i/.5+3i. */
    encoder(off: string, ours: string, inC: number, ngf: number, nDownsampling: number): void {
      this.conv(`${off}.1`, `${ours}.stem.conv`, [ngf, inC, 7, 7]);
      this.norm(`${off}.2`, `${ours}.stem.norm`, ngf);
      for (let i = 0; i < nDownsampling; i++) {
        const c = ngf * 2 ** i;
        this.conv(`${off}.${4 + 3 * i}`, `${ours}.downs.${i}.conv`, [2 * c, c, 3, 3]);
        this.norm(`${off}.${5 + 3 * i}`, `${ours}.downs.${i}.norm`, 2 * c);
      }
    },
  };
}

/** The full table for a generator built from `cfg` (norm, dropout, widths and depth decide names and shapes). */
export function officialGeneratorTable(cfg: PATNConfig): TableEntry[] {
  const { ngf, nBlocks, nDownsampling, norm, dropout, imageChannels, poseChannels } = cfg.generator;
  const rows: TableEntry[] = [];
  const b = rowBuilder(rows, norm);
  b.encoder('model.stream1_down', 'imageEncoder', imageChannels, ngf, nDownsampling);
  b.encoder('model.stream2_down', 'poseEncoder', 2 * poseChannels, ngf, nDownsampling);
  const w = ngf * 2 ** nDownsampling;
  const second = dropout ? 6 : 5;
  for (let k = 0; k < nBlocks; k++) {
    const s1 = `model.att.${k}.conv_block_stream1`;
    const s2 = `model.att.${k}.conv_block_stream2`;
    const o = `blocks.${k}`;
    const p = k === 0 ? w : 2 * w;
    b.conv(`${s1}.1`, `${o}.imageConv1`, [w, w, 3, 3]);
    b.norm(`${s1}.2`, `${o}.imageNorm1`, w);
    b.conv(`${s1}.${second}`, `${o}.imageConv2`, [w, w, 3, 3]);
    b.norm(`${s1}.${second + 1}`, `${o}.imageNorm2`, w);
    b.conv(`${s2}.1`, `${o}.poseConv1`, [p, p, 3, 3]);
    b.norm(`${s2}.2`, `${o}.poseNorm1`, p);
    b.conv(`${s2}.${second}`, `${o}.poseConv2`, [w, p, 3, 3]);
  }
  for (let i = 0; i < nDownsampling; i++) {
    const c = ngf * 2 ** (nDownsampling - i);
    b.convT(`model.stream1_up.${3 * i}`, `decoder.ups.${i}.conv`, [c, c / 2, 3, 3]);
    b.norm(`model.stream1_up.${3 * i + 1}`, `decoder.ups.${i}.norm`, c / 2);
  }
  b.conv(`model.stream1_up.${3 * nDownsampling + 1}`, 'decoder.out', [imageChannels, ngf, 7, 7], true);
  return rows;
}

/**
 * The table for an official ResnetDiscriminator (`latest_net_netD_PB.pth`, `latest_net_netD_PP.pth`) with
 * `inChannels` inputs: model = [pad, conv7, norm, relu, (conv, norm, relu) per downsampling, ResnetBlock...,
 * (sigmoid)], each block's conv_block = [pad, conv, norm, relu, (dropout), pad, conv, norm].
 */
export function officialDiscriminatorTable(cfg: PATNConfig, inChannels: number): TableEntry[] {
  const { ndf, nBlocks, nDownsampling, norm, dropout } = cfg.discriminator;
  const rows: TableEntry[] = [];
  const b = rowBuilder(rows, norm);
  b.encoder('model', 'encoder', inChannels, ndf, nDownsampling);
  const w = ndf * 2 ** nDownsampling;
  const second = dropout ? 6 : 5;
  for (let k = 0; k < nBlocks; k++) {
    const off = `model.${4 + 3 * nDownsampling + k}.conv_block`;
    b.conv(`${off}.1`, `blocks.${k}.conv1`, [w, w, 3, 3]);
    b.norm(`${off}.2`, `blocks.${k}.norm1`, w);
    b.conv(`${off}.${second}`, `blocks.${k}.conv2`, [w, w, 3, 3]);
    b.norm(`${off}.${second + 1}`, `blocks.${k}.norm2`, w);
  }
  return rows;
}

/** What an official file says about the generator it holds: its norm (batch norm has affine weights) and dropout. */
export function detectOfficialLayout(state: Map<string, torch.Tensor>): { norm: 'batch' | 'instance'; dropout: boolean } {
  const stem = 'model.stream1_down.1.weight';
  if (!state.has(stem)) {
    const sample = [...state.keys()].slice(0, 5).join(', ');
    throw new Error(`patn import: '${stem}' is missing, so this is not an official PATN generator state dict (first keys: ${sample}). Pass latest_net_netG.pth`);
  }
  const norm = state.has('model.stream1_down.2.weight') ? 'batch' : 'instance';
  const dropout = state.has('model.att.0.conv_block_stream1.6.weight');
  return { norm, dropout };
}

/** The norm and dropout of an official discriminator file (D_n_downsampling `nDownsampling`, at least one block). */
export function detectOfficialDiscriminatorLayout(state: Map<string, torch.Tensor>, nDownsampling: number, what: string): { norm: 'batch' | 'instance'; dropout: boolean } {
  const first = 4 + 3 * nDownsampling;
  if (!state.has('model.1.weight') || !state.has(`model.${first}.conv_block.1.weight`)) {
    const sample = [...state.keys()].slice(0, 5).join(', ');
    throw new Error(`patn import: ${what} is not an official PATN discriminator state dict ('model.1.weight' and 'model.${first}.conv_block.1.weight' expected; first keys: ${sample})`);
  }
  return { norm: state.has('model.2.weight') ? 'batch' : 'instance', dropout: state.has(`model.${first}.conv_block.6.weight`) };
}

/**
 * Copies an official state dict into `m` through `table`. Throws, listing every problem at once, when an official
 * key is missing, has another shape, or the file has keys the table does not know. `what` names the network in
 * errors. The caller keeps ownership of `state`.
 */
export function loadThroughTable(m: torch.nn.Module, table: TableEntry[], state: Map<string, torch.Tensor>, what: string): { loaded: number; dropped: string[] } {
  const ours = m.stateDict();
  const problems: string[] = [];
  const mapped = new Map<string, torch.Tensor>();
  const dropped: string[] = [];
  const known = new Set(table.map((r) => r.official));
  for (const r of table) {
    const t = state.get(r.official);
    if (t === undefined) {
      if (!r.optional) problems.push(`missing '${r.official}' (shape [${r.shape.join(',')}])`);
      continue;
    }
    if (t.shape.join(',') !== r.shape.join(',')) {
      problems.push(`'${r.official}' has shape [${t.shape.join(',')}], expected [${r.shape.join(',')}]`);
      continue;
    }
    if (r.ours === null) {
      dropped.push(r.official);
      continue;
    }
    const target = ours.get(r.ours);
    if (!target) throw new Error(`patn import: the table names '${r.ours}', which our ${what} lacks (a bug in the table)`);
    if (target.shape.join(',') !== r.shape.join(',')) {
      throw new Error(`patn import: our '${r.ours}' has shape [${target.shape.join(',')}], the table [${r.shape.join(',')}] (a bug in the table)`);
    }
    mapped.set(r.ours, t);
  }
  const unexpected = [...state.keys()].filter((k) => !known.has(k));
  if (unexpected.length) problems.push(`unexpected keys ${unexpected.slice(0, 8).map((k) => `'${k}'`).join(', ')}${unexpected.length > 8 ? ` and ${unexpected.length - 8} more` : ''}`);
  if (problems.length) throw new Error(`patn import: the file does not match the official ${what}: ${problems.join('; ')}`);
  // Every parameter of ours must come from the file; only num_batches_tracked may keep its own value.
  const uncovered = [...ours.keys()].filter((k) => !mapped.has(k) && !k.endsWith('num_batches_tracked'));
  if (uncovered.length) throw new Error(`patn import: no official entry for our ${uncovered.join(', ')} (a bug in the table)`);
  m.loadStateDict(mapped, { strict: false });
  return { loaded: mapped.size, dropped };
}

/** Loads an official generator state dict (latest_net_netG.pth) into `g`, built from `cfg`. */
export function loadOfficialGenerator(g: PATNGenerator, cfg: PATNConfig, state: Map<string, torch.Tensor>): { loaded: number; dropped: string[] } {
  const { ngf, nBlocks, norm, dropout } = cfg.generator;
  return loadThroughTable(g, officialGeneratorTable(cfg), state, `generator for this config (ngf ${ngf}, ${nBlocks} blocks, ${norm} norm, dropout ${dropout})`);
}

/** Loads an official discriminator state dict (latest_net_netD_PB.pth / _PP.pth) into `d`. */
export function loadOfficialDiscriminator(d: PATNDiscriminator, cfg: PATNConfig, state: Map<string, torch.Tensor>): { loaded: number; dropped: string[] } {
  const { ndf, nBlocks, norm, dropout } = cfg.discriminator;
  return loadThroughTable(d, officialDiscriminatorTable(cfg, d.options.inChannels), state,
    `discriminator for this config (${d.options.inChannels} inputs, ndf ${ndf}, ${nBlocks} blocks, ${norm} norm, dropout ${dropout})`);
}

/** The official discriminators by our module name, and the discriminator each one is. */
export const OFFICIAL_DISCRIMINATORS: Readonly<Record<string, { name: 'shape' | 'appearance'; what: string }>> = {
  netD_PB: { name: 'shape', what: 'the shape discriminator D_PB (latest_net_netD_PB.pth)' },
  netD_PP: { name: 'appearance', what: 'the appearance discriminator D_PP (latest_net_netD_PP.pth)' },
};

/** Applies what a file says about norm and dropout to a config section, noting each disagreement. */
function followFile(section: { norm: string; dropout: boolean }, layout: { norm: string; dropout: boolean }, what: string, key: string, log: (line: string) => void): void {
  for (const k of ['norm', 'dropout'] as const) {
    if (section[k] !== layout[k]) {
      log(`note: ${what} has ${k} ${String(layout[k])}; the config said ${key}.${k} ${String(section[k])}. Using the file's.`);
      (section as Record<string, unknown>)[k] = layout[k];
    }
  }
}

/**
 * Converts the official release (`netG` = latest_net_netG.pth, optionally `netD_PB` / `netD_PP`) into a run
 * directory: <module>.safetensors and config.json. The preset defaults to the one the generator's norm implies
 * (batch: market, instance: deepfashion); norm and dropout follow the files. The imported generator must give finite
 * values on a blank input, or the import fails.
 */
export function importPatnOfficial(req: OfficialImportRequest): OfficialImportResult {
  const log = req.log ?? ((): void => undefined);
  const from = req.files.get('netG');
  if (from === undefined) throw new Error('import patn: the generator file (netG, latest_net_netG.pth) is required');
  for (const name of req.files.keys()) {
    if (name !== 'netG' && !(name in OFFICIAL_DISCRIMINATORS)) {
      throw new Error(`import patn: unknown module '${name}'; PATN's release has netG, ${Object.keys(OFFICIAL_DISCRIMINATORS).join(', ')}`);
    }
  }
  const dir = resolve(req.out);
  const state = torch.io.loadPthStateDict(from);
  try {
    const layout = detectOfficialLayout(state);
    const preset: Preset = req.preset ?? (layout.norm === 'batch' ? 'market' : 'deepfashion');
    const cfg = resolveModelConfig({ model: 'patn', preset, file: req.configFile, sets: req.sets }) as PATNConfig;
    followFile(cfg.generator, layout, `${from}'s generator`, 'generator', log);
    const g = buildGenerator(cfg);
    try {
      const { loaded, dropped } = loadOfficialGenerator(g, cfg, state);
      const { height: h, width: w } = cfg.image;
      const finite = torch.noGrad(() => torch.scope(() => {
        g.eval();
        const y = g.forward(torch.zeros([1, cfg.generator.imageChannels, h, w]), torch.zeros([1, 2 * cfg.generator.poseChannels, h, w]));
        return Boolean(y.isfinite().all().item());
      }));
      if (!finite) throw new Error(`import patn: the imported generator produced non-finite values on a blank ${h}x${w} input; is ${from} a trained checkpoint?`);
      mkdirSync(dir, { recursive: true });
      const written: Record<string, string> = { netG: join(dir, 'netG.safetensors') };
      torch.io.saveSafetensors(written.netG as string, g.stateDict(), { source: resolve(from), format: 'reposer', module: 'netG', model: 'patn' });
      log(`imported ${loaded} tensors (${(g.numParameters() / 1e6).toFixed(2)} M parameters) from ${from} as patn/${preset}` +
        `${dropped.length ? `; dropped ${dropped.length} unused InstanceNorm running-stat entries` : ''}`);
      for (const [module, path] of req.files) {
        if (module !== 'netG') written[module] = importDiscriminator(cfg, module, path, dir, log);
      }
      const config = saveResolvedConfig(dir, cfg);
      log(`wrote ${Object.values(written).join(', ')} and ${config}`);
      return { dir, config, preset, written, loaded, dropped, parameters: g.numParameters() };
    } finally {
      g.dispose();
    }
  } finally {
    torch.dispose([...state.values()]);
  }
}

function importDiscriminator(cfg: PATNConfig, module: string, path: string, dir: string, log: (line: string) => void): string {
  const { name } = OFFICIAL_DISCRIMINATORS[module] as { name: 'shape' | 'appearance' };
  if (!cfg.discriminator[name]) throw new Error(`import patn: ${module} given but the config has discriminator.${name} set to false`);
  const state = torch.io.loadPthStateDict(path);
  try {
    followFile(cfg.discriminator, detectOfficialDiscriminatorLayout(state, cfg.discriminator.nDownsampling, path), path, 'discriminator', log);
    const all = buildDiscriminators(cfg);
    const d = all.get(name) as PATNDiscriminator;
    for (const [other, m] of all) if (other !== name) m.dispose();
    try {
      const { loaded } = loadOfficialDiscriminator(d, cfg, state);
      const out = join(dir, `${module}.safetensors`);
      torch.io.saveSafetensors(out, d.stateDict(), { source: resolve(path), format: 'reposer', module, model: 'patn' });
      log(`imported ${loaded} tensors of ${module} from ${path}`);
      return out;
    } finally {
      d.dispose();
    }
  } finally {
    torch.dispose([...state.values()]);
  }
}
