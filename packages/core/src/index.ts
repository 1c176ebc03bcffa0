/**
 * @flowformer/core: the public surface a model author needs, importable from plain Node.
 *
 * Everything here is what a user of the library writes against: the tf instance and backend
 * choice, the layers and attentions (with their registry), configs, the trainer and the Task
 * contract. What only the CLI, the task reports or the tests use lives behind named
 * sub-entries, so this list stays short and deliberate:
 *
 *   @flowformer/core/backend   backend selection details, our kernels, the TensorFlow setup
 *   @flowformer/core/results   run records, report helpers, paper numbers, tables, plots
 *   @flowformer/core/bench     attention and train-step benchmarks
 *   @flowformer/core/io        download, archive extraction, a local test server
 *   @flowformer/core/testing   test helpers (temp dirs, golden fixtures, shared data)
 */

// Ground floor: the tf instance, the backend, seeded randomness.
export { tf } from './tf.ts';
export {
  initBackend,
  backendInfo,
  shutdownBackend,
  BackendError,
  BACKEND_NAMES,
  type BackendName,
  type BackendInfo,
  type InitBackendOptions,
} from './backend/index.ts';
export { Rng, type RngState } from './train/rng.ts';

// Layers.
export { Module, EVAL, type ForwardContext, type ParamInfo, type ParamOptions } from './nn/module.ts';
export * as init from './nn/init.ts';
export { Dense, type DenseArgs } from './nn/dense.ts';
export * from './nn/index.ts';

// Attentions: Flow-Attention, softmax and their layers (the baselines and the registry come
// through the nn barrel above).
export * from './attention/index.ts';

// Configs, the trainer and its parts.
export {
  ConfigError,
  formatProblem,
  loadConfig,
  formatConfig,
  configName,
  listConfigFiles,
  configSchema,
  registerAttentionConfig,
  attentionConfigTypes,
  attentionSchema,
  OptimizerSchema,
  ScheduleSchema,
  TrainingSchema,
  EvaluationSchema,
  train,
  evaluateRun,
  TrainingDivergedError,
  variableGrads,
  gradientsFreeingAsYouGo,
  AdamFamily,
  makeOptimizer,
  clipByGlobalNorm,
  makeSchedule,
  evaluationDue,
  evaluationsAfter,
  crossEntropy,
  softTargetCrossEntropy,
  maskedMse,
  accuracy,
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointInfo,
  checkpointExists,
  disposeCheckpoint,
  Progress,
  formatDuration,
  secondsToGo,
  type ConfigProblem,
  type ConfigFileInfo,
  type LoadConfigOptions,
  type ResolvedConfig,
  type Config,
  type TaskSchemas,
  type AttentionConfig,
  type OptimizerConfig,
  type ScheduleConfig,
  type TrainingConfig,
  type EvaluationConfig,
  type TrainOptions,
  type EvaluateRunOptions,
  type Optimizer,
  type OptimizerState,
  type Schedule,
  type ScheduleContext,
  type EvaluationTimes,
  type CrossEntropyArgs,
  type CheckpointData,
  type PaceArgs,
  type ProgressOptions,
  type ProgressState,
} from './train/index.ts';

// The Task contract and the task registry (the CLI discovers task packages and registers them).
export * from './task.ts';
