/**
 * @flowformer/core/results: what reads and summarises runs. Run records and their states (written
 * by the trainer, so they live in train/ and are re-exported here), the report helpers task
 * packages use for their sections, the paper's numbers, the reproduction tables, the SVG/PNG
 * plots and the TensorBoard writer.
 */
export * from '../train/run-record.ts';
export * from './report.ts';
export * from './paper.ts';
export * from './tables.ts';
export * from '../train/plot.ts';
export * from './table-spec.ts';
export * from './plan.ts';
export * from './readme.ts';
export * from '../train/tensorboard.ts';
export * from './sweep.ts';
export * from './bench-summary.ts';
