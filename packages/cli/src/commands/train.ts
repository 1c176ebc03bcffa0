import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { getTask, initBackend, backendInfo, train, evaluateRun, loadConfig } from '@flowformer/core';
import { readRunSummaries, RunRecord, runState, type RunSummary } from '@flowformer/core/results';
import { threadsFromEnv } from '@flowformer/core/backend';
import type { DiscoveredTask } from '../discover.ts';
import { repoRoot, cliDataRoot } from '../paths.ts';
import { backendLine } from '../backend-text.ts';

interface TrainArgs {
  task?: string;
  config?: string;
  set?: string[];
  resume?: string;
  backend?: string;
  'data-root'?: string;
  'results-root'?: string;
  'stop-at-step'?: number;
  progress?: boolean;
  tensorboard?: boolean;
}

/** Resolves where a run reads data, writes results and caches, for every command that trains or evaluates. */
export function runRoots(args: { 'data-root'?: string; 'results-root'?: string }) {
  const root = repoRoot();
  return {
    // The flag or the environment wins over a config's data.root; without either the trainer
    // uses the config's data.root, else <repo>/data.
    dataRoot: (args['data-root'] ?? process.env.FLOWFORMER_DATA_ROOT) ? cliDataRoot(args['data-root']) : undefined,
    defaultDataRoot: cliDataRoot(),
    resultsRoot: path.resolve(args['results-root'] ?? process.env.FLOWFORMER_RESULTS_ROOT ?? path.join(root, 'results')),
    cacheDir: path.join(root, '.cache'),
  };
}

export function trainCommand(tasks: DiscoveredTask[]): CommandModule<object, TrainArgs> {
  return {
    command: 'train',
    describe: 'Train a model on a task from a YAML config; writes results/runs/<task>/<config>/<run-id>/',
    builder: (y) =>
      y
        .option('task', { type: 'string', choices: tasks.map((t) => t.task.name), describe: 'the task (default: the config\'s task:)' })
        .option('config', { alias: 'c', type: 'string', describe: 'a config file, e.g. configs/lra/listops/mini.yaml (default: the task\'s default config)' })
        .option('set', { type: 'string', array: true, describe: 'override a config value: --set training.steps=200 --set attention.type=softmax' })
        .option('resume', { type: 'string', describe: 'continue a run folder from its last checkpoint (exactly, including data order and RNG)' })
        .option('results-root', { type: 'string', describe: 'where runs/ is written; default $FLOWFORMER_RESULTS_ROOT or <repo>/results' })
        .option('stop-at-step', { type: 'number', describe: 'stop cleanly after this many updates (saves ckpt/last; resume later with --resume)' })
        .option('progress', { type: 'boolean', default: true, describe: 'show the progress bar (--no-progress for plain log lines)' })
        .option('tensorboard', { type: 'boolean', default: true, describe: 'write TensorBoard event files into <run>/tb/ (--no-tensorboard to skip; `flowformer tensorboard` prints how to view them)' })
        .check((a) => {
          if (!a.task && !a.config && !a.resume) throw new Error('say what to train: --task T (its default config), --config FILE, or --resume RUN_DIR');
          return true;
        })
        .example('$0 train --task lra', 'ListOps mini on freshly generated data (minutes on a laptop)')
        .example('$0 train --task uea --config configs/uea/JapaneseVowels/flowformer.yaml --data-root ../shared/data', 'the paper\'s UEA recipe')
        .example('$0 train -c configs/lra/listops/mini.yaml --set attention.type=softmax', 'the same run with the softmax baseline')
        .example('$0 train --resume results/runs/lra/listops-mini/<run-id>', 'continue an interrupted run') as never,
    handler: async (args) => {
      let configPath = args.config;
      if (!configPath && !args.resume) {
        const task = getTask(args.task!);
        if (!task.defaultConfig) throw new Error(`task '${task.name}' has no default config; pass --config (see 'flowformer list')`);
        configPath = path.join(repoRoot(), task.defaultConfig);
      }
      if (configPath && !fs.existsSync(configPath)) throw new Error(`no config file ${configPath} (see 'flowformer list' for the shipped configs)`);
      await initBackend(args.backend as never);
      console.error(backendLine());
      const roots = runRoots(args);
      warnIfSharingCores(roots.resultsRoot);
      const summary = await train({
        configPath,
        sets: args.set,
        task: args.task,
        resume: args.resume,
        dataRoot: roots.dataRoot,
        defaultDataRoot: roots.defaultDataRoot,
        resultsRoot: roots.resultsRoot,
        cacheDir: roots.cacheDir,
        backend: backendInfo().backend,
        command: ['flowformer', ...process.argv.slice(2)].join(' '),
        progress: args.progress ? {} : false,
        stopAtStep: args['stop-at-step'],
        tensorboard: args.tensorboard,
      });
      printSummary(summary);
      // 130 = terminated by Ctrl-C, as shells report it; the checkpoint is saved.
      if (summary.status === 'interrupted') process.exitCode = 130;
    },
  };
}

/**
 * Other runs training on this machine now (live records under the same results root), when no
 * thread count was given: each backend takes one thread per core by default, and jobs that
 * oversubscribe the cores run far slower than jobs that split them (docs/reproduce.md,
 * "Parallel jobs"). A note on stderr, nothing more.
 */
export function warnIfSharingCores(resultsRoot: string, cores = os.availableParallelism()): void {
  if (threadsFromEnv() !== undefined || cores < 2) return;
  const live = readRunSummaries(resultsRoot).filter((r) => r.pid !== process.pid && runState(r) === 'running' && r.host === os.hostname());
  if (live.length === 0) return;
  const share = Math.max(1, Math.floor(cores / (live.length + 1)));
  console.error(
    `note: ${live.length} other run${live.length === 1 ? ' is' : 's are'} training on this machine (pid ${live.map((r) => r.pid).join(', ')}). ` +
      `Without --threads each run takes all ${cores} cores, and runs that oversubscribe them are slower together ` +
      `than runs that split them: give each its share, e.g. --threads ${share} (docs/reproduce.md#parallel-jobs).`,
  );
}

function fmt(x: unknown): string {
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) < 1e4 ? x.toFixed(4) : x.toExponential(3);
}

export function printSummary(s: RunSummary): void {
  const rec = s as unknown as Record<string, unknown>;
  console.log(`\nrun ${rec.runDir ?? ''}`);
  for (const k of ['task', 'dataset', 'model', 'attention', 'status', 'steps', 'wallSeconds', 'backend', 'metric', 'best', 'final', 'test']) {
    if (rec[k] === undefined) continue;
    const v = rec[k];
    console.log(`  ${k.padEnd(12)} ${typeof v === 'object' ? JSON.stringify(v, (_, x) => (typeof x === 'number' ? Number(x.toPrecision(6)) : x)) : fmt(v)}`);
  }
}

interface EvalArgs {
  run: string;
  checkpoint: 'best' | 'last';
  split: 'train' | 'valid' | 'test';
  backend?: string;
  'data-root'?: string;
  json?: boolean;
}

/**
 * Keeps what `flowformer eval` measured in the run folder: `evals/<time>.json` (checkpoint, its
 * update, split, metrics, backend, command). When it is the task's final protocol (Task.finalEval:
 * its split on ckpt/last), summary.json's `finalEval` is set from it as the trainer would.
 * Returns the file written.
 */
export function recordEvaluation(r: Awaited<ReturnType<typeof evaluateRun>>): string {
  const record = new RunRecord(r.runDir);
  const evaluatedAt = new Date().toISOString();
  const file = path.join(record.dir, 'evals', `${evaluatedAt.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const command = ['flowformer', ...process.argv.slice(2)].join(' ');
  fs.writeFileSync(file, `${JSON.stringify({ checkpoint: r.checkpoint, step: r.step, split: r.split, metrics: r.metrics, backend: backendInfo().backend, command, evaluatedAt }, null, 2)}\n`);
  const { config } = loadConfig(record.configPath);
  const fe = getTask(config.task).finalEval;
  const summary = record.readSummary();
  if (fe && summary && r.checkpoint === 'last' && r.split === fe.split) {
    record.writeSummary({ ...summary, finalEval: fe.summarize(r.metrics, r.step, config) });
  }
  return file;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: "Evaluate a saved checkpoint of a run on a split; the result is kept in the run's evals/ folder",
  builder: (y) =>
    y
      .option('run', { type: 'string', demandOption: true, describe: 'a run folder, results/runs/<task>/<config>/<run-id>' })
      .option('checkpoint', { choices: ['best', 'last'] as const, default: 'best' as const, describe: 'which checkpoint' })
      .option('split', { choices: ['train', 'valid', 'test'] as const, default: 'test' as const, describe: 'which split' })
      .option('json', { type: 'boolean', describe: 'print the metrics as JSON' })
      .example('$0 eval --run results/runs/lra/listops-mini/<run-id>', 'test metrics of the best checkpoint')
      .example('$0 eval --run results/runs/d4rl/flowformer/<run-id> --checkpoint last', "D4RL's final protocol (last model, 100 episodes per target): also sets finalEval in summary.json") as never,
  handler: async (args) => {
    await initBackend(args.backend as never);
    const roots = runRoots(args);
    const r = await evaluateRun({
      runDir: args.run,
      checkpoint: args.checkpoint,
      split: args.split,
      dataRoot: roots.dataRoot,
      cacheDir: roots.cacheDir,
    });
    const file = recordEvaluation(r);
    if (args.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    console.log(`${r.runDir}  ckpt/${r.checkpoint} (step ${r.step})  split ${r.split}`);
    for (const [k, v] of Object.entries(r.metrics)) console.log(`  ${k.padEnd(16)} ${fmt(v)}`);
    console.log(`recorded in ${path.relative(process.cwd(), file)}`);
  },
};
