/**
 * @flowformer/core: the public surface a model author needs, importable from plain Node.
 *
 * Everything here is what a user of the library writes against: the tf instance and backend
 * choice, seeded randomness, the layers and attentions (with their registry), configs, the
 * trainer, the Task contract, and the mapping to the original PyTorch models. What only the
 * CLI, the task reports or the tests use lives behind named sub-entries:
 *
 *   @flowformer/core/backend   backend selection details, our kernels, the TensorFlow setup
 *   @flowformer/core/results   run records, report helpers, paper numbers, tables and plans, plots
 *   @flowformer/core/launch    claims, Slurm's view of jobs, GPU assignment
 *   @flowformer/core/bench     attention and train-step benchmarks
 *   @flowformer/core/io        download, archives, safetensors, a local test server
 *   @flowformer/core/testing   test helpers (temp dirs, golden fixtures, shared data)
 */

// Ground floor: the tf instance, the backend, seeded randomness, the config error.
export { tf } from './tf.ts';
export { initBackend, backendInfo, shutdownBackend, BackendError, BACKEND_NAMES, type BackendName, type BackendInfo, type InitBackendOptions } from './backend/index.ts';
export { Rng, type RngState } from './rng.ts';

// Layers and attentions (with the attention registry).
export { Module, EVAL, type ForwardContext, type ParamInfo, type ParamOptions } from './nn/module.ts';
export * as init from './nn/init.ts';
export { Dense, type DenseArgs } from './nn/dense.ts';
export * from './nn/index.ts';
export * from './attention/index.ts';

// Configs, the trainer, the Task contract and registry, the original models' weights.
export * from './config/index.ts';
export * from './train/index.ts';
export * from './task.ts';
export * from './original.ts';
