/**
 * The LRA code's Flow-Attention variant against the golden vectors computed in float64 by the
 * original JAX function (`fixtures/golden/flow_attention_lra.json.gz`; see fixtures/golden/README.md):
 * feature map relu(x) + 1e-6, source competition over the heads of each key, no clamp.
 * Forward outputs and gradients of `loss = sum(output * lossWeights)` on every backend present
 * (wasm, cpu, and tensorflow when tfjs-node loads here), with the README's tolerances.
 */
import { readGoldenJson } from '../src/testing.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { flowAttention } from '../src/attention/flow.ts';
import type { CompetitionAxis, FeatureMap } from '../src/attention/flow-options.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { relErr } from './flow-reference.ts';
import { tensorflowForTests } from '../src/backend/tensorflow-setup.ts';

type Nested = number | Nested[];
interface LraGoldenCase {
  name: string;
  kind: 'core';
  causal: false;
  clamp: null;
  eps: number;
  featureMap: FeatureMap;
  competitionAxis: CompetitionAxis;
  B: number;
  H: number;
  L: number;
  S: number;
  D: number;
  q: Nested; // [B,H,L,D], before the feature map
  k: Nested; // [B,H,S,D]
  v: Nested; // [B,H,S,D]
  output: Nested; // [B,H,L,D]
  lossWeights: Nested; // [B,H,L,D]
  loss: number;
  grads: Record<'q' | 'k' | 'v', Nested>;
}

const golden = readGoldenJson<{ source: string; cases: LraGoldenCase[] }>('flow_attention_lra.json');
const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
/** The README's tolerances: 1e-4 relative for small cases, 1e-3 for the long scaled one. */
const tolerance = (c: LraGoldenCase) => (c.name.includes('long') ? 1e-3 : 1e-4);
/** tensorflow joins when @tensorflow/tfjs-node loads here. */
const backends = ['wasm', 'cpu', ...(tensorflowForTests() ? (['tensorflow'] as const) : [])] as const;

afterAll(async () => {
  await shutdownBackend();
});

describe('golden vectors of the LRA variant (fixtures/golden/flow_attention_lra.json.gz)', () => {
  it('has every case the README lists, all of the LRA variant', () => {
    expect(golden.cases.map((c) => c.name).sort()).toEqual(['lra_core_heads4', 'lra_core_long_scaled', 'lra_core_small']);
    for (const c of golden.cases) {
      expect([c.featureMap, c.competitionAxis, c.clamp, c.causal]).toEqual(['relu', 'heads', null, false]);
    }
  });

  for (const backend of backends) {
    describe(backend, () => {
      for (const c of golden.cases) {
        it(`${c.name} (B=${c.B} H=${c.H} L=${c.L} S=${c.S}): output, loss and grads of q, k, v`, async () => {
          await initBackend(backend);
          const before = tf.memory().numTensors;
          const q = tf.tensor(c.q);
          const k = tf.tensor(c.k);
          const v = tf.tensor(c.v);
          const w = tf.tensor(c.lossWeights);
          expect(q.shape).toEqual([c.B, c.H, c.L, c.D]);
          expect(k.shape).toEqual([c.B, c.H, c.S, c.D]);
          // The variant exactly as the golden file states it; nothing taken from our defaults.
          const opts = { causal: c.causal, clamp: c.clamp, eps: c.eps, featureMap: c.featureMap, competitionAxis: c.competitionAxis };
          const out = flowAttention(q, k, v, opts);
          const loss = tf.tidy(() => tf.sum(tf.mul(out, w)));
          const [gq, gk, gv] = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(flowAttention(a, b, d, opts), w)))([q, k, v]);
          const tol = tolerance(c);
          expect(out.shape).toEqual([c.B, c.H, c.L, c.D]);
          expect(relErr(out.dataSync(), flat(c.output)), 'output').toBeLessThan(tol);
          expect(Math.abs(loss.dataSync()[0]! - c.loss), 'loss').toBeLessThan(tol * Math.max(1, Math.abs(c.loss)));
          expect(relErr(gq!.dataSync(), flat(c.grads.q)), 'grad q').toBeLessThan(tol);
          expect(relErr(gk!.dataSync(), flat(c.grads.k)), 'grad k').toBeLessThan(tol);
          expect(relErr(gv!.dataSync(), flat(c.grads.v)), 'grad v').toBeLessThan(tol);
          tf.dispose([q, k, v, w, out, loss, gq!, gk!, gv!]);
          expect(tf.memory().numTensors, 'tensor leak').toBe(before);
        });
      }

      // The variant is what the golden file pins down: the paper's definition (competition over
      // the keys, sigmoid features) computes something else on the same inputs.
      it(`lra_core_small differs from the paper's definition on ${backend}`, async () => {
        await initBackend(backend);
        const c = golden.cases.find((x) => x.name === 'lra_core_small')!;
        const out = tf.tidy(() => flowAttention(tf.tensor(c.q), tf.tensor(c.k), tf.tensor(c.v), { clamp: null, featureMap: 'relu', competitionAxis: 'keys' }).dataSync());
        expect(relErr(out, flat(c.output))).toBeGreaterThan(1e-2);
      });
    });
  }
});
