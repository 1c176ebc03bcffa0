/**
 * Flow-Attention against the golden vectors computed in float64 by the original PyTorch code
 * (`fixtures/golden/flow_attention.json.gz`, vendored from `../shared/golden`; see its README): forward outputs and gradients of
 * `loss = sum(output * lossWeights)`, for the core function and the whole layer, on the wasm
 * and the cpu backends (and tensorflow when tfjs-node loads here), for both causal implementations.
 */
import { readGoldenJson } from '../src/testing.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../src/tf.ts';
import { EVAL } from '../src/nn/module.ts';
import { Rng } from '../src/rng.ts';
import { flowAttention } from '../src/attention/flow.ts';
import { FlowAttention } from '../src/attention/layer.ts';
import { initBackend, shutdownBackend } from './helpers/backend.ts';
import { relErr } from './flow-reference.ts';
import { tensorflowForTests } from '../src/backend/tensorflow-setup.ts';

const goldenFile = 'fixtures/golden/flow_attention.json.gz';

type Nested = number | Nested[];
interface Weight {
  kernel: Nested;
  bias: Nested;
  gradKernel: Nested;
  gradBias: Nested;
}
interface GoldenCase {
  name: string;
  kind: 'core' | 'layer';
  causal: boolean;
  clamp: number;
  eps: number;
  H: number;
  // core
  q?: Nested;
  k?: Nested;
  v?: Nested;
  // layer
  dIn?: number;
  dModel?: number;
  dOut?: number;
  weights?: Record<'query' | 'key' | 'value' | 'out', Weight>;
  queries?: Nested;
  keysValues?: Nested | null;
  output: Nested;
  lossWeights: Nested;
  grads: Record<string, Nested | null>;
}

const cases: GoldenCase[] = readGoldenJson<{ cases: GoldenCase[] }>('flow_attention.json').cases;
const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
/** The README's tolerances: 1e-4 relative for small cases, 1e-3 for the long scaled ones. */
const tolerance = (c: GoldenCase) => (c.name.includes('long') ? 1e-3 : 1e-4);
/** tensorflow joins when @tensorflow/tfjs-node loads here; otherwise a visible "not tested" line. */
const backends = ['wasm', 'cpu', ...(tensorflowForTests() ? (['tensorflow'] as const) : [])] as const;

afterAll(async () => {
  await shutdownBackend();
});

describe(`golden vectors (${goldenFile})`, () => {
  it('has every case the README lists', () => {
    const names = cases.map((c) => c.name);
    for (const n of ['core_normal_small', 'core_normal_square', 'core_causal_small', 'core_causal_rl_clamp10', 'core_normal_long_scaled', 'core_causal_long_scaled']) {
      expect(names).toContain(n);
    }
    expect(cases.filter((c) => c.kind === 'layer').length).toBeGreaterThanOrEqual(2);
  });

  for (const backend of backends) {
    describe(backend, () => {
      for (const c of cases.filter((x) => x.kind === 'core')) {
        for (const impl of c.causal ? (['chunked', 'parallel', 'fused'] as const) : ([undefined] as const)) {
          // A small chunk that leaves a remainder (several chunks on every case), and the default.
          const oddChunk = c.name.includes('long') ? 48 : 4;
          for (const chunkSize of impl === 'chunked' ? [oddChunk, undefined] : [undefined]) {
            const label = `${c.name}${impl ? ` ${impl}` : ''}${chunkSize ? ` chunk ${chunkSize}` : ''}`;
            it(`core ${label}: output and grads of q, k, v`, async () => {
              await initBackend(backend);
              const before = tf.memory().numTensors;
              const q = tf.tensor(c.q!);
              const k = tf.tensor(c.k!);
              const v = tf.tensor(c.v!);
              const w = tf.tensor(c.lossWeights);
              const opts = { causal: c.causal, clamp: c.clamp, eps: c.eps, causalImpl: impl, chunkSize };
              const out = flowAttention(q, k, v, opts);
              const [gq, gk, gv] = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(flowAttention(a, b, d, opts), w)))([q, k, v]);
              const tol = tolerance(c);
              expect(out.shape).toEqual(q.shape.slice(0, 3).concat(v.shape[3]!));
              expect(relErr(out.dataSync(), flat(c.output)), 'output').toBeLessThan(tol);
              expect(relErr(gq!.dataSync(), flat(c.grads.q!)), 'grad q').toBeLessThan(tol);
              expect(relErr(gk!.dataSync(), flat(c.grads.k!)), 'grad k').toBeLessThan(tol);
              expect(relErr(gv!.dataSync(), flat(c.grads.v!)), 'grad v').toBeLessThan(tol);
              tf.dispose([q, k, v, w, out, gq!, gk!, gv!]);
              expect(tf.memory().numTensors, 'tensor leak').toBe(before);
            });
          }
        }
      }

      for (const c of cases.filter((x) => x.kind === 'layer')) {
        it(`layer ${c.name}: output and grads of inputs, kernels and biases`, async () => {
          await initBackend(backend);
          const before = tf.memory().numTensors;
          const layer = new FlowAttention(new Rng(0), {
            dModel: c.dModel!,
            nHeads: c.H,
            dInput: c.dIn!,
            dOutput: c.dOut!,
            causal: c.causal,
            clamp: c.clamp,
            eps: c.eps,
          });
          const state: Record<string, tf.Tensor> = {};
          for (const name of ['query', 'key', 'value', 'out'] as const) {
            state[`${name}.kernel`] = tf.tensor(c.weights![name].kernel);
            state[`${name}.bias`] = tf.tensor(c.weights![name].bias);
          }
          layer.loadState(state);
          tf.dispose(Object.values(state));
          const asVariable = (x: Nested, name: string) => tf.tidy(() => tf.variable(tf.tensor(x), true, name));
          const queries = asVariable(c.queries!, `golden_q_${c.name}_${backend}`);
          const kv = c.keysValues ? asVariable(c.keysValues, `golden_kv_${c.name}_${backend}`) : null;
          const w = tf.tensor(c.lossWeights);
          const run = () => layer.forward(queries, EVAL, kv ? { context: kv } : {});
          const out = run();
          const varList = [...layer.trainableVariables(), queries, ...(kv ? [kv] : [])];
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(run(), w)) as tf.Scalar, varList);
          const tol = tolerance(c);
          expect(relErr(out.dataSync(), flat(c.output)), 'output').toBeLessThan(tol);
          expect(Math.abs(value.dataSync()[0]! - (c as unknown as { loss: number }).loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs((c as unknown as { loss: number }).loss)));
          expect(relErr(grads[queries.name]!.dataSync(), flat(c.grads.queries!)), 'grad queries').toBeLessThan(tol);
          if (kv) expect(relErr(grads[kv.name]!.dataSync(), flat(c.grads.keysValues!)), 'grad keysValues').toBeLessThan(tol);
          for (const name of ['query', 'key', 'value', 'out'] as const) {
            const dense = layer[name]!; // key is null only for shared-QK layers
            expect(relErr(grads[dense.kernel.name]!.dataSync(), flat(c.weights![name].gradKernel)), `grad ${name}.kernel`).toBeLessThan(tol);
            expect(relErr(grads[dense.bias!.name]!.dataSync(), flat(c.weights![name].gradBias)), `grad ${name}.bias`).toBeLessThan(tol);
          }
          tf.dispose([out, w, value, ...Object.values(grads), queries, ...(kv ? [kv] : [])]);
          layer.dispose();
          expect(tf.memory().numTensors, 'tensor leak').toBe(before);
        });
      }
    });
  }
});
