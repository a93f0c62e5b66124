import { runParity } from './harness.js';
import { cases } from './creation.cases.js';

runParity(cases);
