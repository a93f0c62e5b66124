#!/usr/bin/env node
// `reposer <command>`: see program.ts. Errors from a command print as one line and exit 1.
import { argv, exit } from 'node:process';
import { buildProgram } from './program.js';

buildProgram().parseAsync(argv).catch((err: unknown) => {
  console.error(`reposer: ${err instanceof Error ? err.message : String(err)}`);
  exit(1);
});
