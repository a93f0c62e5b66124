// reposer as a library. Each area is a namespace; the engine is also importable alone as 'reposer/torch'.
export * as torch from './torch/index.js';
export * as pose from './pose/index.js';
export * as data from './data/index.js';
export * as synth from './synth/index.js';
export * as models from './models/index.js';
export * as report from './report/index.js';
export * as train from './train/index.js';
export * as generate from './generate/index.js';
export * as evaluation from './eval/index.js';
export * as apply from './apply/index.js';
export * as baseline from './baseline/index.js';
