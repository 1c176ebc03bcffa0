/**
 * Perplexity with fairseq's context window, checked against a direct computation: a small
 * fake model whose logits depend on the whole prefix and on the position in the window, so
 * any mistake in which tokens a window holds changes the result.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng, shutdownBackend, tf } from '@flowformer/core';
import { TokenStream } from '../src/data/blocks.ts';
import { encodeFile } from '../src/data/corpus.ts';
import { Dictionary } from '../src/data/dictionary.ts';
import { evaluatePerplexity, scoreWindows, type LogitsFn } from '../src/eval.ts';

const V = 7;
const rng = new Rng(3);
const E = Array.from({ length: V }, () => Array.from({ length: V }, () => rng.normal()));
const u = Array.from({ length: V }, () => rng.normal());

/** logits_t = E[x_t] + 0.5 * mean_{s<=t} E[x_s] + 0.05 * t * u  (t = position in the window). */
function fakeLogitsJs(window: number[]): number[][] {
  const out: number[][] = [];
  const sum = new Array<number>(V).fill(0);
  window.forEach((x, t) => {
    for (let v = 0; v < V; v++) sum[v]! += E[x]![v]!;
    out.push(Array.from({ length: V }, (_, v) => E[x]![v]! + (0.5 * sum[v]!) / (t + 1) + 0.05 * t * u[v]!));
  });
  return out;
}

const fakeModel: LogitsFn = (tokens) =>
  tf.tidy(() => {
    const [B, T] = tokens.shape;
    const e = tf.gather(tf.tensor2d(E), tokens.reshape([-1])).reshape([B, T, V]);
    const tril = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
    const mean = tf.div(tril, tf.sum(tril, 1, true)); // [T,T] causal averaging
    const prefixMean = tf.matMul(tf.tile(mean.expandDims(0), [B, 1, 1]), e); // [B,T,V]
    const pos = tf.mul(tf.range(0, T).reshape([1, T, 1]), tf.mul(0.05, tf.tensor1d(u)).reshape([1, 1, V]));
    return tf.add(tf.add(e, tf.mul(0.5, prefixMean)), pos) as tf.Tensor3D;
  });

/** The same model, computing only the positions from `scoreFrom` on (as a real LM may). */
const fakeModelFrom: LogitsFn = (tokens, scoreFrom = 0) =>
  tf.tidy(() => tf.slice(fakeModel(tokens), [0, scoreFrom, 0], [-1, -1, -1]) as tf.Tensor3D);

/** Direct: target j (= S[j+1]) is read in the window of its block, which starts C tokens before the block. */
function directNll(stream: number[], N: number, C: number): number {
  const block = N - C;
  let total = 0;
  for (let j = 0; j + 1 < stream.length; j++) {
    const s = Math.floor(j / block) * block;
    const start = Math.max(0, s - C);
    const logits = fakeLogitsJs(stream.slice(start, j + 1)).at(-1)!;
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((a, x) => a + Math.exp(x - m), 0));
    total += lse - logits[stream[j + 1]!]!;
  }
  return total / (stream.length - 1);
}

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  await shutdownBackend();
});

describe('evaluatePerplexity', () => {
  const tokens = Int32Array.from({ length: 101 }, () => 3 + rng.int(V - 3));
  for (let i = 9; i < tokens.length; i += 13) tokens[i] = 2; // some </s>
  const stream = new TokenStream(tokens, 2);
  const S = Array.from({ length: stream.length }, (_, j) => stream.at(j));

  it('windows cover every target once with up to C tokens of context', () => {
    const w = scoreWindows(245569, 512, 400);
    expect(w.length).toBe(Math.ceil(245569 / 112));
    expect(w.reduce((n, x) => n + x.end - x.scoreStart, 0)).toBe(245569);
    expect(w[0]).toEqual({ start: 0, scoreStart: 0, end: 112 });
    expect(w[5]).toEqual({ start: 160, scoreStart: 560, end: 672 });
    expect(Math.max(...w.map((x) => x.end - x.start))).toBe(512);
    expect(() => scoreWindows(10, 8, 8)).toThrow(/contextWindow/);
  });

  for (const [N, C] of [
    [16, 10],
    [12, 0],
    [9, 8],
  ] as const) {
    it(`matches a direct computation (tokensPerSample ${N}, contextWindow ${C})`, () => {
      const want = directNll(S, N, C);
      const before = tf.memory().numTensors;
      for (const batchSize of [1, 3]) {
        for (const model of [fakeModel, fakeModelFrom]) {
          const r = evaluatePerplexity(model, stream, { tokensPerSample: N, contextWindow: C, batchSize, padId: 1 });
          expect(r.tokens).toBe(101);
          expect(r.nll).toBeCloseTo(want, 5);
          expect(r.ppl).toBeCloseTo(Math.exp(want), 4);
          expect(r.bits).toBeCloseTo(want / Math.LN2, 5);
        }
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('context changes the score (the window really carries history)', () => {
    const a = evaluatePerplexity(fakeModel, stream, { tokensPerSample: 16, contextWindow: 10, padId: 1 });
    const b = evaluatePerplexity(fakeModel, stream, { tokensPerSample: 6, contextWindow: 0, padId: 1 });
    expect(Math.abs(a.nll - b.nll)).toBeGreaterThan(1e-3);
  });

  const wt103Test = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/wikitext-103/wiki.test.tokens');
  it.skipIf(!fs.existsSync(wt103Test))('a unigram model on the start of the real WikiText-103 test file gives exp(cross-entropy)', () => {
    const dict = Dictionary.build(wt103Test);
    // The first 3,000 tokens keep the test fast; the window arithmetic for all 245,569 is checked above.
    const tokens = encodeFile(wt103Test, dict).tokens.slice(0, 3000);
    const stream = new TokenStream(tokens, dict.eosIndex);
    // Unigram log-probabilities from these targets' own counts.
    const counts = new Float64Array(dict.size);
    for (const t of tokens) counts[t]! += 1;
    const n = tokens.length;
    const logp = Float32Array.from(counts, (c) => (c > 0 ? Math.log(c / n) : -30));
    let want = 0;
    for (const t of tokens) want -= Math.log(counts[t]! / n);
    want /= n;
    const unigram: LogitsFn = (x, from = 0) =>
      tf.tidy(() => tf.add(tf.zeros([x.shape[0], x.shape[1] - from, 1]), tf.tensor1d(logp).reshape([1, 1, dict.size])) as tf.Tensor3D);
    const r = evaluatePerplexity(unigram, stream, { tokensPerSample: 512, contextWindow: 400, batchSize: 4, padId: dict.padIndex });
    expect(r.tokens).toBe(3000);
    expect(r.nll).toBeCloseTo(want, 3);
  });
});
