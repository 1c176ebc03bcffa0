/** @flowformer/core: the public API. */
export { tf } from './tf.ts';
export { Rng, type RngState } from './train/rng.ts';
export { Module, EVAL, type ForwardContext, type ParamInfo, type ParamOptions } from './nn/module.ts';
export * as init from './nn/init.ts';
export { Dense, type DenseArgs } from './nn/dense.ts';
export * from './task.ts';
export * from './io/index.ts';
export * from './backend/index.ts';
export * from './nn/index.ts';
export * from './train/index.ts';
export * from './attention/index.ts';
export * from './bench/index.ts';
export * from './backend/tensorflow-setup.ts';
export * from './results/tables.ts'; export * from './results/paper.ts';
export * from './results/report.ts';
export * from './results/plan.ts';
