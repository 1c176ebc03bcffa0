/**
 * The task: every config validates with the paper's / nanoGPT's recipe; a short training of
 * a tiny Flowformer LM on a generated corpus through the core trainer lowers the loss and
 * reports perplexity; generation from the run folder works; download against a local server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, loadConfig, Rng, shutdownBackend, tf, train } from '@flowformer/core';
import { startTestServer } from '@flowformer/core/io';
import { zipSync } from 'fflate';
import { downloadWikitext } from '../src/download.ts';
import { generateFromRun } from '../src/run-generate.ts';
import { wikitextTask } from '../src/task.ts';
import { LmEvalSplit, loadLmData, type LmConfig } from '../src/lm.ts';
import { WindowSplit } from '../src/data/blocks.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cfg = (p: string) => path.join(repoRoot, 'configs/wikitext', p);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wikitext-task-'));

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await shutdownBackend();
});

describe('configs/wikitext', () => {
  it("wikitext-103: fairseq transformer_lm and the paper's recipe", () => {
    for (const [file, attention] of [
      ['wikitext-103/flowformer.yaml', { type: 'flow', clamp: 5 }],
      ['wikitext-103/transformer.yaml', { type: 'softmax' }],
    ] as const) {
      const c = loadConfig<LmConfig>(cfg(file), { task: wikitextTask }).config;
      expect(c.model).toMatchObject({ dModel: 512, nLayers: 6, nHeads: 8, ffnDim: 2048, dropout: 0.1, activation: 'relu', positions: 'sinusoidal', scaleEmbedding: true });
      expect(c.attention).toEqual(attention);
      expect(c.optimizer).toMatchObject({ type: 'adamw', lr: 1e-3, betas: [0.9, 0.98], weightDecay: 0.01, decayAll: true });
      expect(c.schedule).toMatchObject({ type: 'inverse-sqrt', warmupSteps: 6000, warmupInitLr: 1e-7 });
      expect(c.training.batchSize * c.training.gradAccum * c.data.tokensPerSample).toBe(2048 * 16);
      expect(c.data).toMatchObject({ format: 'word', tokensPerSample: 512, contextWindow: 400 });
    }
    for (const file of ['wikitext-103-proxy/flowformer.yaml', 'wikitext-103-proxy/transformer.yaml']) {
      const c = loadConfig<LmConfig>(cfg(file), { task: wikitextTask }).config;
      expect(c.data).toMatchObject({ train: 'wiki.valid.tokens', test: 'wiki.test.tokens', valid: null });
    }
  });

  it("shakespeare-char: nanoGPT's CPU recipe", () => {
    for (const [file, type] of [
      ['shakespeare-char/flowformer.yaml', 'flow'],
      ['shakespeare-char/transformer.yaml', 'softmax'],
    ] as const) {
      const c = loadConfig<LmConfig>(cfg(file), { task: wikitextTask }).config;
      expect(c.model).toMatchObject({ dModel: 128, nLayers: 4, nHeads: 4, dropout: 0 });
      expect(c.attention.type).toBe(type);
      expect(c.training).toMatchObject({ batchSize: 12, steps: 2000 });
      expect(c.optimizer.lr).toBe(1e-3);
      expect(c.schedule).toMatchObject({ type: 'warmup-cosine', minLr: 1e-4, cycleSteps: 2000 });
      expect(c.data).toMatchObject({ format: 'char', tokensPerSample: 64, trainFraction: 0.9 });
    }
  });
});

describe('load', () => {
  const shared = path.resolve(repoRoot, '../shared/data');
  it.skipIf(!fs.existsSync(path.join(shared, 'tiny-shakespeare/input.txt')))('shakespeare-char: 65 characters, windows of 64 for training, 64-character blocks for validation', () => {
    const c = loadConfig<LmConfig>(cfg('shakespeare-char/flowformer.yaml'), { task: wikitextTask }).config;
    const d = loadLmData(c, { dataRoot: shared, cacheDir: path.join(tmp, 'cache'), log: () => {} });
    expect(d.info).toMatchObject({ format: 'char', vocabSize: 65, trainTokens: 1003854, validTokens: 111540, padId: null });
    expect(d.train).toBeInstanceOf(WindowSplit);
    expect(d.train.size).toBe(1003854 - 64);
    expect(d.valid).toBeInstanceOf(LmEvalSplit);
    expect(d.valid!.size).toBe(Math.ceil(111539 / 64));
  });
});

describe('training', () => {
  it('a tiny Flowformer LM learns a generated corpus (loss falls), reports perplexity, and generates', async () => {
    // A corpus with structure to learn: each line counts up from a random start, mod 20.
    const rng = new Rng(11);
    const line = () => {
      const s = rng.int(20);
      return Array.from({ length: 3 + rng.int(6) }, (_, i) => `w${(s + i) % 20}`).join(' ');
    };
    const dir = path.join(tmp, 'data', 'tiny');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'train.tokens'), Array.from({ length: 400 }, line).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'test.tokens'), Array.from({ length: 40 }, line).join('\n') + '\n');
    const losses: number[] = [];
    const logs: string[] = [];
    const before = tf.memory().numTensors;
    const summary = await train({
      configPath: cfg('wikitext-103-proxy/flowformer.yaml'),
      sets: [
        'data.dir=tiny',
        'data.train=train.tokens',
        'data.test=test.tokens',
        'data.tokensPerSample=32',
        'data.contextWindow=16',
        'model.dModel=32',
        'model.nHeads=2',
        'model.nLayers=1',
        'model.ffnDim=64',
        'model.dropout=0',
        'model.maxPositions=64',
        'training.batchSize=8',
        'training.steps=40',
        'schedule.warmupSteps=5',
        'optimizer.lr=0.01',
      ],
      task: wikitextTask,
      dataRoot: path.join(tmp, 'data'),
      resultsRoot: path.join(tmp, 'results'),
      cacheDir: path.join(tmp, 'cache'),
      progress: false,
      handleSigint: false,
      log: (m) => logs.push(m),
      onStep: (i) => losses.push(i.loss),
    });
    expect(summary.status).toBe('completed');
    expect(losses.length).toBe(40);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`tiny LM: losses ${losses.map((l) => l.toFixed(2)).join(' ')}; logs: ${logs.filter((l) => /dictionary|tokens/.test(l)).join(' | ')}`);
    // 24 types (20 words, </s>, madeupwords never seen): ln(24) = 3.2 at the start.
    expect(mean(losses.slice(0, 3))).toBeGreaterThan(2.5);
    expect(mean(losses.slice(-5))).toBeLessThan(0.6 * mean(losses.slice(0, 3)));
    const ppl = summary.best?.metrics.ppl; // evaluation.split is test in the proxy config
    expect(typeof ppl).toBe('number');
    expect(ppl!).toBeLessThan(12);
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2);

    // Generation from the run folder, with the recurrent Flow-Attention.
    const runDir = summary.runDir;
    const g = await generateFromRun({ runDir, prompt: 'w3 w4', tokens: 8, checkpoint: 'last', dataRoot: path.join(tmp, 'data'), cacheDir: path.join(tmp, 'cache'), seed: 1, temperature: 0.5 });
    expect(g.ids.length).toBe(8);
    console.log(`generated after "w3 w4": ${JSON.stringify(g.text)}`);
    expect(g.text).toMatch(/w\d+/);
  });
});

describe('download', () => {
  it('fetches a WikiText v1 zip from a (local) server and unpacks the three splits', async () => {
    const files = {
      'wikitext-2/wiki.train.tokens': new TextEncoder().encode(' = A = \n\n a b c \n'),
      'wikitext-2/wiki.valid.tokens': new TextEncoder().encode(' a b \n'),
      'wikitext-2/wiki.test.tokens': new TextEncoder().encode(' c \n'),
    };
    const server = await startTestServer({ '/wikitext-2-v1.zip': zipSync(files) });
    try {
      const logs: string[] = [];
      const root = path.join(tmp, 'dl');
      const dir = await downloadWikitext('wikitext-2', root, { baseUrl: server.url, log: (m) => logs.push(m) });
      expect(fs.readFileSync(path.join(dir, 'wiki.valid.tokens'), 'utf-8')).toBe(' a b \n');
      expect(logs).toContain('wikitext-2/wiki.train.tokens: 3 lines, 9 tokens');
      // Present now: no second request.
      await downloadWikitext('wikitext-2', root, { baseUrl: server.url });
      expect(server.requests.filter((r) => r.status === 200).length).toBe(1);
    } finally {
      await server.close();
    }
  });
});
