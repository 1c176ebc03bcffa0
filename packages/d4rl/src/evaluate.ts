/**
 * Return-conditioned rollouts, as the paper's `evaluate_episode_rtg`
 * (thuml/Flowformer `Flowformer_RL/decision_transformer/evaluation/evaluate_episodes.py`):
 *
 * - the first return-to-go is target / scale; after each step it drops by reward / scale
 *   (in 'delayed' mode it stays);
 * - the model sees the last min(t + 1, K) steps of (normalised state, action, return-to-go,
 *   timestep) with NO padding (the DT `get_action` of thuml's copy truncates to K, attention
 *   mask all ones); the action slot of the current step is 0 and, the attention being causal,
 *   cannot influence the prediction read from the current state token;
 * - an episode ends when the env terminates or after 1000 steps.
 *
 * Episodes run side by side: all start together and advance in lockstep, so the active ones
 * always have the same history length and share one batched model call per step.
 */
import { EVAL, tf, type Rng } from '@flowformer/core';
import type { Env } from './envs/locomotion.ts';
import type { DecisionTransformer } from './model.ts';

export interface RolloutArgs {
  model: DecisionTransformer;
  /** Creates one environment per parallel episode. */
  makeEnv: () => Promise<Env>;
  /** Raw target return (e.g. 3600). */
  target: number;
  /** Return scale (1000). */
  scale: number;
  stateMean: ArrayLike<number>;
  stateStd: ArrayLike<number>;
  /** K. */
  contextLength: number;
  episodes: number;
  /** Episodes simulated together. */
  parallel: number;
  rng: Rng;
  mode?: 'normal' | 'delayed';
  /** Default: the env's limit (1000). */
  maxSteps?: number;
}

export interface RolloutResult {
  returns: number[];
  lengths: number[];
}

export async function rollouts(args: RolloutArgs): Promise<RolloutResult> {
  const returns: number[] = [];
  const lengths: number[] = [];
  const envs: Env[] = [];
  try {
    for (let i = 0; i < Math.min(args.parallel, args.episodes); i++) envs.push(await args.makeEnv());
    for (let done = 0; done < args.episodes; ) {
      const n = Math.min(envs.length, args.episodes - done);
      const r = runGroup(args, envs.slice(0, n));
      returns.push(...r.returns);
      lengths.push(...r.lengths);
      done += n;
    }
  } finally {
    for (const e of envs) e.dispose();
  }
  return { returns, lengths };
}

/** Runs one episode in each env, all in lockstep. */
function runGroup(args: RolloutArgs, envs: Env[]): RolloutResult {
  const E = envs.length;
  const env0 = envs[0]!;
  const S = env0.obsDim;
  const A = env0.actDim;
  const K = args.contextLength;
  const maxSteps = Math.min(args.maxSteps ?? env0.maxEpisodeSteps, env0.maxEpisodeSteps);
  const normalise = (o: Float64Array) => Float32Array.from(o, (v, j) => (v - args.stateMean[j]!) / args.stateStd[j]!);
  // per-episode histories (float32 like the original's tensors)
  const states: Float32Array[][] = envs.map((e) => [normalise(e.reset(args.rng))]);
  const actions: Float32Array[][] = envs.map(() => []);
  const rtg: number[][] = envs.map(() => [Math.fround(args.target / args.scale)]);
  const ret = new Array<number>(E).fill(0);
  const len = new Array<number>(E).fill(0);
  const active = new Array<boolean>(E).fill(true);

  for (let t = 0; t < maxSteps; t++) {
    const live = [...Array(E).keys()].filter((i) => active[i]);
    if (live.length === 0) break;
    for (const i of live) actions[i]!.push(new Float32Array(A)); // the current step's action slot: 0
    const n = Math.min(t + 1, K);
    const from = t + 1 - n;
    const B = live.length;
    const s = new Float32Array(B * n * S);
    const a = new Float32Array(B * n * A);
    const r = new Float32Array(B * n);
    const ts = new Int32Array(B * n);
    live.forEach((i, b) => {
      for (let k = 0; k < n; k++) {
        s.set(states[i]![from + k]!, (b * n + k) * S);
        a.set(actions[i]![from + k]!, (b * n + k) * A);
        r[b * n + k] = rtg[i]![from + k]!;
        ts[b * n + k] = from + k;
      }
    });
    const out = tf.tidy(() => {
      const pred = args.model.forward(tf.tensor3d(s, [B, n, S]), tf.tensor3d(a, [B, n, A]), tf.tensor3d(r, [B, n, 1]), tf.tensor2d(ts, [B, n], 'int32'), EVAL);
      return tf.slice(pred, [0, n - 1, 0], [B, 1, A]).reshape([B, A]); // the action of the last state
    });
    const act = out.dataSync() as Float32Array;
    out.dispose();
    live.forEach((i, b) => {
      const action = act.slice(b * A, (b + 1) * A);
      actions[i]![t] = action;
      const step = envs[i]!.step(Float64Array.from(action));
      ret[i]! += step.reward;
      len[i]!++;
      states[i]!.push(normalise(step.observation));
      const last = rtg[i]![t]!;
      rtg[i]!.push(args.mode === 'delayed' ? last : Math.fround(last - step.reward / args.scale));
      if (step.terminated || step.truncated) active[i] = false;
    });
  }
  return { returns: ret, lengths: len };
}
