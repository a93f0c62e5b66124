// The command line as a commander program. Each command lives in its own module as a thin shell over library
// functions; unknown options and bad values are errors that name the option.
import { Command } from 'commander';
import { registerApply } from './apply.js';
import { registerData } from './data.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerGenerate } from './generate.js';
import { registerImport } from './import.js';
import { registerModels } from './models.js';
import { registerPose } from './pose.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';
import { registerTrain } from './train.js';

export function buildProgram(): Command {
  const program = new Command('reposer')
    .description('pose-guided person image generation on libtorch')
    .showHelpAfterError('(add --help for usage and an example)')
    .configureOutput({ outputError: (text, write) => write(text) });
  registerData(program);
  registerDemo(program);
  registerModels(program);
  registerImport(program);
  registerTrain(program);
  registerGenerate(program);
  registerEval(program);
  registerReport(program);
  registerApply(program);
  registerPose(program);
  registerServe(program);
  return program;
}
