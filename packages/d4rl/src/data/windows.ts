/**
 * Training windows, exactly as the paper's `ContextDataset`
 * (thuml/Flowformer `Flowformer_RL/data/context_dataset.py`) builds them:
 *
 * - one window per (trajectory, start index si), in trajectory order, so window i starts at
 *   row i of the (split) dataset; K = 20 steps from si, fewer at the end of a trajectory;
 * - RIGHT padding to K (the causal attention is unmasked, so padding must come after the real
 *   steps; the loss masks it): states 0 BEFORE normalisation (so a padded state is -mean/std),
 *   actions -10, rewards 0, dones 2, timesteps 0, mask 0;
 * - states normalised by the mean/std of all states of all kept trajectories (std + 1e-6);
 * - returns-to-go: discounted suffix sums of the raw rewards (gamma 1), K+1 of them (the
 *   trainer feeds the first K; the extra one is 0 when the window reaches the trajectory end),
 *   divided by the reward scale (1000);
 * - timesteps si..si+len-1, each clipped to maxEpisodeLength - 1 (999).
 *
 * The original precomputes every window (about 1.4 GB for hopper-medium); we compute them
 * per batch from the step table, with the same numbers. Its sampler draws windows uniformly
 * with replacement (`RandomSampler(replacement=True)`), which equals DT's rule "trajectory
 * with probability proportional to its length, then a uniform start": see `sampleWindows`.
 *
 * Float precision follows the original: the suffix sums are accumulated in float32 (numpy's
 * `zeros_like` of a float32 array), scaling and normalisation in float64, the result rounded
 * to float32. The state mean/std are computed in float64 and rounded to float32 (numpy
 * reduces float32 pairwise in float32: differences ~1e-7 relative).
 */
import { tf, type Batch, type BatchContext, type Rng, type Split } from '@flowformer/core';
import type { D4rlData } from './hdf5.ts';
import type { Trajectory } from './trajectories.ts';

export interface WindowArgs {
  /** Context length K in steps. Default 20. */
  contextLength?: number;
  /** Episode length of the environment; timesteps are clipped to this - 1. Default 1000. */
  maxEpisodeLength?: number;
  /** Returns-to-go are divided by this. Default 1000. */
  returnScale?: number;
  /** Discount of the returns-to-go. Default 1. */
  gamma?: number;
  /** 'delayed' moves each trajectory's whole return onto its last step (the paper's sparse setting). */
  mode?: 'normal' | 'delayed';
}

/** One window as plain arrays (for tests and evaluation); the batch holds the same numbers. */
export interface Window {
  /** [K, obsDim] normalised */
  states: Float32Array;
  /** [K, actDim] */
  actions: Float32Array;
  /** [K] raw rewards */
  rewards: Float32Array;
  /** [K] 0/1 terminal flags, 2 on padding */
  dones: Int32Array;
  /** [K + 1] returns-to-go / scale */
  returnsToGo: Float32Array;
  /** [K] */
  timesteps: Int32Array;
  /** [K] 1 on real steps, 0 on padding */
  mask: Float32Array;
}

/** A batch of windows. Tensors: states [B, K, S], actions [B, K, A], rewards [B, K, 1],
 * dones [B, K] int32, returnsToGo [B, K + 1, 1], timesteps [B, K] int32, mask [B, K]. */
export interface WindowBatch extends Batch {
  states: tf.Tensor3D;
  actions: tf.Tensor3D;
  rewards: tf.Tensor3D;
  dones: tf.Tensor2D;
  returnsToGo: tf.Tensor3D;
  timesteps: tf.Tensor2D;
  mask: tf.Tensor2D;
}

/** Statistics of the kept trajectories, as the original prints them. */
export interface TrajectoryStats {
  numTrajectories: number;
  numTimesteps: number;
  avgReturn: number;
  stdReturn: number;
  maxReturn: number;
  minReturn: number;
}

export class D4rlWindows implements Split<WindowBatch> {
  readonly size: number;
  readonly contextLength: number;
  readonly maxEpisodeLength: number;
  readonly returnScale: number;
  readonly obsDim: number;
  readonly actDim: number;
  /** [obsDim] float32 values */
  readonly stateMean: Float64Array;
  /** [obsDim] std + 1e-6, float32 values */
  readonly stateStd: Float64Array;
  readonly stats: TrajectoryStats;
  /** Row -> the trajectory it belongs to. */
  private readonly trajOf: Int32Array;
  /** Row -> float32 suffix sum of rewards from this row to its trajectory's end. */
  private readonly suffix: Float32Array;
  /** Rewards after the 'delayed' rewrite (a copy), or the dataset's. */
  private readonly rewards: Float32Array;

  constructor(
    readonly data: D4rlData,
    readonly trajectories: Trajectory[],
    args: WindowArgs = {},
  ) {
    this.contextLength = args.contextLength ?? 20;
    this.maxEpisodeLength = args.maxEpisodeLength ?? 1000;
    this.returnScale = args.returnScale ?? 1000;
    const gamma = args.gamma ?? 1;
    this.obsDim = data.obsDim;
    this.actDim = data.actDim;
    if (trajectories.length === 0) throw new Error('D4RL windows: the dataset has no complete trajectory (no terminal or timeout flag set): nothing to train on');
    for (let t = 1; t < trajectories.length; t++) {
      if (trajectories[t]!.start !== trajectories[t - 1]!.end) throw new Error('D4RL windows: trajectories must be contiguous and in order (use splitTrajectories)');
    }
    const first = trajectories[0]!.start;
    if (first !== 0) throw new Error('D4RL windows: the first trajectory must start at row 0');
    this.size = trajectories[trajectories.length - 1]!.end;

    this.rewards = data.rewards;
    if (args.mode === 'delayed') {
      this.rewards = data.rewards.slice();
      for (const tr of trajectories) {
        let sum = 0;
        // numpy's float32 .sum() (pairwise) then stored as float32
        for (let i = tr.start; i < tr.end; i++) sum += this.rewards[i]!;
        for (let i = tr.start; i < tr.end - 1; i++) this.rewards[i] = 0;
        this.rewards[tr.end - 1] = Math.fround(sum);
      }
    }

    this.trajOf = new Int32Array(this.size);
    this.suffix = new Float32Array(this.size);
    const returns: number[] = [];
    trajectories.forEach((tr, t) => {
      let acc = 0;
      for (let i = tr.end - 1; i >= tr.start; i--) {
        this.trajOf[i] = t;
        acc = i === tr.end - 1 ? this.rewards[i]! : Math.fround(this.rewards[i]! + gamma * acc);
        this.suffix[i] = acc;
      }
      let r = 0;
      for (let i = tr.start; i < tr.end; i++) r += this.rewards[i]!;
      returns.push(r);
    });
    const meanRet = returns.reduce((a, b) => a + b, 0) / returns.length;
    this.stats = {
      numTrajectories: trajectories.length,
      numTimesteps: this.size,
      avgReturn: meanRet,
      stdReturn: Math.sqrt(returns.reduce((a, b) => a + (b - meanRet) ** 2, 0) / returns.length),
      maxReturn: Math.max(...returns),
      minReturn: Math.min(...returns),
    };
    // state mean / population std over every kept row, float64 then rounded to float32
    const S = this.obsDim;
    const mean = new Float64Array(S);
    const sq = new Float64Array(S);
    const obs = data.observations;
    for (let i = 0; i < this.size; i++) for (let j = 0; j < S; j++) mean[j]! += obs[i * S + j]!;
    for (let j = 0; j < S; j++) mean[j] = mean[j]! / this.size;
    for (let i = 0; i < this.size; i++) {
      for (let j = 0; j < S; j++) {
        const dv = obs[i * S + j]! - mean[j]!;
        sq[j]! += dv * dv;
      }
    }
    this.stateMean = new Float64Array(S);
    this.stateStd = new Float64Array(S);
    for (let j = 0; j < S; j++) {
      this.stateMean[j] = Math.fround(mean[j]!);
      this.stateStd[j] = Math.fround(Math.fround(Math.sqrt(sq[j]! / this.size)) + 1e-6);
    }
  }

  /** Writes window `index` into slot `b` of flat batch buffers. */
  private fill(index: number, b: number, w: Window): void {
    const K = this.contextLength;
    const S = this.obsDim;
    const A = this.actDim;
    const tr = this.trajectories[this.trajOf[index]!]!;
    const si = index - tr.start;
    const len = Math.min(K, tr.end - index);
    const obs = this.data.observations;
    const act = this.data.actions;
    for (let k = 0; k < K; k++) {
      const real = k < len;
      const row = index + k;
      for (let j = 0; j < S; j++) {
        const raw = real ? obs[row * S + j]! : 0;
        w.states[(b * K + k) * S + j] = (raw - this.stateMean[j]!) / this.stateStd[j]!;
      }
      for (let j = 0; j < A; j++) w.actions[(b * K + k) * A + j] = real ? act[row * A + j]! : -10;
      w.rewards[b * K + k] = real ? this.rewards[row]! : 0;
      w.dones[b * K + k] = real ? this.data.terminals[row]! : 2;
      w.timesteps[b * K + k] = real ? Math.min(si + k, this.maxEpisodeLength - 1) : 0;
      w.mask[b * K + k] = real ? 1 : 0;
    }
    // K + 1 returns-to-go: len + 1 suffix sums (0 past the end), then zero padding
    for (let k = 0; k <= K; k++) {
      const row = index + k;
      const v = k <= len && row < tr.end ? this.suffix[row]! : 0;
      w.returnsToGo[b * (K + 1) + k] = v / this.returnScale;
    }
  }

  private buffers(n: number): Window {
    const K = this.contextLength;
    return {
      states: new Float32Array(n * K * this.obsDim),
      actions: new Float32Array(n * K * this.actDim),
      rewards: new Float32Array(n * K),
      dones: new Int32Array(n * K),
      returnsToGo: new Float32Array(n * (K + 1)),
      timesteps: new Int32Array(n * K),
      mask: new Float32Array(n * K),
    };
  }

  /** Window `index` (0 <= index < size) as plain arrays. */
  window(index: number): Window {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new RangeError(`window index ${index} out of range [0, ${this.size})`);
    const w = this.buffers(1);
    this.fill(index, 0, w);
    return w;
  }

  batch(indices: Int32Array, _ctx?: BatchContext): WindowBatch {
    const n = indices.length;
    const K = this.contextLength;
    const w = this.buffers(n);
    for (let b = 0; b < n; b++) {
      const i = indices[b]!;
      if (i < 0 || i >= this.size) throw new RangeError(`window index ${i} out of range [0, ${this.size})`);
      this.fill(i, b, w);
    }
    const states = tf.tensor3d(w.states, [n, K, this.obsDim]);
    const actions = tf.tensor3d(w.actions, [n, K, this.actDim]);
    const rewards = tf.tensor3d(w.rewards, [n, K, 1]);
    const dones = tf.tensor2d(w.dones, [n, K], 'int32');
    const returnsToGo = tf.tensor3d(w.returnsToGo, [n, K + 1, 1]);
    const timesteps = tf.tensor2d(w.timesteps, [n, K], 'int32');
    const mask = tf.tensor2d(w.mask, [n, K]);
    return { size: n, states, actions, rewards, dones, returnsToGo, timesteps, mask, tensors: [states, actions, rewards, dones, returnsToGo, timesteps, mask] };
  }
}

/**
 * The original's sampling rule: `count` window indices drawn uniformly WITH replacement
 * (`RandomSampler(dataset, replacement=True)`), seeded. Uniform over windows is the same
 * distribution as DT's "trajectory weighted by its length, then a uniform start index".
 */
export function sampleWindows(rng: Rng, size: number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.int(size);
  return out;
}
