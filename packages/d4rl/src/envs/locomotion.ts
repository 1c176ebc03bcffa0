/**
 * Hopper, HalfCheetah and Walker2d exactly as gym's `Hopper-v3`, `HalfCheetah-v3` and
 * `Walker2d-v3` define them (the versions D4RL v2 was recorded in and the paper evaluates in;
 * Gymnasium's v4 keeps the same definitions):
 *
 * | env         | obs | act | frame skip | dt    | ctrl cost | healthy                                         | reset noise                  |
 * | hopper      | 11  | 3   | 4          | 0.008 | 1e-3      | z > 0.7, |angle| < 0.2, |qpos[2:],qvel| < 100    | U(+-5e-3) on qpos and qvel   |
 * | halfcheetah | 17  | 6   | 5          | 0.05  | 0.1       | never terminates                                | U(+-0.1) qpos, 0.1 N(0,1) qvel |
 * | walker2d    | 17  | 6   | 4          | 0.008 | 1e-3      | 0.8 < z < 2, -1 < angle < 1                      | U(+-5e-3) on qpos and qvel   |
 *
 * - observation = qpos[1:] (the x position is excluded), then qvel, clipped to [-10, 10] for
 *   hopper and walker2d (not for halfcheetah);
 * - reward = forward_velocity + healthy_reward - ctrl_cost_weight * |action|^2, with
 *   forward_velocity = (x_after - x_before) / dt and healthy_reward 1 at every step
 *   (`terminate_when_unhealthy` makes it unconditional); halfcheetah has no healthy term;
 * - the action goes to `ctrl` as given (MuJoCo clamps it to ctrlrange; the cost uses the
 *   unclamped action, as gym does);
 * - an episode ends when unhealthy (terminated) or after 1000 steps (truncated, gym's TimeLimit).
 *
 * Several episodes can run side by side: every `LocomotionEnv` owns one MjData, and all of
 * them share one compiled MjModel per kind.
 */
import type { Rng } from '@flowformer/core';
import { loadAssetModel, type MainModule, type MjData, type MjModel } from './mujoco.ts';

export type EnvName = 'hopper' | 'halfcheetah' | 'walker2d';
export const ENV_NAMES: readonly EnvName[] = ['hopper', 'halfcheetah', 'walker2d'];

export interface StepInfo {
  xPosition: number;
  xVelocity: number;
  rewardForward: number;
  rewardCtrl: number;
  rewardHealthy: number;
}

export interface StepResult {
  observation: Float64Array;
  reward: number;
  /** Unhealthy: the episode is over and its last state is absorbing. */
  terminated: boolean;
  /** Time limit reached (1000 steps). */
  truncated: boolean;
  info: StepInfo;
}

/**
 * What evaluation and data generation need from an environment. A user can back it with any
 * simulator (e.g. their own MuJoCo via a native binding) and pass it to `rollout`/`evaluate`.
 */
export interface Env {
  readonly name: string;
  readonly obsDim: number;
  readonly actDim: number;
  readonly maxEpisodeSteps: number;
  reset(rng: Rng): Float64Array;
  step(action: ArrayLike<number>): StepResult;
  /** Frees simulator memory. */
  dispose(): void;
}

export interface LocomotionSpec {
  name: EnvName;
  /** Gym id the definition follows. */
  gymId: string;
  xml: string;
  frameSkip: number;
  forwardRewardWeight: number;
  ctrlCostWeight: number;
  /** null: the env never terminates (halfcheetah). */
  healthy: null | {
    reward: number;
    zRange: [number, number];
    angleRange: [number, number];
    /** Bound on every entry of [qpos[2:], qvel] (hopper only). */
    stateRange: [number, number] | null;
  };
  resetNoiseScale: number;
  /** 'uniform': qvel ~ U(+-scale) like qpos; 'normal': qvel ~ scale * N(0, 1). */
  resetVelocityNoise: 'uniform' | 'normal';
  /** Bound of the observed velocities, or null. */
  clipVelocity: number | null;
  maxEpisodeSteps: number;
}

export const SPECS: Record<EnvName, LocomotionSpec> = {
  hopper: {
    name: 'hopper',
    gymId: 'Hopper-v3',
    xml: 'hopper.xml',
    frameSkip: 4,
    forwardRewardWeight: 1,
    ctrlCostWeight: 1e-3,
    healthy: { reward: 1, zRange: [0.7, Infinity], angleRange: [-0.2, 0.2], stateRange: [-100, 100] },
    resetNoiseScale: 5e-3,
    resetVelocityNoise: 'uniform',
    clipVelocity: 10,
    maxEpisodeSteps: 1000,
  },
  halfcheetah: {
    name: 'halfcheetah',
    gymId: 'HalfCheetah-v3',
    xml: 'half_cheetah.xml',
    frameSkip: 5,
    forwardRewardWeight: 1,
    ctrlCostWeight: 0.1,
    healthy: null,
    resetNoiseScale: 0.1,
    resetVelocityNoise: 'normal',
    clipVelocity: null,
    maxEpisodeSteps: 1000,
  },
  walker2d: {
    name: 'walker2d',
    gymId: 'Walker2d-v3',
    xml: 'walker2d.xml',
    frameSkip: 4,
    forwardRewardWeight: 1,
    ctrlCostWeight: 1e-3,
    healthy: { reward: 1, zRange: [0.8, 2.0], angleRange: [-1, 1], stateRange: null },
    resetNoiseScale: 5e-3,
    resetVelocityNoise: 'uniform',
    clipVelocity: 10,
    maxEpisodeSteps: 1000,
  },
};

const models = new Map<EnvName, Promise<{ mj: MainModule; model: MjModel }>>();

/** Creates an environment (the compiled model is shared by every env of the same kind). */
export async function makeEnv(name: EnvName): Promise<LocomotionEnv> {
  const spec = SPECS[name];
  if (!spec) throw new Error(`unknown environment '${name}': expected one of ${ENV_NAMES.join(', ')}`);
  let p = models.get(name);
  if (!p) {
    p = loadAssetModel(spec.xml);
    models.set(name, p);
  }
  const { mj, model } = await p;
  return new LocomotionEnv(spec, mj, model);
}

export class LocomotionEnv implements Env {
  readonly name: string;
  readonly obsDim: number;
  readonly actDim: number;
  readonly maxEpisodeSteps: number;
  /** Control period: timestep x frame skip. */
  readonly dt: number;
  private data: MjData;
  private elapsed = 0;
  private readonly qpos0: Float64Array;

  constructor(
    readonly spec: LocomotionSpec,
    private readonly mj: MainModule,
    readonly model: MjModel,
  ) {
    this.name = spec.name;
    this.data = new mj.MjData(model);
    this.obsDim = model.nq - 1 + model.nv;
    this.actDim = model.nu;
    this.maxEpisodeSteps = spec.maxEpisodeSteps;
    this.dt = model.opt.timestep * spec.frameSkip;
    this.qpos0 = Float64Array.from(model.qpos0 as ArrayLike<number>);
  }

  // the heap views are re-read at every use: a growing WebAssembly memory detaches old ones
  get qpos(): Float64Array {
    return this.data.qpos as unknown as Float64Array;
  }
  get qvel(): Float64Array {
    return this.data.qvel as unknown as Float64Array;
  }

  /** Steps taken since the last reset. */
  get steps(): number {
    return this.elapsed;
  }

  /** Sets the full state (as gym's `set_state`) and recomputes derived quantities. */
  setState(qpos: ArrayLike<number>, qvel: ArrayLike<number>): void {
    if (qpos.length !== this.model.nq || qvel.length !== this.model.nv) throw new Error(`${this.name}.setState: expected qpos[${this.model.nq}], qvel[${this.model.nv}]`);
    this.qpos.set(qpos);
    this.qvel.set(qvel);
    this.mj.mj_forward(this.model, this.data);
  }

  reset(rng: Rng): Float64Array {
    const s = this.spec;
    this.mj.mj_resetData(this.model, this.data);
    const nq = this.model.nq;
    const nv = this.model.nv;
    const c = s.resetNoiseScale;
    const qpos = new Float64Array(nq);
    const qvel = new Float64Array(nv);
    // init_qvel is zero for these models
    for (let i = 0; i < nq; i++) qpos[i] = this.qpos0[i]! + rng.uniform(-c, c);
    for (let i = 0; i < nv; i++) qvel[i] = s.resetVelocityNoise === 'uniform' ? rng.uniform(-c, c) : c * rng.normal();
    this.setState(qpos, qvel);
    this.elapsed = 0;
    return this.observation();
  }

  observation(): Float64Array {
    const nq = this.model.nq;
    const nv = this.model.nv;
    const qpos = this.qpos;
    const qvel = this.qvel;
    const clip = this.spec.clipVelocity;
    const o = new Float64Array(nq - 1 + nv);
    for (let i = 1; i < nq; i++) o[i - 1] = qpos[i]!;
    for (let i = 0; i < nv; i++) o[nq - 1 + i] = clip === null ? qvel[i]! : Math.min(clip, Math.max(-clip, qvel[i]!));
    return o;
  }

  /** Gym's `is_healthy` on the current state (always true for halfcheetah). */
  isHealthy(): boolean {
    const h = this.spec.healthy;
    if (!h) return true;
    const qpos = this.qpos;
    const z = qpos[1]!;
    const angle = qpos[2]!;
    if (!(h.zRange[0] < z && z < h.zRange[1])) return false;
    if (!(h.angleRange[0] < angle && angle < h.angleRange[1])) return false;
    if (h.stateRange) {
      const [lo, hi] = h.stateRange;
      for (let i = 2; i < this.model.nq; i++) if (!(lo < qpos[i]! && qpos[i]! < hi)) return false;
      const qvel = this.qvel;
      for (let i = 0; i < this.model.nv; i++) if (!(lo < qvel[i]! && qvel[i]! < hi)) return false;
    }
    return true;
  }

  step(action: ArrayLike<number>): StepResult {
    const s = this.spec;
    if (action.length !== this.actDim) throw new Error(`${this.name}.step: action has ${action.length} entries, expected ${this.actDim}`);
    const xBefore = this.qpos[0]!;
    const ctrl = this.data.ctrl as unknown as Float64Array;
    let ctrlSq = 0;
    for (let i = 0; i < this.actDim; i++) {
      const a = action[i]!;
      if (!Number.isFinite(a)) throw new Error(`${this.name}.step: action[${i}] is ${a}`);
      ctrl[i] = a;
      ctrlSq += a * a;
    }
    for (let k = 0; k < s.frameSkip; k++) this.mj.mj_step(this.model, this.data);
    this.elapsed++;
    const xAfter = this.qpos[0]!;
    const xVelocity = (xAfter - xBefore) / this.dt;
    const rewardForward = s.forwardRewardWeight * xVelocity;
    const rewardCtrl = s.ctrlCostWeight * ctrlSq;
    const rewardHealthy = s.healthy ? s.healthy.reward : 0;
    const terminated = s.healthy ? !this.isHealthy() : false;
    return {
      observation: this.observation(),
      reward: rewardForward + rewardHealthy - rewardCtrl,
      terminated,
      truncated: !terminated && this.elapsed >= this.maxEpisodeSteps,
      info: { xPosition: xAfter, xVelocity, rewardForward, rewardCtrl, rewardHealthy },
    };
  }

  dispose(): void {
    this.data.delete();
  }
}
