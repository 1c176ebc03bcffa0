/**
 * The progress line of a training run, on stderr:
 *
 *   step 1200/5000 [#####.............]  24% | loss 1.2345 | lr 3.00e-4 | 812 ex/s | ETA 4m41s
 *
 * redrawn in place on a terminal; when stderr is not a TTY (CI logs, `> log.txt`) the same
 * line is printed as plain text at most every `plainEverySeconds` seconds instead.
 */
export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Override TTY detection (tests). */
  tty?: boolean;
  /** Minimum seconds between plain lines when not a TTY. Default 30. */
  plainEverySeconds?: number;
}

export interface ProgressState {
  step: number;
  total: number;
  loss: number;
  lr: number;
  /** Examples (or tokens, see `unit`) per second, measured over recent steps. */
  rate: number;
  unit: 'ex/s' | 'tok/s';
  /** Seconds per update, for the ETA. */
  secondsPerStep: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** What a process has measured of its own run so far, and what is left of it. */
export interface PaceArgs {
  /** Wall seconds since this process began updating, evaluations included. */
  seconds: number;
  /** Of those, the seconds spent evaluating (and saving checkpoints afterwards). */
  evalSeconds: number;
  /** Evaluations made in that time. */
  evals: number;
  /** Updates made in that time. */
  updates: number;
  updatesLeft: number;
  evaluationsLeft: number;
}

/**
 * Seconds still to go: the updates left at this process's seconds per update (evaluations
 * excluded), plus the evaluations left at its seconds per evaluation. Timing the two apart keeps
 * the first estimate after a resume honest, where one evaluation falls on only a few updates.
 */
export function secondsToGo(p: PaceArgs): number {
  const perUpdate = p.updates > 0 ? Math.max(0, p.seconds - p.evalSeconds) / p.updates : NaN;
  const perEvaluation = p.evals > 0 ? p.evalSeconds / p.evals : 0;
  return p.updatesLeft * perUpdate + p.evaluationsLeft * perEvaluation;
}

function formatRate(r: number): string {
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k` : r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

export class Progress {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly tty: boolean;
  private readonly plainEvery: number;
  private lastPlain = -Infinity;
  private drawn = false;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.plainEvery = opts.plainEverySeconds ?? 30;
  }

  line(p: ProgressState): string {
    const frac = p.total > 0 ? p.step / p.total : 0;
    const width = 20;
    const filled = Math.round(frac * width);
    const bar = this.tty ? ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : '';
    const eta = formatDuration((p.total - p.step) * p.secondsPerStep);
    return (
      `step ${p.step}/${p.total}${bar} ${(frac * 100).toFixed(0).padStart(3)}% | loss ${p.loss.toFixed(4)} | ` +
      `lr ${p.lr.toExponential(2)} | ${formatRate(p.rate)} ${p.unit} | ETA ${eta}`
    );
  }

  update(p: ProgressState): void {
    if (this.tty) {
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${this.line(p).slice(0, cols - 1)}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = performance.now() / 1000;
    if (now - this.lastPlain >= this.plainEvery || p.step === p.total) {
      this.lastPlain = now;
      this.stream.write(this.line(p) + '\n');
    }
  }

  /** Prints a message above the bar (evaluation results, warnings). */
  log(msg: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(msg + '\n');
  }

  /** Leaves the last bar on screen and moves to a new line. */
  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
