// `reposer import --model patn --from latest_net_netG.pth --out RUN_DIR`: converts an official checkpoint into a run
// directory (RUN_DIR/netG.safetensors + RUN_DIR/config.json) through the family's explicit name table.
import { join, resolve } from 'node:path';
import * as torch from '../torch/index.js';
import { takeConfigArgs, saveResolvedConfig } from '../models/config.js';
import { isPreset, resolveModelConfig, type Preset } from '../models/registry.js';
import type { PATNConfig } from '../models/patn/config.js';
import { buildGenerator } from '../models/patn/model.js';
import { detectOfficialLayout, loadOfficialGenerator } from '../models/patn/official.js';
import '../models/index.js';

const USAGE = `usage: reposer import --model patn --from latest_net_netG.pth --out RUN_DIR [--preset market|deepfashion]
                      [--config FILE] [--set key.sub=value ...]

Reads an official PATN generator checkpoint (tengteng95/Pose-Transfer) and writes RUN_DIR/netG.safetensors and
RUN_DIR/config.json. The preset defaults to the one the file's norm implies (batch norm: market, instance: deepfashion).`;

export interface ImportResult {
  dir: string;
  weights: string;
  config: string;
  preset: Preset;
  loaded: number;
  dropped: string[];
  parameters: number;
}

/** The import itself, for the CLI and tests. */
export function importOfficial(args: readonly string[], log: (line: string) => void = console.log): ImportResult {
  const { file, sets, rest } = takeConfigArgs(args);
  let model: string | undefined;
  let from: string | undefined;
  let out: string | undefined;
  let preset: string | undefined;
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
      saveResolvedConfig(dir, cfg);
      torch.io.saveSafetensors(weights, g.stateDict(), { source: resolve(from), format: 'reposer', module: 'netG', model: 'patn' });
      const result = { dir, weights, config: join(dir, 'config.json'), preset: chosen, loaded, dropped, parameters: g.numParameters() };
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
