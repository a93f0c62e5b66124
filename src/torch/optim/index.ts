// torch.optim: optimisers with PyTorch 1.13's update rules and state layout, and learning-rate schedules.
export { Optimizer, flattenOptimizerState, unflattenOptimizerState, type OptimizerStateDict, type FlatOptimizerState, type ParamState, type ParamGroup, type Params } from './optimizer.js';
export { Adam, type AdamOptions } from './adam.js';
export { SGD, type SGDOptions } from './sgd.js';
export { LRScheduler, StepLR, LinearDecayLR, type LRSchedulerState, type StepLROptions, type LinearDecayLROptions } from './lr-scheduler.js';
