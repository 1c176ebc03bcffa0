/** @flowformer/d4rl: D4RL offline RL (data, windows, MuJoCo environments, scores). */
export { readD4rlFile, writeD4rlFile, D4rlFileError, type D4rlData, type ReadOptions } from './data/hdf5.ts';
export { splitTrajectories, type Trajectory, type SplitResult } from './data/trajectories.ts';
export { D4rlWindows, sampleWindows, type WindowArgs, type Window, type WindowBatch, type TrajectoryStats } from './data/windows.ts';
export { makeEnv, LocomotionEnv, SPECS, ENV_NAMES, type Env, type EnvName, type StepResult, type StepInfo, type LocomotionSpec } from './envs/locomotion.ts';
export { loadMujoco, compileModel, loadAssetModel, ASSETS_DIR } from './envs/mujoco.ts';
export { makePolicy, POLICY_NAMES, type Policy, type PolicyName } from './envs/policies.ts';
export { generateDataset, type GenerateArgs, type GenerateResult } from './generate.ts';
export { downloadD4rl, d4rlUrl, d4rlPath, D4RL_BASE_URL, D4RL_DATASETS, PAPER_DATASETS, type D4rlDatasetName, type DownloadD4rlArgs } from './download.ts';
export { normalizedScore, meanStd, REF_SCORES } from './score.ts';
export { DecisionTransformer, type DecisionTransformerArgs } from './model.ts';
export { rollouts, type RolloutArgs, type RolloutResult } from './evaluate.ts';
export { summarizeFinalEval, type D4rlFinalEval, type D4rlFinalEvalTarget } from './final-eval.ts';
export { D4rlModelSchema, D4rlDataSchema, D4rlRolloutSchema } from './schema.ts';
export { d4rlTask, DEFAULT_TARGETS, parseDatasetName, type D4rlConfig } from './task.ts';
export { paperComparisonMarkdown } from './paper.ts';
export { collectD4rlRuns, d4rlTableMarkdown, d4rlReport, type D4rlRunScores, type D4rlSetting } from './table.ts';
export { d4rlOriginal, d4rlMapping } from './original.ts';
export * from './tables.ts';
