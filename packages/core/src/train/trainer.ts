/**
 * The trainer: one loop for every task.
 *
 *   config -> task.load -> task.build -> for each update:
 *     gradAccum micro-batches (order from the seeded data Rng) -> loss, gradients
 *     -> NaN check -> clip by global norm -> optimiser step at the scheduled lr
 *     -> log, progress, evaluate, checkpoint
 *
 * Exact resumption: a checkpoint holds the weights, the optimiser moments and step, the data
 * position (epoch, batch within it, and the data Rng's state at the start of that epoch, from
 * which the epoch's permutation is redrawn), the dropout Rng's state, the best metric so far
 * and the wall time. Augmentation randomness is derived from (seed, update, micro-batch), so
 * it needs no state. A run stopped at update k and resumed gives the losses of one never stopped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../tf.ts';
import { getTask, type Batch, type EvalContext, type Metrics, type Split, type Task, type TaskData, type TaskModel } from '../task.ts';
import { formatConfig, loadConfig, type ResolvedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { gitCommit, RunRecord, type RunSummary } from '../results/run.ts';
import { checkpointExists, disposeCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { clipByGlobalNorm, makeOptimizer, type Optimizer } from './optim.ts';
import { Progress, formatDuration, secondsToGo, type ProgressOptions } from './progress.ts';
import { Rng, type RngState } from '../rng.ts';
import { evaluationDue, evaluationsAfter, makeSchedule } from './schedule.ts';
import { variableGrads } from './grads.ts';

export interface TrainOptions {
  /** Path of a YAML config (`configs/<task>/<dataset>/<model>.yaml`); required unless `config` or `resume`. */
  configPath?: string;
  /** `path.to.key=value` overrides (not allowed with `resume`). */
  sets?: string[];
  /** An already loaded config (instead of `configPath`). */
  config?: ResolvedConfig;
  /** The task to run (name or object); must match the config's `task:`. Default: the config's task from the registry. */
  task?: string | Task;
  /** A run directory to continue from its `ckpt/last` with its own config.yaml. */
  resume?: string;
  /** Data root (e.g. --data-root); when absent: config `data.root`, then $FLOWFORMER_DATA_ROOT, then `defaultDataRoot`. */
  dataRoot?: string;
  /** The last resort for the data root; default `<cwd>/data`. */
  defaultDataRoot?: string;
  /** Where `runs/` is written; default $FLOWFORMER_RESULTS_ROOT or `<cwd>/results`. */
  resultsRoot?: string;
  /** Cache folder for tasks; default `<cwd>/.cache`. */
  cacheDir?: string;
  /** Backend name to record; default `tf.getBackend()` (the caller initialises the backend). */
  backend?: string;
  /** The command line to record in summary.json; default process.argv. */
  command?: string;
  /** Progress bar options, or false for none. */
  progress?: ProgressOptions | false;
  /** Messages (run folder, evaluations); default: above the progress bar on stderr. */
  log?: (msg: string) => void;
  /** Stop after this many updates, saving ckpt/last (status 'stopped'); for tests and time-boxed sessions. */
  stopAtStep?: number;
  /** Save and stop cleanly on SIGINT (Ctrl-C) or SIGTERM (`kill`, job schedulers' time limits). Default true. */
  handleSigint?: boolean;
  /** Called after every update with its mean loss (tests, custom monitoring). */
  onStep?: (info: { step: number; loss: number; lr: number; gradNorm: number | null }) => void;
}

/** The loss became NaN or infinite; the run folder keeps the last good checkpoint. */
export class TrainingDivergedError extends Error {
  readonly summary: RunSummary;
  constructor(message: string, summary: RunSummary) {
    super(message);
    this.name = 'TrainingDivergedError';
    this.summary = summary;
  }
}

interface Best {
  value: number;
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

interface CheckpointMeta {
  [k: string]: unknown;
  epoch: number;
  batchInEpoch: number;
  epochRngState: RngState;
  dataRngState: RngState;
  dropoutRngState: RngState;
  best: Best | null;
  final: RunSummary['final'];
  wallSeconds: number;
  startedAt: string;
  /** The commit the run started on (checkpoints written before this field existed lack it). */
  gitCommit?: string | null;
  /** The commits of later resumptions that differ from `gitCommit`, oldest first. */
  resumedCommits?: string[];
  /** The training-loss window not yet logged, so that metrics.jsonl of a resumed run matches an uninterrupted one. */
  logWindow: { losses: number[]; examples: number; tokens: number; seconds: number };
}

const envOr = (name: string, fallback: string) => process.env[name] || fallback;

/**
 * Where a run reads its data: `opts.dataRoot`, else the config's `data.root` (relative to the
 * working directory), else $FLOWFORMER_DATA_ROOT, else `opts.defaultDataRoot`, else ./data.
 * The `flowformer` CLI passes --data-root or $FLOWFORMER_DATA_ROOT as `opts.dataRoot`, so on
 * the command line both win over a config's `data.root` (packages/cli/src/commands/train.ts).
 */
export function resolveDataRoot(opts: { dataRoot?: string; defaultDataRoot?: string }, config: Config): string {
  return path.resolve(opts.dataRoot ?? config.data.root ?? envOr('FLOWFORMER_DATA_ROOT', opts.defaultDataRoot ?? path.resolve('data')));
}

/** Seed of the augmentation Rng of one micro-batch: a hash of (run seed, update, micro-batch). */
function batchSeed(seed: number, step: number, micro: number): number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (step + 1), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (micro + 1), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function better(mode: 'max' | 'min', a: number, b: number) {
  return mode === 'max' ? a > b : a < b;
}

/** Evaluates a split with the task's evaluator and checks that its metric is there. */
async function evaluateWith(task: Task, model: TaskModel, split: Split, ctx: EvalContext): Promise<Metrics> {
  const metrics = await task.evaluate(model, split, ctx);
  const v = metrics[task.metric.name];
  if (typeof v !== 'number') {
    throw new Error(`task '${task.name}': evaluate() returned no number '${task.metric.name}' (its metric); it returned ${JSON.stringify(metrics)}`);
  }
  return metrics;
}

function resolveTask(config: Config, task?: string | Task): Task {
  const t = typeof task === 'object' ? task : getTask(task ?? config.task);
  if (t.name !== config.task) throw new Error(`the config is for task '${config.task}' but task '${t.name}' was asked for`);
  return t;
}

function splitOf(data: TaskData, name: 'valid' | 'test', task: Task, config: Config): Split {
  const s = data[name];
  if (!s) {
    const other = name === 'valid' ? 'test' : 'valid';
    throw new Error(
      `evaluation.split is '${name}' but task '${task.name}' gives dataset '${config.dataset}' no ${name} split` +
        (data[other] ? `; set evaluation.split: ${other} (e.g. --set evaluation.split=${other})` : ''),
    );
  }
  return s;
}

/**
 * Trains (or resumes) one run and returns its summary. Throws `ConfigError` for an invalid
 * config before anything runs, and `TrainingDivergedError` on a NaN/infinite loss.
 */
export async function train(opts: TrainOptions): Promise<RunSummary> {
  const t0 = performance.now();
  // ------------------------------------------------------------------ config and run folder
  let resolved: ResolvedConfig;
  let record: RunRecord | null = null;
  let previous: RunSummary | null = null; // the summary of the run being resumed
  const resultsRoot = opts.resultsRoot ?? envOr('FLOWFORMER_RESULTS_ROOT', path.resolve('results'));
  if (opts.resume) {
    if (opts.sets?.length) throw new Error('--set cannot be combined with --resume: a resumed run keeps its config (start a new run to change it)');
    record = new RunRecord(path.resolve(opts.resume));
    if (!fs.existsSync(record.configPath)) throw new Error(`--resume ${opts.resume}: no config.yaml there; pass a run folder (results/runs/<task>/<config>/<run-id>)`);
    if (!checkpointExists(record.ckpt('last'))) throw new Error(`--resume ${opts.resume}: no ckpt/last to resume from (the run stopped before its first checkpoint, or its record was committed or copied without its checkpoints, which stay on the machine that trained); start it again`);
    resolved = loadConfig(record.configPath, { task: typeof opts.task === 'object' ? opts.task : undefined });
    previous = record.readSummary();
    if (previous) resolved = { ...resolved, name: previous.configName, path: previous.configPath };
  } else {
    if (opts.config) resolved = opts.config;
    else if (opts.configPath) resolved = loadConfig(opts.configPath, { sets: opts.sets, task: typeof opts.task === 'object' ? opts.task : undefined });
    else throw new Error('train: give a config (--config configs/<task>/<dataset>/<model>.yaml) or a run to --resume');
  }
  const config = resolved.config;
  const task = resolveTask(config, opts.task);

  const progress = opts.progress === false ? null : new Progress(opts.progress ?? {});
  const log = opts.log ?? ((m: string) => (progress ? progress.log(m) : process.stderr.write(m + '\n')));
  if (record) log(`resuming ${record.dir}`);

  // ------------------------------------------------------------------ randomness
  // One seed, forked in a fixed order: weights, data order, dropout, task data preparation, evaluation.
  const root = new Rng(config.seed);
  const initRng = root.fork();
  const dataRng = root.fork();
  const dropoutRng = root.fork();
  const taskRng = root.fork();
  const evalSeed = root.nextUint32();
  const augSeed = root.nextUint32();

  // ------------------------------------------------------------------ data, model, optimiser
  const dataRoot = resolveDataRoot(opts, config);
  const cacheDir = path.resolve(opts.cacheDir ?? path.resolve('.cache'));
  const data = await task.load(config, { dataRoot, cacheDir, rng: taskRng, log });
  const evalSplitName = config.evaluation.split;
  const evalSplit = splitOf(data, evalSplitName, task, config);
  const tc = config.training;
  const N = data.train.size;
  const microPerEpoch = tc.dropLast ? Math.floor(N / tc.batchSize) : Math.ceil(N / tc.batchSize);
  const stepsPerEpoch = tc.dropLast ? Math.floor(microPerEpoch / tc.gradAccum) : Math.ceil(microPerEpoch / tc.gradAccum);
  if (stepsPerEpoch < 1) {
    throw new Error(`the training split has ${N} examples, fewer than one update of ${tc.batchSize} x ${tc.gradAccum}; lower training.batchSize or training.gradAccum, or set training.dropLast: false`);
  }
  const model = task.build(config, data, initRng);
  const params = model.namedParams();
  const byVarName = new Map(params.map((p) => [p.variable.name, p.name]));
  const trainable = params.filter((p) => p.trainable).map((p) => p.variable);
  const optimizer: Optimizer = makeOptimizer(config.optimizer, params);
  if (!record) {
    // The run folder appears only once the config, the data and the model are known to be good.
    record = RunRecord.create(resultsRoot, config.task, resolved.name, config.seed);
    record.writeConfig(formatConfig(resolved));
    log(`run ${record.dir}`);
  }
  const run: RunRecord = record;

  const totalSteps = tc.steps ?? tc.epochs! * stepsPerEpoch;
  const lrAt = makeSchedule(config.schedule, { lr: config.optimizer.lr, totalSteps, stepsPerEpoch });
  const evalBatch = config.evaluation.batchSize ?? tc.batchSize;
  const evalCtx = (splitName: string): EvalContext => ({ config, splitName, batchSize: evalBatch, rng: new Rng(evalSeed), log });
  const throughputUnit = { unit: 'ex/s' as 'ex/s' | 'tok/s' };

  // ------------------------------------------------------------------ state (fresh or resumed)
  let step = 0;
  let epoch = 0;
  let batchInEpoch = 0;
  let epochRngState: RngState = dataRng.getState();
  let best: Best | null = null;
  let final: RunSummary['final'] = null;
  let wallBefore = 0;
  let startedAt = new Date().toISOString();
  // The commit is read once, when this process starts: code edited or committed while a long run
  // is under way must not be attributed to it. A resumed run keeps the commit it started on.
  const commitNow = gitCommit();
  let startCommit = commitNow;
  let resumedCommits: string[] = [];
  let resumedWindow: CheckpointMeta['logWindow'] | null = null;
  if (opts.resume) {
    const ck = loadCheckpoint(run.ckpt('last'));
    try {
      model.loadState(ck.weights);
      optimizer.setState(ck.optimizer);
    } finally {
      disposeCheckpoint(ck);
    }
    const meta = ck.meta as CheckpointMeta;
    step = ck.step;
    ({ epoch, batchInEpoch, epochRngState, best, final, startedAt } = meta);
    wallBefore = meta.wallSeconds;
    // Checkpoints written before the commit was kept in them: the summary written with them is
    // as close as we get (it names HEAD when that checkpoint was saved).
    if (meta.gitCommit !== undefined) startCommit = meta.gitCommit;
    else startCommit = run.readSummary()?.gitCommit ?? startCommit;
    resumedCommits = [...(meta.resumedCommits ?? [])];
    if (commitNow !== startCommit && !resumedCommits.includes(commitNow ?? 'none')) resumedCommits.push(commitNow ?? 'none');
    dataRng.setState(meta.dataRngState);
    dropoutRng.setState(meta.dropoutRngState);
    run.truncateMetrics(step);
    resumedWindow = meta.logWindow;
    log(`resumed at update ${step}/${totalSteps} (epoch ${epoch}, batch ${batchInEpoch})`);
  } else {
    log(`${task.name}/${config.dataset}: ${config.model.name} with ${config.attention.type} attention, ${model.numParams().toLocaleString('en-US')} parameters, ${N} training examples, ${totalSteps} updates (${stepsPerEpoch} per epoch)`);
  }

  const thisCommand = opts.command ?? process.argv.join(' ');
  const resumeCommands = previous ? [...(previous.resumeCommands ?? []), thisCommand] : [];
  const summary = (status: RunSummary['status'], lastLoss: number | null): RunSummary => ({
    task: task.name,
    dataset: config.dataset,
    model: config.model.name,
    attention: config.attention.type,
    configName: resolved.name,
    configPath: resolved.path,
    runId: run.runId,
    runDir: run.dir,
    status,
    metric: { ...task.metric, split: evalSplitName },
    best,
    final,
    test: null,
    steps: step,
    totalSteps,
    epochs: step / stepsPerEpoch,
    lastLoss,
    params: model.numParams(),
    wallSeconds: wallBefore + (performance.now() - t0) / 1000,
    backend: opts.backend ?? tf.getBackend(),
    seed: config.seed,
    // A resumed run keeps the command that started it (its `--set`s are part of the setting that
    // tables and `list runs` group by) and lists the resuming ones after it.
    command: previous?.command ?? thisCommand,
    ...(resumeCommands.length ? { resumeCommands } : {}),
    gitCommit: startCommit,
    ...(resumedCommits.length ? { resumedCommits } : {}),
    // Who writes a 'running' record, so a killed run reads as abandoned rather than running (runState).
    ...(status === 'running' ? { pid: process.pid, host: os.hostname() } : {}),
    dataInfo: data.info,
    startedAt,
    finishedAt: new Date().toISOString(),
  });

  const save = (which: 'best' | 'last') => {
    const meta: CheckpointMeta = {
      epoch,
      batchInEpoch,
      epochRngState,
      dataRngState: dataRng.getState(),
      dropoutRngState: dropoutRng.getState(),
      best,
      final,
      wallSeconds: wallBefore + (performance.now() - t0) / 1000,
      startedAt,
      gitCommit: startCommit,
      resumedCommits,
      logWindow: { losses: [...window], examples: windowExamples, tokens: windowTokens, seconds: windowSeconds },
    };
    const weights = Object.fromEntries(params.map((p) => [p.name, p.variable as tf.Tensor]));
    saveCheckpoint(run.ckpt(which), { step, weights, optimizer: optimizer.getState(), meta });
  };

  // Where this process's updates began (set just before the loop), and the time its evaluations
  // (with their checkpoint saves) took: each evaluation's line says how long the run has taken here
  // and when it will end, so a run logged with --no-progress (a file, reproduce's job logs) can be
  // planned around. Updates and evaluations are timed apart: just after a start or a resume a
  // single evaluation spread over a few updates would otherwise inflate the estimate severalfold.
  let pace: { step: number; at: number; evalSeconds: number; evals: number } | null = null;
  const paceText = () => {
    if (!pace || step <= pace.step) return '';
    const seconds = (performance.now() - pace.at) / 1000;
    const left = secondsToGo({
      seconds,
      evalSeconds: pace.evalSeconds,
      evals: pace.evals,
      updates: step - pace.step,
      updatesLeft: totalSteps - step,
      evaluationsLeft: evaluationsAfter(config.evaluation, step, stepsPerEpoch, totalSteps),
    });
    return `; ${formatDuration(seconds)} here, about ${formatDuration(left)} to go`;
  };

  const evaluate = async () => {
    const tEval = performance.now();
    const metrics = await evaluateWith(task, model, evalSplit, evalCtx(evalSplitName));
    if (pace) {
      pace.evalSeconds += (performance.now() - tEval) / 1000;
      pace.evals += 1;
    }
    final = { step, epoch: step / stepsPerEpoch, metrics };
    run.appendMetrics({ type: 'eval', step, epoch: step / stepsPerEpoch, split: evalSplitName, ...metrics, time: (performance.now() - t0) / 1000 });
    const v = metrics[task.metric.name]!;
    const improved = best === null || better(task.metric.mode, v, best.value);
    if (improved) best = { value: v, step, epoch: step / stepsPerEpoch, metrics };
    const shown = Object.entries(metrics).map(([k, x]) => `${k} ${Number.isInteger(x) ? x : x.toFixed(4)}`).join(', ');
    log(`eval @ ${step}: ${evalSplitName} ${shown}${improved ? ' (best)' : ` (best ${best!.value.toFixed(4)} @ ${best!.step})`}${paceText()}`);
    const tSave = performance.now();
    if (improved) save('best');
    save('last');
    run.writeSummary(summary('running', lastLoss));
    if (pace) pace.evalSeconds += (performance.now() - tSave) / 1000;
  };

  // ------------------------------------------------------------------ Ctrl-C, kill
  // The first SIGINT/SIGTERM finishes the update, saves ckpt/last and marks the run
  // 'interrupted' (resumable); a second one kills. A repeat within a second is the same request
  // arriving twice (a scheduler that signals every process of a job reaches both the trainer and
  // the `flowformer` launcher, which passes it on), so the handlers stay that long.
  let interrupted = false;
  const onSigint = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: finishing this update, saving ckpt/last, then stopping (send it again to kill)`);
    setTimeout(removeSignalHandlers, 1000).unref();
  };
  const removeSignalHandlers = () => {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
  };
  if (opts.handleSigint ?? true) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
  }

  // ------------------------------------------------------------------ the loop
  let perm: Int32Array | null = null;
  const window: number[] = [...(resumedWindow?.losses ?? [])];
  let windowExamples = resumedWindow?.examples ?? 0;
  let windowTokens = resumedWindow?.tokens ?? 0;
  let windowSeconds = resumedWindow?.seconds ?? 0;
  let emaSecondsPerStep = NaN;
  let emaRate = 0;
  let lastLoss: number | null = null;
  let status: RunSummary['status'] = 'completed';
  let nextBatch: Promise<Batch> | null = null;

  const drawOrder = () => (tc.shuffle ? dataRng.permutation(N) : Int32Array.from({ length: N }, (_, i) => i));
  const microIndices = (mb: number): Int32Array | null => {
    const start = mb * tc.batchSize;
    if (start >= N) return null;
    const end = Math.min(N, start + tc.batchSize);
    if (tc.dropLast && end - start < tc.batchSize) return null;
    return perm!.subarray(start, end);
  };

  // Mark the record 'running' (with this process's pid) before the first update, not only at the
  // first evaluation: `list runs` and `reproduce` then see a run that has just started or resumed
  // as running, and one that dies before its first evaluation as abandoned, not as absent or as
  // still interrupted.
  run.writeSummary(summary('running', previous?.lastLoss ?? null));

  try {
    if (step >= totalSteps) log(`nothing to do: the run already did ${step}/${totalSteps} updates`);
    pace = { step, at: performance.now(), evalSeconds: 0, evals: 0 };
    // evaluation.at 0: score the initial weights, as the original UEA code does (a fresh run only).
    if (!opts.resume && step === 0 && config.evaluation.at.includes(0) && totalSteps > 0) await evaluate();
    while (step < totalSteps) {
      if (perm === null) {
        // Fresh start or resume: redraw this epoch's order from the state at its start.
        dataRng.setState(epochRngState);
        perm = drawOrder();
      }
      const tStep = performance.now();
      // The micro-batches of this update.
      const micro: Int32Array[] = [];
      for (let k = 0; k < tc.gradAccum; k++) {
        const idx = microIndices(batchInEpoch * tc.gradAccum + k);
        if (idx) micro.push(idx);
      }
      const examples = micro.reduce((s, m) => s + m.length, 0);
      const lr = lrAt(step);

      // Forward/backward over the micro-batches, gradients weighted by their share of the examples.
      let grads: Record<string, tf.Tensor> = {};
      let loss = 0;
      let tokens = 0;
      for (let k = 0; k < micro.length; k++) {
        const batch = await (k === 0 && nextBatch
          ? nextBatch
          : data.train.batch(micro[k]!, { training: true, rng: new Rng(batchSeed(augSeed, step, k)) }));
        nextBatch = null;
        const weight = micro[k]!.length / examples;
        try {
          // tfjs's gradients, with a backward pass that frees each gradient and saved activation once used (grads.ts).
          const { value, grads: g } = variableGrads(() => model.loss(batch, { training: true, rng: dropoutRng }), trainable);
          loss += value.dataSync()[0]! * weight;
          value.dispose();
          for (const [vname, gt] of Object.entries(g)) {
            const name = byVarName.get(vname) ?? vname;
            const scaled = weight === 1 ? gt : tf.mul(gt, weight);
            if (scaled !== gt) gt.dispose();
            const prev = grads[name];
            grads[name] = prev ? tf.add(prev, scaled) : scaled;
            if (prev) {
              prev.dispose();
              scaled.dispose();
            }
          }
          tokens += batch.tokens ?? 0;
        } finally {
          for (const t of batch.tensors) t.dispose();
        }
      }

      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        status = 'diverged';
        const last = checkpointExists(run.ckpt('last')) ? `ckpt/last (update ${JSON.parse(fs.readFileSync(path.join(run.ckpt('last'), 'manifest.json'), 'utf8')).step}) is the last good checkpoint` : 'no checkpoint was written before it';
        const s = summary(status, lastLoss);
        run.writeSummary(s);
        throw new TrainingDivergedError(
          `training diverged: the loss is ${loss} at update ${step + 1} (epoch ${(step / stepsPerEpoch).toFixed(2)}, lr ${lr.toExponential(3)}). ` +
            `The update was not applied; ${last} in ${run.dir}. ` +
            `Try a lower optimizer.lr, a longer warm-up, or training.gradClip.`,
          s,
        );
      }

      let gradNorm: number | null = null;
      if (tc.gradClip !== null) {
        const clipped = clipByGlobalNorm(grads, tc.gradClip);
        tf.dispose(Object.values(grads));
        grads = clipped.grads;
        gradNorm = clipped.norm;
      }
      optimizer.step(grads, lr);
      tf.dispose(Object.values(grads));

      step += 1;
      batchInEpoch += 1;
      if (batchInEpoch >= stepsPerEpoch) {
        epoch += 1;
        batchInEpoch = 0;
        epochRngState = dataRng.getState();
        perm = drawOrder();
      }

      // Start building the next batch (async readers decode while we log/evaluate).
      if (step < totalSteps) {
        const idx = microIndices(batchInEpoch * tc.gradAccum);
        if (idx) nextBatch = Promise.resolve(data.train.batch(idx, { training: true, rng: new Rng(batchSeed(augSeed, step, 0)) }));
      }

      // Logging and progress. Throughput counts compute time only (not evaluations).
      const dt = (performance.now() - tStep) / 1000;
      const alpha = step === 1 || !Number.isFinite(emaSecondsPerStep) ? 1 : 0.1;
      emaSecondsPerStep = alpha === 1 ? dt : alpha * dt + (1 - alpha) * emaSecondsPerStep;
      if (tokens > 0) throughputUnit.unit = 'tok/s';
      const perStep = throughputUnit.unit === 'tok/s' ? tokens : examples;
      emaRate = alpha === 1 ? perStep / dt : alpha * (perStep / dt) + (1 - alpha) * emaRate;
      opts.onStep?.({ step, loss, lr, gradNorm });
      window.push(loss);
      windowExamples += examples;
      windowTokens += tokens;
      windowSeconds += dt;
      if (step % tc.logEvery === 0 || step === totalSteps) {
        const mean = window.reduce((a, b) => a + b, 0) / window.length;
        run.appendMetrics({
          type: 'train',
          step,
          epoch: step / stepsPerEpoch,
          loss: mean,
          lr,
          ...(gradNorm !== null ? { gradNorm } : {}),
          examplesPerSec: windowExamples / windowSeconds,
          ...(windowTokens ? { tokensPerSec: windowTokens / windowSeconds } : {}),
          time: (performance.now() - t0) / 1000,
        });
        lastLoss = mean;
        window.length = 0;
        windowExamples = 0;
        windowTokens = 0;
        windowSeconds = 0;
      }
      progress?.update({
        step,
        total: totalSteps,
        loss: window.length ? window.reduce((a, b) => a + b, 0) / window.length : (lastLoss ?? loss),
        lr,
        rate: emaRate,
        unit: throughputUnit.unit,
        secondsPerStep: emaSecondsPerStep,
      });

      // Evaluation (and checkpoints) on schedule, and always at the end.
      if (evaluationDue(config.evaluation, step, stepsPerEpoch, totalSteps)) {
        await evaluate();
      } else if (tc.checkpointEvery !== null && step % tc.checkpointEvery === 0) {
        save('last');
      }

      // Let signal handlers run, then honour Ctrl-C and stopAtStep.
      await new Promise((r) => setImmediate(r));
      if ((interrupted || (opts.stopAtStep !== undefined && step >= opts.stopAtStep)) && step < totalSteps) {
        if (nextBatch) {
          const b = await nextBatch;
          tf.dispose(b.tensors);
          nextBatch = null;
        }
        save('last');
        status = interrupted ? 'interrupted' : 'stopped';
        log(`${status} at update ${step}/${totalSteps}; continue with --resume ${run.dir}`);
        break;
      }
    }
  } catch (e) {
    // Divergence or a failing task: release the model, the optimiser and a prefetched batch before reporting.
    if (nextBatch) await nextBatch.then((b) => tf.dispose(b.tensors)).catch(() => {});
    optimizer.dispose();
    model.dispose();
    throw e;
  } finally {
    removeSignalHandlers();
    progress?.done();
  }

  // ------------------------------------------------------------------ the end
  const s = summary(status, lastLoss);
  if (status === 'completed' && config.evaluation.split === 'valid' && config.evaluation.testBest && data.test && best) {
    // The checkpoint selected on validation, scored on test (the holdout protocol).
    const ck = loadCheckpoint(run.ckpt('best'));
    try {
      model.loadState(ck.weights);
    } finally {
      disposeCheckpoint(ck);
    }
    const metrics = await evaluateWith(task, model, data.test, evalCtx('test'));
    s.test = { step: (best as Best).step, metrics };
    run.appendMetrics({ type: 'test', step: (best as Best).step, split: 'test', checkpoint: 'best', ...metrics });
    log(`test (best checkpoint, update ${(best as Best).step}): ${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
  }
  s.wallSeconds = wallBefore + (performance.now() - t0) / 1000;
  run.writeSummary(s);
  await run.writeCurves(task.metric.name, `${task.name}/${config.dataset} ${config.model.name} (${config.attention.type})`);
  optimizer.dispose();
  model.dispose();
  log(`${status} in ${formatDuration(s.wallSeconds)}: ${run.summaryPath}`);
  return s;
}

export interface EvaluateRunOptions {
  /** A run folder (results/runs/<task>/<config>/<run-id>). */
  runDir: string;
  checkpoint?: 'best' | 'last';
  split?: 'train' | 'valid' | 'test';
  /** As in TrainOptions. */
  dataRoot?: string;
  defaultDataRoot?: string;
  cacheDir?: string;
  log?: (msg: string) => void;
}

/** Evaluates a saved checkpoint of a run on a split (the `eval` command). The run's task must be registered. */
export async function evaluateRun(opts: EvaluateRunOptions): Promise<{ metrics: Metrics; step: number; split: string; checkpoint: string; runDir: string }> {
  const record = new RunRecord(path.resolve(opts.runDir));
  if (!fs.existsSync(record.configPath)) throw new Error(`${opts.runDir}: no config.yaml; pass a run folder (results/runs/<task>/<config>/<run-id>)`);
  const which = opts.checkpoint ?? 'best';
  if (!checkpointExists(record.ckpt(which))) throw new Error(`${opts.runDir}: no ckpt/${which}${which === 'best' ? ' (no evaluation ran yet; try --checkpoint last)' : ''}`);
  const { config } = loadConfig(record.configPath);
  const task = getTask(config.task);
  const log = opts.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const root = new Rng(config.seed);
  const initRng = root.fork();
  root.fork(); // data order
  root.fork(); // dropout
  const taskRng = root.fork();
  const evalSeed = root.nextUint32();
  const dataRoot = resolveDataRoot(opts, config);
  const data = await task.load(config, { dataRoot, cacheDir: path.resolve(opts.cacheDir ?? '.cache'), rng: taskRng, log });
  const splitName = opts.split ?? 'test';
  const split = data[splitName];
  if (!split) throw new Error(`task '${task.name}' gives dataset '${config.dataset}' no ${splitName} split`);
  const model = task.build(config, data, initRng);
  const ck = loadCheckpoint(record.ckpt(which));
  try {
    model.loadState(ck.weights);
  } finally {
    disposeCheckpoint(ck);
  }
  try {
    const metrics = await evaluateWith(task, model, split, {
      config,
      splitName,
      batchSize: config.evaluation.batchSize ?? config.training.batchSize,
      rng: new Rng(evalSeed),
      log,
    });
    return { metrics, step: ck.step, split: splitName, checkpoint: which, runDir: record.dir };
  } finally {
    model.dispose();
  }
}
