/** @flowformer/uea: UEA multivariate time-series classification (readers, preprocessing, model, task). */
export * from './data/raw.ts';
export * from './data/ts-format.ts';
export * from './data/arff.ts';
export * from './data/load.ts';
export * from './data/preprocess.ts';
export * from './data/download.ts';
export * from './data/split.ts';
export * from './datasets.ts';
export * from './schema.ts';
export * from './model.ts';
export * from './task.ts';
export * from './report.ts';
export { ueaOriginal, ueaMapping } from './original.ts';
export * from './tables.ts';
