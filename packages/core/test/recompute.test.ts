/**
 * Activation recomputation (training.recompute): blocks that keep only their input for the
 * backward pass give the same loss and gradients as plain blocks, with both backward passes,
 * keep far fewer bytes, and leak nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EncoderBlock } from '../src/attention/blocks.ts';
import { attentionFactory } from '../src/attention/registry.ts';
import { Dense } from '../src/nn/dense.ts';
import { gradientsFreeingAsYouGo, variableGrads } from '../src/train/grads.ts';
import { initBackend } from './helpers/backend.ts';
import { randn } from './helpers/random.ts';

beforeAll(async () => {
  await initBackend('cpu');
});
afterAll(async () => {
  await initBackend('cpu');
});

function model(recompute: boolean, norm: 'post' | 'pre') {
  const rng = new Rng(4);
  const blocks = [0, 1].map(() => new EncoderBlock(rng, { dModel: 16, attention: attentionFactory({ dModel: 16, nHeads: 2 }, { type: 'flow' }), mlpHidden: 32, norm, dropout: 0.2, recompute }));
  const head = new Dense(rng, { inFeatures: 16, outFeatures: 3 });
  const vars = [...blocks.flatMap((b) => b.trainableVariables()), ...head.trainableVariables()];
  const x = randn(new Rng(5), [2, 10, 16]);
  const loss = () => {
    const ctx = { training: true, rng: new Rng(6) };
    let h: tf.Tensor = x;
    for (const b of blocks) h = b.forward(h, ctx);
    return tf.mean(tf.square(head.forward(h))) as tf.Scalar;
  };
  return { vars, loss, x, dispose: () => tf.dispose([...vars, x]) };
}

describe('training.recompute', () => {
  for (const norm of ['post', 'pre'] as const) {
    it(`${norm}-LN blocks: same loss and gradients as without it, with the trainer's pass and tfjs's; less kept for the backward`, () => {
      const plain = model(false, norm);
      const re = model(true, norm);
      const before = tf.memory().numTensors;
      for (const pass of [variableGrads, tf.variableGrads]) {
        const a = pass(plain.loss, plain.vars);
        const b = pass(re.loss, re.vars);
        expect(b.value.dataSync()[0]).toBe(a.value.dataSync()[0]);
        const names = Object.keys(a.grads);
        expect(Object.keys(b.grads)).toHaveLength(names.length);
        plain.vars.forEach((v, i) => {
          const ga = a.grads[v.name]!.dataSync();
          const gb = b.grads[re.vars[i]!.name]!.dataSync();
          for (let j = 0; j < ga.length; j++) expect(Math.abs(gb[j]! - ga[j]!), `${v.name}[${j}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ga[j]!)));
        });
        tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
      }
      expect(tf.memory().numTensors, 'nothing leaked').toBe(before);
      const kept = (m: ReturnType<typeof model>) => {
        let bytes = 0;
        const r = gradientsFreeingAsYouGo(m.loss, m.vars, (tape, onPath) => {
          for (const n of tape) if (onPath.has(n.id)) for (const t of n.saved ?? []) bytes += t.size * 4;
        });
        tf.dispose([r.value, ...r.grads.filter((g): g is tf.Tensor => g !== null)]);
        return bytes;
      };
      expect(kept(re)).toBeLessThan(kept(plain) / 3);
      plain.dispose();
      re.dispose();
    });
  }
});
