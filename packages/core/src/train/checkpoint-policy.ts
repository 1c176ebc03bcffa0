/**
 * When a run writes its checkpoints, and which:
 *
 *   ckpt/best   after an evaluation that improves the task's metric (the first one always does)
 *   ckpt/last   after every evaluation, every `training.checkpointEvery` updates between them,
 *               and when the run stops early (a signal, --stop-at-step)
 *
 * ckpt/last is what --resume continues from; ckpt/best is what the test split and `flowformer
 * eval` score. A diverged run writes nothing: its ckpt/last is the last good state.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { tf } from '../tf.ts';
import type { ParamInfo } from '../nn/module.ts';
import type { TaskModel } from './task-contract.ts';
import { checkpointExists, disposeCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { Optimizer } from './optim.ts';
import type { CheckpointMeta } from './resume.ts';

export interface CheckpointPolicyArgs {
  /** Where each checkpoint goes: the run record's `ckpt(which)`. */
  dir: (which: 'best' | 'last') => string;
  params: ParamInfo[];
  optimizer: Optimizer;
  /** `training.checkpointEvery`: updates between saves of ckpt/last when no evaluation falls there; null for none. */
  every: number | null;
  /** The meta of a checkpoint written now (resume.ts). */
  meta: () => CheckpointMeta;
}

export class CheckpointPolicy {
  private readonly args: CheckpointPolicyArgs;

  constructor(args: CheckpointPolicyArgs) {
    this.args = args;
  }

  save(which: 'best' | 'last', step: number): void {
    const { dir, params, optimizer, meta } = this.args;
    const weights = Object.fromEntries(params.map((p) => [p.name, p.variable as tf.Tensor]));
    saveCheckpoint(dir(which), { step, weights, optimizer: optimizer.getState(), meta: meta() });
  }

  afterEvaluation(step: number, improved: boolean): void {
    if (improved) this.save('best', step);
    this.save('last', step);
  }

  /** After an update with no evaluation. */
  afterUpdate(step: number): void {
    if (this.args.every !== null && step % this.args.every === 0) this.save('last', step);
  }

  /** The run stops before its end and can be resumed. */
  onStop(step: number): void {
    this.save('last', step);
  }

  /** What the run folder keeps after a divergence, for the error message. */
  lastGood(): string {
    const last = this.args.dir('last');
    if (!checkpointExists(last)) return 'no checkpoint was written before it';
    const step = JSON.parse(fs.readFileSync(path.join(last, 'manifest.json'), 'utf8')).step;
    return `ckpt/last (update ${step}) is the last good checkpoint`;
  }

  /** Loads ckpt/best's weights into the model (to score the checkpoint selected on validation). */
  loadBest(model: TaskModel): void {
    const ck = loadCheckpoint(this.args.dir('best'));
    try {
      model.loadState(ck.weights);
    } finally {
      disposeCheckpoint(ck);
    }
  }
}
