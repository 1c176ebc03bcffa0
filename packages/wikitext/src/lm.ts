/**
 * The language model's data and model, as the wikitext task loads and builds them, and as
 * `flowformer generate` (run-generate.ts) rebuilds them from a run. Kept apart from task.ts so
 * that run-generate.ts, which the task calls, need not import the task back.
 */
import path from 'node:path';
import { attentionFactory, type Config, type Rng, type TaskContext, type TaskData } from '@flowformer/core';
import { BlockSplit, TokenStream, WindowSplit, type LmBatch } from './data/blocks.ts';
import { CharVocab, readCharCorpus } from './data/char.ts';
import { Dictionary } from './data/dictionary.ts';
import { loadWordCorpus } from './data/wikitext.ts';
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

/** The task's config sections, validated by the core's loader next to the shared ones. */
export const lmSchemas = { model: LmModelSchema, data: LmDataSchema };
