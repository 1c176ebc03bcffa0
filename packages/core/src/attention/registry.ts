/**
 * The attention registry (issue 10): every task's config selects its attention with
 * `attention: {type: ..., ...options}`; this file maps each `type` to a zod schema of its
 * options and a factory, so one model definition runs Flow-Attention and every baseline
 * under the same code, data and budget. `flowformer list attentions` prints `listAttentions()`.
 *
 * Layer sizes (dModel, nHeads, causal, dropout, dInput, dOutput) come from the model;
 * `options` are the mechanism's own knobs from the config.
 */
import { z } from 'zod';
import type { Rng } from '../train/rng.ts';
import { ConfigError } from '../config/errors.ts';
import { registerAttentionConfig, type AttentionConfig } from '../config/schema.ts';
import { CosformerAttention } from './cosformer.ts';
import { DEFAULT_CHUNK_SIZE } from './flow-options.ts';
import { FlowAttention, SoftmaxAttention } from './layer.ts';
import { LinearAttention } from './linear.ts';
import { MobileAttention } from './mobile.ts';
import { PerformerAttention } from './performer.ts';
import { ReformerAttention } from './reformer.ts';
import type { AttentionLayerArgs, AttentionModule } from './types.ts';

export interface AttentionSpec<O extends z.ZodObject = z.ZodObject> {
  type: string;
  /** One line for `flowformer list attentions`. */
  description: string;
  /** Options without the `type` key; every field optional (the layer has defaults). */
  options: O;
  /** Has a causal (autoregressive) form. */
  causal: boolean;
  /** Accepts `context` (cross-attention) in its non-causal form. */
  crossAttention: boolean;
  build(rng: Rng, args: AttentionLayerArgs, options: z.output<O>): AttentionModule;
}

const int = (min: number) => z.number().int().min(min);
const chunkSize = (dflt = 64) => int(1).optional().describe(`positions per chunk of the causal form (default ${dflt})`);

const registry = new Map<string, AttentionSpec>();

/** Adds (or replaces) an attention type, and its options in the config schema. */
export function registerAttention<O extends z.ZodObject>(spec: AttentionSpec<O>): void {
  registry.set(spec.type, spec as unknown as AttentionSpec);
  registerAttentionConfig(spec.type, spec.options);
}

registerAttention({
  type: 'flow',
  description: 'Flow-Attention (Flowformer, ICML 2022): linear attention with flow conservation, source competition and sink allocation',
  causal: true,
  crossAttention: true,
  options: z.object({
    eps: z.number().positive().optional().describe('added before every flow dot product (default 1e-6)'),
    outerEps: z.number().min(0).optional().describe("added again after each flow contraction: 1e-6 in the vision code (Flowformer_CV), 0 elsewhere (default 0; non-causal only)"),
    featureMap: z.enum(['sigmoid', 'relu']).optional().describe("'sigmoid' (core code, default) or 'relu' = relu(x)+1e-6 (LRA code)"),
    clamp: z.number().positive().nullable().optional().describe('bound of the clamp on conservedSource: 1 core code (default), 5 WikiText, 10 RL, null none (time series, LRA)'),
    competition: z.boolean().optional().describe('source competition; false = the paper\'s "w/o competition" ablation (default true)'),
    allocation: z.boolean().optional().describe('sink allocation; false = the paper\'s "w/o allocation" ablation (default true)'),
    competitionAxis: z.enum(['keys', 'heads']).optional().describe("softmax of the competition over 'keys' (paper, default) or 'heads' (LRA code)"),
    causalImpl: z
      .enum(['auto', 'fused', 'chunked', 'parallel'])
      .optional()
      .describe("causal form: 'auto' (default: 'fused' when L <= chunkSize without padding, else 'chunked'), 'fused' (one hand-written gradient, memory quadratic in L), 'chunked' (memory linear in L) or 'parallel' (the original's)"),
    chunkSize: chunkSize(DEFAULT_CHUNK_SIZE),
  }),
  build: (rng, args, o) => new FlowAttention(rng, { ...args, ...o }),
});

registerAttention({
  type: 'softmax',
  description: 'softmax dot-product attention (the vanilla Transformer), quadratic in length',
  causal: true,
  crossAttention: true,
  options: z.object({
    attentionDropout: z.number().min(0).lt(1).optional().describe('dropout on the attention weights (default 0)'),
    scale: z.number().positive().optional().describe('logit scale (default 1/sqrt(head dim))'),
  }),
  build: (rng, args, o) => new SoftmaxAttention(rng, { ...args, ...o }),
});

registerAttention({
  type: 'performer',
  description: 'Performer FAVOR+ (ICLR 2021): positive orthogonal random features approximating the softmax kernel',
  causal: true,
  crossAttention: true,
  options: z.object({
    nbFeatures: int(1).optional().describe('random features per head (default round(d ln d), d = head dim)'),
    redrawInterval: int(0).optional().describe('redraw the features every this many training calls; 0 = never (default 1000)'),
    chunkSize: chunkSize(),
  }),
  build: (rng, args, o) => new PerformerAttention(rng, args, o),
});

registerAttention({
  type: 'reformer',
  description: 'Reformer LSH attention (ICLR 2020): shared-QK attention within hashed, sorted chunks',
  causal: true,
  crossAttention: false,
  options: z.object({
    nHashes: int(1).optional().describe('hashing rounds (default 2)'),
    bucketSize: int(1).optional().describe('positions per attention chunk (default 32)'),
    nBuckets: int(1)
      .refine((n) => n === 1 || n % 2 === 0, 'must be 1 or even')
      .optional()
      .describe('buckets per round, 1 or even (default: padded length / bucketSize, rounded up to even)'),
  }),
  build: (rng, args, o) => new ReformerAttention(rng, args, o),
});

registerAttention({
  type: 'linear',
  description: 'Linear Transformer (ICML 2020): feature map elu(x)+1, causal by prefix sums',
  causal: true,
  crossAttention: true,
  options: z.object({
    eps: z.number().positive().optional().describe('added to the denominator (default 1e-6)'),
    chunkSize: chunkSize(),
  }),
  build: (rng, args, o) => new LinearAttention(rng, args, o),
});

registerAttention({
  type: 'cosformer',
  description: 'cosFormer (ICLR 2022): ReLU features with cos re-weighting by position',
  causal: true,
  crossAttention: true,
  options: z.object({
    eps: z.number().positive().optional().describe('lower clamp of the denominator (default 1e-6)'),
    chunkSize: chunkSize(),
  }),
  build: (rng, args, o) => new CosformerAttention(rng, args, o),
});

registerAttention({
  type: 'mobile',
  description: 'Mobile-Attention (ICML 2024): flow conservation summed across heads at each token; self-attention, non-causal',
  causal: false,
  crossAttention: false,
  options: z.object({
    eps: z.number().positive().optional().describe('added before every flow dot product (default 1e-6)'),
    outerEps: z.number().min(0).optional().describe("added again after each flow contraction: 1e-6 in the vision code (Flowformer_CV), 0 elsewhere (default 0; non-causal only)"),
    clamp: z.number().positive().nullable().optional().describe('bound of the clamp on conservedSource (default 1; null none)'),
  }),
  build: (rng, args, o) => new MobileAttention(rng, args, o),
});

export function getAttention(type: string): AttentionSpec {
  const spec = registry.get(type);
  if (!spec) {
    throw new Error(`unknown attention type '${type}'. Known types: ${[...registry.keys()].sort().join(', ')}. Run 'flowformer list attentions' to see their options.`);
  }
  return spec;
}

/** Validates `config` against its type's schema; throws a ConfigError naming every bad field. */
export function parseAttentionConfig(config: AttentionConfig): { spec: AttentionSpec; options: Record<string, unknown> } {
  const spec = getAttention(config.type);
  const { type: _type, ...rest } = config;
  const r = z.strictObject(spec.options.shape).safeParse(rest);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => ({
        where: null,
        path: ['attention', ...i.path.map(String)].join('.'),
        message: i.code === 'unrecognized_keys' ? `unknown option(s) ${i.keys.join(', ')} for attention type '${spec.type}'` : i.message,
      })),
    );
  }
  return { spec, options: r.data as Record<string, unknown> };
}

/** Builds one attention layer from model sizes and a config section. */
export function buildAttention(rng: Rng, args: AttentionLayerArgs, config: AttentionConfig): AttentionModule {
  const { spec, options } = parseAttentionConfig(config);
  if (args.causal && !spec.causal) throw new Error(`attention type '${spec.type}' has no causal form; this model needs a causal attention`);
  return spec.build(rng, args, options);
}

/**
 * A factory for transformer blocks (`nn/blocks.ts`): validates the config once, then builds
 * one layer per block from the block's rng.
 */
export function attentionFactory(args: AttentionLayerArgs, config: AttentionConfig): (rng: Rng) => AttentionModule {
  parseAttentionConfig(config);
  if (args.causal && !getAttention(config.type).causal) {
    throw new Error(`attention type '${config.type}' has no causal form; this model needs a causal attention`);
  }
  return (rng) => buildAttention(rng, args, config);
}

export interface AttentionOptionInfo {
  name: string;
  /** JSON-schema-like type, e.g. 'integer >= 1', "'sigmoid' | 'relu'", 'number | null'. */
  type: string;
  description: string;
}

export interface AttentionInfo {
  type: string;
  description: string;
  causal: boolean;
  crossAttention: boolean;
  options: AttentionOptionInfo[];
}

function typeOf(js: Record<string, unknown>): string {
  if (Array.isArray(js.enum)) return js.enum.map((e) => JSON.stringify(e).replace(/"/g, "'")).join(' | ');
  if (Array.isArray(js.anyOf)) return (js.anyOf as Record<string, unknown>[]).map(typeOf).join(' | ');
  let t = String(js.type ?? 'any');
  if (typeof js.minimum === 'number') t += ` >= ${js.minimum}`;
  if (typeof js.exclusiveMinimum === 'number') t += ` > ${js.exclusiveMinimum}`;
  if (typeof js.exclusiveMaximum === 'number') t += ` < ${js.exclusiveMaximum}`;
  return t;
}

/** Every registered attention with its options, sorted by type. */
export function listAttentions(): AttentionInfo[] {
  return [...registry.values()]
    .sort((a, b) => a.type.localeCompare(b.type))
    .map((s) => {
      const js = z.toJSONSchema(s.options, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Record<string, unknown>> };
      const options = Object.entries(js.properties ?? {}).map(([name, p]) => ({
        name,
        type: typeOf(p),
        description: String(p.description ?? (s.options.shape[name] as z.ZodType | undefined)?.description ?? ''),
      }));
      return { type: s.type, description: s.description, causal: s.causal, crossAttention: s.crossAttention, options };
    });
}

/** Plain-text listing for `flowformer list attentions`. */
export function formatAttentionList(infos: AttentionInfo[] = listAttentions()): string {
  const lines: string[] = [];
  for (const a of infos) {
    const forms = [a.causal ? 'causal' : 'non-causal only', a.crossAttention ? 'cross-attention' : 'self-attention only'].join(', ');
    lines.push(`${a.type}: ${a.description}`, `  forms: ${forms}`);
    for (const o of a.options) lines.push(`  ${o.name} (${o.type}): ${o.description}`);
    lines.push('');
  }
  return lines.join('\n');
}
