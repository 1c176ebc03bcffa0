/** @flowformer/imagenet: the ImageNet task package (issue 8). */
export * from './data/augment.ts';
export * from './data/decode.ts';
export * from './data/folder.ts';
export * from './data/split.ts';
export * from './model.ts';
export * from './schema.ts';
export { imagenetTask, buildImageModel, configParams, evaluateImages, pipelineOf, type ImagenetConfig, type ImagenetInfo } from './task.ts';
export { benchData, type BenchDataOptions, type BenchDataResult } from './bench.ts';
export { visualize, flowMaps, type VisualizeOptions, type VisualizeResult } from './visualize.ts';
export { imagenetReport, collectImageRuns, imageReportMarkdown, type ImageReport, type ImageSetting } from './report.ts';
export * from './tables.ts';
