import { runParity } from './harness.js';
import { cases } from './elementwise.cases.js';

runParity(cases);
