/**
 * The UEA task's config sections. Defaults are the paper's recipe (thuml/Flowformer
 * `Flowformer_TimeSeries/options.py` and `scripts/flowformer.sh`), so a config only writes
 * what differs.
 */
import { z } from 'zod';

export const UeaModelSchema = z.strictObject({
  /** Width of the encoder (options.py `d_model`). */
  dModel: z.number().int().positive().default(512),
  nHeads: z.number().int().positive().default(8),
  /** Encoder blocks (options.py `num_layers`). */
  nLayers: z.number().int().positive().default(2),
  /** Feed-forward width (options.py `dim_feedforward`, 1x1 convolutions). */
  dFF: z.number().int().positive().default(2048),
  /** Dropout on the positions, both residual branches, inside the MLP and before the head. */
  dropout: z.number().min(0).lt(1).default(0.1),
  activation: z.enum(['gelu', 'relu']).default('gelu'),
  /** The script passes `--pos_encoding learnable`. */
  posEncoding: z.enum(['learnable', 'fixed']).default('learnable'),
  /** Pass the padding mask to the attention (false: as the original, only the head masks). */
  maskAttention: z.boolean().default(false),
});

export const UeaDataSchema = z.strictObject({
  /**
   * `paper`: train on all of TRAIN and evaluate on TEST every `evaluation.every` epochs; the
   * paper reports the best TEST accuracy (set `evaluation.split: test`).
   * `holdout`: a stratified validation split carved from TRAIN selects the checkpoint, whose
   * TEST accuracy is reported (set `evaluation.split: valid`).
   */
  protocol: z.enum(['paper', 'holdout']).default('paper'),
  /** Fraction of TRAIN held out under `holdout` (options.py `val_ratio`). */
  validFraction: z.number().gt(0).lt(1).default(0.2),
  /** Seed of the holdout split (the original's `random_seed=1337`). */
  splitSeed: z.number().int().nonnegative().default(1337),
});

export type UeaModelConfig = z.output<typeof UeaModelSchema>;
export type UeaDataConfig = z.output<typeof UeaDataSchema>;
