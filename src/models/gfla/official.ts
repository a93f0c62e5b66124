// Importing the released GFLA checkpoints (RenYurui/Global-Flow-Local-Attention: result/pose_{fashion,market}_checkpoints
// /latest_net_G.pth and latest_net_D.pth) by an explicit name table (STYLE.md point 13). Our modules carry the
// official attribute names and Sequential indices, so every official key maps to the same key here; the table still
// lists each key with the shape it must have, so that a file of another architecture fails naming every mismatch.
// No transposes: both sides use PyTorch's layouts (conv (out, in, k, k), transposed conv (in, out, k, k)).
// Spectral norm (the discriminator) is stored as weight_orig, weight_u, weight_v on both sides. The released
// InstanceNorm2d layers have affine weights and no running statistics (track_running_stats False).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../../torch/index.js';
import { saveResolvedConfig } from '../config.js';
import { resolveModelConfig, type OfficialImportRequest, type OfficialImportResult, type Preset } from '../registry.js';
import type { GflaConfig } from './config.js';
import { buildGflaNetworks } from './model.js';

export interface GflaTableEntry {
  /** The key in the official file. */
  official: string;
  /** Our key. */
  ours: string;
  shape: number[];
}

/** The table for a network: every key of ours, its official name (the same) and its shape. */
export function officialTable(network: torch.nn.Module): GflaTableEntry[] {
  return [...network.stateDict()].map(([key, t]) => ({ official: key, ours: key, shape: [...t.shape] }));
}

/** nn.DataParallel saves keys under 'module.'; the released files may carry it. */
function withoutDataParallel(state: Map<string, torch.Tensor>): Map<string, torch.Tensor> {
  const keys = [...state.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith('module.'))) return state;
  return new Map(keys.map((k) => [k.slice('module.'.length), state.get(k) as torch.Tensor]));
}

/**
 * Copies an official state dict into `network` through its table. Every problem (missing key, wrong shape, unknown
 * key) is reported at once. The caller keeps `state`.
 */
export function loadOfficial(network: torch.nn.Module, state: Map<string, torch.Tensor>, what: string): number {
  const table = officialTable(network);
  const file = withoutDataParallel(state);
  const problems: string[] = [];
  const picked = new Map<string, torch.Tensor>();
  for (const row of table) {
    const t = file.get(row.official);
    if (!t) problems.push(`missing '${row.official}' [${row.shape.join(',')}]`);
    else if (t.shape.join(',') !== row.shape.join(',')) problems.push(`'${row.official}' is [${t.shape.join(',')}], expected [${row.shape.join(',')}]`);
    else picked.set(row.ours, t);
  }
  const known = new Set(table.map((r) => r.official));
  const extra = [...file.keys()].filter((k) => !known.has(k));
  if (extra.length > 0) problems.push(`keys this architecture lacks: ${extra.slice(0, 8).join(', ')}${extra.length > 8 ? ` and ${extra.length - 8} more` : ''}`);
  if (problems.length > 0) {
    throw new Error(`gfla import: the file does not match ${what}: ${problems.slice(0, 12).join('; ')}${problems.length > 12 ? `; and ${problems.length - 12} more` : ''}. Check --preset (deepfashion: attention at layers 2 and 3; market: layer 2)`);
  }
  torch.noGrad(() => network.loadStateDict(picked));
  return picked.size;
}

/** The preset a released generator implies: DeepFashion's has a second attention block (target.attn0, layer 3). */
export function detectOfficialPreset(state: Map<string, torch.Tensor>, from: string): 'deepfashion' | 'market' {
  const file = withoutDataParallel(state);
  if (!file.has('target.attn1.fully_connect_layer.0.weight') || !file.has('flow_net.block0.model.2.weight')) {
    const sample = [...file.keys()].slice(0, 5).join(', ');
    throw new Error(`gfla import: ${from} is not a released GFLA generator (latest_net_G.pth): 'target.attn1.fully_connect_layer.0.weight' and 'flow_net.block0.model.2.weight' expected; first keys: ${sample}`);
  }
  return file.has('target.attn0.fully_connect_layer.0.weight') ? 'deepfashion' : 'market';
}

export const OFFICIAL_MODULES: Readonly<Record<string, string>> = { netD: 'the discriminator (latest_net_D.pth)' };

function loadFile<T>(path: string, use: (state: Map<string, torch.Tensor>) => T): T {
  const state = torch.io.loadPthStateDict(path);
  try {
    return use(state);
  } finally {
    torch.dispose([...state.values()]);
  }
}

/**
 * `reposer import --model gfla --from latest_net_G.pth [--netD latest_net_D.pth] --out RUN_DIR`: writes
 * netG.safetensors (and netD.safetensors) under our names and config.json. The preset defaults to the one the
 * generator implies; the imported generator must give finite values on a blank input.
 */
export function importGflaOfficial(req: OfficialImportRequest): OfficialImportResult {
  const log = req.log ?? ((): void => undefined);
  const from = req.files.get('netG');
  if (from === undefined) throw new Error('import gfla: the generator file (netG, latest_net_G.pth) is required');
  for (const name of req.files.keys()) {
    if (name !== 'netG' && !(name in OFFICIAL_MODULES)) throw new Error(`import gfla: unknown module '${name}'; GFLA's release has netG and netD`);
  }
  const dir = resolve(req.out);
  return loadFile(from, (state) => {
    const preset: Preset = req.preset ?? detectOfficialPreset(state, from);
    const cfg = resolveModelConfig({ model: 'gfla', preset, file: req.configFile, sets: req.sets }) as GflaConfig;
    const { generator, discriminator } = buildGflaNetworks(cfg);
    try {
      const loaded = loadOfficial(generator, state, `the ${preset} generator`);
      const { height: h, width: w } = cfg.image;
      const { imageChannels: ic, poseChannels: pc } = cfg.generator;
      const finite = torch.noGrad(() => torch.scope(() => {
        generator.eval();
        const y = generator.forward(torch.zeros([1, ic, h, w]), torch.zeros([1, pc, h, w]), torch.zeros([1, pc, h, w]));
        return Boolean(y.isfinite().all().item());
      }));
      if (!finite) throw new Error(`import gfla: the imported generator gave non-finite values on a blank ${h}x${w} input; is ${from} a trained checkpoint?`);
      mkdirSync(dir, { recursive: true });
      const written: Record<string, string> = { netG: join(dir, 'netG.safetensors') };
      torch.io.saveSafetensors(written.netG as string, generator.stateDict(), { source: resolve(from), format: 'reposer', module: 'netG', model: 'gfla' });
      log(`imported ${loaded} tensors (${(generator.numParameters() / 1e6).toFixed(2)} M parameters) from ${from} as gfla/${preset}`);
      const dPath = req.files.get('netD');
      if (dPath !== undefined) {
        const n = loadFile(dPath, (d) => loadOfficial(discriminator, d, `the ${preset} discriminator`));
        written.netD = join(dir, 'netD.safetensors');
        torch.io.saveSafetensors(written.netD, discriminator.stateDict(), { source: resolve(dPath), format: 'reposer', module: 'netD', model: 'gfla' });
        log(`imported ${n} tensors of netD from ${dPath}`);
      }
      const config = saveResolvedConfig(dir, cfg);
      log(`wrote ${Object.values(written).join(', ')} and ${config}`);
      return { dir, config, preset, written, loaded, dropped: [], parameters: generator.numParameters() };
    } finally {
      generator.dispose();
      discriminator.dispose();
    }
  });
}
