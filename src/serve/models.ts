// The models a server offers: one run directory, or one per run directory found directly inside a folder.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadResolvedConfig, RESOLVED_CONFIG_FILE } from '../models/config.js';
import { getModel, resolveModelConfig, type Preset } from '../models/registry.js';
import '../models/index.js';
import type { Frame } from './poses.js';

export interface ServedModel {
  /** The run directory's folder name; what the page lists and requests name. */
  name: string;
  runDir: string;
  family: string;
  /** The model's [height, width]. */
  frame: Frame;
  /**
   * What the page may offer beyond posing. `parsing`: the family renders through parsing maps (SPT), so the page
   * shows its parsing panel (the predicted map, repainting it, garment swaps) and a source needs a parsing map.
   */
  capabilities: { parsing: boolean };
}

function describe(runDir: string): ServedModel {
  const saved = loadResolvedConfig(runDir);
  const family = getModel(String(saved.model));
  const cfg = resolveModelConfig({ model: family.name, preset: saved.preset as Preset, file: join(runDir, RESOLVED_CONFIG_FILE) });
  return {
    name: basename(runDir),
    runDir,
    family: family.name,
    frame: [cfg.image.height, cfg.image.width],
    capabilities: { parsing: Boolean(family.batchNeeds(cfg).parsing) },
  };
}

/** `dir` itself when it is a run directory (has config.json), else each run directory directly inside it, by name. */
export function findModels(dir: string): ServedModel[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`--checkpoint ${dir}: no such folder; give a run directory or a folder of them`);
  if (existsSync(join(root, RESOLVED_CONFIG_FILE))) return [describe(root)];
  const runs = readdirSync(root).sort()
    .map((name) => join(root, name))
    .filter((p) => statSync(p).isDirectory() && existsSync(join(p, RESOLVED_CONFIG_FILE)));
  if (runs.length === 0) {
    throw new Error(`--checkpoint ${dir}: neither a run directory (no ${RESOLVED_CONFIG_FILE}) nor a folder holding any; ` +
      `give what 'reposer train --out' or 'reposer import --out' wrote`);
  }
  return runs.map(describe);
}
