// Training as a library: `train()` runs (or resumes) a family's official schedule into a run directory.
export { train, latestCheckpoint, TrainingError, type TrainOptions, type TrainResult, type StepProgress } from './trainer.js';
export { runAt, type Precision } from './precision.js';
export { saveCheckpoint, loadCheckpoint, listCheckpoints, CHECKPOINTS_DIR, type TrainerState, type LoaderPosition } from './checkpoint.js';
export { writeSampleGrid, toBytes } from './samples.js';
