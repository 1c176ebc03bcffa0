/**
 * Throughput and pace: how fast a run goes, measured on the updates only.
 *
 * `Throughput` keeps the logging window (the losses, examples, tokens and compute seconds since
 * the last metrics line, which a checkpoint carries so that a resumed run logs the same lines)
 * and the moving averages behind the progress bar. `Pace` times this process's updates apart
 * from its evaluations, for the "about ... to go" of each evaluation's line: just after a start
 * or a resume a single evaluation spread over a few updates would otherwise inflate the estimate
 * severalfold.
 */
import { formatDuration, secondsToGo } from './progress.ts';

/** The training-loss window not yet logged. */
export interface LogWindow {
  losses: number[];
  examples: number;
  tokens: number;
  seconds: number;
}

/** The throughput fields of a `train` metrics line. */
export interface WindowMeans {
  /** Mean training loss over the window. */
  loss: number;
  examplesPerSec: number;
  tokensPerSec?: number;
}

export class Throughput {
  /** Tokens per second once a batch has reported tokens, else examples per second. */
  unit: 'ex/s' | 'tok/s' = 'ex/s';
  /** Moving average of the seconds per update (the first update sets it). */
  secondsPerStep = NaN;
  /** Moving average of examples (or tokens) per second. */
  rate = 0;
  private window: LogWindow;

  constructor(resumed: LogWindow | null = null) {
    this.window = { losses: [...(resumed?.losses ?? [])], examples: resumed?.examples ?? 0, tokens: resumed?.tokens ?? 0, seconds: resumed?.seconds ?? 0 };
  }

  /** Counts update `step` (1-based), which took `dt` compute seconds. */
  add(step: number, dt: number, loss: number, examples: number, tokens: number): void {
    const alpha = step === 1 || !Number.isFinite(this.secondsPerStep) ? 1 : 0.1;
    this.secondsPerStep = alpha === 1 ? dt : alpha * dt + (1 - alpha) * this.secondsPerStep;
    if (tokens > 0) this.unit = 'tok/s';
    const perStep = this.unit === 'tok/s' ? tokens : examples;
    this.rate = alpha === 1 ? perStep / dt : alpha * (perStep / dt) + (1 - alpha) * this.rate;
    const w = this.window;
    w.losses.push(loss);
    w.examples += examples;
    w.tokens += tokens;
    w.seconds += dt;
  }

  /** The mean training loss of the window so far, or null when it is empty. */
  windowLoss(): number | null {
    const l = this.window.losses;
    return l.length ? l.reduce((a, b) => a + b, 0) / l.length : null;
  }

  /** The window's means for a metrics line; the window starts afresh. */
  flush(): WindowMeans {
    const w = this.window;
    const means: WindowMeans = {
      loss: w.losses.reduce((a, b) => a + b, 0) / w.losses.length,
      examplesPerSec: w.examples / w.seconds,
      ...(w.tokens ? { tokensPerSec: w.tokens / w.seconds } : {}),
    };
    this.window = { losses: [], examples: 0, tokens: 0, seconds: 0 };
    return means;
  }

  /** A copy of the window, for a checkpoint. */
  windowState(): LogWindow {
    const w = this.window;
    return { losses: [...w.losses], examples: w.examples, tokens: w.tokens, seconds: w.seconds };
  }
}

export class Pace {
  private readonly startStep: number;
  private readonly at = performance.now();
  private evalSeconds = 0;
  private evals = 0;

  /** Starts timing this process's updates at `step` (where it started or resumed). */
  constructor(step: number) {
    this.startStep = step;
  }

  /** Counts the seconds of an evaluation; `evaluation: false` for the saves that follow it. */
  addEvaluation(seconds: number, evaluation = true): void {
    this.evalSeconds += seconds;
    if (evaluation) this.evals += 1;
  }

  /** "; 1m02s here, about 3m10s to go", or '' before this process's first update. */
  text(step: number, updatesLeft: number, evaluationsLeft: number): string {
    if (step <= this.startStep) return '';
    const seconds = (performance.now() - this.at) / 1000;
    const left = secondsToGo({ seconds, evalSeconds: this.evalSeconds, evals: this.evals, updates: step - this.startStep, updatesLeft, evaluationsLeft });
    return `; ${formatDuration(seconds)} here, about ${formatDuration(left)} to go`;
  }
}
