// `reposer import --model patn --from latest_net_netG.pth --out RUN_DIR`: converts a family's official checkpoint
// into a run directory. The family does the work (ModelFamily.importOfficial); this only reads the arguments.
import type { Command } from 'commander';
import { getModel, listModels } from '../models/registry.js';
import { collect, preset } from './options.js';
import type { Preset } from '../models/registry.js';
import '../models/index.js';

/** `netD_PB` is given as --netD-PB. */
const flagOf = (module: string): string => `--${module.replace(/_/g, '-')}`;
/** commander's camel-cased key of that flag. */
const keyOf = (module: string): string => module.replace(/_([A-Za-z])/g, (_m, c: string) => c.toUpperCase());

export function registerImport(program: Command): void {
  const able = listModels().filter((f) => f.importOfficial);
  const cmd = program.command('import')
    .description("convert an official release's checkpoint into a run directory")
    .requiredOption('--model <name>', `family: ${able.map((f) => f.name).join(', ')}`)
    .requiredOption('--from <generator.pth>', 'the official generator file (legacy pre-1.6 and zip formats alike)')
    .requiredOption('--out <run_dir>', 'run directory to write (<module>.safetensors, config.json)')
    .option('--preset <p>', 'preset to start from; default: the one the file implies', preset)
    .option('--config <file.json>', 'a config file over the preset')
    .option('--set <key=value>', 'config override, repeatable', collect, []);
  const modules = new Map<string, string>();
  for (const f of able) for (const [m, what] of Object.entries(f.officialModules ?? {})) modules.set(m, `${f.name}: ${what}`);
  for (const [m, what] of modules) cmd.option(`${flagOf(m)} <file>`, what);
  cmd.addHelpText('after', '\nExample:\n  reposer import --model patn --from latest_net_netG.pth --netD-PB latest_net_netD_PB.pth --out runs/patn-official')
    .action((o: Record<string, unknown> & { model: string; from: string; out: string; preset?: Preset; config?: string; set: string[] }) => {
      const family = getModel(o.model);
      if (!family.importOfficial) {
        throw new Error(`import: '${o.model}' has no official checkpoint import; families that have one: ${able.map((f) => f.name).join(', ')}`);
      }
      const files = new Map<string, string>([['netG', o.from]]);
      for (const m of modules.keys()) {
        const v = o[keyOf(m)];
        if (typeof v !== 'string') continue;
        if (!(m in (family.officialModules ?? {}))) throw new Error(`import: ${flagOf(m)} is not a module of ${o.model}'s release`);
        files.set(m, v);
      }
      family.importOfficial({ files, out: o.out, preset: o.preset, configFile: o.config, sets: o.set, log: console.log });
    });
}
