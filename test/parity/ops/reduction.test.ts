import { runParity } from './harness.js';
import { cases } from './reduction.cases.js';

runParity(cases);
