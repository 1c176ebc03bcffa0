/**
 * Resume state: what a run carries from one process to the next.
 *
 * A checkpoint holds the weights, the optimiser moments and step, and in its meta: the data
 * position (epoch, update within it, the data Rng's state at the start of that epoch, from which
 * the epoch's permutation is redrawn, and now), the dropout Rng's state, the best and the last
 * evaluation, the wall time of the earlier processes, the commit the run started on, and the
 * training-loss window not yet logged. Augmentation randomness is derived from (seed, update,
 * micro-batch), so it needs no state. A run stopped at update k and resumed gives the losses,
 * the metrics lines and the summary of one never stopped.
 */
import type { TaskModel } from './task-contract.ts';
import type { RunRecord } from './run-record.ts';
import { disposeCheckpoint, loadCheckpoint } from './checkpoint.ts';
import type { DataOrder, DataPosition } from './data-order.ts';
import type { Best, Evaluation } from './evaluation.ts';
import type { Optimizer } from './optim.ts';
import type { Rng, RngState } from '../rng.ts';
import type { LogWindow } from './throughput.ts';

/** Where a run stands, besides its weights, optimiser, data position and log window. */
export interface RunState {
  /** Updates done. */
  step: number;
  best: Best | null;
  /** The last evaluation. */
  final: Evaluation | null;
  /** Wall seconds spent by the earlier processes of this run. */
  wallBefore: number;
  startedAt: string;
  /** The commit the run started on. */
  gitCommit: string | null;
  /** The commits of later resumptions that differ from `gitCommit`, oldest first. */
  resumedCommits: string[];
}

/** A checkpoint's meta, as written by `checkpointMeta`. */
export interface CheckpointMeta extends DataPosition {
  [k: string]: unknown;
  dropoutRngState: RngState;
  best: Best | null;
  final: Evaluation | null;
  wallSeconds: number;
  startedAt: string;
  /** The commit the run started on (checkpoints written before this field existed lack it). */
  gitCommit?: string | null;
  /** The commits of later resumptions that differ from `gitCommit`, oldest first. */
  resumedCommits?: string[];
  /** The training-loss window not yet logged, so that metrics.jsonl of a resumed run matches an uninterrupted one. */
  logWindow: LogWindow;
}

/**
 * The state of a new run. `commitNow` is read once, when the process starts: code edited or
 * committed while a long run is under way must not be attributed to it.
 */
export function freshState(commitNow: string | null): RunState {
  return { step: 0, best: null, final: null, wallBefore: 0, startedAt: new Date().toISOString(), gitCommit: commitNow, resumedCommits: [] };
}

export interface Restored {
  state: RunState;
  logWindow: LogWindow;
}

/**
 * Loads ckpt/last of `run` into the model, the optimiser, the data order and the dropout Rng,
 * and drops the metrics lines written after it (a resumed run writes them again). A resumed run
 * keeps the commit it started on and lists the one it resumes on when that differs.
 */
export function restoreRun(run: RunRecord, model: TaskModel, optimizer: Optimizer, order: DataOrder, dropout: Rng, commitNow: string | null): Restored {
  const ck = loadCheckpoint(run.ckpt('last'));
  try {
    model.loadState(ck.weights);
    optimizer.setState(ck.optimizer);
  } finally {
    disposeCheckpoint(ck);
  }
  const meta = ck.meta as CheckpointMeta;
  // Checkpoints written before the commit was kept in them: the summary written with them is
  // as close as we get (it names HEAD when that checkpoint was saved).
  const gitCommit = meta.gitCommit !== undefined ? meta.gitCommit : (run.readSummary()?.gitCommit ?? commitNow);
  const resumedCommits = [...(meta.resumedCommits ?? [])];
  if (commitNow !== gitCommit && !resumedCommits.includes(commitNow ?? 'none')) resumedCommits.push(commitNow ?? 'none');
  order.restore(meta);
  dropout.setState(meta.dropoutRngState);
  run.truncateMetrics(ck.step);
  const state: RunState = { step: ck.step, best: meta.best, final: meta.final, wallBefore: meta.wallSeconds, startedAt: meta.startedAt, gitCommit, resumedCommits };
  return { state, logWindow: meta.logWindow };
}

/** The meta of a checkpoint written now. */
export function checkpointMeta(s: RunState, order: DataOrder, dropout: Rng, wallSeconds: number, logWindow: LogWindow): CheckpointMeta {
  return {
    ...order.position(),
    dropoutRngState: dropout.getState(),
    best: s.best,
    final: s.final,
    wallSeconds,
    startedAt: s.startedAt,
    gitCommit: s.gitCommit,
    resumedCommits: s.resumedCommits,
    logWindow,
  };
}
