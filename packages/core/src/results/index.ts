/**
 * @flowformer/core/results: what reads and summarises runs. Run records and their states, the
 * report helpers task packages use for their sections, the paper's numbers, the reproduction
 * tables and the SVG/PNG plots.
 */
export * from './run.ts';
export * from './report.ts';
export * from './paper.ts';
export * from './tables.ts';
export * from './plot.ts';
export * from './table-spec.ts';
export * from './plan.ts';
export * from './readme.ts';
export * from './tensorboard.ts';
export * from './sweep.ts';
