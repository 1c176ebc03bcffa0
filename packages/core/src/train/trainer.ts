/**
 * The trainer: one loop for every task.
 *
 *   config -> task.load -> task.build -> for each update:
 *     gradAccum micro-batches (order from the seeded data Rng) -> loss, gradients
 *     -> NaN check -> clip by global norm -> optimiser step at the scheduled lr
 *     -> log, progress, evaluate, checkpoint
 *
 * Its parts, each in its own file here: the run's random streams (randomness.ts), which examples
 * each update sees (data-order.ts), the forward/backward passes (accumulate.ts), evaluation
 * (evaluation.ts), when checkpoints are written (checkpoint-policy.ts), what a resumed run
 * restores (resume.ts), throughput and pace (throughput.ts), Ctrl-C and SIGTERM (signals.ts),
 * and summary.json (summary.ts). A run stopped at update k and resumed gives the losses of one
 * never stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../tf.ts';
import { getTrainableTask, type Batch, type Metrics, type TrainableTask } from './task-contract.ts';
import { formatConfig, loadConfig, type ResolvedConfig } from '../config/load.ts';
import { gitCommit, RunRecord, type RunSummary } from './run-record.ts';
import { flattenHParams } from './tensorboard.ts';
import { checkpointExists, disposeCheckpoint, loadCheckpoint } from './checkpoint.ts';
import { CheckpointPolicy } from './checkpoint-policy.ts';
import { DataOrder } from './data-order.ts';
import { accumulateGradients } from './accumulate.ts';
import { evalContext, evaluateWith, evaluationLine, evaluationSplit, improves } from './evaluation.ts';
import { clipScale, globalNorm, makeOptimizer } from './optim.ts';
import { Progress, formatDuration, type ProgressOptions } from './progress.ts';
import { augmentationRng, runRandomness } from './randomness.ts';
import { checkpointMeta, freshState, restoreRun } from './resume.ts';
import { envOr, resolveDataRoot, setUpRun } from './run-setup.ts';
import { evaluationDue, evaluationsAfter, makeSchedule } from './schedule.ts';
import { StopSignals } from './signals.ts';
import { runSummary, type RunFacts } from './summary.ts';
import { Pace, Throughput } from './throughput.ts';

export { resolveDataRoot };

/**
 * Updates whose first batch is built ahead of the one being computed. Two, not one: the batch
 * after next is already queued when the next one is finished, so a split's worker threads go
 * on without waiting for the main thread to take a batch and ask for another (which, with one,
 * left them idle for the main thread's part of each batch). `bench data` builds as many ahead.
 */
export const BATCHES_AHEAD = 2;

export interface TrainOptions {
  /** Path of a YAML config (`configs/<task>/<dataset>/<model>.yaml`); required unless `config` or `resume`. */
  configPath?: string;
  /** `path.to.key=value` overrides (not allowed with `resume`). */
  sets?: string[];
  /** An already loaded config (instead of `configPath`). */
  config?: ResolvedConfig;
  /** The task to run (name or object); must match the config's `task:`. Default: the config's task from the registry. */
  task?: string | TrainableTask;
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
  /** Write TensorBoard event files into `<run>/tb/` (train/tensorboard.ts). Default true. */
  tensorboard?: boolean;
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

/**
 * Trains (or resumes) one run and returns its summary. Throws `ConfigError` for an invalid
 * config before anything runs, and `TrainingDivergedError` on a NaN/infinite loss.
 */
export async function train(opts: TrainOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const { resolved, task, record, previous } = setUpRun(opts);
  const config = resolved.config;
  const tc = config.training;
  const progress = opts.progress === false ? null : new Progress(opts.progress ?? {});
  const log = opts.log ?? ((m: string) => (progress ? progress.log(m) : process.stderr.write(m + '\n')));
  if (record) log(`resuming ${record.dir}`);

  // ------------------------------------------------------------------ data, model, optimiser
  const rngs = runRandomness(config.seed);
  const data = await task.load(config, { dataRoot: resolveDataRoot(opts, config), cacheDir: path.resolve(opts.cacheDir ?? path.resolve('.cache')), rng: rngs.task, log });
  const evalSplitName = config.evaluation.split;
  const evalSplit = evaluationSplit(data, evalSplitName, task, config);
  const order = new DataOrder({ size: data.train.size, batchSize: tc.batchSize, gradAccum: tc.gradAccum, dropLast: tc.dropLast, shuffle: tc.shuffle, rng: rngs.data });
  const stepsPerEpoch = order.stepsPerEpoch;
  const model = task.build(config, data, rngs.init);
  const params = model.namedParams();
  const paramName = new Map(params.map((p) => [p.variable.name, p.name]));
  const trainable = params.filter((p) => p.trainable).map((p) => p.variable);
  const optimizer = makeOptimizer(config.optimizer, params);
  // The run folder appears only once the config, the data and the model are known to be good.
  const run = record ?? RunRecord.create(opts.resultsRoot ?? envOr('FLOWFORMER_RESULTS_ROOT', path.resolve('results')), config.task, resolved.name, config.seed);
  if (!record) {
    run.writeConfig(formatConfig(resolved));
    log(`run ${run.dir}`);
  }
  const totalSteps = tc.steps ?? tc.epochs! * stepsPerEpoch;
  const lrAt = makeSchedule(config.schedule, { lr: config.optimizer.lr, totalSteps, stepsPerEpoch });

  // ------------------------------------------------------------------ state (fresh or resumed)
  const commitNow = gitCommit();
  let state = freshState(commitNow);
  let meter = new Throughput();
  if (record) {
    const restored = restoreRun(run, model, optimizer, order, rngs.dropout, commitNow);
    state = restored.state;
    meter = new Throughput(restored.logWindow);
    log(`resumed at update ${state.step}/${totalSteps} (epoch ${order.epoch}, batch ${order.batchInEpoch})`);
  } else {
    log(`${task.name}/${config.dataset}: ${config.model.name} with ${config.attention.type} attention, ${model.numParams().toLocaleString('en-US')} parameters, ${data.train.size} training examples, ${totalSteps} updates (${stepsPerEpoch} per epoch)`);
  }
  // After a resume has cut metrics.jsonl back to its checkpoint: tb/ starts from the kept lines.
  if (opts.tensorboard ?? true) run.startTensorBoard({ configYaml: formatConfig(resolved), hparams: flattenHParams(config) });
  const thisCommand = opts.command ?? process.argv.join(' ');
  const facts: RunFacts = {
    task, resolved, run, evalSplit: evalSplitName, totalSteps, stepsPerEpoch,
    params: model.numParams(),
    backend: opts.backend ?? tf.getBackend(),
    command: previous?.command ?? thisCommand,
    resumeCommands: previous ? [...(previous.resumeCommands ?? []), thisCommand] : [],
    dataInfo: data.info,
  };
  const summary = (status: RunSummary['status'], lastLoss: number | null) => runSummary(facts, state, status, lastLoss, state.wallBefore + seconds());
  const checkpoints = new CheckpointPolicy({
    dir: (which) => run.ckpt(which), params, optimizer, every: tc.checkpointEvery,
    meta: () => checkpointMeta(state, order, rngs.dropout, state.wallBefore + seconds(), meter.windowState()),
  });
  const pace = new Pace(state.step);
  let lastLoss: number | null = null; // the mean training loss of the last metrics line this process wrote

  const evaluate = async () => {
    const { step } = state;
    const tEval = performance.now();
    const metrics = await evaluateWith(task, model, evalSplit, evalContext(config, evalSplitName, rngs, log));
    pace.addEvaluation((performance.now() - tEval) / 1000);
    state.final = { step, epoch: step / stepsPerEpoch, metrics };
    run.appendMetrics({ type: 'eval', step, epoch: step / stepsPerEpoch, split: evalSplitName, ...metrics, time: seconds() });
    const improved = improves(task.metric.mode, metrics[task.metric.name]!, state.best);
    if (improved) state.best = { value: metrics[task.metric.name]!, step, epoch: step / stepsPerEpoch, metrics };
    log(evaluationLine(step, evalSplitName, metrics, improved, state.best!) + pace.text(step, totalSteps - step, evaluationsAfter(config.evaluation, step, stepsPerEpoch, totalSteps)));
    const tSave = performance.now();
    checkpoints.afterEvaluation(step, improved);
    run.writeSummary(summary('running', lastLoss));
    pace.addEvaluation((performance.now() - tSave) / 1000, false);
  };

  // ------------------------------------------------------------------ the loop
  const signals = (opts.handleSigint ?? true) ? new StopSignals({ log }) : null;
  let status: RunSummary['status'] = 'completed';
  // The first micro-batch of each of the next BATCHES_AHEAD updates, by update, built ahead.
  const ahead = new Map<number, Promise<Batch>>();
  const buildFirst = (step: number, indices: Int32Array) => ahead.set(step, Promise.resolve(data.train.batch(indices, { training: true, rng: augmentationRng(rngs, step, 0) })));
  const disposeAhead = async () => {
    const pending = [...ahead.values()];
    ahead.clear();
    await Promise.all(pending.map((p) => p.then((b) => tf.dispose(b.tensors)).catch(() => {})));
  };
  // Mark the record 'running' (with this process's pid) before the first update, not only at the
  // first evaluation: `list runs` and `reproduce` then see a run that has just started or resumed
  // as running, and one that dies before its first evaluation as abandoned, not as absent or as
  // still interrupted.
  run.writeSummary(summary('running', previous?.lastLoss ?? null));
  try {
    if (state.step >= totalSteps) log(`nothing to do: the run already did ${state.step}/${totalSteps} updates`);
    // evaluation.at 0: score the initial weights, as the original UEA code does (a fresh run only).
    if (!record && state.step === 0 && config.evaluation.at.includes(0) && totalSteps > 0) await evaluate();
    while (state.step < totalSteps) {
      const tStep = performance.now();
      const step = state.step;
      const micro = order.update();
      const examples = micro.reduce((s, m) => s + m.length, 0);
      const lr = lrAt(step);
      const { loss, grads, tokens } = await accumulateGradients({
        model, trainable, paramName, micro, dropout: rngs.dropout,
        batch: (k) => {
          const built = k === 0 ? ahead.get(step) : undefined;
          ahead.delete(step);
          const b = built ?? data.train.batch(micro[k]!, { training: true, rng: augmentationRng(rngs, step, k) });
          // With this update's last micro-batch in hand, start the next updates' first ones: a
          // split that builds batches off the main thread (worker threads) then overlaps this
          // update's passes, and its threads go from one batch to the next without waiting for
          // the main thread. The same batches as when built later: indices and seed depend on
          // the step only. Past an epoch's end they are built after the update, below.
          for (let a = 1; k === micro.length - 1 && a <= BATCHES_AHEAD && step + a < totalSteps; a++) {
            if (ahead.has(step + a)) continue;
            const indices = order.peekFirst(a);
            if (!indices) break;
            buildFirst(step + a, indices);
          }
          return b;
        },
      });

      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(grads));
        status = 'diverged';
        const s = summary(status, lastLoss);
        run.writeSummary(s);
        throw new TrainingDivergedError(
          `training diverged: the loss is ${loss} at update ${step + 1} (epoch ${(step / stepsPerEpoch).toFixed(2)}, lr ${lr.toExponential(3)}). ` +
            `The update was not applied; ${checkpoints.lastGood()} in ${run.dir}. ` +
            `Try a lower optimizer.lr, a longer warm-up, or training.gradClip.`,
          s,
        );
      }
      let gradNorm: number | null = null;
      let gradScale = 1;
      if (tc.gradClip !== null) {
        // Clipping's factor goes into the optimiser's update (no scaled copy of every gradient).
        ({ norm: gradNorm, scale: gradScale } = clipScale(grads, tc.gradClip));
      } else if ((step + 1) % tc.logEvery === 0 || step + 1 === totalSteps) {
        gradNorm = globalNorm(grads); // for the metrics line (and TensorBoard); read only, the update is unchanged
      }
      optimizer.step(grads, lr, gradScale);
      tf.dispose(Object.values(grads));
      state.step = step + 1;
      order.advance();

      // Start building the next batch if not already under way (async readers decode while we log/evaluate).
      if (state.step < totalSteps && !ahead.has(state.step)) {
        const idx = order.nextFirst();
        if (idx) buildFirst(state.step, idx);
      }

      // Logging and progress. Throughput counts compute time only (not evaluations).
      meter.add(state.step, (performance.now() - tStep) / 1000, loss, examples, tokens);
      opts.onStep?.({ step: state.step, loss, lr, gradNorm });
      if (state.step % tc.logEvery === 0 || state.step === totalSteps) {
        const { loss: mean, examplesPerSec, tokensPerSec } = meter.flush();
        run.appendMetrics({
          type: 'train', step: state.step, epoch: state.step / stepsPerEpoch, loss: mean, lr,
          ...(gradNorm !== null ? { gradNorm } : {}),
          examplesPerSec,
          ...(tokensPerSec !== undefined ? { tokensPerSec } : {}),
          time: seconds(),
        });
        lastLoss = mean;
      }
      progress?.update({ step: state.step, total: totalSteps, loss: meter.windowLoss() ?? lastLoss ?? loss, lr, rate: meter.rate, unit: meter.unit, secondsPerStep: meter.secondsPerStep });

      // Evaluation (and checkpoints) on schedule, and always at the end.
      if (evaluationDue(config.evaluation, state.step, stepsPerEpoch, totalSteps)) await evaluate();
      else checkpoints.afterUpdate(state.step);

      // Let signal handlers run, then honour Ctrl-C, SIGTERM and stopAtStep.
      await new Promise((r) => setImmediate(r));
      const stopAt = opts.stopAtStep !== undefined && state.step >= opts.stopAtStep;
      if ((signals?.requested || stopAt) && state.step < totalSteps) {
        await disposeAhead();
        checkpoints.onStop(state.step);
        status = signals?.requested ? 'interrupted' : 'stopped';
        log(`${status} at update ${state.step}/${totalSteps}; continue with --resume ${run.dir}`);
        break;
      }
    }
  } catch (e) {
    // Divergence or a failing task: release the model, the optimiser and the prefetched batches before reporting.
    await disposeAhead();
    optimizer.dispose();
    model.dispose();
    throw e;
  } finally {
    signals?.dispose();
    progress?.done();
  }

  // ------------------------------------------------------------------ the end
  const s = summary(status, lastLoss);
  if (status === 'completed' && task.finalEval && data[task.finalEval.split]) {
    // The task's final protocol on the last model (D4RL: 100 episodes per target), before any best checkpoint is loaded.
    const split = task.finalEval.split;
    const metrics = await evaluateWith(task, model, data[split]!, evalContext(config, split, rngs, log));
    s.finalEval = task.finalEval.summarize(metrics, state.step, config);
    run.appendMetrics({ type: 'final', step: state.step, split, checkpoint: 'last', ...metrics });
  }
  if (status === 'completed' && config.evaluation.split === 'valid' && config.evaluation.testBest && data.test && state.best) {
    // The checkpoint selected on validation, scored on test (the holdout protocol).
    const best = state.best;
    checkpoints.loadBest(model);
    const metrics = await evaluateWith(task, model, data.test, evalContext(config, 'test', rngs, log));
    s.test = { step: best.step, metrics };
    run.appendMetrics({ type: 'test', step: best.step, split: 'test', checkpoint: 'best', ...metrics });
    log(`test (best checkpoint, update ${best.step}): ${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
  }
  s.wallSeconds = state.wallBefore + seconds();
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
  const task = getTrainableTask(config.task);
  const log = opts.log ?? ((m: string) => process.stderr.write(m + '\n'));
  // The same streams as training: the task prepares the same data, the model starts from the same weights.
  const rngs = runRandomness(config.seed);
  const data = await task.load(config, { dataRoot: resolveDataRoot(opts, config), cacheDir: path.resolve(opts.cacheDir ?? '.cache'), rng: rngs.task, log });
  const splitName = opts.split ?? 'test';
  const split = data[splitName];
  if (!split) throw new Error(`task '${task.name}' gives dataset '${config.dataset}' no ${splitName} split`);
  const model = task.build(config, data, rngs.init);
  const ck = loadCheckpoint(record.ckpt(which));
  try {
    model.loadState(ck.weights);
  } finally {
    disposeCheckpoint(ck);
  }
  try {
    const metrics = await evaluateWith(task, model, split, evalContext(config, splitName, rngs, log));
    return { metrics, step: ck.step, split: splitName, checkpoint: which, runDir: record.dir };
  } finally {
    model.dispose();
  }
}
