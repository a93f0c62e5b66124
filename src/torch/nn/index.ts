// torch.nn: modules with PyTorch's names, so official state dicts map by name. See docs in each file.
export { Module, type UnaryModule, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { Conv2d, ConvTranspose2d, Linear, type Conv2dOptions, type ConvTranspose2dOptions, type LinearOptions, type PaddingMode } from './conv.js';
export { BatchNorm2d, InstanceNorm2d, type NormOptions } from './norm.js';
export { ReLU, LeakyReLU, Tanh, Sigmoid, Identity, Dropout, Dropout2d } from './activation.js';
export { Sequential, ModuleList } from './container.js';
export { ReflectionPad2d, ReplicationPad2d, ZeroPad2d, AvgPool2d, MaxPool2d, Upsample, type Pool2dOptions, type UpsampleOptions } from './resample.js';
export { spectralNorm, type SpectralNormOptions } from './spectral-norm.js';
export * as init from './init.js';
