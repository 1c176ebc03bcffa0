import { describe, expect, it } from 'vitest';
import { ScheduleSchema, type ScheduleConfig } from '../src/config/schema.ts';
import { evaluationDue, evaluationsAfter, makeSchedule } from '../src/train/schedule.ts';
import { secondsToGo } from '../src/train/progress.ts';

const mk = (c: Record<string, unknown>, totalSteps = 100, stepsPerEpoch = 10) =>
  makeSchedule(ScheduleSchema.parse(c) as ScheduleConfig, { lr: 1e-3, totalSteps, stepsPerEpoch });

describe('schedules', () => {
  it('constant', () => {
    const f = mk({ type: 'constant' });
    expect([0, 50, 99].map(f)).toEqual([1e-3, 1e-3, 1e-3]);
  });

  it("fairseq inverse_sqrt (6000 warm-up updates from 1e-7 to 1e-3, the paper's WikiText recipe)", () => {
    const f = mk({ type: 'inverse-sqrt', warmupSteps: 6000, warmupInitLr: 1e-7 }, 300000);
    const step = (1e-3 - 1e-7) / 6000; // fairseq's lr_step
    expect(f(0)).toBeCloseTo(1e-7, 12);
    expect(f(3000)).toBeCloseTo(1e-7 + 3000 * step, 12);
    expect(f(6000)).toBeCloseTo(1e-3, 12);
    expect(f(24000)).toBeCloseTo(1e-3 * Math.sqrt(6000) / Math.sqrt(24000), 12); // = 5e-4
    expect(f(24000)).toBeCloseTo(5e-4, 12);
  });

  it('warmup-constant and warmup-rsqrt', () => {
    const c = mk({ type: 'warmup-constant', warmupSteps: 10 });
    expect([0, 5, 10, 90].map(c)).toEqual([0, 5e-4, 1e-3, 1e-3]);
    // The Decision Transformer's LambdaLR: lr * min((step + 1) / W, 1).
    const dt = mk({ type: 'warmup-constant', warmupSteps: 10, clockOffset: 1 });
    for (const s of [0, 4, 8, 9, 10, 50]) expect(dt(s)).toBeCloseTo(1e-3 * Math.min((s + 1) / 10, 1), 15);
    const r = mk({ type: 'warmup-rsqrt', warmupSteps: 16 });
    expect(r(8)).toBeCloseTo(5e-4, 12);
    expect(r(16)).toBeCloseTo(1e-3, 12);
    expect(r(64)).toBeCloseTo(5e-4, 12); // sqrt(16/64) = 1/2
    // The LRA code: base * min(1, t / W) / sqrt(max(t, W)) with base = optimizer.lr.
    const lra = mk({ type: 'warmup-rsqrt', warmupSteps: 1000, lraBase: true }, 5000);
    const ref = (t: number) => (1e-3 * Math.min(1, t / 1000)) / Math.sqrt(Math.max(t, 1000));
    for (const t of [0, 1, 500, 999, 1000, 1001, 4999]) expect(lra(t)).toBeCloseTo(ref(t), 15);
  });

  it('warmup-cosine with a floor, in steps and in epochs', () => {
    const f = mk({ type: 'warmup-cosine', warmupSteps: 10, minLr: 1e-5 }, 110);
    expect(f(0)).toBe(0);
    expect(f(10)).toBeCloseTo(1e-3, 12);
    expect(f(60)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5), 12); // half-way through the cosine
    expect(f(110)).toBeCloseTo(1e-5, 12);
    expect(f(500)).toBeCloseTo(1e-5, 12);
    // The LRA code's linear_warmup * cosine_decay with steps_per_cycle S = 5000, W = 175: cycleSteps = W + S.
    const lraCos = mk({ type: 'warmup-cosine', warmupSteps: 175, cycleSteps: 5175 }, 5000);
    const lraRef = (t: number) => 1e-3 * Math.min(1, t / 175) * 0.5 * (1 + Math.cos(Math.PI * ((Math.max(0, t - 175) / 5000) % 1)));
    for (const t of [0, 100, 175, 2000, 4999]) expect(lraCos(t)).toBeCloseTo(lraRef(t), 15);
    // Per epoch: 5 warm-up epochs from 1e-6 over a 30-epoch run of 10 updates per epoch.
    const e = mk({ type: 'warmup-cosine', warmupSteps: 5, warmupInitLr: 1e-6, minLr: 1e-5, unit: 'epoch' }, 300, 10);
    expect(e(0)).toBe(1e-6);
    expect(e(9)).toBe(1e-6); // constant within an epoch
    expect(e(10)).toBeCloseTo(1e-6 + (1e-3 - 1e-6) / 5, 12);
    expect(e(50)).toBeCloseTo(1e-3, 12);
    expect(e(175)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * (12 / 25))), 12);
    // timm's CosineLRScheduler (warmup_prefix=False), as DeiT runs it: the cosine of epoch / 30 after the warm-up.
    const timm = mk({ type: 'warmup-cosine', warmupSteps: 5, warmupInitLr: 1e-6, minLr: 1e-5, unit: 'epoch', warmupPrefix: false }, 300, 10);
    expect(timm(40)).toBeCloseTo(1e-6 + (4 * (1e-3 - 1e-6)) / 5, 12);
    expect(timm(50)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * (5 / 30))), 12);
    expect(timm(175)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * (17 / 30))), 12);
  });
});

describe('evaluation schedule', () => {
  // SelfRegulationSCP1 at the paper's recipe: 268 series / batch 16 = 17 updates per epoch,
  // 100 epochs, evaluated every 2 epochs and also at epochs 0 and 1 (as the original UEA code).
  const uea = { every: 2, unit: 'epochs' as const, at: [0, 1] };
  it('evaluationDue: only at the end of an epoch in epoch units, and always after the last update', () => {
    expect(evaluationDue(uea, 17, 17, 1700)).toBe(true); // epoch 1 (at)
    expect(evaluationDue(uea, 34, 17, 1700)).toBe(true); // epoch 2
    expect(evaluationDue(uea, 51, 17, 1700)).toBe(false); // epoch 3
    expect(evaluationDue(uea, 2, 17, 1700)).toBe(false); // mid-epoch: 2 is an epoch number, not an update
    expect(evaluationDue(uea, 1700, 17, 1700)).toBe(true);
    expect(evaluationDue({ every: 3, unit: 'epochs', at: [] }, 50, 10, 50)).toBe(true); // the end, though 5 % 3 != 0
    const steps = { every: 25, unit: 'steps' as const, at: [7] };
    expect([7, 10, 25, 50, 60].map((s) => evaluationDue(steps, s, 15, 60))).toEqual([true, false, true, true, true]);
  });
  it('evaluationsAfter counts the evaluations still to come', () => {
    expect(evaluationsAfter(uea, 0, 17, 1700)).toBe(51); // epoch 1, then epochs 2, 4, ..., 100
    expect(evaluationsAfter(uea, 272, 17, 1700)).toBe(42); // after epoch 16: epochs 18, ..., 100
    expect(evaluationsAfter(uea, 1700, 17, 1700)).toBe(0);
    expect(evaluationsAfter({ every: 25, unit: 'steps', at: [0, 7] }, 10, 15, 60)).toBe(3); // 25, 50, 60
  });
  it('secondsToGo times updates and evaluations apart', () => {
    // Just after a resume: 8 updates in 85 s, of which one evaluation took 21 s.
    const p = { seconds: 85, evalSeconds: 21, evals: 1, updates: 8, updatesLeft: 1428, evaluationsLeft: 42 };
    expect(secondsToGo(p)).toBeCloseTo(8 * 1428 + 21 * 42, 9); // not 85 / 8 * 1428
    expect(secondsToGo({ ...p, updatesLeft: 0, evaluationsLeft: 0 })).toBe(0);
    expect(secondsToGo({ ...p, evals: 0, evalSeconds: 0, evaluationsLeft: 0 })).toBeCloseTo((85 / 8) * 1428, 9);
  });
});
