import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { Rng } from '../src/rng.ts';
import { EVAL } from '../src/nn/module.ts';
import { z } from 'zod';
import { ATTENTIONS, attentionFactory, attentionTypes, buildAttention, formatAttentionList, getAttention, listAttentions, parseAttentionConfig } from '../src/attention/registry.ts';
import { attentionSchema } from '../src/config/schema.ts';
import { ConfigError } from '../src/errors.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TYPES = ['cosformer', 'flow', 'linear', 'mobile', 'performer', 'reformer', 'softmax'];

describe('attention registry', () => {
  it('lists every type with its options', () => {
    const infos = listAttentions();
    expect(infos.map((a) => a.type)).toEqual(TYPES);
    const flow = infos.find((a) => a.type === 'flow')!;
    expect(flow.options.map((o) => o.name)).toContain('competition');
    expect(flow.options.find((o) => o.name === 'featureMap')!.type).toBe("'sigmoid' | 'relu'");
    expect(infos.find((a) => a.type === 'performer')!.options.find((o) => o.name === 'nbFeatures')!.type).toBe('integer >= 1');
    const text = formatAttentionList();
    for (const t of TYPES) expect(text).toContain(`${t}: `);
    expect(text).toContain('self-attention only');
  });

  for (const type of TYPES) {
    for (const causal of [false, true]) {
      const spec = getAttention(type);
      if (causal && !spec.causal) continue;
      it(`builds '${type}'${causal ? ' (causal)' : ''} that maps [B, L, d] -> [B, L, d] without leaking tensors, and trains`, () => {
        const rng = new Rng(1);
        const layer = buildAttention(rng, { dModel: 16, nHeads: 4, causal }, { type });
        expect(layer.kind).toBe(type);
        expect(layer.causal).toBe(causal);
        const x = tf.randomNormal([2, 8, 16], 0, 1, 'float32', 3);
        const before = tf.memory().numTensors;
        const y = layer.forward(x, EVAL);
        expect(y.shape).toEqual([2, 8, 16]);
        expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
        y.dispose();
        expect(tf.memory().numTensors).toBe(before);
        // Gradients reach every trainable parameter and are finite.
        const vars = layer.trainableVariables();
        const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(layer.forward(x, EVAL))) as tf.Scalar, vars);
        for (const v of vars) {
          const g = grads[v.name];
          expect(g, `${type}: no gradient for ${v.name}`).toBeDefined();
          expect(Array.from(g!.dataSync()).every(Number.isFinite)).toBe(true);
        }
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
        layer.dispose();
      });
    }
  }

  it('validates options with zod, naming the field; rejects unknown options and unknown types', () => {
    expect(parseAttentionConfig({ type: 'performer', nbFeatures: 64 }).options).toEqual({ nbFeatures: 64 });
    const bad = () => parseAttentionConfig({ type: 'performer', nbFeatures: 1.5, redraw: 3 });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toMatch(/attention\.nbFeatures/);
      expect(msg).toMatch(/unknown option\(s\) redraw/);
    }
    expect(() => parseAttentionConfig({ type: 'reformer', nBuckets: 3 })).toThrow(/attention\.nBuckets: must be 1 or even/);
    expect(() => parseAttentionConfig({ type: 'favor' })).toThrow(/unknown attention type 'favor'.*performer/);
    expect(() => buildAttention(new Rng(1), { dModel: 8, nHeads: 2, causal: true }, { type: 'mobile' })).toThrow(/no causal form/);
  });

  it("each option's description names the default its schema applies (the schema is the only source; the text must follow it)", () => {
    let checked = 0;
    for (const t of attentionTypes()) {
      for (const [name, field] of Object.entries(ATTENTIONS[t]!.options.shape as Record<string, z.ZodType>)) {
        if (!(field instanceof z.ZodDefault)) continue;
        const d = field.parse(undefined);
        const shown = typeof d === 'string' ? `'${d}'` : typeof d === 'number' && d !== 0 && Math.abs(d) < 1e-3 ? d.toExponential() : String(d);
        expect(field.description, `${t}.${name}`).toContain(shown);
        expect(field.description, `${t}.${name}`).toContain('default');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('plugs its schemas into the config schema', () => {
    const s = attentionSchema();
    expect(s.safeParse({ type: 'flow', clamp: null, competition: false }).success).toBe(true);
    expect(s.safeParse({ type: 'flow', clmap: 5 }).success).toBe(false);
    expect(s.safeParse({ type: 'nope' }).success).toBe(false);
  });

  it('options reach the layer (flow ablation, performer features, reformer hashing)', () => {
    const f = attentionFactory({ dModel: 8, nHeads: 2 }, { type: 'performer', nbFeatures: 5, redrawInterval: 0 });
    const p = f(new Rng(2)) as unknown as { projection: tf.Variable; options: { redrawInterval: number } };
    expect(p.projection.shape).toEqual([5, 4]);
    expect(p.options.redrawInterval).toBe(0);
    const flow = buildAttention(new Rng(2), { dModel: 8, nHeads: 2 }, { type: 'flow', competition: false, clamp: null }) as unknown as {
      flowOptions: { competition: boolean; clamp: number | null };
    };
    expect(flow.flowOptions.competition).toBe(false);
    expect(flow.flowOptions.clamp).toBe(null);
  });
});
