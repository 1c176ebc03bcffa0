/**
 * Optimisers written on tf.Variables, following PyTorch's update formulas exactly
 * (torch.optim.Adam, AdamW and RAdam, single-tensor code path). We write them ourselves
 * because tfjs's built-in ones have no decoupled weight decay and no RAdam, and because
 * their state must be saved and restored bit for bit by our checkpoints.
 *
 * Weight decay follows each parameter's `decay` flag (nn/module.ts ParamInfo: false for
 * norms, biases, position embeddings) unless the config says `decayAll`.
 */
import { tf } from '../tf.ts';
import type { ParamInfo } from '../nn/module.ts';
import type { OptimizerConfig } from '../config/schema.ts';

/** Everything needed to continue an optimiser exactly: its step count and its slot tensors by name. */
export interface OptimizerState {
  step: number;
  /** `<param>.m`, `<param>.v` (first and second moments). */
  tensors: Record<string, tf.Tensor>;
}

interface Slot {
  info: ParamInfo;
  decay: boolean;
  m: tf.Variable;
  v: tf.Variable;
}

/** The most elements stacked into one tensor by the optimiser's update and the clipping norm (4 MiB of float32). */
const STACK_ELEMENTS = 2 ** 20;

/** A non-trainable variable of zeros shaped like `like` (the initial value is copied, so it is disposed here). */
function zeroVariable(like: tf.Tensor): tf.Variable {
  const z = tf.zerosLike(like);
  const v = tf.variable(z, false);
  z.dispose();
  return v;
}

/** The scalars of update number `t` (1, 2, ...) that every parameter shares. */
export interface StepCoefficients {
  b1: number;
  b2: number;
  /** Bias corrections 1 - beta^t. */
  bc1: number;
  bc2: number;
  wd: number;
  /** Decoupled (AdamW-style) decay shrinks the weights directly; otherwise decay is an L2 term in the gradient. */
  decoupled: boolean;
  /** RAdam's variance rectification (Liu et al. 2020) as torch.optim.RAdam computes it; null while the variance is not tractable (or not RAdam). */
  rect: number | null;
}

export function stepCoefficients(c: OptimizerConfig, t: number): StepCoefficients {
  const [b1, b2] = c.betas;
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  let rect: number | null = null;
  if (c.type === 'radam') {
    const rhoInf = 2 / (1 - b2) - 1;
    const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
    if (rhoT > 5) rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
  }
  return { b1, b2, bc1, bc2, wd: c.weightDecay, decoupled: c.type === 'adamw' || (c.type === 'radam' && c.decoupled), rect };
}

/** Adam, AdamW and RAdam: one moment pair per parameter, three ways of using it. */
export class AdamFamily {
  readonly config: OptimizerConfig;
  /** Updates done so far (PyTorch's `state['step']`). */
  stepCount = 0;
  private readonly slots: Slot[];

  constructor(params: ParamInfo[], config: OptimizerConfig) {
    this.config = config;
    this.slots = params
      .filter((p) => p.trainable)
      .map((info) => ({
        info,
        decay: config.decayAll || info.decay,
        m: zeroVariable(info.variable),
        v: zeroVariable(info.variable),
      }));
  }

  /** Parameters this optimiser updates, by name. */
  get paramNames(): string[] {
    return this.slots.map((s) => s.info.name);
  }

  /**
   * One update with learning rate `lr`. `grads` maps parameter names to gradients; a
   * parameter without a gradient (unused in the forward pass) is left untouched, as PyTorch
   * does for `p.grad is None`. `gradScale` multiplies every gradient first (gradient clipping's
   * coefficient; 1 = none), as `g * gradScale` would before the call.
   *
   * Small models spend their update in kernel launches, not arithmetic: per parameter the
   * update is about 13 element-wise kernels. Parameters of one shape and one decay flag are
   * therefore stacked on a new leading axis (up to STACK_ELEMENTS per stack) and updated by one
   * kernel per operation, then unstacked into their variables. Element-wise arithmetic does not depend on how the elements
   * are grouped, so the result is bit for bit the per-parameter update's.
   */
  step(grads: Record<string, tf.Tensor>, lr: number, gradScale = 1): void {
    this.stepCount += 1;
    const t = this.stepCount;
    const c = this.config;
    const { b1, b2, bc1, bc2, wd, decoupled, rect } = stepCoefficients(c, t);

    /** The update of `p` (one parameter, or a stack of same-shaped ones) from its gradient and moments; returns [p, m, v]. */
    const adam = (p: tf.Tensor, g0: tf.Tensor, m0: tf.Tensor, v0: tf.Tensor, doDecay: boolean): [tf.Tensor, tf.Tensor, tf.Tensor] => {
      let pNew: tf.Tensor = p;
      let g: tf.Tensor = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
      if (doDecay && decoupled) pNew = tf.mul(p, 1 - lr * wd);
      if (doDecay && !decoupled) g = tf.add(g, tf.mul(p, wd));
      const m = tf.add(tf.mul(m0, b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(v0, b2), tf.mul(tf.square(g), 1 - b2));
      let update: tf.Tensor;
      if (c.type === 'radam') {
        const mHat = tf.div(m, bc1);
        update =
          rect === null
            ? tf.mul(mHat, lr)
            : tf.mul(tf.div(mHat, tf.add(tf.sqrt(v), c.eps)), lr * rect * Math.sqrt(bc2));
      } else {
        // denom = sqrt(v) / sqrt(bc2) + eps; step = lr / bc1
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), c.eps);
        update = tf.mul(tf.div(m, denom), lr / bc1);
      }
      return [tf.sub(pNew, update), m, v];
    };

    // Groups of parameters with a gradient, by shape and decay, in the order of the parameters,
    // each of at most STACK_ELEMENTS elements (a group's stacked copies are transient memory;
    // large parameters gain nothing from stacking anyway).
    const groups: { slots: Slot[]; grads: tf.Tensor[]; doDecay: boolean }[] = [];
    const open = new Map<string, (typeof groups)[number]>();
    for (const s of this.slots) {
      const g = grads[s.info.name];
      if (!g) continue;
      const doDecay = s.decay && wd > 0;
      const key = `${s.info.variable.shape.join('x')}|${doDecay}`;
      let group = open.get(key);
      if (!group || (group.slots.length + 1) * g.size > STACK_ELEMENTS) {
        group = { slots: [], grads: [], doDecay };
        groups.push(group);
        open.set(key, group);
      }
      group.slots.push(s);
      group.grads.push(g);
    }
    for (const { slots, grads: gs, doDecay } of groups) {
      tf.tidy(() => {
        if (slots.length === 1) {
          const s = slots[0]!;
          const [p, m, v] = adam(s.info.variable, gs[0]!, s.m, s.v, doDecay);
          s.m.assign(m);
          s.v.assign(v);
          s.info.variable.assign(p);
          return;
        }
        const stack = (f: (s: Slot) => tf.Tensor) => tf.stack(slots.map(f)); // [n, ...shape]
        const [p, m, v] = adam(stack((s) => s.info.variable), tf.stack(gs), stack((s) => s.m), stack((s) => s.v), doDecay);
        const [ps, ms, vs] = [tf.unstack(p), tf.unstack(m), tf.unstack(v)];
        slots.forEach((s, i) => {
          s.m.assign(ms[i]!);
          s.v.assign(vs[i]!);
          s.info.variable.assign(ps[i]!);
        });
      });
    }
  }

  /** The live state (the tensors are the optimiser's own variables: read them, do not dispose them). */
  getState(): OptimizerState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const s of this.slots) {
      tensors[`${s.info.name}.m`] = s.m;
      tensors[`${s.info.name}.v`] = s.v;
    }
    return { step: this.stepCount, tensors };
  }

  /** Restores a saved state; throws naming the first missing or mis-shaped slot. */
  setState(state: OptimizerState): void {
    for (const s of this.slots) {
      for (const [k, variable] of [['m', s.m], ['v', s.v]] as const) {
        const name = `${s.info.name}.${k}`;
        const t = state.tensors[name];
        if (!t) throw new Error(`optimizer state has no '${name}': the checkpoint belongs to a different model`);
        if (t.shape.join(',') !== variable.shape.join(',')) {
          throw new Error(`optimizer state '${name}' has shape [${t.shape}] but the parameter has [${variable.shape}]`);
        }
        variable.assign(t);
      }
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
  }
}

export type Optimizer = AdamFamily;

export function makeOptimizer(config: OptimizerConfig, params: ParamInfo[]): Optimizer {
  return new AdamFamily(params, config);
}

/**
 * Scales gradients so that their global L2 norm is at most `maxNorm`
 * (torch.nn.utils.clip_grad_norm_: coefficient maxNorm / (norm + 1e-6), applied only when < 1).
 * Returns new tensors (the caller disposes the old ones) and the norm before clipping (as `clipScale` measures it).
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const { norm, scale } = clipScale(grads, maxNorm);
  const out: Record<string, tf.Tensor> = {};
  for (const [n, g] of Object.entries(grads)) out[n] = scale < 1 ? tf.mul(g, scale) : tf.clone(g);
  return { grads: out, norm };
}

/**
 * The norm of `grads` and the factor that clips it to `maxNorm` (1 when it is within), for
 * `optimizer.step(grads, lr, scale)`: the same update as stepping on `clipByGlobalNorm`'s
 * gradients, without a scaled copy of every gradient.
 */
export function clipScale(grads: Record<string, tf.Tensor>, maxNorm: number): { norm: number; scale: number } {
  const norm = stackedNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  return { norm, scale: coef < 1 ? coef : 1 };
}

/**
 * `globalNorm` with the gradients of one shape stacked first (up to STACK_ELEMENTS): three kernels
 * per stack instead of two per gradient (a GPT's ~70 gradients have 7 shapes). The squares are summed in another
 * order, so the norm can differ from `globalNorm`'s in its last bits.
 */
function stackedNorm(grads: Record<string, tf.Tensor>): number {
  const stacks: tf.Tensor[][] = [];
  const open = new Map<string, tf.Tensor[]>();
  for (const g of Object.values(grads)) {
    const key = g.shape.join('x');
    let stack = open.get(key);
    if (!stack || (stack.length + 1) * g.size > STACK_ELEMENTS) {
      stack = [];
      stacks.push(stack);
      open.set(key, stack);
    }
    stack.push(g);
  }
  const normT = tf.tidy(() => {
    const sums = stacks.map((gs) => tf.sum(tf.square(gs.length === 1 ? gs[0]! : tf.stack(gs))));
    return tf.sqrt(sums.length === 1 ? sums[0]! : tf.addN(sums));
  });
  const norm = normT.dataSync()[0]!;
  normT.dispose();
  return norm;
}

/** The global L2 norm of all gradients together, sqrt(sum of squares), as clipping measures it. */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  const normT = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))));
  const norm = normT.dataSync()[0]!;
  normT.dispose();
  return norm;
}
