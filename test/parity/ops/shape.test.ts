import { runParity } from './harness.js';
import { cases } from './shape.cases.js';

runParity(cases);
