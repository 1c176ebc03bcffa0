import { describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Module } from '../src/nn/module.ts';
import { OptimizerSchema, type OptimizerConfig } from '../src/config/schema.ts';
import { clipByGlobalNorm, clipScale, globalNorm, makeOptimizer, stepCoefficients } from '../src/train/optim.ts';
import { Rng } from '../src/rng.ts';

class Two extends Module {
  w: tf.Variable;
  b: tf.Variable;
  constructor(w: number[], b: number[]) {
    super();
    this.w = this.param('w', tf.tensor1d(w)); // decayed
    this.b = this.param('b', tf.tensor1d(b), { decay: false }); // never decayed unless decayAll
  }
}


/** Same-shaped parameters, decayed and not, plus singletons: the optimiser stacks the first kinds. */
class Many extends Module {
  constructor(rng: Rng, large = false) {
    super();
    const r = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
    for (let i = 0; i < 3; i++) this.param(`w${i}`, r([4, 3]));
    for (let i = 0; i < 2; i++) this.param(`n${i}`, r([4, 3]), { decay: false });
    for (let i = 0; i < 2; i++) this.param(`b${i}`, r([3]), { decay: false });
    this.param('e', r([5]));
    if (large) {
      // beyond the optimiser's stack size (2^20 elements): stacks of 3 + 1, and singletons
      for (let i = 0; i < 4; i++) this.param(`big${i}`, r([300, 1000]));
      for (let i = 0; i < 2; i++) this.param(`huge${i}`, r([530, 1000]));
    }
  }
}

/** The update one parameter at a time in tfjs float32 (the optimiser's formulas before it stacked parameters). */
function perParameterStep(c: OptimizerConfig, t: number, params: Record<string, { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor; decay: boolean }>, grads: Record<string, tf.Tensor>, lr: number): void {
  // The shared scalars are the optimiser's own (the float64 reference below checks them); this
  // checks that stacking parameters changes nothing.
  const { b1, b2, bc1, bc2, wd, decoupled, rect } = stepCoefficients(c, t);
  for (const [name, s] of Object.entries(params)) {
    const g0 = grads[name]!;
    const next = tf.tidy(() => {
      const doDecay = (s.decay || c.decayAll) && wd > 0;
      let pNew: tf.Tensor = s.p;
      let g: tf.Tensor = g0;
      if (doDecay && decoupled) pNew = tf.mul(s.p, 1 - lr * wd);
      if (doDecay && !decoupled) g = tf.add(g, tf.mul(s.p, wd));
      const m = tf.add(tf.mul(s.m, b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.square(g), 1 - b2));
      let update: tf.Tensor;
      if (c.type === 'radam') {
        const mHat = tf.div(m, bc1);
        update = rect === null ? tf.mul(mHat, lr) : tf.mul(tf.div(mHat, tf.add(tf.sqrt(v), c.eps)), lr * rect * Math.sqrt(bc2));
      } else {
        update = tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), c.eps)), lr / bc1);
      }
      return { p: tf.sub(pNew, update), m, v };
    });
    tf.dispose([s.p, s.m, s.v]);
    Object.assign(s, next);
  }
}

const cfg = (c: Record<string, unknown>) => OptimizerSchema.parse(c) as OptimizerConfig;

/** PyTorch's single-tensor Adam/AdamW/RAdam update, in float64, for one parameter. */
function reference(c: OptimizerConfig, p0: number[], gradsPerStep: number[][], lrs: number[], decay: boolean): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const [b1, b2] = c.betas;
  const wd = decay || c.decayAll ? c.weightDecay : 0;
  const decoupled = c.type === 'adamw' || (c.type === 'radam' && c.decoupled);
  gradsPerStep.forEach((gs, i) => {
    const t = i + 1;
    const lr = lrs[i]!;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    for (let j = 0; j < p.length; j++) {
      let g = gs[j]!;
      if (decoupled) p[j]! *= 1 - lr * wd;
      else g += wd * p[j]!;
      m[j] = b1 * m[j]! + (1 - b1) * g;
      v[j] = b2 * v[j]! + (1 - b2) * g * g;
      if (c.type === 'radam') {
        const mHat = m[j]! / bc1;
        const rhoInf = 2 / (1 - b2) - 1;
        const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
        if (rhoT > 5) {
          const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
          const adaptive = Math.sqrt(bc2) / (Math.sqrt(v[j]!) + c.eps);
          p[j]! -= mHat * lr * adaptive * rect;
        } else {
          p[j]! -= mHat * lr;
        }
      } else {
        const denom = Math.sqrt(v[j]!) / Math.sqrt(bc2) + c.eps;
        p[j]! -= (lr / bc1) * (m[j]! / denom);
      }
    }
  });
  return p;
}

function run(c: OptimizerConfig, steps: number) {
  const model = new Two([1, -2, 0.5], [0.3, -0.7]);
  const opt = makeOptimizer(c, model.namedParams());
  const gw: number[][] = [];
  const gb: number[][] = [];
  const lrs: number[] = [];
  for (let s = 0; s < steps; s++) {
    gw.push([0.1 * (s + 1), -0.5 + 0.05 * s, Math.sin(s)]);
    gb.push([Math.cos(s), 0.2 - 0.1 * s]);
    lrs.push(0.01 * (1 + 0.1 * s));
    const grads = { w: tf.tensor1d(gw[s]!), b: tf.tensor1d(gb[s]!) };
    opt.step(grads, lrs[s]!);
    tf.dispose(grads);
  }
  const out = { w: Array.from(model.w.dataSync()), b: Array.from(model.b.dataSync()) };
  const ref = { w: reference(c, [1, -2, 0.5], gw, lrs, true), b: reference(c, [0.3, -0.7], gb, lrs, false) };
  opt.dispose();
  model.dispose();
  return { out, ref };
}

describe('optimisers (PyTorch formulas)', () => {
  it('first updates, computed by hand', () => {
    // p = 1, g = 0.5, lr = 0.1: Adam moves by lr * g / |g| = 0.1; AdamW first shrinks p by (1 - lr * wd);
    // RAdam's first steps are unrectified (rho_t <= 5): p -= lr * m_hat = lr * g.
    const cases: [Record<string, unknown>, number][] = [
      [{ type: 'adam', lr: 0.1 }, 0.9],
      [{ type: 'adamw', lr: 0.1, weightDecay: 0.1 }, 1 * (1 - 0.01) - 0.1],
      [{ type: 'adam', lr: 0.1, weightDecay: 0.1 }, 0.9], // L2: g' = 0.6, still a unit step
      [{ type: 'radam', lr: 0.1 }, 0.95],
    ];
    for (const [c, expected] of cases) {
      const model = new Two([1], [1]);
      const opt = makeOptimizer(cfg(c), model.namedParams());
      const g = { w: tf.tensor1d([0.5]), b: tf.tensor1d([0.5]) };
      opt.step(g, 0.1);
      expect(model.w.dataSync()[0]).toBeCloseTo(expected, 6);
      tf.dispose(g);
      opt.dispose();
      model.dispose();
    }
  });

  const configs: Record<string, unknown>[] = [
    { type: 'adamw', lr: 1, weightDecay: 0.1, betas: [0.9, 0.98], eps: 1e-9 },
    { type: 'adamw', lr: 1, weightDecay: 0.1, decayAll: true },
    { type: 'adam', lr: 1, weightDecay: 0.01 },
    { type: 'adam', lr: 1 },
    { type: 'radam', lr: 1, weightDecay: 0.01 },
    { type: 'radam', lr: 1, weightDecay: 0.01, decoupled: true },
  ];
  for (const c of configs) {
    it(`${JSON.stringify(c)} matches the reference over 10 steps (both RAdam branches)`, () => {
      const { out, ref } = run(cfg(c), 10);
      for (const k of ['w', 'b'] as const) {
        out[k].forEach((x, i) => expect(x).toBeCloseTo(ref[k][i]!, 5));
      }
    });
  }

  it('decay follows ParamInfo.decay: a non-decayed parameter with zero gradient does not move', () => {
    const model = new Two([1], [1]);
    const opt = makeOptimizer(cfg({ type: 'adamw', lr: 0.1, weightDecay: 0.5 }), model.namedParams());
    const g = { w: tf.tensor1d([0]), b: tf.tensor1d([0]) };
    opt.step(g, 0.1);
    expect(model.w.dataSync()[0]).toBeCloseTo(0.95, 6);
    expect(model.b.dataSync()[0]).toBe(1);
    tf.dispose(g);
    opt.dispose();
    model.dispose();
  });

  it('state round-trips: a restored optimiser continues identically, without leaking tensors', () => {
    const c = cfg({ type: 'radam', lr: 0.05 });
    const a = new Two([1, 2, 3], [4, 5]);
    const b = new Two([1, 2, 3], [4, 5]);
    const oa = makeOptimizer(c, a.namedParams());
    const grad = (s: number) => ({ w: tf.tensor1d([s, -s, 1]), b: tf.tensor1d([0.5, s]) });
    for (let s = 0; s < 7; s++) {
      const g = grad(s);
      oa.step(g, 0.05);
      tf.dispose(g);
    }
    b.loadState({ w: a.w, b: a.b });
    const ob = makeOptimizer(c, b.namedParams());
    ob.setState(oa.getState());
    const before = tf.memory().numTensors;
    for (let s = 7; s < 10; s++) {
      const g = grad(s);
      oa.step(g, 0.05);
      ob.step(g, 0.05);
      tf.dispose(g);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(b.w.dataSync())).toEqual(Array.from(a.w.dataSync()));
    expect(Array.from(b.b.dataSync())).toEqual(Array.from(a.b.dataSync()));
    for (const x of [oa, ob, a, b]) x.dispose();
  });

  for (const [c, large] of [
    [{ type: 'adamw', lr: 1, weightDecay: 0.1, betas: [0.9, 0.99], eps: 1e-8 }, false],
    [{ type: 'adamw', lr: 1, weightDecay: 0.1, decayAll: true }, false],
    [{ type: 'adam', lr: 1, weightDecay: 0.01 }, false],
    [{ type: 'radam', lr: 1, weightDecay: 0.01 }, false],
    [{ type: 'adamw', lr: 1, weightDecay: 0.1 }, true],
  ] as const) {
    it(`${JSON.stringify(c)}${large ? ' with large parameters' : ''}: stacking same-shaped parameters gives the per-parameter update bit for bit, clipping factor included`, () => {
      const config = cfg(c);
      const model = new Many(new Rng(7), large);
      const opt = makeOptimizer(config, model.namedParams());
      const ref = Object.fromEntries(
        model.namedParams().map((p) => [p.name, { p: tf.clone(p.variable), m: tf.zerosLike(p.variable), v: tf.zerosLike(p.variable), decay: p.decay }]),
      );
      const rng = new Rng(11);
      const before = tf.memory().numTensors;
      for (let t = 1; t <= (large ? 2 : 10); t++) {
        const grads = Object.fromEntries(model.namedParams().map((p) => [p.name, tf.tensor(Float32Array.from({ length: p.variable.size }, () => rng.normal() * 3), p.variable.shape)]));
        const lr = 0.01 * t;
        const maxNorm = large ? 20 : 2;
        const { scale } = clipScale(grads, maxNorm); // below the norm: a real clipping factor
        expect(scale).toBeLessThan(1);
        opt.step(grads, lr, scale);
        const clipped = clipByGlobalNorm(grads, maxNorm).grads;
        perParameterStep(config, t, ref, clipped, lr);
        tf.dispose([...Object.values(grads), ...Object.values(clipped)]);
      }
      expect(tf.memory().numTensors).toBe(before); // the reference replaces its tensors, the optimiser its variables
      for (const p of model.namedParams()) expect(Array.from(p.variable.dataSync()), p.name).toEqual(Array.from(ref[p.name]!.p.dataSync()));
      const state = opt.getState();
      for (const [name, r] of Object.entries(ref)) {
        expect(Array.from(state.tensors[`${name}.m`]!.dataSync())).toEqual(Array.from(r.m.dataSync()));
        expect(Array.from(state.tensors[`${name}.v`]!.dataSync())).toEqual(Array.from(r.v.dataSync()));
        tf.dispose([r.p, r.m, r.v]);
      }
      opt.dispose();
      model.dispose();
    });
  }

  it('clipByGlobalNorm scales as torch.nn.utils.clip_grad_norm_', () => {
    const g = { a: tf.tensor1d([3]), b: tf.tensor1d([4]) };
    const { grads, norm } = clipByGlobalNorm(g, 1);
    expect(norm).toBeCloseTo(5, 6);
    expect(grads.a!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(grads.b!.dataSync()[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    const kept = clipByGlobalNorm(g, 10);
    expect(kept.grads.a!.dataSync()[0]).toBe(3);
    expect(clipScale(g, 1).scale).toBe(1 / (5 + 1e-6));
    expect(clipScale(g, 10)).toEqual({ norm, scale: 1 });
    // same-shaped gradients are stacked for the norm: the same norm up to float32 rounding
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`g${i}`, tf.tensor(Float32Array.from({ length: i % 3 === 0 ? 12 : 20 }, (_, j) => Math.sin(i * 7 + j)), i % 3 === 0 ? [3, 4] : [20])]));
    expect(clipScale(many, 1).norm).toBeCloseTo(globalNorm(many), 5);
    tf.dispose(Object.values(many));
    tf.dispose([g, grads, kept.grads]);
  });
});
