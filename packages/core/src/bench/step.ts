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
 *
 * `update` adds what the trainer does after the backward pass to every timed step: clipping by
 * the config's training.gradClip and the config's optimiser update (the weights then change from
 * step to step, as in training); the original code's step, which the peer times, includes both.
 * `profile` adds one more step of the trainer's pass under the profiler of step-profile.ts:
 * kernels launched and their time, forward and backward, and the bytes the forward keeps for the
 * backward pass by kernel and by module.
 */
import fs from 'node:fs';
import { tf } from '../tf.ts';
import type { ResolvedConfig } from '../config/load.ts';
import type { Task } from '../task.ts';
import { Rng } from '../rng.ts';
import { variableGrads } from '../train/grads.ts';
import { resolveDataRoot } from '../train/trainer.ts';
import { clipScale, makeOptimizer } from '../train/optim.ts';
import { profileStep, type StepProfile } from './step-profile.ts';
import type { BenchComparison } from '../results/bench-summary.ts';

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
  /** Include gradient clipping and the optimiser update in each step. Default false. */
  update?: boolean;
  /** Profile one more step of the trainer's backward pass (step-profile.ts). Default false. */
  profile?: boolean;
  log?: (m: string) => void;
}

export interface StepBenchRow {
  backward: BackwardPass;
  batchSize: number;
  /** Median wall time of one step: forward + backward (+ clipping and update with `update`). */
  medianMs: number;
  /**
   * Median CPU time of the process (user + system, all threads) during one step: on a machine
   * shared with other work, steadier than the wall time (it does not count time spent waiting
   * for a core), though not free of the other work's cache and memory-bandwidth effects.
   */
  medianCpuMs: number;
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
  /** Whether each step included clipping and the optimiser update. */
  update: boolean;
  rows: StepBenchRow[];
  /** With `profile`: where one step of the trainer's pass spends its kernels, time and memory. */
  profile?: StepProfile;
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

  const update = opts.update ?? false;
  const named = model.namedParams().filter((p) => p.trainable);
  const paramOf = new Map(named.map((p) => [p.variable.name, p.name]));
  const optimizer = update ? makeOptimizer(config.optimizer, named) : null;
  const step = (pass: BackwardPass, afterForward?: Parameters<typeof variableGrads>[2]) => {
    // A fresh dropout stream per step: every step does the same work.
    const loss = () => model.loss(batch, { training: true, rng: new Rng(2) }) as tf.Scalar;
    const { value, grads } = pass === 'ours' ? variableGrads(loss, trainable, afterForward) : tf.variableGrads(loss, trainable);
    value.dataSync();
    value.dispose();
    if (!optimizer) {
      tf.dispose(Object.values(grads));
      return;
    }
    const byParam: Record<string, tf.Tensor> = {};
    for (const [v, g] of Object.entries(grads)) byParam[paramOf.get(v)!] = g;
    // As the trainer does: clipping's factor goes into the update, no scaled copy of the gradients.
    const scale = config.training.gradClip !== null ? clipScale(byParam, config.training.gradClip).scale : 1;
    optimizer.step(byParam, config.optimizer.lr, scale);
    tf.dispose(Object.values(byParam));
  };

  const rows: StepBenchRow[] = [];
  let profile: StepProfile | undefined;
  try {
    for (const pass of passes) {
      for (let i = 0; i < warmup; i++) step(pass);
      const times: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        step(pass);
        const c = process.cpuUsage(c0);
        times.push(performance.now() - t0);
        cpu.push((c.user + c.system) / 1000);
      }
      cpu.sort((a, b) => a - b);
      const profile = await tf.profile(() => step(pass));
      times.sort((a, b) => a - b);
      const row: StepBenchRow = { backward: pass, batchSize, medianMs: times[Math.floor(times.length / 2)]!, medianCpuMs: cpu[Math.floor(cpu.length / 2)]!, peakBytes: profile.peakBytes, rssHighWaterBytes: residentHighWater() };
      log(`  ${pass}${update ? ' + update' : ''}: ${row.medianMs.toFixed(0)} ms per step (${row.medianCpuMs.toFixed(0)} ms of CPU), peak ${(row.peakBytes / 2 ** 30).toFixed(2)} GiB of tensors` + (row.rssHighWaterBytes ? `, resident high-water ${(row.rssHighWaterBytes / 2 ** 30).toFixed(2)} GiB` : ''));
      rows.push(row);
    }
    if (opts.profile) {
      profile = await profileStep(model, (afterForward) => step('ours', afterForward));
    }
  } finally {
    tf.dispose(batch.tensors);
    optimizer?.dispose();
    model.dispose();
  }
  return { config: opts.config.path, task: opts.task.name, dataset: config.dataset, params, batchSize, rssBeforeBytes: rssBefore, update, rows, ...(profile ? { profile } : {}) };
}

export function formatStepBenchTable(r: StepBenchResult): string {
  const gib = (b: number | null) => (b === null ? '-' : (b / 2 ** 30).toFixed(2));
  return [
    '| backward pass | batch | ms per step (median) | CPU ms per step (median) | peak tensor GiB | resident high-water GiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map((row) => `| ${row.backward} | ${row.batchSize} | ${row.medianMs.toFixed(0)} | ${row.medianCpuMs.toFixed(0)} | ${gib(row.peakBytes)} | ${gib(row.rssHighWaterBytes)} |`),
  ].join('\n');
}

/**
 * A peer's measurement of the same step (the original code, run outside this repository), as
 * its driver prints it: its command, its mode (`fwdbwd`, or `update` with clipping and the
 * optimiser), its batch, and its median wall and CPU seconds and maximum resident bytes.
 */
export interface StepPeer {
  command: string;
  name?: string;
  torch?: string;
  threads?: number;
  mode: 'fwdbwd' | 'update';
  batch: number;
  median_s: number;
  median_cpu_s?: number;
  max_resident_bytes: number;
}

/** Reads and checks a peer JSON against our step: same batch, same work (with or without the update). */
export function readStepPeer(file: string, r: { batchSize: number; update: boolean }): StepPeer {
  let p: StepPeer;
  try {
    p = JSON.parse(fs.readFileSync(file, 'utf8')) as StepPeer;
  } catch (e) {
    throw new Error(`bench step --peer ${file}: ${(e as Error).message}`);
  }
  for (const k of ['median_s', 'max_resident_bytes', 'batch'] as const) {
    if (typeof p[k] !== 'number' || !Number.isFinite(p[k])) throw new Error(`bench step --peer ${file}: field '${k}' must be a number`);
  }
  if (typeof p.command !== 'string') throw new Error(`bench step --peer ${file}: field 'command' must say how the peer was run`);
  if (p.batch !== r.batchSize) throw new Error(`bench step --peer ${file}: the peer ran batch ${p.batch}, ours ${r.batchSize}: not the same step`);
  if ((p.mode === 'update') !== r.update) {
    throw new Error(`bench step --peer ${file}: the peer's step ${p.mode === 'update' ? 'includes' : 'excludes'} the optimiser update and ours ${r.update ? 'includes' : 'excludes'} it (--update): not the same step`);
  }
  return p;
}

/**
 * The lines the performance page compares (results/bench-summary.ts): our trainer's step against
 * the peer's in wall time (goal: 0.8x), CPU time (no goal) and peak resident memory (goal: at
 * most the peer's), issue #42's targets.
 */
export function stepComparisons(r: StepBenchResult, peer: StepPeer, label: string): BenchComparison[] {
  const row = r.rows.find((x) => x.backward === 'ours');
  if (!row) return [];
  const name = peer.name ?? 'original';
  const what = `${label}, batch ${r.batchSize}, ${r.update ? 'forward + backward + update' : 'forward + backward'}`;
  const out: BenchComparison[] = [
    { work: `${what}: wall time`, unit: 's', ours: row.medianMs / 1000, peer: name, peerValue: peer.median_s, better: 'lower', goal: 0.8 },
  ];
  if (typeof peer.median_cpu_s === 'number') out.push({ work: `${what}: CPU time`, unit: 's', ours: row.medianCpuMs / 1000, peer: name, peerValue: peer.median_cpu_s, better: 'lower' });
  if (row.rssHighWaterBytes !== null) out.push({ work: `${what}: peak resident memory`, unit: 'GiB', ours: row.rssHighWaterBytes / 2 ** 30, peer: name, peerValue: peer.max_resident_bytes / 2 ** 30, better: 'lower', goal: 1 });
  return out;
}
