#!/usr/bin/env node
// `reposer <command>`: the command line. Each command lives in its own module and is loaded on demand.
import { argv, exit } from 'node:process';

interface Command {
  summary: string;
  run: (args: string[]) => Promise<void>;
}

const commands: Record<string, Command> = {
  data: {
    summary: 'dataset tools: data check DIR, data pairs ANNOTATION.csv --out PAIRS.csv (data help lists all)',
    run: async (args) => (await import('./data.js')).data(args),
  },
  demo: {
    summary: 'run the main job on the embedded default data',
    run: async (args) => (await import('./demo.js')).demo(args),
  },
  models: {
    summary: 'list the registered model families with parameter counts per config (--json for JSON)',
    run: async (args) => (await import('./models.js')).runModels(args),
  },
  import: {
    summary: 'convert an official checkpoint: import --model patn --from latest_net_netG.pth --out RUN_DIR',
    run: async (args) => (await import('./import.js')).runImport(args),
  },
};

async function main(): Promise<void> {
  const [name, ...rest] = argv.slice(2);
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    const list = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`).join('\n');
    const head = name === undefined || name === 'help' || name === '--help' ? '' : `unknown command '${name}'\n\n`;
    console.error(`${head}usage: reposer <command> [options]\n\ncommands:\n${list}`);
    exit(name === undefined || name === 'help' || name === '--help' ? 0 : 2);
  }
  await command.run(rest);
}

main().catch((err: unknown) => {
  console.error(`reposer: ${err instanceof Error ? err.message : String(err)}`);
  exit(1);
});
