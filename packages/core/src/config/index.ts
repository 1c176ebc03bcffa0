/** Configs: the shared zod schema, the YAML loader with file:line errors, the error type. */
export { ConfigError, formatProblem, type ConfigProblem } from '../errors.ts';
export { loadConfig, formatConfig, configName, listConfigFiles, type ConfigFileInfo, type LoadConfigOptions, type ResolvedConfig } from './load.ts';
export {
  configSchema,
  attentionConfigTypes,
  attentionSchema,
  OptimizerSchema,
  ScheduleSchema,
  TrainingSchema,
  EvaluationSchema,
  type Config,
  type TaskSchemas,
  type ConfigTask,
  type AttentionConfig,
  type OptimizerConfig,
  type ScheduleConfig,
  type TrainingConfig,
  type EvaluationConfig,
} from './schema.ts';
