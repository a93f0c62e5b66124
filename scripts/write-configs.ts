// Writes configs/<family>/<preset>.json from the typed defaults (`make configs`). The files are what a user copies
// and edits; the unit tests check they still resolve to the defaults.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, listModels } from '../src/models/index.js';

for (const family of listModels()) {
  const dir = join('configs', family.name);
  mkdirSync(dir, { recursive: true });
  for (const preset of PRESETS) {
    writeFileSync(join(dir, `${preset}.json`), `${JSON.stringify(family.defaults(preset), null, 2)}\n`);
  }
  console.log(`wrote ${dir}/{${PRESETS.join(',')}}.json`);
}
