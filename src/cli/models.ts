// `reposer models [--json]`: the registered model families and their parameter counts for every preset.
import type { Command } from 'commander';
import { countParameters, listModels, PRESETS, type Preset } from '../models/index.js';

export interface ModelListing {
  name: string;
  summary: string;
  /** Per preset: parameters per module ('netG', 'netD_PB', ...) and their total. */
  configs: Record<Preset, Record<string, number>>;
}

export function listModelsWithCounts(): ModelListing[] {
  return listModels().map((family) => {
    const configs = {} as Record<Preset, Record<string, number>>;
    for (const preset of PRESETS) {
      const counts = countParameters(family, family.defaults(preset));
      configs[preset] = { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
    }
    return { name: family.name, summary: family.summary, configs };
  });
}

const millions = (n: number): string => `${(n / 1e6).toFixed(2)} M`;

export function registerModels(program: Command): void {
  program.command('models')
    .description('list the registered model families with parameter counts per preset')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  reposer models --json')
    .action((o: { json?: boolean }) => {
      const listing = listModelsWithCounts();
      if (o.json) {
        console.log(JSON.stringify(listing, null, 2));
        return;
      }
      for (const m of listing) {
        console.log(`${m.name}: ${m.summary}`);
        for (const [preset, counts] of Object.entries(m.configs)) {
          const parts = Object.entries(counts).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${millions(v)}`);
          console.log(`  ${preset.padEnd(12)} ${parts.join(', ')}  (total ${millions(counts.total as number)})`);
        }
      }
    });
}
