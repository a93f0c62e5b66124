// The engine's public face: `import * as torch from './torch/index.js'`.
export * from './gen/ops.js';
export { Tensor, scope, dispose, noGrad, enableGrad, isGradEnabled, memory, tensor } from './tensor.js';
export type { TensorOptions, NestedNumbers } from './tensor.js';
export type { DType, Device, TypedArray } from './dtype.js';
export { isFloating } from './dtype.js';
export * from './autograd.js';
export * from './runtime.js';
export * from './autocast.js';
export * from './functional.js';
export * as nn from './nn/index.js';
export * as io from './io/index.js';
export * as optim from './optim/index.js';
export * as distributed from './distributed.js';
