/**
 * The shared config schema: the sections every task has (optimizer, schedule, training,
 * evaluation, seed, ...), the attention section (whose per-type options the attention registry
 * declares), and the hook that plugs in a task's own sections. Every object is strict: an unknown key is an error, so a typo
 * (`weight_decay` for `weightDecay`) never passes silently.
 */
import { z } from 'zod';
import { attentionConfigSchema, attentionTypes, type AttentionConfig } from '../attention/registry.ts';

const positive = () => z.number().positive();
const nonNegInt = () => z.number().int().nonnegative();
const posInt = () => z.number().int().positive();
const betas = () => z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]);

// ---------------------------------------------------------------------------- optimizer

/** Every optimiser takes its peak learning rate here; the schedule shapes it over time. */
const decayAll = () =>
  z
    .boolean()
    .default(false)
    .describe("decay every parameter (as torch.optim does with model.parameters()); default: only those whose ParamInfo.decay is true");

export const OptimizerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('adamw'),
    lr: positive(),
    betas: betas().default([0.9, 0.999]),
    eps: positive().default(1e-8),
    weightDecay: z.number().min(0).default(0.01),
    decayAll: decayAll(),
  }),
  z.strictObject({
    type: z.literal('adam'),
    lr: positive(),
    betas: betas().default([0.9, 0.999]),
    eps: positive().default(1e-8),
    /** L2 penalty added to the gradient (torch.optim.Adam's weight_decay). */
    weightDecay: z.number().min(0).default(0),
    decayAll: decayAll(),
  }),
  z.strictObject({
    type: z.literal('radam'),
    lr: positive(),
    betas: betas().default([0.9, 0.999]),
    eps: positive().default(1e-8),
    weightDecay: z.number().min(0).default(0),
    /** torch.optim.RAdam's decoupled_weight_decay. */
    decoupled: z.boolean().default(false),
    decayAll: decayAll(),
  }),
]);
export type OptimizerConfig = z.output<typeof OptimizerSchema>;

// ---------------------------------------------------------------------------- schedule

/**
 * `unit: step` evaluates the schedule at every optimiser update; `unit: epoch` at the epoch
 * index (timm's default: DeiT's 5 warm-up epochs), with warmupSteps/cycleSteps read as epochs.
 */
const unit = () => z.enum(['step', 'epoch']).default('step');
const warmup = () => ({
  warmupSteps: nonNegInt(),
  warmupInitLr: z.number().min(0).default(0),
  unit: unit(),
  /**
   * Where the schedule's clock starts: 0 (fairseq, timm, LRA: update 0 runs at warmupInitLr) or
   * 1 (PyTorch LambdaLR with `min((step + 1) / W, 1)`, the Decision Transformer's warm-up).
   */
  clockOffset: z.union([z.literal(0), z.literal(1)]).default(0),
});

export const ScheduleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('constant') }),
  /** Linear warm-up from warmupInitLr to lr, then constant (the Decision Transformer's LambdaLR). */
  z.strictObject({ type: z.literal('warmup-constant'), ...warmup() }),
  /** Linear warm-up, then lr * sqrt(warmupSteps / step): LRA's `constant * linear_warmup * rsqrt_decay`, normalised to peak at lr. */
  z.strictObject({
    type: z.literal('warmup-rsqrt'),
    ...warmup(),
    /**
     * true: optimizer.lr is the LRA code's `learning_rate` (base_learning_rate) and the schedule
     * is exactly its lr * min(1, t / W) / sqrt(max(t, W)), peaking at lr / sqrt(W).
     */
    lraBase: z.boolean().default(false),
  }),
  /**
   * Linear warm-up, then half-cosine from lr down to minLr, reached at update cycleSteps (default:
   * the end of the run). The LRA code's `linear_warmup * cosine_decay` (steps_per_cycle S, no floor)
   * is warmupPrefix: true, minLr: 0, cycleSteps: W + S.
   */
  z.strictObject({
    type: z.literal('warmup-cosine'),
    ...warmup(),
    minLr: z.number().min(0).default(0),
    cycleSteps: posInt().optional(),
    /**
     * true (default; nanoGPT, LRA): the cosine starts at the end of the warm-up, lr at t = W.
     * false (timm's CosineLRScheduler default, DeiT): the cosine is a function of t from 0, so
     * after the warm-up it continues at minLr + (lr - minLr)(1 + cos(pi t / cycle)) / 2.
     */
    warmupPrefix: z.boolean().default(true),
  }),
  /** fairseq's inverse_sqrt: linear from warmupInitLr to lr over warmupSteps updates, then lr * sqrt(warmupSteps / update). */
  z.strictObject({ type: z.literal('inverse-sqrt'), ...warmup() }),
]);
export type ScheduleConfig = z.output<typeof ScheduleSchema>;

// ---------------------------------------------------------------------------- training / evaluation

export const TrainingSchema = z
  .strictObject({
    /** Examples per micro-batch (one forward/backward). An update sees batchSize * gradAccum examples. */
    batchSize: posInt(),
    /** Train for this many epochs... */
    epochs: posInt().optional(),
    /** ...or for this many optimiser updates (exactly one of the two). */
    steps: posInt().optional(),
    gradAccum: posInt().default(1),
    /** Clip gradients to this global L2 norm (torch.nn.utils.clip_grad_norm_); null: no clipping. */
    gradClip: positive().nullable().default(null),
    /** Log the training loss every this many updates (metrics.jsonl and progress). */
    logEvery: posInt().default(10),
    /** Also write ckpt/last every this many updates (evaluations always write it). */
    checkpointEvery: posInt().nullable().default(null),
    shuffle: z.boolean().default(true),
    /** Drop the last incomplete batch of each epoch (PyTorch DataLoader's drop_last). */
    dropLast: z.boolean().default(false),
    /**
     * Activation recomputation: each transformer block keeps only its input for the backward
     * pass and runs its forward again there (same dropout draws, same gradients). Less memory
     * (one block's activations at a time), about one more forward pass of time. Read by the UEA
     * model (EncoderBlock's `recompute`); the other tasks' models do not read it yet.
     */
    recompute: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    if ((t.epochs === undefined) === (t.steps === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: t.epochs === undefined ? ['steps'] : ['epochs'],
        message: 'expected exactly one of training.epochs and training.steps, got ' + (t.epochs === undefined ? 'neither' : 'both'),
      });
    }
  });
export type TrainingConfig = z.output<typeof TrainingSchema>;

export const EvaluationSchema = z.strictObject({
  /** Evaluate every this many units (and at the end). */
  every: posInt(),
  unit: z.enum(['steps', 'epochs']).default('epochs'),
  /**
   * Also evaluate at these points, in `unit`; 0 is before the first update. The original UEA
   * code evaluates at epochs 0 and 1 as well as every 2, and its best counts them all.
   */
  at: z.array(nonNegInt()).default([]),
  /** The split whose metric selects the best checkpoint. */
  split: z.enum(['valid', 'test']).default('valid'),
  /** Examples per evaluation batch; default training.batchSize. */
  batchSize: posInt().optional(),
  /** After training, evaluate the best checkpoint on the test split too (when `split` is valid). */
  testBest: z.boolean().default(true),
});
export type EvaluationConfig = z.output<typeof EvaluationSchema>;

// ---------------------------------------------------------------------------- attention

/** The registered attention types, sorted (`attention/registry.ts` owns them). */
export const attentionConfigTypes = attentionTypes;

/** The `attention` section: one strict object per registered type, discriminated by `type`. */
export const attentionSchema = attentionConfigSchema;

export type { AttentionConfig };

// ---------------------------------------------------------------------------- the whole config

/** The parts of a config every task has. `model`, `data` and extra sections also carry the task's fields. */
export interface Config {
  task: string;
  dataset: string;
  name?: string;
  description?: string;
  seed: number;
  model: { name: string; [k: string]: unknown };
  attention: AttentionConfig;
  optimizer: OptimizerConfig;
  schedule: ScheduleConfig;
  training: TrainingConfig;
  evaluation: EvaluationConfig;
  data: { root?: string; [k: string]: unknown };
  [section: string]: unknown;
}

/** What a task contributes: zod objects for `model` and `data`, and any extra top-level sections. */
export interface TaskSchemas {
  model: z.ZodObject;
  data: z.ZodObject;
  [section: string]: z.ZodType;
}

const SHARED_KEYS = ['task', 'dataset', 'name', 'description', 'seed', 'model', 'attention', 'optimizer', 'schedule', 'training', 'evaluation', 'data'];

/** What the loader needs of a task: its name (the config's `task:`) and its sections. Every `Task` is one. */
export interface ConfigTask {
  name: string;
  schema: TaskSchemas;
}

/** The full schema of one task's configs: the shared sections with the task's fields merged in. */
export function configSchema(task?: Pick<ConfigTask, 'schema'>): z.ZodType<Config> {
  const model = task?.schema.model.shape ?? {};
  const data = task?.schema.data.shape ?? {};
  const extra: Record<string, z.ZodType> = {};
  for (const [k, s] of Object.entries(task?.schema ?? {})) {
    if (k === 'model' || k === 'data') continue;
    if (SHARED_KEYS.includes(k)) throw new Error(`task schema section '${k}' clashes with a shared config section; rename it`);
    extra[k] = s;
  }
  return z.strictObject({
    task: z.string().min(1),
    dataset: z.string().min(1),
    name: z.string().optional(),
    description: z.string().optional(),
    seed: z.number().int().nonnegative().default(0),
    // Without a task, model/data fields cannot be checked: accept them (used only by `config show` of an unknown task).
    model: task ? z.strictObject({ ...model, name: z.string().min(1) }) : z.looseObject({ name: z.string().min(1) }),
    attention: attentionSchema(),
    optimizer: OptimizerSchema,
    schedule: ScheduleSchema.default({ type: 'constant' }),
    training: TrainingSchema,
    evaluation: EvaluationSchema,
    data: task ? z.strictObject({ ...data, root: z.string().optional() }) : z.looseObject({ root: z.string().optional() }),
    ...extra,
  }) as unknown as z.ZodType<Config>;
}
