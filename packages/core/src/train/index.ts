/** The trainer and its parts: optimisers, schedules, losses, gradients, checkpoints, progress. */
export { train, evaluateRun, BATCHES_AHEAD, TrainingDivergedError, type TrainOptions, type EvaluateRunOptions } from './trainer.ts';
export { variableGrads, gradientsFreeingAsYouGo } from './grads.ts';
export { accumulateGradients, type AccumulateArgs, type Accumulated } from './accumulate.ts';
export { AdamFamily, makeOptimizer, clipByGlobalNorm, clipScale, globalNorm, type Optimizer, type OptimizerState } from './optim.ts';
export { makeSchedule, evaluationDue, evaluationsAfter, type Schedule, type ScheduleContext, type EvaluationTimes } from './schedule.ts';
export { crossEntropy, softTargetCrossEntropy, maskedMse, accuracy, type CrossEntropyArgs } from './loss.ts';
export { saveCheckpoint, loadCheckpoint, readCheckpointInfo, checkpointExists, disposeCheckpoint, type CheckpointData } from './checkpoint.ts';
export { Progress, formatDuration, secondsToGo, type PaceArgs, type ProgressOptions, type ProgressState } from './progress.ts';
