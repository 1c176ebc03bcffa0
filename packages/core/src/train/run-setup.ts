/**
 * What a run starts from: its config (a file, an object, or the config.yaml of a run being
 * resumed), its task, its record (an existing run folder when resuming; a new one is created
 * by the trainer only once the data and the model are known to be good) and its data root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getTrainableTask, type TrainableTask } from './task-contract.ts';
import { loadConfig, type ResolvedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { RunRecord, type RunSummary } from './run-record.ts';
import { checkpointExists } from './checkpoint.ts';

export interface RunSetupArgs {
  configPath?: string;
  sets?: string[];
  config?: ResolvedConfig;
  task?: string | TrainableTask;
  resume?: string;
}

export interface RunSetup {
  resolved: ResolvedConfig;
  task: TrainableTask;
  /** The run folder being resumed, or null for a new run. */
  record: RunRecord | null;
  /** The summary of the run being resumed (null for a new run, or a run stopped before writing one). */
  previous: RunSummary | null;
}

export const envOr = (name: string, fallback: string) => process.env[name] || fallback;

/**
 * Where a run reads its data: `opts.dataRoot`, else the config's `data.root` (relative to the
 * working directory), else $FLOWFORMER_DATA_ROOT, else `opts.defaultDataRoot`, else ./data.
 * The `flowformer` CLI passes --data-root or $FLOWFORMER_DATA_ROOT as `opts.dataRoot`, so on
 * the command line both win over a config's `data.root` (packages/cli/src/commands/train.ts).
 */
export function resolveDataRoot(opts: { dataRoot?: string; defaultDataRoot?: string }, config: Config): string {
  return path.resolve(opts.dataRoot ?? config.data.root ?? envOr('FLOWFORMER_DATA_ROOT', opts.defaultDataRoot ?? path.resolve('data')));
}

function resolveTask(config: Config, task?: string | TrainableTask): TrainableTask {
  const t = typeof task === 'object' ? task : getTrainableTask(task ?? config.task);
  if (t.name !== config.task) throw new Error(`the config is for task '${config.task}' but task '${t.name}' was asked for`);
  return t;
}

/** Loads the config of a new run, or of the run in `opts.resume` after checking that it can be resumed. */
export function setUpRun(opts: RunSetupArgs): RunSetup {
  const taskObject = typeof opts.task === 'object' ? opts.task : undefined;
  if (opts.resume) {
    if (opts.sets?.length) throw new Error('--set cannot be combined with --resume: a resumed run keeps its config (start a new run to change it)');
    const record = new RunRecord(path.resolve(opts.resume));
    if (!fs.existsSync(record.configPath)) throw new Error(`--resume ${opts.resume}: no config.yaml there; pass a run folder (results/runs/<task>/<config>/<run-id>)`);
    if (!checkpointExists(record.ckpt('last'))) throw new Error(`--resume ${opts.resume}: no ckpt/last to resume from (the run stopped before its first checkpoint, or its record was committed or copied without its checkpoints, which stay on the machine that trained); start it again`);
    let resolved = loadConfig(record.configPath, { task: taskObject });
    const previous = record.readSummary();
    // The run keeps the name and path of the config it started from, not those of its copy.
    if (previous) resolved = { ...resolved, name: previous.configName, path: previous.configPath };
    return { resolved, task: resolveTask(resolved.config, opts.task), record, previous };
  }
  let resolved: ResolvedConfig;
  if (opts.config) resolved = opts.config;
  else if (opts.configPath) resolved = loadConfig(opts.configPath, { sets: opts.sets, task: taskObject });
  else throw new Error('train: give a config (--config configs/<task>/<dataset>/<model>.yaml) or a run to --resume');
  return { resolved, task: resolveTask(resolved.config, opts.task), record: null, previous: null };
}
