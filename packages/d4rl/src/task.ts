/**
 * The `d4rl` task: offline RL on the D4RL gym-locomotion datasets (the paper's Table 7):
 * hopper / halfcheetah / walker2d x medium / medium-replay / medium-expert, a Decision
 * Transformer trained on K = 20 windows, scored by return-conditioned rollouts in MuJoCo and
 * D4RL's normalised score.
 *
 * `dataset` in a config is `<env>-<dataset>` (e.g. `hopper-medium-replay`); the file is
 * `<dataRoot>/d4rl/<env>-<dataset>-v2.hdf5` unless `data.file` names another.
 *
 * Splits: `valid` = rollout.episodes episodes per target (during training), `test` =
 * rollout.finalEpisodes (100, the original's evaluation after the last iteration). A completed
 * run ends with that evaluation of its last model (`finalEval`, final-eval.ts), recorded in
 * summary.json; `flowformer eval --checkpoint last --split test` repeats it on a saved run.
 *
 * The metric is `score`: the mean normalised score (x 100) at the FIRST rollout target (the
 * higher one: hopper 3600, halfcheetah 12000, walker2d 5000); every target's numbers are
 * reported too.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Rng, registerTask, type BatchContext, type Config, type EvalContext, type Split, type Task, type TaskContext, type TaskData, type TaskModel } from '@flowformer/core';
import { readD4rlFile } from './data/hdf5.ts';
import { splitTrajectories } from './data/trajectories.ts';
import { D4rlWindows, sampleWindows, type WindowBatch } from './data/windows.ts';
import { d4rlPath, downloadD4rl, D4RL_DATASETS, type D4rlDatasetName } from './download.ts';
import { makeEnv, SPECS, type EnvName } from './envs/locomotion.ts';
import { POLICY_NAMES, type PolicyName } from './envs/policies.ts';
import { rollouts } from './evaluate.ts';
import { generateDataset } from './generate.ts';
import { DecisionTransformer } from './model.ts';
import { d4rlOriginal } from './original.ts';
import { D4rlDataSchema, D4rlModelSchema, D4rlRolloutSchema, type D4rlConfig } from './schema.ts';
import { meanStd, normalizedScore } from './score.ts';
import { d4rlReport } from './table.ts';
import { summarizeFinalEval } from './final-eval.ts';
import { d4rlTables } from './tables.ts';

export type { D4rlConfig } from './schema.ts';

/** The paper's rollout targets per environment (experiment.py `env_targets`). */
export const DEFAULT_TARGETS: Record<EnvName, number[]> = { hopper: [3600, 1800], halfcheetah: [12000, 6000], walker2d: [5000, 2500] };

/** `hopper-medium-replay` -> env `hopper`, dataset `medium-replay`. */
export function parseDatasetName(name: string): { env: EnvName; dataset: string } {
  const m = /^(hopper|halfcheetah|walker2d)-(.+)$/.exec(name);
  if (!m) throw new Error(`d4rl: dataset '${name}' is not '<env>-<dataset>' with env one of ${Object.keys(SPECS).join(', ')} (e.g. hopper-medium-replay)`);
  return { env: m[1] as EnvName, dataset: m[2]! };
}

/** The training windows; batches of training draw their own indices when sampling is 'replacement'. */
class TrainWindows implements Split<WindowBatch> {
  constructor(
    readonly windows: D4rlWindows,
    private readonly withReplacement: boolean,
  ) {}
  get size(): number {
    return this.windows.size;
  }
  batch(indices: Int32Array, ctx: BatchContext): WindowBatch {
    // The original samples uniformly WITH replacement; the trainer's per-step rng (derived from
    // the seed and the step) makes that seeded and resumable.
    const idx = ctx.training && this.withReplacement ? sampleWindows(ctx.rng, this.windows.size, indices.length) : indices;
    return this.windows.batch(idx, ctx);
  }
}

/** Evaluation runs episodes, not batches: this split only counts them (episodes per target). */
class RolloutSplit implements Split<WindowBatch> {
  constructor(
    readonly windows: D4rlWindows,
    readonly env: EnvName,
    readonly size: number,
  ) {}
  batch(): WindowBatch {
    throw new Error('d4rl: evaluation runs episodes in the environment (task.evaluate), it has no batches');
  }
}

export const d4rlTask: Task<D4rlConfig, WindowBatch> = {
  name: 'd4rl',
  description: 'D4RL offline RL (hopper, halfcheetah, walker2d): Decision Transformer, MuJoCo rollouts, normalised score',
  datasets: (['hopper', 'halfcheetah', 'walker2d'] as const).flatMap((env) =>
    (['medium', 'medium-replay', 'medium-expert'] as const).map((d) => ({ name: `${env}-${d}`, description: `D4RL ${env}-${d}-v2` })),
  ),
  schema: { model: D4rlModelSchema, data: D4rlDataSchema, rollout: D4rlRolloutSchema },
  metric: { name: 'score', mode: 'max' },
  original: d4rlOriginal,
  defaultConfig: 'configs/d4rl/hopper-medium/flowformer.yaml',
  report: d4rlReport,
  // The original's evaluation after the last iteration: the last model, rollout.finalEpisodes episodes per target.
  finalEval: {
    split: 'test',
    summarize: (metrics, step, config) => ({ ...summarizeFinalEval(metrics, step, config, config.rollout.targets ?? DEFAULT_TARGETS[parseDatasetName(config.dataset).env]) }),
  },
  tables: d4rlTables,

  async load(config: D4rlConfig, ctx: TaskContext): Promise<TaskData<WindowBatch>> {
    const { env, dataset } = parseDatasetName(config.dataset);
    const file = config.data.file ? path.resolve(ctx.dataRoot, config.data.file) : d4rlPath(ctx.dataRoot, env, dataset);
    if (!existsSync(file)) {
      throw new Error(
        `d4rl: ${file} does not exist. Download it with 'flowformer data download --task d4rl --env ${env} --dataset ${dataset}', ` +
          `or record a stand-in with 'flowformer data generate --task d4rl --dataset ${env}-random' and train on it with ` +
          `--set data.file=d4rl/${env}-random-v2.hdf5 (its scores are not the paper's)`,
      );
    }
    const data = await readD4rlFile(file, { nextObservations: false, infos: false });
    const spec = SPECS[env];
    const want = env === 'hopper' ? [11, 3] : [17, 6];
    if (data.obsDim !== want[0] || data.actDim !== want[1]) {
      throw new Error(`d4rl: ${file} has observations of ${data.obsDim} and actions of ${data.actDim} values; ${spec.gymId} has ${want[0]} and ${want[1]}. Is it the file of another environment?`);
    }
    const { trajectories, droppedSteps } = splitTrajectories(data, spec.maxEpisodeSteps);
    const windows = new D4rlWindows(data, trajectories, {
      contextLength: config.data.contextLength,
      maxEpisodeLength: config.model.maxEpisodeLength,
      returnScale: config.data.returnScale,
      mode: config.data.mode,
    });
    const st = windows.stats;
    ctx.log(
      `d4rl ${env}-${dataset}: ${st.numTrajectories} trajectories, ${st.numTimesteps} timesteps` +
        `${droppedSteps ? ` (${droppedSteps} steps of an unfinished last episode dropped)` : ''}; ` +
        `return ${st.avgReturn.toFixed(2)} +- ${st.stdReturn.toFixed(2)}, max ${st.maxReturn.toFixed(2)}, min ${st.minReturn.toFixed(2)}`,
    );
    return {
      train: new TrainWindows(windows, config.data.sampling === 'replacement'),
      valid: new RolloutSplit(windows, env, config.rollout.episodes),
      // the original's final evaluation: the last model, 100 episodes per target
      test: new RolloutSplit(windows, env, config.rollout.finalEpisodes),
      info: { env, file, ...st, droppedSteps, obsDim: data.obsDim, actDim: data.actDim },
    };
  },

  build(config: D4rlConfig, data: TaskData<WindowBatch>, rng: Rng): TaskModel<WindowBatch> {
    const info = data.info as { obsDim?: number; actDim?: number };
    if (typeof info.obsDim !== 'number' || typeof info.actDim !== 'number') throw new Error("d4rl: build() needs the TaskData returned by the d4rl task's load()");
    const { name: _name, ...m } = config.model;
    return new DecisionTransformer(rng, { ...m, stateDim: info.obsDim, actDim: info.actDim, attention: config.attention });
  },

  async evaluate(model: TaskModel<WindowBatch>, split: Split<WindowBatch>, ctx: EvalContext<D4rlConfig>) {
    if (!(split instanceof RolloutSplit)) throw new Error("d4rl: evaluate() needs the 'valid' split of the d4rl task's load() (it names the episodes)");
    const cfg = ctx.config;
    const targets = cfg.rollout.targets ?? DEFAULT_TARGETS[split.env];
    const metrics: Record<string, number> = {};
    for (const [k, target] of targets.entries()) {
      const r = await rollouts({
        model: model as DecisionTransformer,
        makeEnv: () => makeEnv(split.env),
        target,
        scale: cfg.data.returnScale,
        stateMean: split.windows.stateMean,
        stateStd: split.windows.stateStd,
        contextLength: cfg.data.contextLength,
        episodes: split.size,
        parallel: cfg.rollout.parallel,
        rng: ctx.rng,
        mode: cfg.data.mode,
        maxSteps: cfg.rollout.maxSteps,
      });
      const ret = meanStd(r.returns);
      const score = meanStd(r.returns.map((x) => normalizedScore(split.env, x)));
      metrics[`return_${target}`] = ret.mean;
      metrics[`return_std_${target}`] = ret.std;
      metrics[`score_${target}`] = score.mean;
      metrics[`score_std_${target}`] = score.std;
      metrics[`length_${target}`] = meanStd(r.lengths).mean;
      if (k === 0) metrics.score = score.mean;
      ctx.log(`d4rl ${split.env} target ${target}: return ${ret.mean.toFixed(1)} +- ${ret.std.toFixed(1)}, normalised ${score.mean.toFixed(1)} (${r.returns.length} episodes)`);
    }
    return metrics;
  },

  data: {
    options: {
      env: { describe: 'environment (or give --dataset <env>-<dataset>)', type: 'string', choices: Object.keys(SPECS) },
      policy: { describe: "generate: 'random' (any env), 'gait' or 'mixed' (halfcheetah: half gait, half random episodes)", type: 'string', choices: [...POLICY_NAMES], default: 'random' },
      steps: { describe: 'generate: environment steps to record', type: 'number', default: 100000 },
      seed: { describe: 'generate: seed of resets and actions', type: 'number', default: 0 },
      noise: { describe: 'generate: std of Gaussian action noise', type: 'number', default: 0 },
      'base-url': { describe: 'download: a mirror of D4RL gym_mujoco_v2 files', type: 'string' },
    },
    download: {
      describe: 'fetch a D4RL v2 file into <data-root>/d4rl/<env>-<dataset>-v2.hdf5',
      examples: [['flowformer data download --task d4rl --env hopper --dataset medium-replay', 'hopper-medium-replay-v2.hdf5 (about 76 MB)']],
      async run(args) {
        const { env, dataset } = envAndDataset(args.options.env, args.dataset);
        if (!(D4RL_DATASETS as readonly string[]).includes(dataset)) throw new Error(`d4rl: unknown dataset '${dataset}': expected one of ${D4RL_DATASETS.join(', ')}`);
        const res = await downloadD4rl({ env, dataset: dataset as D4rlDatasetName, dataRoot: args.dataRoot, baseUrl: args.options['base-url'] as string | undefined });
        args.log(`${res.cached ? 'already present' : 'downloaded'}: ${res.path} (${res.bytes} bytes, ${res.steps} steps)`);
      },
    },
    generate: {
      describe: 'record a dataset in the D4RL layout by rolling out a scripted policy in MuJoCo',
      examples: [
        ['flowformer data generate --task d4rl --dataset halfcheetah-gait --policy gait --steps 100000', 'a competent open-loop gait'],
        ['flowformer data generate --task d4rl --dataset halfcheetah-mixed --policy mixed --steps 100000', 'half gait, half random episodes'],
        ['flowformer data generate --task d4rl --dataset hopper-random --steps 100000', 'uniform random actions'],
      ],
      async run(args) {
        const { env, dataset } = envAndDataset(args.options.env, args.dataset ?? `${args.options.env}-${args.options.policy ?? 'random'}`);
        const out = d4rlPath(args.dataRoot, env, dataset);
        const res = await generateDataset({
          env,
          policy: (args.options.policy ?? 'random') as PolicyName,
          steps: Number(args.options.steps ?? 100000),
          seed: Number(args.options.seed ?? 0),
          actionNoise: Number(args.options.noise ?? 0),
          out,
        });
        const r = meanStd(res.episodeReturns);
        args.log(`wrote ${out}: ${res.steps} steps, ${res.episodeReturns.length} complete episodes, return ${r.mean.toFixed(1)} +- ${r.std.toFixed(1)} (normalised ${normalizedScore(env, r.mean).toFixed(1)})`);
      },
    },
  },
};

function envAndDataset(env: unknown, dataset: string | undefined): { env: EnvName; dataset: string } {
  if (dataset && /^(hopper|halfcheetah|walker2d)-/.test(dataset)) return parseDatasetName(dataset);
  if (typeof env !== 'string' || !(env in SPECS)) throw new Error(`d4rl: name the environment: --env ${Object.keys(SPECS).join('|')} --dataset <name>, or --dataset <env>-<name>`);
  if (!dataset) throw new Error('d4rl: name the dataset: --dataset medium-replay (or <env>-<name>)');
  return { env: env as EnvName, dataset };
}

registerTask(d4rlTask);
export default d4rlTask;
