/**
 * One training step of a real config, timed and weighed: does this recipe fit in this machine's
 * memory, and what does the backward pass cost? (`flowformer bench step`.)
 *
 * It loads the config's data and builds its model with the task's own loader and builder, from the
 * data root `train` would use (its random draws are not train's), draws the first `batchSize`
 * training examples, and runs forward + backward (no optimiser update, so every run sees the same
 * weights) with each backward pass asked for:
 *   - `ours`: `variableGrads` of train/grads.ts, which the trainer uses (frees as it goes);
 *   - `tfjs`: `tf.variableGrads`, which keeps every intermediate gradient to the end.
 * Per pass: the median wall time over `runs` (after `warmup` untimed ones), the peak of the bytes
 * tfjs tracks during one step (`tf.profile`), and the process's resident high-water mark after
 * the pass (Linux `VmHWM`; it never goes down, so the passes run in the order given and a later
 * pass shows only if it needs more).
 */
import fs from 'node:fs';
import { tf } from '../tf.ts';
import type { ResolvedConfig } from '../config/load.ts';
import type { Task } from '../task.ts';
import { Rng } from '../rng.ts';
import { variableGrads } from '../train/grads.ts';
import { resolveDataRoot } from '../train/trainer.ts';

export type BackwardPass = 'ours' | 'tfjs';
export const BACKWARD_PASSES: readonly BackwardPass[] = ['ours', 'tfjs'];

export interface StepBenchOptions {
  config: ResolvedConfig;
  task: Task;
  /** As for `train`: --data-root; when absent, config `data.root`, then $FLOWFORMER_DATA_ROOT, then `defaultDataRoot`. */
  dataRoot?: string;
  defaultDataRoot?: string;
  cacheDir: string;
  /** Examples per step; default the config's training.batchSize. */
  batchSize?: number;
  backward?: BackwardPass[];
  runs?: number;
  warmup?: number;
  log?: (m: string) => void;
}

export interface StepBenchRow {
  backward: BackwardPass;
  batchSize: number;
  /** Median forward+backward wall time of one step. */
  medianMs: number;
  /** Peak of tfjs's tracked tensor bytes during one step, above what was live before it. */
  peakBytes: number;
  /** The process's resident high-water mark after this pass (null where /proc is absent). */
  rssHighWaterBytes: number | null;
}

export interface StepBenchResult {
  config: string;
  task: string;
  dataset: string;
  params: number;
  batchSize: number;
  /** Resident memory once data and model are loaded, before any step. */
  rssBeforeBytes: number;
  rows: StepBenchRow[];
}

/** VmHWM of this process in bytes, or null off Linux. */
export function residentHighWater(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export async function benchTrainStep(opts: StepBenchOptions): Promise<StepBenchResult> {
  const { config } = opts.config;
  const log = opts.log ?? (() => {});
  const batchSize = opts.batchSize ?? config.training.batchSize;
  const runs = opts.runs ?? 3;
  const warmup = opts.warmup ?? 1;
  const passes = opts.backward ?? [...BACKWARD_PASSES];
  const root = new Rng(config.seed);
  const data = await opts.task.load(config, { dataRoot: resolveDataRoot(opts, config), cacheDir: opts.cacheDir, rng: root.fork(), log });
  if (data.train.size < batchSize) throw new Error(`bench step: the training split has ${data.train.size} examples, fewer than a batch of ${batchSize}`);
  const model = opts.task.build(config, data, root.fork());
  const trainable = model.namedParams().filter((p) => p.trainable).map((p) => p.variable);
  const batch = await data.train.batch(Int32Array.from({ length: batchSize }, (_, i) => i), { training: true, rng: new Rng(1) });
  const rssBefore = process.memoryUsage().rss;
  const params = model.numParams();
  log(`${opts.config.name}: ${params.toLocaleString('en-US')} parameters, batch ${batchSize}; resident ${(rssBefore / 2 ** 30).toFixed(2)} GiB before the first step`);

  const step = (pass: BackwardPass) => {
    const grad = pass === 'ours' ? variableGrads : tf.variableGrads;
    // A fresh dropout stream per step: every step does the same work.
    const { value, grads } = grad(() => model.loss(batch, { training: true, rng: new Rng(2) }) as tf.Scalar, trainable);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };

  const rows: StepBenchRow[] = [];
  try {
    for (const pass of passes) {
      for (let i = 0; i < warmup; i++) step(pass);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        step(pass);
        times.push(performance.now() - t0);
      }
      const profile = await tf.profile(() => step(pass));
      times.sort((a, b) => a - b);
      const row: StepBenchRow = { backward: pass, batchSize, medianMs: times[Math.floor(times.length / 2)]!, peakBytes: profile.peakBytes, rssHighWaterBytes: residentHighWater() };
      log(`  ${pass}: ${row.medianMs.toFixed(0)} ms per step, peak ${(row.peakBytes / 2 ** 30).toFixed(2)} GiB of tensors` + (row.rssHighWaterBytes ? `, resident high-water ${(row.rssHighWaterBytes / 2 ** 30).toFixed(2)} GiB` : ''));
      rows.push(row);
    }
  } finally {
    tf.dispose(batch.tensors);
    model.dispose();
  }
  return { config: opts.config.path, task: opts.task.name, dataset: config.dataset, params, batchSize, rssBeforeBytes: rssBefore, rows };
}

export function formatStepBenchTable(r: StepBenchResult): string {
  const gib = (b: number | null) => (b === null ? '-' : (b / 2 ** 30).toFixed(2));
  return [
    '| backward pass | batch | ms per step (median) | peak tensor GiB | resident high-water GiB |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.rows.map((row) => `| ${row.backward} | ${row.batchSize} | ${row.medianMs.toFixed(0)} | ${gib(row.peakBytes)} | ${gib(row.rssHighWaterBytes)} |`),
  ].join('\n');
}
