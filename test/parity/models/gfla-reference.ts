// The python rewrite of GFLA's CUDA extensions and official networks (gfla_reference.py), as code to prepend to an
// oracle case.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The reference module's source; runs from dist/test/parity/models or test/parity/models. */
export const GFLA_REFERENCE: string = readFileSync(join(here, '..', '..', '..', '..', 'test', 'parity', 'models', 'gfla_reference.py'), 'utf8');
