/**
 * Learning-rate schedules: `lrAt(s)` is the learning rate of update `s` (0-based), with the
 * peak `lr` from the optimizer section. Counting follows fairseq and timm: update 0 runs at
 * `warmupInitLr`, and the warm-up reaches `lr` at update `warmupSteps`.
 */
import type { EvaluationConfig, ScheduleConfig } from '../config/schema.ts';

export interface ScheduleContext {
  /** Peak learning rate (config optimizer.lr). */
  lr: number;
  /** Updates in the whole run. */
  totalSteps: number;
  /** Updates per epoch (for `unit: epoch`). */
  stepsPerEpoch: number;
}

export type Schedule = (step: number) => number;

export function makeSchedule(cfg: ScheduleConfig, ctx: ScheduleContext): Schedule {
  const { lr } = ctx;
  if (cfg.type === 'constant') return () => lr;
  const W = cfg.warmupSteps;
  const init = cfg.warmupInitLr;
  const perEpoch = cfg.unit === 'epoch';
  // In epoch units the schedule moves once per epoch (timm's default for DeiT).
  const time = (s: number) => (perEpoch ? Math.floor(s / ctx.stepsPerEpoch) : s) + cfg.clockOffset;
  const total = perEpoch ? Math.ceil(ctx.totalSteps / ctx.stepsPerEpoch) : ctx.totalSteps;
  const warm = (t: number) => init + ((lr - init) * t) / W;

  switch (cfg.type) {
    case 'warmup-constant':
      return (s) => {
        const t = time(s);
        return t < W ? warm(t) : lr;
      };
    case 'warmup-rsqrt':
    case 'inverse-sqrt': {
      // Both decay as lr * sqrt(W / t) after warm-up, equal to lr at t = W
      // (fairseq: decay_factor = lr * sqrt(warmup_updates); lr = decay_factor / sqrt(num_updates)).
      // LRA's base learning rate is divided by sqrt(W) at the peak.
      const scale = cfg.type === 'warmup-rsqrt' && cfg.lraBase ? 1 / Math.sqrt(Math.max(W, 1)) : 1;
      return (s) => {
        const t = time(s);
        return scale * (t < W ? warm(t) : lr * Math.sqrt(Math.max(W, 1) / Math.max(t, 1)));
      };
    }
    case 'warmup-cosine': {
      const C = cfg.cycleSteps ?? total;
      const min = cfg.minLr;
      return (s) => {
        const t = time(s);
        if (t < W) return warm(t);
        // Half a cosine down to minLr at t = C, then minLr; from t = W (warmupPrefix) or from t = 0 (timm).
        const from = cfg.warmupPrefix ? W : 0;
        const progress = C > from ? Math.min(1, (t - from) / (C - from)) : 1;
        return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
      };
    }
  }
}

// ---------------------------------------------------------------------------- evaluation schedule

/** The parts of the evaluation section that say when evaluations happen. */
export type EvaluationTimes = Pick<EvaluationConfig, 'every' | 'unit' | 'at'>;

/**
 * Whether the trainer evaluates right after update `step` (1-based: `step` updates are done).
 * In epoch units an evaluation can only follow the last update of an epoch; the last update of
 * the run always evaluates.
 */
export function evaluationDue(ev: EvaluationTimes, step: number, stepsPerEpoch: number, totalSteps: number): boolean {
  if (step === totalSteps) return true;
  if (ev.unit === 'steps') return step % ev.every === 0 || ev.at.includes(step);
  if (step % stepsPerEpoch !== 0) return false;
  const epoch = step / stepsPerEpoch;
  return epoch % ev.every === 0 || ev.at.includes(epoch);
}

/** How many evaluations are still to come after update `step` (the one at the end included). */
export function evaluationsAfter(ev: EvaluationTimes, step: number, stepsPerEpoch: number, totalSteps: number): number {
  let n = 0;
  for (let s = step + 1; s <= totalSteps; s++) if (evaluationDue(ev, s, stepsPerEpoch, totalSteps)) n++;
  return n;
}
