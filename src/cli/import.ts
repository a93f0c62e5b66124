// `reposer import --model patn --from latest_net_netG.pth --out RUN_DIR`: converts an official checkpoint into a run
// directory (RUN_DIR/netG.safetensors + RUN_DIR/config.json) through the family's explicit name table.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../torch/index.js';
import { takeConfigArgs, saveResolvedConfig } from '../models/config.js';
import { isPreset, resolveModelConfig, type Preset } from '../models/registry.js';
import type { PATNConfig } from '../models/patn/config.js';
import { buildDiscriminators, buildGenerator } from '../models/patn/model.js';
import { detectOfficialDiscriminatorLayout, detectOfficialLayout, loadOfficialDiscriminator, loadOfficialGenerator } from '../models/patn/official.js';
import type { PATNDiscriminator } from '../models/patn/discriminator.js';
import '../models/index.js';

const USAGE = `usage: reposer import --model patn --from latest_net_netG.pth --out RUN_DIR [--preset market|deepfashion]
                      [--netD-PB latest_net_netD_PB.pth] [--netD-PP latest_net_netD_PP.pth]
                      [--config FILE] [--set key.sub=value ...]

Reads an official PATN generator checkpoint (tengteng95/Pose-Transfer) and writes RUN_DIR/netG.safetensors and
RUN_DIR/config.json; with --netD-PB / --netD-PP also the discriminators (netD_PB.safetensors, netD_PP.safetensors),
e.g. to fine-tune. The preset defaults to the one the file's norm implies (batch norm: market, instance: deepfashion).`;

export interface ImportResult {
  dir: string;
  weights: string;
  config: string;
  preset: Preset;
  loaded: number;
  dropped: string[];
  parameters: number;
  /** Written discriminator files by official name ('netD_PB' -> path). */
  discriminators: Record<string, string>;
}

const D_FILE: Record<string, string> = { shape: 'netD_PB', appearance: 'netD_PP' };

/**
 * Loads each given official discriminator file through its table and writes RUN_DIR/netD_*.safetensors. The
 * discriminators' norm and dropout follow the files (noted when the config said otherwise), so the saved config
 * rebuilds them.
 */
function importDiscriminators(cfg: PATNConfig, files: Map<string, string>, dir: string, log: (line: string) => void): Record<string, string> {
  const written: Record<string, string> = {};
  for (const [name, path] of files) {
    const label = D_FILE[name] as string;
    if (!(cfg.discriminator as unknown as Record<string, unknown>)[name]) {
      throw new Error(`import: --${label.replace('_', '-')} given but the config has discriminator.${name} set to false`);
    }
    const state = torch.io.loadPthStateDict(path);
    try {
      const layout = detectOfficialDiscriminatorLayout(state, cfg.discriminator.nDownsampling, path);
      for (const [key, fromFile] of [['norm', layout.norm], ['dropout', layout.dropout]] as const) {
        if (cfg.discriminator[key] !== fromFile) {
          log(`note: ${path} has ${key} ${String(fromFile)}; the config said discriminator.${key} ${String(cfg.discriminator[key])}. Using the file's.`);
          (cfg.discriminator as Record<string, unknown>)[key] = fromFile;
        }
      }
      const all = buildDiscriminators(cfg);
      const d = all.get(name) as PATNDiscriminator;
      for (const [other, m] of all) if (other !== name) m.dispose();
      try {
        const { loaded } = loadOfficialDiscriminator(d, cfg, state);
        const out = join(dir, `${label}.safetensors`);
        torch.io.saveSafetensors(out, d.stateDict(), { source: resolve(path), format: 'reposer', module: label, model: 'patn' });
        written[label] = out;
        log(`imported ${loaded} tensors of ${label} from ${path}; wrote ${out}`);
      } finally {
        d.dispose();
      }
    } finally {
      for (const t of state.values()) t.dispose();
    }
  }
  return written;
}

export function importOfficial(args: readonly string[], log: (line: string) => void = console.log): ImportResult {
  const { file, sets, rest } = takeConfigArgs(args);
  let model: string | undefined;
  let from: string | undefined;
  let out: string | undefined;
  let preset: string | undefined;
  const dFiles = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`import: ${a} needs a value\n\n${USAGE}`);
      return v;
    };
    if (a === '--model') model = value();
    else if (a === '--from') from = value();
    else if (a === '--out') out = value();
    else if (a === '--preset') preset = value();
    else if (a === '--netD-PB') dFiles.set('shape', value());
    else if (a === '--netD-PP') dFiles.set('appearance', value());
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`import: unknown argument '${a}'\n\n${USAGE}`);
  }
  if (model === undefined || from === undefined || out === undefined) {
    throw new Error(`import: --model, --from and --out are required\n\n${USAGE}`);
  }
  if (model !== 'patn') throw new Error(`import: official checkpoints can be imported for 'patn' only, not '${model}'`);
  if (preset !== undefined && !isPreset(preset)) throw new Error(`import: unknown --preset '${preset}'; use market or deepfashion`);

  const state = torch.io.loadPthStateDict(from);
  try {
    const layout = detectOfficialLayout(state);
    const chosen: Preset = (preset as Preset | undefined) ?? (layout.norm === 'batch' ? 'market' : 'deepfashion');
    const cfg = resolveModelConfig({ model, preset: chosen, file, sets }) as PATNConfig;
    for (const [key, fromFile] of [['norm', layout.norm], ['dropout', layout.dropout]] as const) {
      if (cfg.generator[key] !== fromFile) {
        log(`note: the file's generator has ${key} ${String(fromFile)}; the config said ${String(cfg.generator[key])}. Using the file's.`);
        (cfg.generator as Record<string, unknown>)[key] = fromFile;
      }
    }
    const g = buildGenerator(cfg);
    try {
      const { loaded, dropped } = loadOfficialGenerator(g, cfg, state);
      // Prove the weights run: one eval forward at the config's size must give finite values in [-1,1].
      const { height: h, width: w } = cfg.image;
      const ok = torch.noGrad(() => torch.scope(() => {
        g.eval();
        const y = g.forward(torch.zeros([1, cfg.generator.imageChannels, h, w]), torch.zeros([1, 2 * cfg.generator.poseChannels, h, w]));
        return Boolean(y.isfinite().all().item());
      }));
      if (!ok) throw new Error(`import: the imported generator produced non-finite values on a blank ${h}x${w} input; is ${from} a trained checkpoint?`);
      const dir = resolve(out);
      const weights = join(dir, 'netG.safetensors');
      mkdirSync(dir, { recursive: true });
      torch.io.saveSafetensors(weights, g.stateDict(), { source: resolve(from), format: 'reposer', module: 'netG', model: 'patn' });
      const discriminators = importDiscriminators(cfg, dFiles, dir, log);
      saveResolvedConfig(dir, cfg);
      const result = { dir, weights, config: join(dir, 'config.json'), preset: chosen, loaded, dropped, parameters: g.numParameters(), discriminators };
      log(`imported ${loaded} tensors (${(result.parameters / 1e6).toFixed(2)} M parameters) from ${from} as patn/${chosen}` +
        `${dropped.length ? `; dropped ${dropped.length} unused InstanceNorm running-stat entries` : ''}`);
      log(`wrote ${weights} and ${result.config}`);
      return result;
    } finally {
      g.dispose();
    }
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

export async function runImport(args: string[]): Promise<void> {
  importOfficial(args);
}
