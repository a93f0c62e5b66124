import { runParity } from './harness.js';
import { cases } from './nn.cases.js';

runParity(cases);
