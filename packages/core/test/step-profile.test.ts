/**
 * `bench step --profile` on a small two-block encoder: kernels split into forward and backward,
 * saved bytes credited to the modules that recorded them, the same gradients as without the
 * profiler, and nothing left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EncoderBlock } from '../src/attention/blocks.ts';
import { attentionFactory } from '../src/attention/registry.ts';
import { Dense } from '../src/nn/dense.ts';
import { Module, type ForwardContext } from '../src/nn/module.ts';
import { variableGrads } from '../src/train/grads.ts';
import { formatStepProfile, profileStep } from '../src/bench/step-profile.ts';
import { initBackend } from './helpers/backend.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(async () => {
  await initBackend('cpu');
});

class Tiny extends Module {
  readonly blocks: EncoderBlock[];
  readonly head: Dense;
  constructor(rng: Rng) {
    super();
    this.blocks = [0, 1].map((i) =>
      this.child(`blocks.${i}`, new EncoderBlock(rng, { dModel: 16, attention: attentionFactory({ dModel: 16, nHeads: 2 }, { type: 'flow' }), mlpHidden: 32, norm: 'post', dropout: 0.1 })),
    );
    this.head = this.child('head', new Dense(rng, { inFeatures: 16, outFeatures: 3 }));
  }
  loss(x: tf.Tensor, ctx: ForwardContext): tf.Scalar {
    return tf.tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h, ctx);
      return tf.mean(tf.square(this.head.forward(h))) as tf.Scalar;
    });
  }
}

describe('bench step --profile', () => {
  it('splits kernels into forward and backward and credits saved bytes to modules, without changing the gradients', async () => {
    const model = new Tiny(new Rng(1));
    const x = randn(new Rng(2), [2, 10, 16]);
    const vars = model.trainableVariables();
    const run = (afterForward?: Parameters<typeof variableGrads>[2]) => variableGrads(() => model.loss(x, { training: true, rng: new Rng(3) }), vars, afterForward);
    const before = tf.memory().numTensors;
    const ref = run();
    let grads: Record<string, tf.Tensor> = {};
    const p = await profileStep(model, (afterForward) => {
      const r = run(afterForward);
      r.value.dispose();
      grads = r.grads;
    });
    for (const [name, g] of Object.entries(ref.grads)) expect(Array.from(grads[name]!.dataSync()), name).toEqual(Array.from(g.dataSync()));
    tf.dispose([ref.value, ...Object.values(ref.grads), ...Object.values(grads)]);
    expect(tf.memory().numTensors, 'the profiler leaves nothing behind').toBe(before);

    expect(p.forwardKernels).toBeGreaterThan(50);
    expect(p.backwardKernels).toBeGreaterThan(50);
    expect(p.kernels.reduce((n, k) => n + k.forwardCount, 0)).toBe(p.forwardKernels);
    expect(p.kernels.reduce((n, k) => n + k.backwardCount, 0)).toBe(p.backwardKernels);
    expect(p.kernels.find((k) => k.kernel === 'BatchMatMul')!.backwardCount).toBeGreaterThan(p.kernels.find((k) => k.kernel === 'BatchMatMul')!.forwardCount);
    // every saved byte is credited once, by module and by kernel
    const sum = (rows: { bytes: number }[]) => rows.reduce((n, r) => n + r.bytes, 0);
    expect(sum(p.savedByModule)).toBe(p.savedBytes);
    expect(sum(p.savedByKernel)).toBe(p.savedBytes);
    const modules = new Set(p.savedByModule.map((r) => r.name));
    for (const m of ['blocks.0.mlp', 'blocks.0.mlp.fc1', 'blocks.1.attn', 'blocks.1.ln2', 'head']) expect(modules, m).toContain(m);
    // the MLP's GELU keeps its [2,10,32] input, fc2 its [20,32] input and its kernel
    expect(p.savedByModule.find((r) => r.name === 'blocks.0.mlp.fc2')!.bytes).toBe((20 * 32 + 32 * 16) * 4);
    expect(p.savedByKernel.map((r) => r.name)).toEqual(expect.arrayContaining(['Dense', 'LayerNorm', 'Gelu', 'Dropout']));
    expect(p.peakBytes).toBeGreaterThanOrEqual(p.savedBytes);
    expect(['forward', 'backward']).toContain(p.peakAt.pass);
    // the profiler restored every module's own forward
    for (const [, m] of model.namedModules()) expect(Object.prototype.hasOwnProperty.call(m, 'forward')).toBe(false);
    const text = formatStepProfile(p);
    expect(text).toMatch(/^Kernels launched: \d+ forward, \d+ backward/);
    expect(text).toContain('| blocks.0.mlp |');
    x.dispose();
    model.dispose();
  });
});
