/**
 * Evaluation: scoring a model on a split with the task's evaluator, and keeping the best score.
 *
 * Every evaluation of a run (during training, the best checkpoint on test at the end, and
 * `evaluateRun` afterwards) gets the same context: the config's evaluation batch size and a
 * fresh Rng from the run's evaluation seed, so that scoring a checkpoint again gives the
 * recorded numbers.
 */
import type { Config } from '../config/schema.ts';
import type { EvalContext, Metrics, Split, TrainableTask, TaskData, TaskModel } from './task-contract.ts';
import type { RunRandomness } from './randomness.ts';
import { Rng } from '../rng.ts';

/** One evaluation of a run: at which update, and its metrics (summary.json's `final`). */
export interface Evaluation {
  step: number;
  epoch: number;
  metrics: Metrics;
}

/** The best evaluation so far by the task's metric (summary.json's `best`; the `ckpt/best` checkpoint). */
export interface Best extends Evaluation {
  value: number;
}

/** The context of one evaluation of a run on `splitName`. */
export function evalContext(config: Config, splitName: string, r: Pick<RunRandomness, 'evalSeed'>, log: (m: string) => void): EvalContext {
  return { config, splitName, batchSize: config.evaluation.batchSize ?? config.training.batchSize, rng: new Rng(r.evalSeed), log };
}

/** Evaluates a split with the task's evaluator and checks that its metric is there. */
export async function evaluateWith(task: TrainableTask, model: TaskModel, split: Split, ctx: EvalContext): Promise<Metrics> {
  const metrics = await task.evaluate(model, split, ctx);
  const v = metrics[task.metric.name];
  if (typeof v !== 'number') {
    throw new Error(`task '${task.name}': evaluate() returned no number '${task.metric.name}' (its metric); it returned ${JSON.stringify(metrics)}`);
  }
  return metrics;
}

/** The split that `evaluation.split` names, or an error saying which one the dataset has. */
export function evaluationSplit(data: TaskData, name: 'valid' | 'test', task: TrainableTask, config: Config): Split {
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

/** Whether `value` of the task's metric beats the best so far (the first evaluation always does). */
export function improves(mode: 'max' | 'min', value: number, best: Best | null): boolean {
  return best === null || (mode === 'max' ? value > best.value : value < best.value);
}

/** The log line of an evaluation: "eval @ 500: valid accuracy 0.3280, loss 1.8123 (best)". */
export function evaluationLine(step: number, splitName: string, metrics: Metrics, improved: boolean, best: Best): string {
  const shown = Object.entries(metrics).map(([k, x]) => `${k} ${Number.isInteger(x) ? x : x.toFixed(4)}`).join(', ');
  return `eval @ ${step}: ${splitName} ${shown}${improved ? ' (best)' : ` (best ${best.value.toFixed(4)} @ ${best.step})`}`;
}
