/**
 * The wikitext task's config sections. Defaults are the paper's WikiText-103 recipe (fairseq
 * `transformer_lm`, thuml/Flowformer `Flowformer_NLP/README.md`), so a config writes only
 * what differs (the character-level configs override the model to nanoGPT's GPT).
 */
import { z } from 'zod';

export const LmModelSchema = z.strictObject({
  dModel: z.number().int().positive().default(512),
  nLayers: z.number().int().positive().default(6),
  nHeads: z.number().int().positive().default(8),
  /** Feed-forward width (fairseq decoder_ffn_embed_dim). */
  ffnDim: z.number().int().positive().default(2048),
  /** Dropout on embeddings and both residual branches (fairseq --dropout). */
  dropout: z.number().min(0).lt(1).default(0.1),
  activation: z.enum(['relu', 'gelu']).default('relu'),
  /** 'sinusoidal' (fairseq) or 'learned' (GPT-2/nanoGPT). */
  positions: z.enum(['sinusoidal', 'learned']).default('sinusoidal'),
  /** Rows of the position table: at least data.tokensPerSample; more lets generation run longer (sinusoidal only extrapolates). */
  maxPositions: z.number().int().positive().default(1024),
  /** Multiply token embeddings by sqrt(dModel) (fairseq: yes; GPT-2: no). */
  scaleEmbedding: z.boolean().default(true),
  /** Initialisation family: 'fairseq' or 'gpt2' (nanoGPT). */
  init: z.enum(['fairseq', 'gpt2']).default('fairseq'),
});

export const LmDataSchema = z.strictObject({
  /** 'word': WikiText token files and a fairseq dictionary; 'char': one plain text file, characters as tokens (nanoGPT). */
  format: z.enum(['word', 'char']).default('word'),
  /** Folder of the files, relative to the data root (or absolute). */
  dir: z.string().min(1).default('wikitext-103'),
  /** Train file in `dir` (word), or the whole text (char; split by trainFraction). */
  train: z.string().min(1).default('wiki.train.tokens'),
  /** Validation file in `dir` (word only); null: none. */
  valid: z.string().min(1).nullable().default('wiki.valid.tokens'),
  /** Test file in `dir` (word only); null: none. */
  test: z.string().min(1).nullable().default('wiki.test.tokens'),
  /** A fairseq dict.txt (relative to `dir`) instead of building the dictionary from the train file. */
  dict: z.string().min(1).nullable().default(null),
  /** Tokens per training block (fairseq --tokens-per-sample; nanoGPT block_size). */
  tokensPerSample: z.number().int().positive().default(512),
  /** Context window of the test-split evaluation (fairseq-eval-lm --context-window); 0 = plain blocks. */
  contextWindow: z.number().int().nonnegative().default(400),
  /** Context window of the validation split (fairseq validates with plain blocks during training). */
  validContextWindow: z.number().int().nonnegative().default(0),
  /** char: fraction of the text used for training (nanoGPT prepare.py: 0.9); the rest is the validation split. */
  trainFraction: z.number().gt(0).lt(1).default(0.9),
});

export type LmModelConfig = z.output<typeof LmModelSchema>;
export type LmDataConfig = z.output<typeof LmDataSchema>;
