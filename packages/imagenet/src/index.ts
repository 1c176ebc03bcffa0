/** @flowformer/imagenet: the ImageNet task package (issue 8). */
export * from './data/augment.ts';
export * from './data/decode.ts';
export * from './data/folder.ts';
export * from './data/split.ts';
export { writeView, type ViewRequest } from './data/views.ts';
export * from './model.ts';
export * from './schema.ts';
export { imagenetTask, evaluateImages, type ImagenetInfo } from './task.ts';
export { buildImageModel, configParams, imagenetSchemas, pipelineOf, type ImagenetConfig } from './build.ts';
export { benchData, type BenchDataOptions, type BenchDataResult } from './bench.ts';
export { visualize, flowMaps, type VisualizeOptions, type VisualizeResult } from './visualize.ts';
export { imagenetReport, collectImageRuns, imageReportMarkdown, type ImageReport, type ImageSetting } from './report.ts';
export { imagenetOriginal, imagenetMapping } from './original.ts';
export * from './tables.ts';
