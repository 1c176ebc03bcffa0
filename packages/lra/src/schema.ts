/**
 * The LRA task's config sections. Defaults follow the LRA/Flowformer code
 * (thuml/Flowformer `Flowformer_LRA`): pre-LN blocks, GELU MLPs, LayerNorm eps 1e-6,
 * embeddings N(0, 1), a final LayerNorm, a Dense(mlp)-ReLU-Dense(classes) head.
 * Per-task sizes live in `configs/lra/<dataset>/flowformer.yaml`.
 */
import { z } from 'zod';

export const LRA_DATASETS = ['listops', 'text', 'retrieval', 'image', 'pathfinder'] as const;
export type LraDataset = (typeof LRA_DATASETS)[number];

export const LraModelSchema = z.strictObject({
  /** Token embedding width (LRA `emb_dim`). */
  embDim: z.number().int().positive().default(512),
  /** Width of the query/key/value projections, all heads together (LRA `qkv_dim`). Default embDim. */
  qkvDim: z.number().int().positive().optional(),
  nHeads: z.number().int().positive().default(8),
  nLayers: z.number().int().positive().default(1),
  /** Hidden width of the blocks' MLPs and of the classifier head (LRA `mlp_dim`). */
  mlpDim: z.number().int().positive().default(1024),
  /** Dropout after the positions, on both residual branches and inside the MLP (LRA `dropout_rate`). */
  dropout: z.number().min(0).lt(1).default(0.1),
  /**
   * `cls`: a learned token (zeros at init) is prepended and its final state classifies
   * (ListOps, Text, Image); for the Retrieval dual encoder, the first token of each document.
   * `mean`: the mean over all positions (Pathfinder).
   */
  pool: z.enum(['cls', 'mean']).default('cls'),
  /** `sinusoidal` (fixed, LRA's interleaved sin/cos table) or `learned` (N(0, 0.02); LRA Image). */
  positions: z.enum(['sinusoidal', 'learned']).default('sinusoidal'),
  /**
   * Pass the padding mask (token id 0) to the attention, so that padding is neither a source
   * nor a sink. The LRA Flowformer code masks nothing (padding takes part in the flows); set
   * false to reproduce it exactly. Ignored for Image and Pathfinder, where 0 is a black pixel.
   */
  maskPadding: z.boolean().default(true),
});

export const LraDataSchema = z.strictObject({
  /** Tokens per sequence (per document for Retrieval): ListOps 2000, Text 1000 (4000 in LRA's definition), Retrieval 4000, Image/Pathfinder 1024. */
  maxLength: z.number().int().positive(),
  /** Folder relative to the data root; default per dataset (data/README.md). */
  dir: z.string().optional(),
  /** ListOps / Pathfinder: which generated set (`full` = LRA's, `mini` = the small set of the mini configs). */
  size: z.enum(['full', 'mini']).default('full'),
  /** ListOps / Pathfinder: generate the set into the data root when it is missing. */
  generate: z.boolean().default(false),
  /** Pathfinder difficulty (contour length 6 / 9 / 14). The paper's runs: hard. */
  difficulty: z.enum(['easy', 'intermediate', 'hard']).default('hard'),
  /** Use only the first N training examples (small runs). */
  trainLimit: z.number().int().positive().optional(),
  /** Use only the first N validation and test examples (small runs). */
  evalLimit: z.number().int().positive().optional(),
  /** Seed of the shuffles of class-sorted sources (IMDB folders, CIFAR image folders) before splitting and limiting. */
  splitSeed: z.number().int().nonnegative().default(0),
});

export type LraModelConfig = z.output<typeof LraModelSchema>;
export type LraDataConfig = z.output<typeof LraDataSchema>;
