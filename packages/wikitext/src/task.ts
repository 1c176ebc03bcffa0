/**
 * The `wikitext` task (issue 7): word-level language modelling on WikiText-103/-2 as fairseq
 * does it (dictionary, `--sample-break-mode none` blocks, perplexity with a context window),
 * and character-level modelling of plain text (tiny Shakespeare, as nanoGPT).
 */
import path from 'node:path';
import {
  attentionFactory,
  EVAL,
  type Config,
  type EvalContext,
  type Rng,
  type Split,
  type Task,
  type TaskContext,
  type TaskData,
  type TaskModel,
} from '@flowformer/core';
import { paperSummary } from '@flowformer/core/results';
import { BlockSplit, TokenStream, WindowSplit, type LmBatch } from './data/blocks.ts';
import { CharVocab, readCharCorpus } from './data/char.ts';
import { Dictionary } from './data/dictionary.ts';
import { loadWordCorpus } from './data/wikitext.ts';
import { downloadCommand } from './download.ts';
import { evaluatePerplexity } from './eval.ts';
import { generateFromRun, type GenerateFromRunArgs } from './run-generate.ts';
import { wikitextReport } from './report.ts';
import { TransformerLM } from './model.ts';
import { LmDataSchema, LmModelSchema, type LmDataConfig, type LmModelConfig } from './schema.ts';

export type LmConfig = Config & { model: LmModelConfig & { name: string }; data: LmDataConfig & { root?: string } };

/** An evaluation split: fairseq blocks for the trainer's API, plus how to score them. */
export class LmEvalSplit extends BlockSplit {
  constructor(
    stream: TokenStream,
    tokensPerSample: number,
    padId: number,
    /** Tokens of context before each block (fairseq --context-window); 0 = plain blocks. */
    readonly contextWindow: number,
  ) {
    super(stream, tokensPerSample, padId);
    if (contextWindow >= tokensPerSample) {
      throw new Error(`data.contextWindow (${contextWindow}) must be smaller than data.tokensPerSample (${tokensPerSample}): each block scores tokensPerSample - contextWindow new tokens`);
    }
  }
}

/** What `load` learns and `build`/generation need. */
export interface LmInfo {
  format: 'word' | 'char';
  vocabSize: number;
  /** Padding id (fairseq `<pad>` = 1) or null (characters). */
  padId: number | null;
  /** End-of-sentence id (`</s>` = 2) or null. */
  eosId: number | null;
  trainTokens: number;
  validTokens: number | null;
  testTokens: number | null;
  /** Word: the fairseq dict.txt used. */
  dictFile?: string;
  /** Char: the vocabulary. */
  chars?: string[];
  source: string;
}

function lmInfo(data: TaskData<LmBatch>): LmInfo {
  const info = data.info as unknown as LmInfo;
  if (typeof info.vocabSize !== 'number') throw new Error("wikitext: build() needs the TaskData returned by the wikitext task's load() (info.vocabSize)");
  return info;
}

/** Resolves `data.dir` against the data root. */
export function dataDir(config: LmConfig, dataRoot: string): string {
  return path.resolve(dataRoot, config.data.dir);
}

/** Loads the data of a config: the splits, and the vocabulary to decode generated ids. */
export function loadLmData(config: LmConfig, ctx: Pick<TaskContext, 'dataRoot' | 'cacheDir' | 'log'>): TaskData<LmBatch> & { vocab: Dictionary | CharVocab } {
  const d = config.data;
  const dir = dataDir(config, ctx.dataRoot);
  const T = d.tokensPerSample;
  if (d.format === 'char') {
    if (d.valid !== null || d.test !== null) {
      throw new Error(`data.format 'char' splits data.train ('${d.train}') by data.trainFraction; set data.valid: null and data.test: null (got ${JSON.stringify(d.valid)} and ${JSON.stringify(d.test)})`);
    }
    const file = path.join(dir, d.train);
    const c = readCharCorpus(file, d.trainFraction);
    const info: LmInfo = {
      format: 'char',
      vocabSize: c.chars.length,
      padId: null,
      eosId: null,
      trainTokens: c.train.length,
      validTokens: c.valid.length,
      testTokens: null,
      chars: c.chars,
      source: file,
    };
    ctx.log(`wikitext/${config.dataset}: ${c.chars.length} characters; ${c.train.length} train / ${c.valid.length} valid tokens (first ${d.trainFraction * 100}% / rest of ${d.train})`);
    return {
      train: new WindowSplit(c.train, T),
      valid: new LmEvalSplit(new TokenStream(c.valid, null), T, 0, d.validContextWindow),
      info: info as unknown as Record<string, unknown>,
      vocab: c.vocab,
    };
  }
  const corpus = loadWordCorpus({ dir, train: d.train, valid: d.valid, test: d.test, dict: d.dict, cacheDir: path.join(ctx.cacheDir, 'wikitext'), log: ctx.log });
  const { dict } = corpus;
  const stream = (t: Int32Array) => new TokenStream(t, dict.eosIndex);
  const info: LmInfo = {
    format: 'word',
    vocabSize: dict.size,
    padId: dict.padIndex,
    eosId: dict.eosIndex,
    trainTokens: corpus.train.tokens.length,
    validTokens: corpus.valid?.tokens.length ?? null,
    testTokens: corpus.test?.tokens.length ?? null,
    dictFile: corpus.dictFile,
    source: dir,
  };
  return {
    train: new BlockSplit(stream(corpus.train.tokens), T, dict.padIndex),
    valid: corpus.valid ? new LmEvalSplit(stream(corpus.valid.tokens), T, dict.padIndex, d.validContextWindow) : undefined,
    test: corpus.test ? new LmEvalSplit(stream(corpus.test.tokens), T, dict.padIndex, d.contextWindow) : undefined,
    info: info as unknown as Record<string, unknown>,
    vocab: dict,
  };
}

export function buildLm(config: LmConfig, info: Pick<LmInfo, 'vocabSize' | 'padId'>, rng: Rng): TransformerLM {
  const m = config.model;
  if (m.maxPositions < config.data.tokensPerSample) {
    throw new Error(`model.maxPositions (${m.maxPositions}) must be at least data.tokensPerSample (${config.data.tokensPerSample})`);
  }
  return new TransformerLM(rng, {
    vocabSize: info.vocabSize,
    dModel: m.dModel,
    nLayers: m.nLayers,
    nHeads: m.nHeads,
    ffnDim: m.ffnDim,
    dropout: m.dropout,
    activation: m.activation,
    positions: m.positions,
    maxPositions: m.maxPositions,
    scaleEmbedding: m.scaleEmbedding,
    init: m.init,
    padId: info.padId,
    // The attention's own output dropout stays 0: the block applies the residual dropout.
    attention: attentionFactory({ dModel: m.dModel, nHeads: m.nHeads, causal: true }, config.attention),
  });
}

/**
 * The task, plus `generate` for `flowformer generate --run RUN_DIR --prompt ... --tokens N
 * [--temperature --top-k]` (the Task interface has no generation hook yet; a CLI can test
 * for this property).
 */
export const wikitextTask: Task<LmConfig, LmBatch> & { generate: (args: GenerateFromRunArgs) => Promise<{ text: string; ids: Int32Array }> } = {
  name: 'wikitext',
  // The paper's perplexities come from results/paper/flowformer-paper.json, never retyped here.
  description: `language modelling: WikiText-103 perplexity as fairseq computes it (paper: ${paperSummary('wikitext', 'wikitext-103', ['Flowformer', 'Transformer'])}); character-level text (tiny Shakespeare)`,
  datasets: [
    { name: 'wikitext-103', description: `WikiText-103 word level, fairseq transformer_lm (paper test perplexity: ${paperSummary('wikitext', 'wikitext-103', ['Flowformer', 'Transformer'])})` },
    { name: 'wikitext-103-proxy', description: 'small-data proxy: train on wiki.valid.tokens, test on wiki.test.tokens (not the paper setting)' },
    { name: 'shakespeare-char', description: "tiny Shakespeare, characters, nanoGPT's CPU recipe (nanoGPT: about 1.88 validation loss)" },
  ],
  schema: { model: LmModelSchema, data: LmDataSchema },
  metric: { name: 'ppl', mode: 'min' },
  defaultConfig: 'configs/wikitext/shakespeare-char/flowformer.yaml',
  data: {
    download: downloadCommand,
    options: {
      url: { describe: 'base URL holding wikitext-103-v1.zip, wikitext-2-v1.zip and input.txt (a mirror)', type: 'string' },
      force: { describe: 'download again even if the files are present', type: 'boolean', default: false },
    },
  },

  generate: (args) => generateFromRun(args),
  report: wikitextReport,

  async load(config: LmConfig, ctx: TaskContext): Promise<TaskData<LmBatch>> {
    const { vocab: _vocab, ...data } = loadLmData(config, ctx);
    return data;
  },

  build(config: LmConfig, data: TaskData<LmBatch>, rng: Rng): TaskModel<LmBatch> {
    return buildLm(config, lmInfo(data), rng);
  },

  /** Perplexity (and mean NLL in nats as `loss`, in bits as `bits`) over every target of the split. */
  async evaluate(model: TaskModel<LmBatch>, split: Split<LmBatch>, ctx: EvalContext<LmConfig>) {
    if (!(split instanceof LmEvalSplit)) throw new Error(`wikitext: evaluate() needs a validation or test split from load(), got ${split.constructor.name}`);
    const lm = model as TransformerLM;
    const t0 = performance.now();
    let nextReport = 0.1;
    const r = evaluatePerplexity((x, from) => lm.logits(x, EVAL, from), split.stream, {
      tokensPerSample: split.tokensPerSample,
      contextWindow: split.contextWindow,
      batchSize: ctx.batchSize,
      padId: split.padId,
      // A WikiText-103 test pass is 2,193 model calls of 512 tokens: say how far it got.
      onProgress: (done, total) => {
        if (total < 100_000 || done / total < nextReport) return;
        nextReport += 0.1;
        ctx.log(`  ${ctx.splitName}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} tokens scored (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    return { ppl: r.ppl, loss: r.nll, bits: r.bits, tokens: r.tokens, tokensPerSecond: r.tokens / seconds };
  },
};

export default wikitextTask;
