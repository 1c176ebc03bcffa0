/** @flowformer/lra: the Long Range Arena task, its data formats, generators and models. */
export * from './data/errors.ts';
export * from './data/listops.ts';
export * from './data/bytes.ts';
export * from './data/text.ts';
export * from './data/retrieval.ts';
export * from './data/image.ts';
export * from './data/pathfinder.ts';
export * from './data/pathfinder-gen.ts';
export * from './data/generate.ts';
export * from './data/provenance.ts';
export * from './data/download.ts';
export * from './data/splits.ts';
export * from './schema.ts';
export * from './model.ts';
export { lraTask, lraAttention, evaluateLra, lraDefaultDir, type LraConfig, type LraInfo } from './task.ts';
export { lraReport, collectLraRuns, lraReportMarkdown, type LraReport, type LraSetting } from './report.ts';
export { lraTables, LRA_ROWS } from './tables.ts';
