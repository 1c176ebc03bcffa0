/**
 * The attention registry (issue 10): every task's config selects its attention with
 * `attention: {type: ..., ...options}`; `ATTENTIONS` maps each `type` to the zod schema of
 * its options (declared once, next to the layer) and a factory, so one model definition runs
 * Flow-Attention and every baseline under the same code, data and budget. The config schema
 * (`config/schema.ts`) reads this map to validate the `attention` section; nothing here writes
 * into another module. `flowformer list attentions` prints `listAttentions()`.
 *
 * Layer sizes (dModel, nHeads, causal, dropout, dInput, dOutput) come from the model;
 * `options` are the mechanism's own knobs from the config.
 */
import { z } from 'zod';
import type { Rng } from '../rng.ts';
import { ConfigError } from '../errors.ts';
import { CosformerAttention, cosformerOptionsSchema } from './cosformer.ts';
import { flowOptionsSchema } from './flow-options.ts';
import { FlowAttention, SoftmaxAttention, softmaxOptionsSchema } from './layer.ts';
import { LinearAttention, linearOptionsSchema } from './linear.ts';
import { MobileAttention, mobileOptionsSchema } from './mobile.ts';
import { withoutDefaults } from './options.ts';
import { PerformerAttention, performerOptionsSchema } from './performer.ts';
import { ReformerAttention, reformerOptionsSchema } from './reformer.ts';
import type { AttentionLayerArgs, AttentionModule } from './types.ts';

/** The `attention:` section of a config: a registered `type` and that type's options. */
export type AttentionConfig = { type: string; [option: string]: unknown };

export interface AttentionSpec<O extends z.ZodObject = z.ZodObject> {
  type: string;
  /** One line for `flowformer list attentions`. */
  description: string;
  /** The mechanism's options without the `type` key, with their defaults (the layer applies them). */
  options: O;
  /** Has a causal (autoregressive) form. */
  causal: boolean;
  /** Accepts `context` (cross-attention) in its non-causal form. */
  crossAttention: boolean;
  /** `options` as written in the config (validated, no defaults filled in); the layer fills them. */
  build(rng: Rng, args: AttentionLayerArgs, options: z.input<O>): AttentionModule;
}

/** Keeps each entry's `build` typed by its own schema. */
const entry = <O extends z.ZodObject>(s: AttentionSpec<O>): AttentionSpec => s as unknown as AttentionSpec;

/** Every attention type, by its config name. Adding one means adding it here. */
export const ATTENTIONS: Readonly<Record<string, AttentionSpec>> = {
  flow: entry({
    type: 'flow',
    description: 'Flow-Attention (Flowformer, ICML 2022): linear attention with flow conservation, source competition and sink allocation',
    causal: true,
    crossAttention: true,
    options: flowOptionsSchema,
    build: (rng, args, o) => new FlowAttention(rng, { ...args, ...o }),
  }),
  softmax: entry({
    type: 'softmax',
    description: 'softmax dot-product attention (the vanilla Transformer), quadratic in length',
    causal: true,
    crossAttention: true,
    options: softmaxOptionsSchema,
    build: (rng, args, o) => new SoftmaxAttention(rng, { ...args, ...o }),
  }),
  performer: entry({
    type: 'performer',
    description: 'Performer FAVOR+ (ICLR 2021): positive orthogonal random features approximating the softmax kernel',
    causal: true,
    crossAttention: true,
    options: performerOptionsSchema,
    build: (rng, args, o) => new PerformerAttention(rng, args, o),
  }),
  reformer: entry({
    type: 'reformer',
    description: 'Reformer LSH attention (ICLR 2020): shared-QK attention within hashed, sorted chunks',
    causal: true,
    crossAttention: false,
    options: reformerOptionsSchema,
    build: (rng, args, o) => new ReformerAttention(rng, args, o),
  }),
  linear: entry({
    type: 'linear',
    description: 'Linear Transformer (ICML 2020): feature map elu(x)+1, causal by prefix sums',
    causal: true,
    crossAttention: true,
    options: linearOptionsSchema,
    build: (rng, args, o) => new LinearAttention(rng, args, o),
  }),
  cosformer: entry({
    type: 'cosformer',
    description: 'cosFormer (ICLR 2022): ReLU features with cos re-weighting by position',
    causal: true,
    crossAttention: true,
    options: cosformerOptionsSchema,
    build: (rng, args, o) => new CosformerAttention(rng, args, o),
  }),
  mobile: entry({
    type: 'mobile',
    description: 'Mobile-Attention (ICML 2024): flow conservation summed across heads at each token; self-attention, non-causal',
    causal: false,
    crossAttention: false,
    options: mobileOptionsSchema,
    build: (rng, args, o) => new MobileAttention(rng, args, o),
  }),
};

/** The registered type names, sorted. */
export function attentionTypes(): string[] {
  return Object.keys(ATTENTIONS).sort();
}

/**
 * The `attention` section's schema: one strict object per type, options as written (without
 * defaults, so a resolved config records only what its files set), discriminated by `type`.
 */
export function attentionConfigSchema(): z.ZodType<AttentionConfig> {
  const options = attentionTypes().map((t) => z.strictObject({ ...withoutDefaults(ATTENTIONS[t]!.options).shape, type: z.literal(t) }));
  return z.discriminatedUnion('type', options as unknown as [z.ZodObject, ...z.ZodObject[]]) as unknown as z.ZodType<AttentionConfig>;
}

export function getAttention(type: string): AttentionSpec {
  const found = Object.hasOwn(ATTENTIONS, type) ? ATTENTIONS[type] : undefined;
  if (!found) {
    throw new Error(`unknown attention type '${type}'. Known types: ${attentionTypes().join(', ')}. Run 'flowformer list attentions' to see their options.`);
  }
  return found;
}

/** Validates `config` against its type's schema; throws a ConfigError naming every bad field. */
export function parseAttentionConfig(config: AttentionConfig): { spec: AttentionSpec; options: Record<string, unknown> } {
  const spec = getAttention(config.type);
  const { type: _type, ...rest } = config;
  const r = z.strictObject(withoutDefaults(spec.options).shape).safeParse(rest);
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
 * A factory for transformer blocks (`attention/blocks.ts`): validates the config once, then builds
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
  return attentionTypes()
    .map((t) => ATTENTIONS[t]!)
    .map((s) => {
      const js = z.toJSONSchema(withoutDefaults(s.options), { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Record<string, unknown>> };
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
