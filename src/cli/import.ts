// `reposer import --model patn --from latest_net_netG.pth --out RUN_DIR`: converts a family's official checkpoint
// into a run directory. The family does the work (ModelFamily.importOfficial); this only reads the arguments.
import { isPreset, getModel, listModels, type OfficialImportResult } from '../models/registry.js';
import { takeConfigArgs } from '../models/config.js';
import '../models/index.js';

/** `netD_PB` is given as --netD-PB. */
const flagOf = (module: string): string => `--${module.replace(/_/g, '-')}`;

function usage(): string {
  const families = listModels().filter((f) => f.importOfficial);
  const extra = families.map((f) => `${f.name}: ${Object.entries(f.officialModules ?? {}).map(([m, what]) => `${flagOf(m)} FILE (${what})`).join(', ') || 'generator only'}`);
  return `usage: reposer import --model NAME --from GENERATOR.pth --out RUN_DIR [--preset P] [--config FILE] [--set key.sub=value ...]
                      [--<module> FILE ...]

Reads an official release's generator (and, where the family has them, other networks) and writes
RUN_DIR/<module>.safetensors and RUN_DIR/config.json. The preset defaults to the one the file implies.
Families with an official import and their extra modules:
  ${extra.join('\n  ')}`;
}

export function runImportArgs(args: readonly string[], log: (line: string) => void = console.log): OfficialImportResult {
  const { file, sets, rest } = takeConfigArgs(args);
  let model: string | undefined;
  let out: string | undefined;
  let preset: string | undefined;
  const files = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`import: ${a} needs a value\n\n${usage()}`);
      return v;
    };
    if (a === '--help' || a === '-h') throw new Error(usage());
    if (a === '--model') model = value();
    else if (a === '--from') files.set('netG', value());
    else if (a === '--out') out = value();
    else if (a === '--preset') preset = value();
    else if (a.startsWith('--')) files.set(a.slice(2).replace(/-/g, '_'), value());
    else throw new Error(`import: unknown argument '${a}'\n\n${usage()}`);
  }
  if (model === undefined || !files.has('netG') || out === undefined) throw new Error(`import: --model, --from and --out are required\n\n${usage()}`);
  const family = getModel(model);
  if (!family.importOfficial) {
    const able = listModels().filter((f) => f.importOfficial).map((f) => f.name).join(', ');
    throw new Error(`import: '${model}' has no official checkpoint import; families that have one: ${able}`);
  }
  for (const m of files.keys()) {
    if (m !== 'netG' && !(m in (family.officialModules ?? {}))) throw new Error(`import: unknown argument '${flagOf(m)}' for ${model}\n\n${usage()}`);
  }
  if (preset !== undefined && !isPreset(preset)) throw new Error(`import: unknown --preset '${preset}'; use market or deepfashion`);
  return family.importOfficial({ files, out, preset, configFile: file, sets, log });
}

export async function runImport(args: string[]): Promise<void> {
  runImportArgs(args);
}
