/**
 * The experiment framework's public API (one barrel, re-exported from `src/index.ts` in one
 * line): configs, the trainer and its parts, checkpoints, run records and plots.
 */
export { ConfigError, formatProblem, type ConfigProblem } from '../config/errors.ts';
export { loadConfig, formatConfig, configName, listConfigFiles, type ConfigFileInfo, type LoadConfigOptions, type ResolvedConfig } from '../config/load.ts';
export {
  configSchema,
  registerAttentionConfig,
  attentionConfigTypes,
  attentionSchema,
  OptimizerSchema,
  ScheduleSchema,
  TrainingSchema,
  EvaluationSchema,
  type Config,
  type TaskSchemas,
  type AttentionConfig,
  type OptimizerConfig,
  type ScheduleConfig,
  type TrainingConfig,
  type EvaluationConfig,
} from '../config/schema.ts';
export { train, evaluateRun, TrainingDivergedError, type TrainOptions, type EvaluateRunOptions } from './trainer.ts';
export { variableGrads, gradientsFreeingAsYouGo } from './grads.ts';
export { AdamFamily, makeOptimizer, clipByGlobalNorm, type Optimizer, type OptimizerState } from './optim.ts';
export { makeSchedule, evaluationDue, evaluationsAfter, type Schedule, type ScheduleContext, type EvaluationTimes } from './schedule.ts';
export { crossEntropy, softTargetCrossEntropy, maskedMse, accuracy, type CrossEntropyArgs } from './loss.ts';
export { saveCheckpoint, loadCheckpoint, readCheckpointInfo, checkpointExists, disposeCheckpoint, type CheckpointData } from './checkpoint.ts';
export { Progress, formatDuration, secondsToGo, type PaceArgs, type ProgressOptions, type ProgressState } from './progress.ts';
export { RunRecord, gitCommit, recordedPath, repoRelativePaths, resolveRecordedPath, readSummaryFile, runState, isUnfinished, isResumable, canResume, stateText, type RunState, type RunSummary, type MetricsLine } from '../results/run.ts';
export { lineChartSvg, chartsSvg, svgToPng, niceTicks, type Series, type ChartOptions } from '../results/plot.ts';
